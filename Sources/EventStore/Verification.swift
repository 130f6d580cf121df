import Dispatch
import LMDBKit
import LedgerValues
import Synchronization

/// What `verify` proved.
public struct VerificationReport: Equatable, Sendable {
    /// Records re-hashed and linked.
    public var records: Int64
    /// Streams whose versions, index entries and state were checked.
    public var streams: Int
    /// Vault entries checked against their commitments.
    public var piiCommitments: Int
    /// The head after the check.
    public var head: LedgerHead
    /// Whether the ledger holds its Merkle tree as this version keeps it, and
    /// every node was checked. One made before the tree has none, and one
    /// written before keeps every level of it; either is stored anew by its
    /// next append, and until then its root is recomputed from the records.
    public var merkleTreeChecked = true
    /// Why the vault's entries could not be opened (no master key here), in
    /// which case no commitment was checked; nil when they were.
    public var personalDataLocked: String?
}

/// The first thing found wrong: the seq and what is wrong there.
public struct VerificationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first seq found wrong.
    public let seq: Int64
    /// What is wrong there.
    public let reason: String

    public var description: String { "seq \(seq): \(reason)" }
}

/// A digest an auditor kept: the ledger must still contain exactly this record at this seq.
public struct LedgerDigest: Equatable, Sendable {
    /// The seq of the digested record.
    public var seq: Int64
    /// Its hash (32 bytes).
    public var hash: [UInt8]
    /// Its recordedAt; nil for an empty ledger.
    public var recordedAt: Instant?
    /// The root of the Merkle tree of records 1…seq (events.md §7); nil in a
    /// digest kept before the ledger had one, which `verify` then does not check.
    public var merkleRoot: [UInt8]?

    /// The digest of record `seq`, with its hash, recordedAt and (where kept) the Merkle root up to it.
    public init(seq: Int64, hash: [UInt8], recordedAt: Instant?, merkleRoot: [UInt8]? = nil) {
        self.seq = seq
        self.hash = hash
        self.recordedAt = recordedAt
        self.merkleRoot = merkleRoot
    }

    /// The digest of `head`, with the Merkle root of the records up to it.
    public init(_ head: LedgerHead, merkleRoot: [UInt8]? = nil) {
        self.init(seq: head.seq, hash: head.hash, recordedAt: head.recordedAt, merkleRoot: merkleRoot)
    }
}

extension EventLog {
    /// Re-reads and re-hashes every stored record and checks everything that
    /// depends on it: seq continuity, the `prevHash` links, recordedAt order,
    /// each stream's version sequence, both indexes, each stream's state, the
    /// head, and every commitment still in the vault. With `digest`, it also
    /// proves that the ledger still extends it. Throws the first failure.
    ///
    /// The indexes are checked by comparing order-independent sums of their
    /// entries (keyed by this process's random hash key, so they cannot be
    /// forged) with sums over the records, which costs sequential scans only;
    /// when the sums differ, a second, exact pass names the first bad seq.
    ///
    /// - Parameter closerTypes: the event types that close a stream, to rebuild stream state.
    /// - Parameter items: for the types in `items.types`, the item (an
    ///   employment) a stored record starts or ends, so that the item index can
    ///   be rebuilt and compared.
    public func verify(
        closerTypes: Set<String>, openerTypes: Set<String>,
        items: (types: Set<String>, item: (LedgerRecord) -> StreamItem?)? = nil, digest: LedgerDigest? = nil,
        progress: (Int64) -> Void = { _ in }
    ) throws -> VerificationReport {
        try verify(
            closerTypes: closerTypes, openerTypes: openerTypes, items: items, digest: digest,
            chunkSize: VerificationChunk.size, merkleBlockLevel: MerkleBlocks.standardLevel, progress: progress)
    }

    /// `verify`, reading `chunkSize` records at a time and hashing Merkle blocks
    /// of 2^`merkleBlockLevel` leaves on every core (small ones let a test cross their edges).
    func verify(
        closerTypes: Set<String>, openerTypes: Set<String>,
        items: (types: Set<String>, item: (LedgerRecord) -> StreamItem?)? = nil, digest: LedgerDigest? = nil,
        chunkSize: Int, merkleBlockLevel: Int, progress: (Int64) -> Void = { _ in }
    ) throws -> VerificationReport {
        try env.read { txn in
            // The trees first: LMDB follows a damaged page as it stands, and every check below reads through them.
            // The records' leaves, most of the file, are checked as the walk reads them, below.
            let structure = try env.structureCheck(in: txn, leavesInOrderOf: dbs.records)
            if let problem = structure.problem {
                throw LedgerError.damagedTree(database: problem.database, page: problem.page, reason: problem.reason)
            }
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
            let head = try store.head()
            if let digest, digest.seq == 0, digest.hash != genesisHash {
                throw VerificationFailure(seq: 0, reason: "the digest of an empty ledger must have 64 zeros as hash")
            }
            var walk = ChainWalk(
                store: store, roles: TypeRoles(closers: closerTypes, openers: openerTypes, items: items?.types ?? []),
                itemOf: items?.item, digest: digest,
                streams: StreamPartitions(expected: try txn.count(in: dbs.streams)))

            // Records are hashed and read on every core, a chunk at a time, while
            // this thread checks the chunks before in seq order and gathers the
            // next: reading, judging and scanning overlap. Two chunks are read
            // ahead of the one checked, so that the cores need not wait for the
            // walk, nor the walk for the slowest core.
            var chunk: [(seq: Int64, value: UnsafeRawBufferPointer)] = []
            chunk.reserveCapacity(chunkSize)
            var inFlight: [ChunkReading] = []
            let roles = walk.roles
            let vault = try VaultOpening(store)
            // A ledger made before the tree has none until its next append: its
            // root is still recomputed for a digest, but there are no nodes to compare.
            let planted = try store.merkleLayout() == .fromLevel4
            // The two indexes are summed beside the walk, in a transaction of their own on the same snapshot.
            let indexSums = IndexSums(env: env, ids: dbs.ids, streams: dbs.streamIndex, snapshot: txn.snapshot)
            // Whatever way this ends, nothing may read the map after: a failure stops the sums and waits.
            defer { indexSums.stop() }
            let previous = try txn.withCursor(on: dbs.merkle) { cursor in
                defer { for reading in inFlight { reading.finish() } }
                var storedNodes = StoredMerkleNodes(cursor)
                var leavesRead: UInt64 = 0
                func advance() throws {
                    // The nodes the chunk's leaves complete, read beside the records: the
                    // walk compares each node it recomputes with the one stored under its number.
                    let nodes = try planted && !chunk.isEmpty ? storedNodes.gather(leaves: chunk.count) : nil
                    let next = ChunkReading(
                        chunk, vault: try vaultEntries(of: chunk, store: store), opening: vault, roles: roles,
                        streams: walk.streams,
                        merkle: MerkleReading(
                            firstLeaf: leavesRead, nodes: nodes, rootAt: digest.map { UInt64(max($0.seq - 1, 0)) },
                            blockLevel: merkleBlockLevel))
                    leavesRead += UInt64(chunk.count)
                    chunk = []
                    chunk.reserveCapacity(chunkSize)
                    inFlight.append(next)
                    if inFlight.count > VerificationChunk.readAhead {
                        try walk.check(inFlight.removeFirst())
                        progress(walk.previous.seq)
                    }
                }
                var pages = ScannedPages(release: env.releaseResidentPages)
                func take(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
                    pages.read(value.count)
                    guard key.count == 8 else {
                        throw VerificationFailure(
                            seq: (chunk.last?.seq ?? inFlight.last?.chunk.last?.seq ?? walk.previous.seq) + 1,
                            reason: "a record is stored under a malformed key")
                    }
                    chunk.append((Int64(readBigEndian(key)), value))
                    if chunk.count == chunkSize { try advance() }
                }
                if let leaves = structure.leaves {
                    // Each leaf page of the records is checked, then its records taken: one pass over them.
                    if let problem = try leaves.forEachEntry(take) {
                        throw LedgerError.damagedTree(
                            database: problem.database, page: problem.page, reason: problem.reason)
                    }
                } else {
                    try txn.scan(dbs.records) { key, value in
                        try take(key, value)
                        return .next
                    }
                }
                try advance()
                while !inFlight.isEmpty { try walk.check(inFlight.removeFirst()) }
                let extra = planted ? try storedNodes.remaining() : 0
                if extra > 0 {
                    throw VerificationFailure(
                        seq: walk.previous.seq + 1,
                        reason: "the Merkle tree holds \(extra) nodes beyond the last record")
                }
                return walk.previous
            }

            if let digest, !walk.digestSeen {
                throw VerificationFailure(
                    seq: digest.seq,
                    reason: "the ledger ends at seq \(previous.seq), before the digest's seq \(digest.seq)")
            }
            let last = LedgerHead(
                seq: previous.seq, hash: previous.seq == 0 ? genesisHash : previous.hash.bytes,
                recordedAt: previous.recordedAt)
            guard head == last else {
                throw VerificationFailure(
                    seq: min(head.seq, previous.seq) + 1,
                    reason: "the head (seq \(head.seq)) does not match the last stored record (seq \(previous.seq))")
            }
            if try vault.locked != nil || txn.count(in: dbs.vault) != walk.piiChecked {
                try findOrphanVaultEntry(store)
            }
            try checkSlotCounter(store)
            let summed = indexSums.result()
            try checkIndex(
                dbs.ids, against: walk.idSum, summed: summed?.ids, store: store, last: previous.seq, name: "id"
            ) { fields in
                Array(fields.id.bytes)
            }
            try checkIndex(
                dbs.streamIndex, against: walk.streamSum, summed: summed?.streams, store: store, last: previous.seq,
                name: "stream"
            ) { fields in
                StoreTransaction.streamIndexKey(fields.stream.string, version: fields.version)
            }
            try checkStreamStates(walk.streams, store: store)
            if let digest, let root = digest.merkleRoot {
                // The root recomputed from the records as the walk passed the digest's seq.
                guard (digest.seq == 0 ? MerkleTree.emptyRoot : walk.digestRoot) == root else {
                    throw VerificationFailure(
                        seq: digest.seq,
                        reason: "the Merkle root of the first \(digest.seq) records is not the digest's merkleRoot")
                }
            }
            if items != nil { try checkItems(walk.items, store: store) }
            return VerificationReport(
                records: previous.seq, streams: walk.streams.count, piiCommitments: walk.piiChecked, head: last,
                merkleTreeChecked: planted, personalDataLocked: vault.locked)
        }
    }

    /// The vault entries of the records in `chunk`, by position in the chunk
    /// (nil where there is none), read with one cursor walking beside the records.
    private func vaultEntries(
        of chunk: [(seq: Int64, value: UnsafeRawBufferPointer)], store: StoreTransaction
    ) throws -> [UnsafeRawBufferPointer?] {
        var entries = [UnsafeRawBufferPointer?](repeating: nil, count: chunk.count)
        guard let first = chunk.first?.seq, let last = chunk.last?.seq else { return entries }
        var position = 0
        try store.txn.scan(dbs.vault, from: bigEndianKey(first)) { key, value in
            let seq = key.count == 8 ? Int64(readBigEndian(key)) : Int64.max
            guard seq <= last else { return .stop }
            while position < chunk.count, chunk[position].seq < seq { position += 1 }
            if position < chunk.count, chunk[position].seq == seq { entries[position] = value }
            return .next
        }
        return entries
    }

    /// Compares an index with the sum over the records; on a difference, finds
    /// the first bad seq. `summed` is the index's sum when it was made beside the walk.
    private func checkIndex(
        _ db: LMDBDatabase, against expected: EntrySum, summed: EntrySum?, store: StoreTransaction, last: Int64,
        name: String, key keyOf: (RecordFields) -> [UInt8]
    ) throws {
        var pages = ScannedPages(release: env.releaseResidentPages, limit: ScannedPages.entryBytes)
        let actual = try summed ?? IndexSums.sum(db, in: store.txn, pages: &pages)
        if actual == expected { return }
        // Exact pass: every record must be found under its key …
        for seq in stride(from: Int64(1), through: last, by: 1) {
            let fields = try store.txn.withValue(in: dbs.records, forKey: bigEndianKey(seq)) {
                RecordFields(canonical: UnsafeRawBufferPointer(rebasing: $0[32...]))
            }
            guard let fields = fields ?? nil else {
                throw VerificationFailure(seq: seq, reason: "record cannot be read")
            }
            let indexed = try store.txn.withValue(in: db, forKey: keyOf(fields)) { Int64(readBigEndian($0)) }
            guard indexed == seq else {
                throw VerificationFailure(
                    seq: seq,
                    reason:
                        "the \(name) index does not point to this record (it says \(indexed.map(String.init) ?? "nothing"))"
                )
            }
        }
        // … so the difference is an entry too many.
        var extra: Int64 = last + 1
        try store.txn.scan(db) { key, value in
            let seq = value.count == 8 ? Int64(readBigEndian(value)) : -1
            let fields = try store.txn.withValue(in: dbs.records, forKey: bigEndianKey(seq)) {
                RecordFields(canonical: UnsafeRawBufferPointer(rebasing: $0[32...]))
            }
            if let fields = fields ?? nil, keyOf(fields).elementsEqual(key) { return .next }
            extra = seq
            return .stop
        }
        throw VerificationFailure(seq: extra, reason: "the \(name) index has an entry that names no such record")
    }

    /// Compares every stream's stored state with the one rebuilt from its
    /// records, on every core (a lookup each, in tables larger than the
    /// caches); the first that differs, in key order, is named.
    private func checkStreamStates(_ computed: StreamPartitions, store: StoreTransaction) throws {
        var stored: [(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)] = []
        stored.reserveCapacity(computed.count)
        try store.txn.scan(dbs.streams) { key, value in
            stored.append((key, value))
            return .next
        }
        let matches = stored.withUnsafeBufferPointer { stored in
            Parallel.map(stored.count, minimumPerCore: 4096) { index in
                guard let state = StreamState(encoded: stored[index].value) else { return false }
                return computed.state(of: FieldBytes(stored[index].key)) == state
            }
        }
        if let differing = matches.firstIndex(of: false) {
            let stream = String(decoding: stored[differing].key, as: UTF8.self)
            let seqs = (try? store.seqs(ofStream: stream)) ?? []
            throw VerificationFailure(
                seq: seqs.last ?? 0, reason: "the stored state of \(stream) does not match its events")
        }
        if stored.count != computed.count {
            let missing =
                computed.names.sorted().first { (try? store.streamState($0)) == nil } ?? "?"
            throw VerificationFailure(
                seq: (try? store.seqs(ofStream: missing).first) ?? 0, reason: "the state of \(missing) is missing")
        }
    }

    /// Compares the item index with the items rebuilt from the records.
    private func checkItems(_ computed: [[UInt8]: (state: ItemState, seq: Int64)], store: StoreTransaction) throws {
        var seen = 0
        var failure: VerificationFailure?
        try store.txn.scan(dbs.items) { key, value in
            seen += 1
            guard let expected = computed[Array(key)], ItemState(encoded: value) == expected.state else {
                let name = String(decoding: key.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                failure = VerificationFailure(
                    seq: computed[Array(key)]?.seq ?? 0,
                    reason: "the item index entry of \(name) does not match the records")
                return .stop
            }
            return .next
        }
        if let failure { throw failure }
        if seen != computed.count {
            let missing = try computed.filter { entry in
                try entry.key.withUnsafeBytes { try store.txn.get($0, in: dbs.items) } == nil
            }.min { $0.value.seq < $1.value.seq }
            throw VerificationFailure(
                seq: missing?.value.seq ?? 0, reason: "the item index lacks the item this record starts")
        }
    }

    /// Every stream key's slot in use must lie below the vault's slot counter:
    /// otherwise the next new person's key would be written over one in use,
    /// and that person's personal data lost.
    private func checkSlotCounter(_ store: StoreTransaction) throws {
        guard try store.keys.isSealed(store) else { return }
        var highest: (slot: UInt64, seq: Int64)?
        try store.txn.scan(dbs.vault) { key, value in
            if let slot = VaultKeys.slot(of: value), slot >= highest?.slot ?? 0 {
                highest = (slot, key.count == 8 ? Int64(readBigEndian(key)) : 0)
            }
            return .next
        }
        let next = try store.keys.committedNextSlot(store)
        if let highest, highest.slot >= next {
            throw VerificationFailure(
                seq: highest.seq,
                reason:
                    "the vault's key slot counter (\(next)) is not past slot \(highest.slot), which this record's personal data uses: a new person's key would be written over it"
            )
        }
    }

    private func findOrphanVaultEntry(_ store: StoreTransaction) throws {
        var orphan: VerificationFailure?
        try store.txn.scan(dbs.vault) { key, _ in
            let seq = Int64(readBigEndian(key))
            let committed = try store.txn.withValue(in: dbs.records, forKey: Array(key)) {
                RecordFields(canonical: UnsafeRawBufferPointer(rebasing: $0[32...]))?.piiCommitment != nil
            }
            if committed == true { return .next }
            orphan = VerificationFailure(
                seq: seq, reason: "the vault holds personal data for a record without a commitment")
            return .stop
        }
        if let orphan { throw orphan }
    }
}

/// The sums of the id and stream indexes, made on a thread of their own while
/// the walk runs, in a read transaction that must see the walk's snapshot: if a
/// write committed in between, there is no result and the sums are made after the walk.
final class IndexSums: @unchecked Sendable {
    private let done = DispatchGroup()
    private var sums: (ids: EntrySum, streams: EntrySum)?
    /// Set when the walk has failed: the sums are not wanted.
    private let stopping = Atomic<Bool>(false)

    init(env: LMDBEnvironment, ids: LMDBDatabase, streams: LMDBDatabase, snapshot: Int) {
        done.enter()
        DispatchQueue.global().async { [self] in
            defer { done.leave() }
            sums = try? env.read { txn in
                guard txn.snapshot == snapshot else { return nil }
                var pages = ScannedPages(release: env.releaseResidentPages, limit: ScannedPages.entryBytes)
                let stopped = { self.stopping.load(ordering: .relaxed) }
                let sums = (
                    try IndexSums.sum(ids, in: txn, pages: &pages, stopped: stopped),
                    try IndexSums.sum(streams, in: txn, pages: &pages, stopped: stopped)
                )
                return stopped() ? nil : sums
            }
        }
    }

    /// The sum of the entries of index `db` in `txn`, the map's pages given
    /// back as they are read; cut short (and then of no use) once `stopped` says so.
    static func sum(
        _ db: LMDBDatabase, in txn: LMDBTransaction, pages: inout ScannedPages, stopped: () -> Bool = { false }
    ) throws -> EntrySum {
        var sum = EntrySum()
        try txn.scan(db) { key, value in
            pages.read(key.count + value.count)
            sum.add(EntrySum.term(key, seq: value.count == 8 ? Int64(readBigEndian(value)) : -1))
            return stopped() ? .stop : .next
        }
        return sum
    }

    /// The sums, once made; nil when they could not be made on the walk's snapshot.
    func result() -> (ids: EntrySum, streams: EntrySum)? {
        done.wait()
        return sums
    }

    /// Stops the sums if they are still being made, and waits until their transaction has ended.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        done.wait()
    }
}

/// The checks that follow the chain, record after record in seq order: seq
/// continuity, links, recordedAt order, stream versions and states, vault
/// commitments, the digest, and the index sums.
struct ChainWalk {
    let store: StoreTransaction
    let roles: TypeRoles
    let digest: LedgerDigest?
    let digestHash: HashValue?
    private(set) var previous = (seq: Int64(0), hash: HashValue.zero, recordedAt: Instant?.none)
    /// Each stream's version and state, rebuilt on every core (`StreamPartitions`).
    let streams: StreamPartitions
    private(set) var idSum = EntrySum()
    private(set) var streamSum = EntrySum()
    private(set) var piiChecked = 0
    /// The Merkle tree recomputed from the records' hashes.
    private var merkle = MerkleFrontier()
    /// The Merkle root recomputed at the digest's seq.
    private(set) var digestRoot: [UInt8]?
    private(set) var digestSeen: Bool
    let itemOf: ((LedgerRecord) -> StreamItem?)?
    /// The items the records start and end, keyed as the item index is.
    private(set) var items: [[UInt8]: (state: ItemState, seq: Int64)] = [:]

    init(
        store: StoreTransaction, roles: TypeRoles, itemOf: ((LedgerRecord) -> StreamItem?)?, digest: LedgerDigest?,
        streams: StreamPartitions
    ) {
        self.store = store
        self.roles = roles
        self.itemOf = itemOf
        self.digest = digest
        digestHash = digest.map { $0.hash.withUnsafeBytes { HashValue($0) } }
        digestSeen = digest == nil || digest!.seq == 0
        self.streams = streams
    }

    /// Checks a chunk read beforehand, record by record in seq order, once every core is done with it.
    ///
    /// A record is checked from its `WalkStep` when the step shows it sound;
    /// one that is not, or that breaks a rule of the walk, is checked again
    /// from its whole reading, which names what is wrong in the order the
    /// checks are made (`check(seq:value:_:…)`).
    mutating func check(_ chunk: ChunkReading) throws {
        let steps = chunk.walkSteps()
        let blocks = chunk.merkleBlocks()
        let versions = chunk.streamVersions()
        let nodes = chunk.merkle.nodes
        for index in 0..<chunk.chunk.count {
            let block = blocks.leaf(at: index)
            let checked = try check(
                steps.baseAddress! + index, value: chunk.chunk[index].value, merkleNodes: nodes, block: block,
                blockLevel: blocks.level, versionBefore: versions[index])
            if !checked {
                let entry = chunk.chunk[index]
                try check(
                    seq: entry.seq, value: entry.value, chunk.reading(at: index), merkleNodes: nodes, block: block,
                    blockLevel: blocks.level, versionBefore: versions[index])
            }
        }
    }

    /// Checks a record (stored as `value`) from its walk step; false, having
    /// changed nothing, when it must be checked from its whole reading, which
    /// names what is wrong with it.
    private mutating func check(
        _ step: UnsafePointer<WalkStep>, value: UnsafeRawBufferPointer, merkleNodes: MerkleNodes?,
        block: MerkleBlocks.Leaf, blockLevel: Int, versionBefore: Int64
    ) throws -> Bool {
        let step = step.pointee
        guard step.sound, step.seq == previous.seq + 1, step.prevHash == previous.hash,
            previous.recordedAt.map({ step.recordedAt >= $0 }) ?? true, step.version == versionBefore + 1
        else { return false }
        guard appendLeaf(step.leaf, block: block, blockLevel: blockLevel, merkleNodes: merkleNodes) else {
            throw VerificationFailure(
                seq: step.seq, reason: "the Merkle tree's nodes for this record do not match the records")
        }
        try take(
            seq: step.seq, value: value, hash: step.hash, recordedAt: step.recordedAt, idTerm: step.idTerm,
            streamTerm: step.streamTerm, carriesItem: step.carriesItem, piiOpensCommitment: step.piiOpensCommitment)
        return true
    }

    /// Appends a record's leaf to the recomputed Merkle tree (or, for a block's
    /// last leaf, the block's root); whether every node it completes, inside
    /// its block and above, is the stored one.
    private mutating func appendLeaf(
        _ leaf: HashValue, block: MerkleBlocks.Leaf, blockLevel: Int, merkleNodes: MerkleNodes?
    ) -> Bool {
        var nodesMatch = true
        func compare(_ number: UInt64, _ node: HashValue) {
            if let merkleNodes, !merkleNodes.holds(node, at: number) { nodesMatch = false }
        }
        switch block {
        case .alone:
            merkle.append(leaf: leaf, compare)
        case .inside(let matches):
            nodesMatch = matches
        case .last(let root, let matches):
            // `compare` clears nodesMatch for a node above the block that differs.
            let appended = merkle.append(subtree: root, level: blockLevel, compare)
            nodesMatch = nodesMatch && matches && appended
        }
        return nodesMatch
    }

    /// Takes a record whose links, version and Merkle nodes hold: its terms of
    /// the index sums, the item it starts or ends, its personal data's
    /// commitment, the digest when it is the digest's record.
    private mutating func take(
        seq: Int64, value: UnsafeRawBufferPointer, hash: HashValue, recordedAt: Instant, idTerm: EntrySum.Term,
        streamTerm: EntrySum.Term, carriesItem: Bool, piiOpensCommitment: Bool?
    ) throws {
        idSum.add(idTerm)
        streamSum.add(streamTerm)
        if let itemOf, carriesItem { try rebuildItem(seq: seq, value: value, itemOf: itemOf) }
        if let opens = piiOpensCommitment {
            guard opens else {
                throw VerificationFailure(
                    seq: seq,
                    reason:
                        "the personal data in the vault cannot be opened with its key, or does not match piiCommitment")
            }
            piiChecked += 1
        }
        if let digest, digest.seq == seq {
            guard hash == digestHash, digest.recordedAt == nil || digest.recordedAt == recordedAt else {
                throw VerificationFailure(
                    seq: seq,
                    reason: "the ledger no longer extends the digest: this record's hash or recordedAt differs from it")
            }
            digestSeen = true
            digestRoot = merkle.root
        }
        previous = (seq, hash, recordedAt)
    }

    private mutating func check(
        seq: Int64, value: UnsafeRawBufferPointer, _ reading: RecordReading?, merkleNodes: MerkleNodes?,
        block: MerkleBlocks.Leaf, blockLevel: Int, versionBefore: Int64
    ) throws {
        let expected = previous.seq + 1
        guard seq == expected else {
            throw VerificationFailure(seq: expected, reason: "record is missing (the next stored record is seq \(seq))")
        }
        guard let reading else { throw VerificationFailure(seq: seq, reason: "the stored record is truncated") }
        let hash = reading.hash
        guard hash == HashValue(value) else {
            throw VerificationFailure(seq: seq, reason: "the stored record does not match its hash (it was changed)")
        }
        guard let fields = reading.fields else {
            throw VerificationFailure(seq: seq, reason: "the stored record is not a well-formed chained record")
        }
        let nodesMatch = appendLeaf(reading.leaf, block: block, blockLevel: blockLevel, merkleNodes: merkleNodes)
        guard fields.seq == seq else {
            throw VerificationFailure(seq: seq, reason: "the record says seq \(fields.seq)")
        }
        guard fields.prevHash == previous.hash else {
            throw VerificationFailure(seq: seq, reason: "prevHash does not link to the hash of seq \(seq - 1)")
        }
        if let last = previous.recordedAt, fields.recordedAt < last {
            throw VerificationFailure(
                seq: seq, reason: "recordedAt \(fields.recordedAt) is before that of seq \(seq - 1) (\(last))")
        }
        guard nodesMatch else {
            throw VerificationFailure(
                seq: seq, reason: "the Merkle tree's nodes for this record do not match the records")
        }
        // The stream's version before this record, found on the parallel side.
        guard fields.version == versionBefore + 1 else {
            throw VerificationFailure(
                seq: seq, reason: "\(fields.stream.string) jumps from version \(versionBefore) to \(fields.version)")
        }
        try take(
            seq: seq, value: value, hash: hash, recordedAt: fields.recordedAt, idTerm: reading.idTerm,
            streamTerm: reading.streamTerm, carriesItem: reading.carriesItem,
            piiOpensCommitment: fields.piiCommitment == nil ? nil : reading.piiOpensCommitment)
    }
}

extension ChainWalk {
    /// Takes the item a record starts or ends into the rebuilt item index.
    fileprivate mutating func rebuildItem(
        seq: Int64, value: UnsafeRawBufferPointer, itemOf: (LedgerRecord) -> StreamItem?
    ) throws {
        guard let record = try? LedgerRecord(stored: UnsafeRawBufferPointer(rebasing: value[32...])),
            let item = itemOf(record)
        else { return }
        let key = StoreTransaction.itemKey(record.stream, item.key)
        switch item.change {
        case .starts:
            items[key] = (ItemState(startedOn: record.occurredAt, ended: false), seq)
        case .ends:
            guard let started = items[key] else {
                throw VerificationFailure(seq: seq, reason: "\(item.noun) \"\(item.key)\" ends without having started")
            }
            items[key] = (ItemState(startedOn: started.state.startedOn, ended: true), started.seq)
        }
    }
}

/// Bytes copied into large blocks that stay put until the arena goes: keys
/// that point into it stay valid, and there is no allocation per copy.
final class ByteArena {
    private var blocks: [UnsafeMutableRawBufferPointer] = []
    private var used = 0
    private static let blockSize = 1 << 20

    /// A copy of `bytes`, valid while the arena lives.
    func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if blocks.isEmpty || used + bytes.count > blocks[blocks.count - 1].count {
            blocks.append(
                .allocate(byteCount: max(ByteArena.blockSize, bytes.count), alignment: MemoryLayout<UInt64>.alignment))
            used = 0
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: blocks[blocks.count - 1][used..<(used + bytes.count)])
        if bytes.count > 0 { target.copyMemory(from: bytes) }
        used += bytes.count
        return UnsafeRawBufferPointer(target)
    }

    deinit {
        for block in blocks { block.deallocate() }
    }
}

/// A chunk of records being hashed and read on every core in the background.
/// The pointers lie in the memory map of the read transaction, which outlives
/// the reading: `finish()` is always waited for before the transaction ends.
final class ChunkReading: @unchecked Sendable {
    let chunk: [(seq: Int64, value: UnsafeRawBufferPointer)]
    /// Where the chunk's leaves lie in the Merkle tree, and its stored nodes.
    let merkle: MerkleReading
    private let vault: [UnsafeRawBufferPointer?]
    private let opening: VaultOpening
    private let roles: TypeRoles
    /// What the stream partitions need of each record, apart from the rest:
    /// they read these, not the whole readings.
    private let steps: UnsafeMutableBufferPointer<StreamStep?>
    /// What the walk needs of each record, apart from the rest, for the same reason.
    private let walk: UnsafeMutableBufferPointer<WalkStep>
    private var blocks = MerkleBlocks.none
    private let done = DispatchGroup()
    /// Each record's stream version before it, found by the stream partitions.
    private let versions: UnsafeMutableBufferPointer<Int64>
    private let versionsDone = DispatchGroup()

    init(
        _ chunk: [(seq: Int64, value: UnsafeRawBufferPointer)], vault: [UnsafeRawBufferPointer?],
        opening: VaultOpening, roles: TypeRoles, streams: StreamPartitions, merkle: MerkleReading
    ) {
        self.chunk = chunk
        self.merkle = merkle
        self.vault = vault
        self.opening = opening
        self.roles = roles
        versions = .allocate(capacity: chunk.count)
        versions.initialize(repeating: -1)
        steps = .allocate(capacity: chunk.count)
        steps.initialize(repeating: nil)
        walk = .allocate(capacity: chunk.count)
        done.enter()
        DispatchQueue.global().async { [self] in
            read()
            done.leave()
        }
        // Queued now, on the walk's thread, so that every partition takes the chunks in seq order.
        streams.follow(self, group: versionsDone)
    }

    /// Called by a stream partition once the chunk is read: the records of its
    /// streams, in seq order, with the version each found its stream at.
    func apply(_ partition: StreamPartitions.Partition) {
        done.wait()
        // Each stream's slot is fetched 16 records ahead and its entry 8 ahead,
        // so that the lookups' cache misses overlap instead of following one another.
        let count = steps.count
        for index in steps.indices {
            if index + 16 < count, let ahead = steps[index + 16], partition.owns(ahead.hash) {
                partition.table.prefetchSlot(ahead.hash)
            }
            if index + 8 < count, let ahead = steps[index + 8], partition.owns(ahead.hash) {
                partition.table.prefetchEntry(ahead.hash)
            }
            guard let step = steps[index], partition.owns(step.hash) else { continue }
            versions[index] = partition.advance(step)
        }
    }

    /// Waits until every core and every stream partition is done with the
    /// chunk: the walk calls this before its transaction can end, however it ends.
    func finish() {
        done.wait()
        versionsDone.wait()
    }

    /// Each record's stream version before it (-1 where the record could not be read).
    func streamVersions() -> UnsafeMutableBufferPointer<Int64> {
        versionsDone.wait()
        return versions
    }

    private func read() {
        var leaves = [HashValue](repeating: .zero, count: chunk.count)
        // Buffers and values taken out of `self` beforehand: reached through
        // it, each would be retained and released for every record.
        let (walk, steps, opening, roles) = (walk, steps, opening, roles)
        chunk.withUnsafeBufferPointer { chunk in
            vault.withUnsafeBufferPointer { vault in
                leaves.withUnsafeMutableBufferPointer { leaves in
                    // Each index is written by one worker only.
                    Parallel.forEach(chunk.count) { index in
                        // Each run of indices goes up one by one: the next record's
                        // bytes are asked for while this one is hashed and read.
                        if index + 1 < chunk.count {
                            CacheHint.prefetch(UnsafeRawBufferPointer(rebasing: chunk[index + 1].value.prefix(1024)))
                        }
                        let reading = ChunkReading.read(
                            chunk[index], vault: vault[index], opening: opening, roles: roles)
                        (walk.baseAddress! + index).initialize(to: WalkStep(reading, stored: chunk[index]))
                        if let reading {
                            leaves[index] = reading.leaf
                            if let fields = reading.fields {
                                steps[index] = StreamStep(fields, hash: reading.streamHash, role: reading.role)
                            }
                        }
                    }
                }
            }
        }
        blocks = MerkleBlocks(leaves: leaves, merkle)
    }

    /// The record `stored` read, with its vault entry if it has one.
    @inline(__always)
    private static func read(
        _ stored: (seq: Int64, value: UnsafeRawBufferPointer), vault: UnsafeRawBufferPointer?,
        opening: VaultOpening, roles: TypeRoles
    ) -> RecordReading? {
        guard let entry = vault, let opened = opening.open(entry, seq: stored.seq) else {
            return VerificationChunk.read(stored.value, vault: nil, roles: roles)
        }
        return opened.withUnsafeBytes { VerificationChunk.read(stored.value, vault: $0, roles: roles) }
    }

    /// The reading of the record at `index`, made again: the walk asks for it
    /// only where the record's step shows something wrong, to name it.
    func reading(at index: Int) -> RecordReading? {
        ChunkReading.read(chunk[index], vault: vault[index], opening: opening, roles: roles)
    }

    /// The walk's steps, once every core is done with the chunk.
    func walkSteps() -> UnsafeMutableBufferPointer<WalkStep> {
        done.wait()
        return walk
    }

    /// The chunk's whole Merkle blocks, once every core is done with the chunk.
    func merkleBlocks() -> MerkleBlocks {
        done.wait()
        return blocks
    }

    deinit {
        done.wait()
        versionsDone.wait()
        versions.deallocate()
        steps.deallocate()
        walk.deallocate()
    }
}

/// A record as the walk sees it when nothing is wrong with it, made on the
/// reading core while the record's bytes are at hand: two cache lines that
/// the walk reads in order, where the whole reading spans five, and the
/// stored hash would be read from the map again.
struct WalkStep {
    let hash: HashValue
    let prevHash: HashValue
    /// Its Merkle leaf hash.
    let leaf: HashValue
    let recordedAt: Instant
    /// The seq it is stored under.
    let seq: Int64
    let version: Int64
    let idTerm: EntrySum.Term
    let streamTerm: EntrySum.Term
    /// Whether the record reads, says the seq it is stored under, and its stored hash is its own.
    let sound: Bool
    /// Whether it starts or ends an item.
    let carriesItem: Bool
    /// As in `RecordReading`.
    let piiOpensCommitment: Bool?

    /// The step of the record `stored`, read as `reading`.
    init(_ reading: RecordReading?, stored: (seq: Int64, value: UnsafeRawBufferPointer)) {
        guard let reading, let fields = reading.fields else {
            self.init(
                hash: .zero, prevHash: .zero, leaf: .zero, recordedAt: Instant(milliseconds: 0), seq: stored.seq,
                version: 0, idTerm: .zero, streamTerm: .zero, sound: false, carriesItem: false,
                piiOpensCommitment: nil)
            return
        }
        self.init(
            hash: reading.hash, prevHash: fields.prevHash, leaf: reading.leaf, recordedAt: fields.recordedAt,
            seq: stored.seq, version: fields.version, idTerm: reading.idTerm, streamTerm: reading.streamTerm,
            sound: fields.seq == stored.seq && reading.hash == HashValue(stored.value),
            carriesItem: reading.carriesItem,
            piiOpensCommitment: fields.piiCommitment == nil ? nil : reading.piiOpensCommitment)
    }

    private init(
        hash: HashValue, prevHash: HashValue, leaf: HashValue, recordedAt: Instant, seq: Int64, version: Int64,
        idTerm: EntrySum.Term, streamTerm: EntrySum.Term, sound: Bool, carriesItem: Bool, piiOpensCommitment: Bool?
    ) {
        self.hash = hash
        self.prevHash = prevHash
        self.leaf = leaf
        self.recordedAt = recordedAt
        self.seq = seq
        self.version = version
        self.idTerm = idTerm
        self.streamTerm = streamTerm
        self.sound = sound
        self.carriesItem = carriesItem
        self.piiOpensCommitment = piiOpensCommitment
    }
}

/// A record as a stream partition sees it: its stream's name (made ready on
/// the reading core, while the record's bytes are at hand), its version, its
/// date and its role.
struct StreamStep {
    let name: StreamStates.Name
    let version: Int64
    let occurredAt: LocalDate
    let role: StreamRole

    /// The hash of the stream's name, which chooses its partition.
    var hash: Int { name.hash }

    init(name: FieldBytes, hash: Int, version: Int64, on occurredAt: LocalDate, role: StreamRole) {
        self.name = StreamStates.Name(name, hash: hash)
        self.version = version
        self.occurredAt = occurredAt
        self.role = role
    }

    init(_ fields: RecordFields, hash: Int, role: StreamRole) {
        self.init(name: fields.stream, hash: hash, version: fields.version, on: fields.occurredAt, role: role)
    }
}

/// The streams' versions and states rebuilt from the records on every core:
/// each partition owns the streams whose name hashes to it, keeps their table,
/// and takes every chunk in seq order on a serial queue of its own. The walk
/// then only compares each record's version with the one found before it.
final class StreamPartitions: @unchecked Sendable {
    /// The streams of one partition; touched only on its queue, and read once
    /// the walk is over.
    final class Partition: @unchecked Sendable {
        let number: Int
        let count: Int
        let queue: DispatchQueue
        var table: StreamStates

        init(number: Int, of count: Int, expected: Int) {
            self.number = number
            self.count = count
            queue = DispatchQueue(label: "sunledger.verify.streams.\(number)")
            table = StreamStates(expected: expected / count + 16)
        }

        func owns(_ hash: Int) -> Bool { Int(UInt(bitPattern: hash) % UInt(count)) == number }

        /// The state rebuilt for the stream `name`, read in place (readers on other cores share the table).
        func state(of name: StreamStates.Name) -> StreamState? {
            table.place(of: name).map { table.state(at: $0) }
        }

        /// Takes a record of one of its streams; returns the stream's version before it (0 for a new stream).
        func advance(_ step: StreamStep) -> Int64 {
            let name = step.name
            if let place = table.place(of: name) {
                let version = table.version(at: place)
                if step.version == version + 1 { table.append(step.occurredAt, role: step.role, at: place) }
                return version
            }
            if step.version == 1 { table.open(name, on: step.occurredAt, role: step.role) }
            return 0
        }
    }

    let partitions: [Partition]

    init(expected: Int) {
        let count = max(1, Parallel.coreCount)
        partitions = (0..<count).map { Partition(number: $0, of: count, expected: expected) }
    }

    /// Has every partition take `chunk`'s records once it is read; `group` is left when all have.
    func follow(_ chunk: ChunkReading, group: DispatchGroup) {
        for partition in partitions {
            group.enter()
            partition.queue.async {
                chunk.apply(partition)
                group.leave()
            }
        }
    }

    /// Streams seen.
    var count: Int { partitions.reduce(0) { $0 + $1.table.count } }

    /// The state rebuilt for the stream named `stream`.
    func state(of stream: FieldBytes) -> StreamState? {
        let name = StreamStates.Name(stream, hash: StreamStates.hash(of: stream))
        return partitions[Int(UInt(bitPattern: name.hash) % UInt(partitions.count))].state(of: name)
    }

    /// The names of the streams seen.
    var names: [String] { partitions.flatMap { $0.table.names } }
}

/// The states of streams by name, as verification rebuilds them: a table of
/// places (`HashPlaces`) over an array of entries, each holding its name's
/// first 32 bytes beside its state.
///
/// A probe reads a slot (a place and 32 bits of the name's hash) and then the
/// one entry it points to, where a dictionary read a bitmap, a key, the name's
/// bytes and a value apart, and hashed the hash again. Names of up to 32 bytes
/// (the synthetic district's have 8 to 20) are compared in the entry itself,
/// so the copy of the name is read only for longer ones.
struct StreamStates {
    /// A name in the memory map (or a copy of it), with its hash made beforehand.
    struct Name {
        let bytes: FieldBytes
        let hash: Int
        /// The first 32 bytes, zero beyond the name's end.
        let head: Head

        init(_ bytes: FieldBytes, hash: Int) {
            self.bytes = bytes
            self.hash = hash
            let name = bytes.bytes
            if name.count >= 32 {
                head = Head(
                    name.loadUnaligned(as: UInt64.self), name.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    name.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    name.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            } else {
                var head = Head(0, 0, 0, 0)
                withUnsafeMutableBytes(of: &head) { $0.copyMemory(from: name) }
                self.head = head
            }
        }

        /// Whether this is the name of `entry`: the same head, the same
        /// length, and beyond 32 bytes the same bytes.
        fileprivate func isName(of entry: Entry) -> Bool {
            head == entry.head && bytes.bytes.count == entry.name.bytes.count
                && (bytes.bytes.count <= 32 || bytes == entry.name)
        }
    }

    /// A name's first 32 bytes, as four words.
    struct Head: Equatable {
        let a, b, c, d: UInt64

        init(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) {
            self.a = a
            self.b = b
            self.c = c
            self.d = d
        }
    }

    fileprivate struct Entry {
        let head: Head
        /// The arena's copy of the whole name.
        let name: FieldBytes
        var state: StreamState
    }

    /// Each entry's place, by its name's hash.
    private var places = HashPlaces()
    private var entries: [Entry] = []
    /// The names the entries point into.
    private let arena = ByteArena()

    /// A table with room for `expected` streams before it grows.
    init(expected: Int) {
        places.reserveCapacity(expected, held: 0) { _ in 0 }
        entries.reserveCapacity(expected)
    }

    /// The hash that places `name`: the same in every partition and for every reader of this process.
    static func hash(of name: FieldBytes) -> Int { KeyedHash.hash(name.bytes) }

    /// How many streams there are.
    var count: Int { entries.count }

    /// Every stream's name, in the order first seen.
    var names: [String] { entries.map(\.name.string) }

    /// The place of `name`'s entry, if it has one.
    @inline(__always)
    func place(of name: Name) -> Int? {
        entries.withUnsafeBufferPointer { entries in
            places.place(hash: StreamStates.probing(name.hash)) { name.isName(of: entries[$0]) }
        }
    }

    /// Asks the processor to fetch the slot where a probe for `hash` starts.
    func prefetchSlot(_ hash: Int) { places.prefetchSlot(hash: StreamStates.probing(hash)) }

    /// Asks the processor to fetch the entry that the slot where a probe for
    /// `hash` starts points to, if that slot has the hash's tag.
    func prefetchEntry(_ hash: Int) {
        guard let place = places.likelyPlace(hash: StreamStates.probing(hash)) else { return }
        entries.withUnsafeBufferPointer { CacheHint.prefetch($0.baseAddress! + place) }
    }

    func version(at place: Int) -> Int64 { entries[place].state.version }

    func state(at place: Int) -> StreamState { entries[place].state }

    /// Notes the next event of the stream at `place`, dated `occurredAt`.
    mutating func append(_ occurredAt: LocalDate, role: StreamRole, at place: Int) {
        entries[place].state = entries[place].state.appending(occurredAt, role: role)
    }

    /// Adds `name`, which has no entry, as a stream whose first event is dated `occurredAt`.
    mutating func open(_ name: Name, on occurredAt: LocalDate, role: StreamRole) {
        do {
            // Let go of before `entries` grows, which would copy it otherwise.
            let held = entries
            places.add(hash: StreamStates.probing(name.hash), place: held.count) {
                StreamStates.probing(StreamStates.hash(of: held[$0].name))
            }
        }
        entries.append(
            Entry(
                head: name.head, name: FieldBytes(arena.copy(name.bytes.bytes)),
                state: .opened(on: occurredAt, role: role)))
    }

    /// The hash a name is placed by: its own, turned so that the probe does
    /// not start from its lowest bits, which choose the partition.
    private static func probing(_ hash: Int) -> Int {
        let bits = UInt(bitPattern: hash)
        return Int(bitPattern: bits >> 8 | bits << (UInt.bitWidth - 8))
    }
}

/// Opens vault entries on any thread during verification: the master key is
/// unlocked beforehand, on the thread that owns the read transaction.
struct VaultOpening: @unchecked Sendable {
    private let store: StoreTransaction
    private let sealed: Bool

    /// Why the entries cannot be opened at all: there is no master key here.
    let locked: String?

    init(_ store: StoreTransaction) throws {
        self.store = store
        sealed = try store.keys.isSealed(store)
        var locked: String?
        if sealed, try store.txn.count(in: store.dbs.vault) > 0 {
            do {
                try store.keys.unlock(store)
            } catch let problem as VaultKeys.Problem {
                guard case .noMasterKey = problem else { throw problem }
                locked = problem.description
            }
        }
        self.locked = locked
    }

    /// salt ‖ canonical pii of a stored entry; empty when it cannot be opened
    /// (so that it opens no commitment); nil when the vault is locked.
    func open(_ stored: UnsafeRawBufferPointer, seq: Int64) -> [UInt8]? {
        guard locked == nil else { return nil }
        guard sealed else { return Array(stored) }
        return ((try? store.keys.open(stored, seq: seq, sealed: true, store)) ?? nil)?.encoded ?? []
    }
}

/// What the parallel part of verification learns of one stored record: the
/// hash of its canonical bytes, its fields (nil when unreadable), its role in
/// its stream, and its terms of the two index sums. Nil altogether when the
/// value is too short to hold a record.
struct RecordReading {
    let hash: HashValue
    /// Its Merkle leaf hash (`MerkleTree.leafHash` of `hash`).
    let leaf: HashValue
    let fields: RecordFields?
    let role: StreamRole
    let idTerm: EntrySum.Term
    let streamTerm: EntrySum.Term
    /// The hash of the stream's name, for the walk's table of streams.
    var streamHash = 0
    /// Whether it starts or ends an item.
    var carriesItem = false
    /// Whether the vault entry opens the record's commitment; nil without either.
    var piiOpensCommitment: Bool?
}

enum VerificationChunk {
    static let size = 8192
    /// Chunks being read while the walk checks the one before them.
    static let readAhead = 2

    static func read(
        _ value: UnsafeRawBufferPointer, vault: UnsafeRawBufferPointer?, roles: TypeRoles
    ) -> RecordReading? {
        guard value.count > 32 else { return nil }
        let canonical = UnsafeRawBufferPointer(rebasing: value[32...])
        let hash = HashValue(hashing: canonical)
        let leaf = MerkleTree.leafHash(UnsafeRawBufferPointer(rebasing: value[0..<32]))
        guard let fields = RecordFields(canonical: canonical) else {
            return RecordReading(
                hash: hash, leaf: leaf, fields: nil, role: .ordinary, idTerm: .zero, streamTerm: .zero)
        }
        let streamTerm = withUnsafeTemporaryAllocation(byteCount: fields.stream.bytes.count + 5, alignment: 1) { key in
            key.copyMemory(from: fields.stream.bytes)
            key[fields.stream.bytes.count] = 0
            for index in 0..<4 {
                key[fields.stream.bytes.count + 1 + index] = UInt8(
                    truncatingIfNeeded: UInt64(fields.version) >> UInt64(24 - 8 * index))
            }
            return EntrySum.term(UnsafeRawBufferPointer(key), seq: fields.seq)
        }
        let type = roles.lookup(fields.type)
        var reading = RecordReading(
            hash: hash, leaf: leaf, fields: fields, role: type.role,
            idTerm: EntrySum.term(fields.id.bytes, seq: fields.seq), streamTerm: streamTerm)
        reading.carriesItem = type.carriesItem
        reading.streamHash = StreamStates.hash(of: fields.stream)
        // The vault holds salt ‖ canonical pii: the commitment is its SHA-256.
        // An entry that cannot be opened (changed, or its key lost) reaches here empty.
        if let commitment = fields.piiCommitment, let vault {
            reading.piiOpensCommitment = vault.count > 16 && HashValue(hashing: vault) == commitment
        }
        return reading
    }
}

/// The opener, closer and item types, found by a type's bytes: a record's
/// type is looked up once among the few that have a role, by length and
/// first 16 bytes before any byte-by-byte comparison.
struct TypeRoles: @unchecked Sendable {
    private struct Entry {
        let length: Int
        let head: (UInt64, UInt64)
        let name: [UInt8]
        let role: StreamRole
        let carriesItem: Bool
    }

    private let entries: [Entry]

    init(closers: Set<String>, openers: Set<String>, items: Set<String> = []) {
        entries = closers.union(openers).union(items).sorted().map { name in
            let bytes = Array(name.utf8)
            let role: StreamRole = closers.contains(name) ? .closer : openers.contains(name) ? .opener : .ordinary
            return bytes.withUnsafeBytes {
                Entry(
                    length: bytes.count, head: TypeRoles.head($0), name: bytes, role: role,
                    carriesItem: items.contains(name))
            }
        }
    }

    /// The first 16 bytes of `name`, zero past its end.
    @inline(__always)
    private static func head(_ name: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        if name.count >= 16 {
            return (name.loadUnaligned(as: UInt64.self), name.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
        var head: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &head) { $0.copyMemory(from: name) }
        return head
    }

    /// The role of records of `type` in their stream, and whether they start or end an item.
    func lookup(_ type: FieldBytes) -> (role: StreamRole, carriesItem: Bool) {
        let name = type.bytes
        let head = TypeRoles.head(name)
        for entry in entries where entry.length == name.count && entry.head == head {
            if name.count <= 16 || entry.name.withUnsafeBytes({ $0.elementsEqual(name) }) {
                return (entry.role, entry.carriesItem)
            }
        }
        return (.ordinary, false)
    }
}

/// An order-independent sum of (key, seq) entries, keyed by the process's
/// random hash key (`KeyedHash`): an entry changed, missing or added changes the sum, and
/// nobody who does not know the key can make two different sets sum alike.
struct EntrySum: Equatable {
    /// One entry's contribution.
    struct Term {
        let value: UInt64
        static let zero = Term(value: 0)
    }

    var sum: UInt64 = 0
    var count = 0

    static func term(_ key: UnsafeRawBufferPointer, seq: Int64) -> Term {
        Term(value: UInt64(bitPattern: Int64(KeyedHash.hash(UInt64(bitPattern: seq), key))))
    }

    mutating func add(_ term: Term) {
        sum &+= term.value
        count += 1
    }
}

/// The stored Merkle nodes, read in number order beside the records, a chunk's
/// worth at a time. A sound tree holds exactly the nodes 0, 1, 2, … under
/// 8-byte big-endian keys, 32 bytes each; from the first entry that breaks
/// that order on, nothing more is gathered, so the walk stops at the first
/// record whose node is missing, misplaced or malformed.
struct StoredMerkleNodes {
    private let cursor: LMDBCursor
    /// Leaves gathered for so far.
    private var leaves: UInt64 = 0
    /// The number the next stored node must have.
    private var expected: UInt64 = 0
    /// An entry read but not yet used.
    private var pending: (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?
    private var broken = false

    init(_ cursor: LMDBCursor) {
        self.cursor = cursor
    }

    /// The stored nodes that appending the next `count` leaves completes (the
    /// leaves of the records that follow those gathered for, if seqs run on).
    mutating func gather(leaves count: Int) throws -> MerkleNodes {
        let numbers = MerkleTree.nodeNumbers(completedByLeaves: leaves, through: leaves + UInt64(count) - 1)
        leaves += UInt64(count)
        var values = [UnsafeRawBufferPointer?](repeating: nil, count: Int(numbers.count))
        while !broken, expected < numbers.upperBound, let entry = try nextEntry() {
            guard entry.key.count == 8, readBigEndian(entry.key) == expected, entry.value.count == 32 else {
                broken = true
                pending = entry
                break
            }
            if expected >= numbers.lowerBound { values[Int(expected - numbers.lowerBound)] = entry.value }
            expected += 1
        }
        return MerkleNodes(first: numbers.lowerBound, values: values)
    }

    /// How many stored entries lie past the nodes gathered.
    mutating func remaining() throws -> Int {
        var count = 0
        while try nextEntry() != nil { count += 1 }
        return count
    }

    private mutating func nextEntry() throws -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        if let entry = pending {
            pending = nil
            return entry
        }
        return try cursor.next()
    }
}

/// The stored Merkle nodes of a chunk, by number from `first`.
struct MerkleNodes: @unchecked Sendable {
    let first: UInt64
    let values: [UnsafeRawBufferPointer?]

    /// Whether the node stored under `number` is `hash`.
    func holds(_ hash: HashValue, at number: UInt64) -> Bool {
        guard number >= first, number - first < UInt64(values.count), let stored = values[Int(number - first)] else {
            return false
        }
        return HashValue(stored) == hash
    }
}

/// Where a chunk's leaves lie in the Merkle tree and what is stored of it.
struct MerkleReading: @unchecked Sendable {
    /// The leaf of the chunk's first record (the records before it, if seqs run on).
    let firstLeaf: UInt64
    /// The stored nodes its leaves complete; nil when the ledger has no tree.
    let nodes: MerkleNodes?
    /// A leaf after which the root is wanted (a digest's): the block around it
    /// is left to the walk, leaf by leaf.
    let rootAt: UInt64?
    /// The height of the blocks hashed on every core (`MerkleBlocks`).
    let blockLevel: Int
}

/// The whole, aligned blocks of 2^`level` leaves in a chunk, hashed on every
/// core: each block's root, and for each leaf whether the nodes it completes
/// inside its block are the stored ones. The walk then appends a block's root
/// to its frontier at once, and only the nodes above the blocks are hashed in seq order.
struct MerkleBlocks {
    /// The blocks' height in production: 1,024 leaves.
    static let standardLevel = 10

    /// What the walk does with the leaf at a position of the chunk.
    enum Leaf {
        /// Not in a block: append it alone.
        case alone
        /// Inside a block, not its last leaf.
        case inside(matches: Bool)
        /// A block's last leaf: append the block's root.
        case last(root: HashValue, matches: Bool)
    }

    /// The blocks' height: each holds 2^`level` leaves.
    let level: Int
    /// The chunk position of each block's first leaf.
    private let starts: [Int]
    private let roots: [HashValue]
    private let matches: [[Bool]]

    static let none = MerkleBlocks(level: standardLevel, starts: [], roots: [], matches: [])

    private init(level: Int, starts: [Int], roots: [HashValue], matches: [[Bool]]) {
        self.level = level
        self.starts = starts
        self.roots = roots
        self.matches = matches
    }

    private var size: Int { 1 << level }

    /// Hashes the whole blocks among `leaves` (the leaf hashes of a chunk, in order).
    init(leaves: [HashValue], _ merkle: MerkleReading) {
        let level = merkle.blockLevel
        let size = UInt64(1) << UInt64(level)
        var starts: [Int] = []
        var leaf = (merkle.firstLeaf + size - 1) / size * size
        while leaf + size <= merkle.firstLeaf + UInt64(leaves.count) {
            if let rootAt = merkle.rootAt, rootAt >= leaf, rootAt < leaf + size - 1 {
                leaf += size
                continue
            }
            starts.append(Int(leaf - merkle.firstLeaf))
            leaf += size
        }
        let hashed = Parallel.map(starts.count, minimumPerCore: 1) { block in
            MerkleBlocks.hash(
                leaves[starts[block]..<(starts[block] + Int(size))],
                firstLeaf: merkle.firstLeaf + UInt64(starts[block]), nodes: merkle.nodes)
        }
        self.init(level: level, starts: starts, roots: hashed.map(\.root), matches: hashed.map(\.matches))
    }

    /// The root of one block, and whether each leaf's nodes in it match the stored ones.
    private static func hash(
        _ leaves: ArraySlice<HashValue>, firstLeaf: UInt64, nodes: MerkleNodes?
    ) -> (root: HashValue, matches: [Bool]) {
        // The block is a whole tree of its own: its stored nodes are the ledger's numbered
        // from the block's first leaf on (2b − popcount(b) adds up, the block being aligned).
        let first = MerkleTree.storedNodes(leaves: firstLeaf)
        var block = MerkleFrontier()
        var matches = [Bool](repeating: true, count: leaves.count)
        for (offset, leaf) in leaves.enumerated() {
            block.append(leaf: leaf) { number, node in
                if let nodes, !nodes.holds(node, at: first + number) { matches[offset] = false }
            }
        }
        return (block.rootHash, matches)
    }

    /// What the walk does with the leaf at `position` of the chunk.
    func leaf(at position: Int) -> Leaf {
        // Blocks are few (a chunk holds eight); the walk asks in order, so this stays cheap.
        for (block, start) in starts.enumerated() where position >= start && position < start + size {
            let matches = matches[block][position - start]
            return position == start + size - 1
                ? .last(root: roots[block], matches: matches) : .inside(matches: matches)
        }
        return .alone
    }
}

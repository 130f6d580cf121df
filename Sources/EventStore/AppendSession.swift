import LMDBKit
import LedgerValues

/// Events being appended inside one write transaction (see `EventLog.appending`).
///
/// Each offered event is judged against the ledger as this transaction sees it,
/// and, when admitted, its record is chained, hashed and put at once. Index
/// entries and stream states are gathered and put in key order: neighbouring
/// keys share B-tree pages, which is what makes random-key indexes cheap. Id
/// entries are put every `flushEvery` events (a duplicate is looked up among
/// them); stream index entries, which nothing in the session looks up, are
/// held up to `streamEntriesHeld` of them, so that a large file puts its
/// entries in few passes over the stream index, each touching a leaf page once.
public final class AppendSession {
    let store: StoreTransaction
    private let sequencer: Sequencer
    private var head: LedgerHead
    private let flushEvery: Int
    private let streamEntriesHeld: Int
    private let streamStatesHeld: Int
    private var idEntries = KeyRun()
    private var streamEntries = KeyRun()
    private var salts = SaltSource()
    /// The keys of a record from `prevHash` on, written anew for each record in the same buffer.
    private var suffix: [UInt8] = []

    /// Events appended so far in this session.
    private var appended = 0
    /// Vault entries removed so far in this session by erasures (`PersonPiiErased`):
    /// records whose personal data is gone.
    public private(set) var personalDataErased = 0

    private let projectionSpaces: [String: LMDBDatabase]
    /// The Merkle tree, which every appended record extends.
    private let merkle: MerkleAppends
    private let releasePages: () -> Void
    /// Grows the data file ahead of this session's transaction, when it is a large one.
    private let preallocator: DataFilePreallocator?
    /// The slot and this session's vault entries of each stream given personal data in it.
    private var streamVaults = SessionVaults()
    /// The slots of stream keys erased in this session, to be overwritten once it commits.
    private(set) var shreddedSlots: [UInt64] = []

    init(
        store: StoreTransaction, projectionSpaces: [String: LMDBDatabase], releasePages: @escaping () -> Void,
        preallocator: DataFilePreallocator? = nil, clock: Instant, flushEvery: Int, streamEntriesHeld: Int,
        streamStatesHeld: Int = AppendSession.streamStatesHeld
    ) throws {
        self.store = store
        self.projectionSpaces = projectionSpaces
        self.releasePages = releasePages
        self.preallocator = preallocator
        self.flushEvery = max(flushEvery, 1)
        self.streamEntriesHeld = max(streamEntriesHeld, 1)
        self.streamStatesHeld = max(streamStatesHeld, 1)
        sequencer = try Sequencer(lookup: store, clock: clock)
        head = try store.head()
        let store = self.store
        // A ledger made before it had a Merkle tree, or that kept every level of it, gets it anew.
        if try !store.hasMerkleLayoutMark() { try MerkleTree.plant(store) }
        merkle = MerkleAppends(
            try MerkleFrontier(count: UInt64(head.seq)) {
                try store.merkleNode(level: $0, index: $1, layout: .fromLevel4)
            })
        store.keys.beginSession()
        try finishShredding()
        if try !store.keys.isSealed(store) { try sealVault() }
    }

    /// Overwrites the slots of keys erased by a transaction that committed
    /// before its slots were overwritten (the process stopped in between).
    private func finishShredding() throws {
        var pending: [UInt64] = []
        try store.txn.scan(store.dbs.vaultShreds) { key, _ in
            pending.append(readBigEndian(key))
            return .next
        }
        guard !pending.isEmpty else { return }
        try store.keys.shred(pending)
        for slot in pending { _ = try store.txn.delete(bigEndianKey(Int64(slot)), in: store.dbs.vaultShreds) }
    }

    /// Seals a vault kept in the clear (a ledger made before the vault was
    /// encrypted), one key per stream, and marks the vault sealed.
    private func sealVault() throws {
        var clear: [(seq: Int64, entry: [UInt8])] = []
        try store.txn.scan(store.dbs.vault) { key, value in
            clear.append((Int64(readBigEndian(key)), Array(value)))
            return .next
        }
        for (seq, bytes) in clear {
            guard let record = try store.record(at: seq), let entry = bytes.withUnsafeBytes({ VaultEntry(encoded: $0) })
            else { throw LedgerError.damaged(seq: seq, reason: "the vault entry or its record cannot be read") }
            // The stream's slot is never looked up in the vault: its entries are still in the clear.
            let slot = try streamVaults.slot(of: record.stream) ?? store.keys.newSlot(store)
            streamVaults.setSlot(slot, for: record.stream)
            let sealed = try store.keys.seal(entry, seq: seq, slot: slot, store)
            try store.txn.put(sealed, forKey: bigEndianKey(seq), in: store.dbs.vault)
        }
        try store.txn.put([1], forKey: VaultKeys.formatKey, in: store.dbs.meta)
    }

    /// The vault slot whose key locks `stream`'s personal data: the one its
    /// earlier entries use, else a new one (always new for a stream's first event).
    private func slot(for stream: String, version: Int64) throws -> UInt64 {
        if let known = streamVaults.slot(of: stream) { return known }
        var found: UInt64?
        if version > 1 {
            // Entries of this session are in `streamVaults`; earlier ones are indexed.
            for seq in try store.seqs(ofStream: stream).reversed() {
                found =
                    try store.txn.withValue(in: store.dbs.vault, forKey: bigEndianKey(seq), VaultKeys.slot(of:)) ?? nil
                if found != nil { break }
            }
        }
        let slot = try found ?? store.keys.newSlot(store)
        streamVaults.setSlot(slot, for: stream)
        return slot
    }

    /// The projection databases in this session's transaction; their last
    /// record is the last one this session has appended.
    public var projections: ProjectionAccess {
        ProjectionAccess(
            store: store, spaces: projectionSpaces, head: { [unowned self] in head }, releasePages: releasePages)
    }

    /// The stored hash of the record at `seq`, as this transaction sees it.
    public func storedHash(at seq: Int64) throws -> [UInt8]? {
        try store.hash(at: seq)
    }

    /// `offer(_:)` for an event held in a class's stored property: lent in
    /// place, where passing the property would copy the event (a reference
    /// count taken and given back for each of its fields). The event is read, never changed.
    public func offer(lending event: inout NewEvent) throws -> Admission {
        try offer(event)
    }

    /// Judges `event` and, when it is admitted, stores it. A rejected event
    /// changes nothing; the caller decides whether the session goes on.
    public func offer(_ event: NewEvent) throws -> Admission {
        notePageReads()
        if sequencer.needsPendingIDsIndexed(before: event.id) { try putIDs() }
        let admission = try sequencer.admit(event)
        guard case .append(let seq, let version, let recordedAt) = admission else { return admission }
        // Records are built from a preparation: the one made on the parsing
        // thread (read in place: a copy would take a reference to each of its
        // arrays, made on another core), else one made here (with the salt an
        // export carried, for a restore).
        if event.restoration == nil, event.preparation != nil {
            try append(event, prepared: event.preparation!, seq: seq, version: version, recordedAt: recordedAt)
        } else if let restored = event.restoration {
            try checkRestoration(event, restored, seq: seq, version: version)
            let vault = restored.piiSalt.flatMap { salt in
                event.canonicalPII.map { VaultEntry(salt: salt, canonicalPII: $0) }
            }
            try append(
                event, prepared: event.preparation(committing: restored.piiCommitment, vault: vault), seq: seq,
                version: version, recordedAt: recordedAt)
        } else {
            try append(
                event, prepared: event.preparation(salts: &salts), seq: seq, version: version, recordedAt: recordedAt)
        }
        if idEntries.count >= flushEvery { try flush() }
        return admission
    }

    /// Stores admitted `event` as record `seq` (its stream's `version`), built from `prepared`.
    private func append(
        _ event: NewEvent, prepared: borrowing RecordPreparation, seq: Int64, version: Int64, recordedAt: Instant
    ) throws {
        suffix.removeAll(keepingCapacity: true)
        LedgerRecord.writeSuffix(
            prevHash: head.hash, recordedAt: recordedAt, schema: event.schema, seq: seq, stream: event.stream,
            type: event.type, version: version, into: &suffix)
        var hasher = prepared.hasher
        suffix.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let hash = hasher.finalize()
        if let restored = event.restoration, restored.hash != hash {
            throw LedgerError.rejected(
                index: appended,
                violations: [
                    .init(.chain, field: "hash", rule: "does not match the record (computed \(Hex.encode(hash)))")
                ])
        }
        let key = UInt64(bitPattern: seq).bigEndian
        try prepared.prefix.withUnsafeBytes { prefix in
            try withUnsafeBytes(of: key) { key in
                try store.txn.reserveAppending(32 + prefix.count + suffix.count, forKey: key, in: store.dbs.records) {
                    value in
                    hash.withUnsafeBytes { value.copyMemory(from: $0) }
                    UnsafeMutableRawBufferPointer(rebasing: value[32...]).copyMemory(from: prefix)
                    suffix.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: value[(32 + prefix.count)...]).copyMemory(from: $0)
                    }
                }
            }
        }
        if let vault = prepared.vault {
            let slot = try slot(for: event.stream, version: version)
            let sealed = try store.keys.seal(vault, seq: seq, slot: slot, store)
            try withUnsafeBytes(of: key) { key in
                try sealed.withUnsafeBytes { try store.txn.put($0, forKey: key, in: store.dbs.vault, options: .append) }
            }
            streamVaults.noteEntry(seq: seq, of: event.stream)
        }
        hash.withUnsafeBytes { merkle.append($0) }
        if let item = event.item {
            let state =
                switch item.change {
                case .starts: ItemState(startedOn: event.occurredAt, ended: false)
                case .ends:
                    ItemState(startedOn: try store.itemState(event.stream, key: item.key)!.startedOn, ended: true)
                }
            try store.putItemState(state, stream: event.stream, key: item.key)
        }
        idEntries.append(event.id.utf8, seq: seq)
        streamEntries.appendStreamKey(event.stream, version: version, seq: seq)
        if event.erasesStreamPII {
            // The stream's records: those already in the index, and those of
            // this session that have a vault entry. Putting the gathered index
            // entries first would cost, at every erasure in a large import, a
            // put in a great many of the index's leaf pages.
            var slots = Set<UInt64>()
            let sessionEntries = streamVaults.forget(event.stream)
            for erased in try store.seqs(ofStream: event.stream) + sessionEntries {
                let key = bigEndianKey(erased)
                if let held = try store.txn.withValue(in: store.dbs.vault, forKey: key, VaultKeys.slot(of:)) {
                    personalDataErased += 1
                    if let slot = held { slots.insert(slot) }
                }
                try store.txn.delete(key, in: store.dbs.vault)
            }
            for slot in slots.sorted() {
                try store.txn.put([], forKey: bigEndianKey(Int64(slot)), in: store.dbs.vaultShreds)
                shreddedSlots.append(slot)
            }
        }
        head = LedgerHead(seq: seq, hash: hash, recordedAt: recordedAt)
        appended += 1
    }

    /// Refuses a restored record that does not continue the chain, or whose
    /// personal data does not match its commitment.
    private func checkRestoration(
        _ event: NewEvent, _ restored: NewEvent.Restoration, seq: Int64, version: Int64
    ) throws {
        var problems: [RuleViolation] = []
        if restored.seq != seq {
            problems.append(.init(.chain, field: "seq", rule: "is \(restored.seq), expected \(seq)"))
        }
        if restored.version != version {
            problems.append(
                .init(.chain, field: "version", rule: "is \(restored.version), expected \(version) for \(event.stream)")
            )
        }
        if restored.prevHash != head.hash {
            problems.append(.init(.chain, field: "prevHash", rule: "does not link to the hash of seq \(seq - 1)"))
        }
        if let salt = restored.piiSalt, let canonical = event.canonicalPII,
            piiCommitment(salt: salt, pii: canonical) != restored.piiCommitment
        {
            problems.append(.init(.chain, field: "pii", rule: "does not match piiCommitment"))
        }
        guard problems.isEmpty else { throw LedgerError.rejected(index: appended, violations: problems) }
    }

    /// Puts the gathered id entries in key order, and the Merkle nodes hashed
    /// since the last flush (see `MerkleAppends`). Stream index entries and
    /// stream states are put only at the end of the session, or when very many
    /// are held: a stream touched all through a long file has its state
    /// written once, and a leaf page of the stream index is put to once a
    /// pass, not once every `flushEvery` events.
    private func flush() throws {
        try merkle.flush(into: store.txn, store.dbs.merkle)
        try putIDs()
        if streamEntries.count >= streamEntriesHeld { try putStreamEntries() }
        if sequencer.touchedStreams.count >= streamStatesHeld { try putStreamStates() }
    }

    /// Puts the gathered stream index entries in key order.
    private func putStreamEntries() throws {
        try streamEntries.forEachInKeyOrder { key, seq in
            try withUnsafeBytes(of: UInt64(bitPattern: seq).bigEndian) {
                try store.txn.putInKeyOrder($0, forKey: key, in: store.dbs.streamIndex, options: .noOverwrite)
            }
            notePageReads()
        }
        streamEntries.removeAll()
    }

    /// Events judged, or random-key entries put, between two looks at how much
    /// of the map is resident. Each may read pages of the indexes (or of
    /// spilled dirty pages) through the map, and those pages would otherwise
    /// stay counted in the import's memory: 50,000 events can read 200 MB of
    /// them. They are given back (`LMDBEnvironment.releaseResidentPages`)
    /// once the process's mapped files hold more than `residentFileLimit`:
    /// giving them back when few are resident would only cost reading the
    /// index's upper pages again.
    static let readsBetweenLooks = 2048
    static let residentFileLimit = 48 << 20
    private var readsSinceLook = 0

    /// Counts one event judged or one random-key put, and every
    /// `readsBetweenLooks` of them gives the map's pages back if many are
    /// resident, and has the data file prepared ahead of where the
    /// transaction has got to.
    private func notePageReads() {
        readsSinceLook += 1
        guard readsSinceLook >= AppendSession.readsBetweenLooks else { return }
        readsSinceLook = 0
        if (LMDBEnvironment.residentFileBytes() ?? Int.max) > AppendSession.residentFileLimit { releasePages() }
        preallocator?.look(at: store.txn)
    }

    /// How many stream states a session holds before it puts them (some 60 MiB
    /// at most). Each put of them is a pass over most of the streams'
    /// database, whose pages, copied on write in a transaction larger than
    /// LMDB keeps in memory, are spilled and read back: at 65,536 a 5,000,000-
    /// event import made dozens of passes, and its writer spent a quarter of
    /// its time in them (53.2 s against 41.6 s for the whole import; peak
    /// memory 831 MiB against 890 MiB).
    public static let streamStatesHeld = 1 << 19

    /// How many stream index entries a session holds before it puts them: at
    /// about 40 bytes each, and as many again while they are sorted, some
    /// 40 MiB at most.
    public static let streamEntriesHeld = 1 << 19

    /// Puts the gathered id index entries. Ids mostly rise through a file: a
    /// run that sorts wholly after every stored id is appended (through the
    /// transaction's kept cursor), which spares LMDB a search per key.
    private func putIDs() throws {
        let greatestID = try store.greatestID()
        var appending: Bool?
        try idEntries.forEachInKeyOrder { key, seq in
            if appending == nil {
                appending = greatestID.map { greatest in greatest.withUnsafeBytes { sortsAfter(key, $0) } } ?? true
            }
            try withUnsafeBytes(of: UInt64(bitPattern: seq).bigEndian) { value in
                if appending! {
                    try store.txn.append(value, forKey: key, in: store.dbs.ids)
                } else {
                    try store.txn.putInKeyOrder(value, forKey: key, in: store.dbs.ids, options: .noOverwrite)
                }
            }
        }
        idEntries.removeAll()
        sequencer.idsIndexed()
    }

    /// Puts the touched streams' states in key order.
    private func putStreamStates() throws {
        var states = KeyRun()
        var encoded: [[UInt8]] = []
        encoded.reserveCapacity(sequencer.touchedStreams.count)
        for (stream, state) in zip(sequencer.touchedStreams.names, sequencer.touchedStreams.states) {
            states.append(stream.name.utf8, seq: Int64(encoded.count))
            encoded.append(state.encoded)
        }
        try states.forEachInKeyOrder { key, index in
            try encoded[Int(index)].withUnsafeBytes {
                try store.txn.putInKeyOrder($0, forKey: key, in: store.dbs.streams)
            }
            notePageReads()
        }
        sequencer.streamStatesStored()
    }

    /// Puts what is still gathered and the new head.
    func finish() throws {
        try putHeldEntries()
        try merkle.finish(into: store.txn, store.dbs.merkle)
        try store.txn.put(head.encoded, forKey: StoreTransaction.headKey, in: store.dbs.meta)
    }

    /// Puts now what the session holds back to put in key order (the id and
    /// stream index entries, the stream states, the Merkle tree's complete
    /// nodes), as its end would: a caller with other work to wait for at
    /// the end of its appends does this meanwhile. Appending may go on after.
    public func putHeldEntries() throws {
        try merkle.flush(into: store.txn, store.dbs.merkle)
        try putIDs()
        try putStreamEntries()
        try putStreamStates()
    }
}

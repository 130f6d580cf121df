import LMDBKit
import LedgerValues

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
}

/// The first thing found wrong: the seq and what is wrong there.
public struct VerificationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let seq: Int64
    public let reason: String

    public var description: String { "seq \(seq): \(reason)" }
}

/// A digest an auditor kept: the ledger must still contain exactly this record at this seq.
public struct LedgerDigest: Equatable, Sendable {
    public var seq: Int64
    public var hash: [UInt8]
    public var recordedAt: Instant?

    public init(seq: Int64, hash: [UInt8], recordedAt: Instant?) {
        self.seq = seq
        self.hash = hash
        self.recordedAt = recordedAt
    }

    /// The digest of `head`.
    public init(_ head: LedgerHead) {
        self.init(seq: head.seq, hash: head.hash, recordedAt: head.recordedAt)
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
    /// entries (keyed by this process's random hash seed, so they cannot be
    /// forged) with sums over the records, which costs sequential scans only;
    /// when the sums differ, a second, exact pass names the first bad seq.
    ///
    /// - Parameter closerTypes: the event types that close a stream, to rebuild stream state.
    public func verify(
        closerTypes: Set<String>, openerTypes: Set<String>, digest: LedgerDigest? = nil,
        progress: (Int64) -> Void = { _ in }
    ) throws -> VerificationReport {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            let head = try store.head()
            var previous = LedgerHead.empty
            var streams: [String: StreamState] = [:]
            var idSum = EntrySum()
            var streamSum = EntrySum()
            var piiChecked = 0
            var digestSeen = digest == nil || digest!.seq == 0
            if let digest, digest.seq == 0, digest.hash != genesisHash {
                throw VerificationFailure(seq: 0, reason: "the digest of an empty ledger must have 64 zeros as hash")
            }

            try txn.scan(dbs.records) { key, value in
                let seq = Int64(readBigEndian(key))
                let expected = previous.seq + 1
                guard key.count == 8, seq == expected else {
                    throw VerificationFailure(seq: expected, reason: "record is missing (the next stored record is seq \(seq))")
                }
                guard value.count > 32 else { throw VerificationFailure(seq: seq, reason: "the stored record is truncated") }
                let canonical = UnsafeRawBufferPointer(rebasing: value[32...])
                let hash = sha256(canonical)
                guard hash.elementsEqual(value[0..<32]) else {
                    throw VerificationFailure(seq: seq, reason: "the stored record does not match its hash (it was changed)")
                }
                guard let fields = RecordFields(canonical: canonical) else {
                    throw VerificationFailure(seq: seq, reason: "the stored record is not a well-formed chained record")
                }
                guard fields.seq == seq else {
                    throw VerificationFailure(seq: seq, reason: "the record says seq \(fields.seq)")
                }
                guard fields.prevHash == previous.hash else {
                    throw VerificationFailure(seq: seq, reason: "prevHash does not link to the hash of seq \(seq - 1)")
                }
                if let last = previous.recordedAt, fields.recordedAt < last {
                    throw VerificationFailure(seq: seq, reason: "recordedAt \(fields.recordedAt) is before that of seq \(seq - 1) (\(last))")
                }
                let state = streams[fields.stream]
                guard fields.version == (state?.version ?? 0) + 1 else {
                    throw VerificationFailure(
                        seq: seq, reason: "\(fields.stream) jumps from version \(state?.version ?? 0) to \(fields.version)")
                }
                let role: StreamRole =
                    closerTypes.contains(fields.type) ? .closer : openerTypes.contains(fields.type) ? .opener : .ordinary
                streams[fields.stream] =
                    state?.appending(fields.occurredAt, role: role) ?? .opened(on: fields.occurredAt, role: role)
                idSum.add(key: Array(fields.id.utf8), seq: seq)
                streamSum.add(key: StoreTransaction.streamIndexKey(fields.stream, version: fields.version), seq: seq)
                if let commitment = fields.piiCommitment, let entry = try store.vaultEntry(at: seq) {
                    guard sha256(entry.salt + entry.canonicalPII) == commitment else {
                        throw VerificationFailure(seq: seq, reason: "the personal data in the vault does not match piiCommitment")
                    }
                    piiChecked += 1
                }
                if let digest, digest.seq == seq {
                    guard hash == digest.hash, digest.recordedAt == nil || digest.recordedAt == fields.recordedAt else {
                        throw VerificationFailure(
                            seq: seq, reason: "the ledger no longer extends the digest: this record's hash or recordedAt differs from it")
                    }
                    digestSeen = true
                }
                previous = LedgerHead(seq: seq, hash: hash, recordedAt: fields.recordedAt)
                if seq % 1_000_000 == 0 { progress(seq) }
                return .next
            }

            if let digest, !digestSeen {
                throw VerificationFailure(
                    seq: digest.seq, reason: "the ledger ends at seq \(previous.seq), before the digest's seq \(digest.seq)")
            }
            guard head == previous else {
                throw VerificationFailure(
                    seq: min(head.seq, previous.seq) + 1,
                    reason: "the head (seq \(head.seq)) does not match the last stored record (seq \(previous.seq))")
            }
            if try txn.count(in: dbs.vault) != piiChecked {
                try findOrphanVaultEntry(store)
            }
            try checkIndex(dbs.ids, against: idSum, store: store, last: previous.seq, name: "id") { fields in
                Array(fields.id.utf8)
            }
            try checkIndex(dbs.streamIndex, against: streamSum, store: store, last: previous.seq, name: "stream") { fields in
                StoreTransaction.streamIndexKey(fields.stream, version: fields.version)
            }
            try checkStreamStates(streams, store: store)
            return VerificationReport(
                records: previous.seq, streams: streams.count, piiCommitments: piiChecked, head: previous)
        }
    }

    /// Compares an index with the sum over the records; on a difference, finds the first bad seq.
    private func checkIndex(
        _ db: LMDBDatabase, against expected: EntrySum, store: StoreTransaction, last: Int64, name: String,
        key keyOf: (RecordFields) -> [UInt8]
    ) throws {
        var actual = EntrySum()
        try store.txn.scan(db) { key, value in
            actual.add(key: Array(key), seq: value.count == 8 ? Int64(readBigEndian(value)) : -1)
            return .next
        }
        if actual == expected { return }
        // Exact pass: every record must be found under its key …
        for seq in stride(from: Int64(1), through: last, by: 1) {
            let fields = try store.txn.withValue(in: dbs.records, forKey: bigEndianKey(seq)) {
                RecordFields(canonical: UnsafeRawBufferPointer(rebasing: $0[32...]))
            }
            guard let fields = fields ?? nil else { throw VerificationFailure(seq: seq, reason: "record cannot be read") }
            let indexed = try store.txn.withValue(in: db, forKey: keyOf(fields)) { Int64(readBigEndian($0)) }
            guard indexed == seq else {
                throw VerificationFailure(
                    seq: seq, reason: "the \(name) index does not point to this record (it says \(indexed.map(String.init) ?? "nothing"))")
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

    private func checkStreamStates(_ computed: [String: StreamState], store: StoreTransaction) throws {
        var seen = 0
        var failure: VerificationFailure?
        try store.txn.scan(dbs.streams) { key, value in
            let stream = String(decoding: key, as: UTF8.self)
            seen += 1
            if let state = StreamState(encoded: value), computed[stream] == state { return .next }
            let seqs = (try? store.seqs(ofStream: stream)) ?? []
            failure = VerificationFailure(
                seq: seqs.last ?? 0, reason: "the stored state of \(stream) does not match its events")
            return .stop
        }
        if let failure { throw failure }
        if seen != computed.count {
            let missing = computed.keys.sorted().first { (try? store.streamState($0)) == nil } ?? "?"
            throw VerificationFailure(
                seq: (try? store.seqs(ofStream: missing).first) ?? 0, reason: "the state of \(missing) is missing")
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
            orphan = VerificationFailure(seq: seq, reason: "the vault holds personal data for a record without a commitment")
            return .stop
        }
        if let orphan { throw orphan }
    }
}

/// An order-independent sum of (key, seq) entries, 128 bits wide, keyed by
/// the process's random hash seed.
private struct EntrySum: Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    var count = 0

    mutating func add(key: [UInt8], seq: Int64) {
        var first = Hasher()
        first.combine(0xA5 as UInt8)
        first.combine(seq)
        key.withUnsafeBytes { first.combine(bytes: $0) }
        var second = Hasher()
        second.combine(0x5A as UInt8)
        second.combine(seq)
        key.withUnsafeBytes { second.combine(bytes: $0) }
        low &+= UInt64(bitPattern: Int64(first.finalize()))
        high &+= UInt64(bitPattern: Int64(second.finalize()))
        count += 1
    }
}

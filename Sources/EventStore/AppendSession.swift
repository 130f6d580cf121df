import LMDBKit
import LedgerValues

/// Events being appended inside one write transaction (see `EventLog.appending`).
///
/// Each offered event is judged against the ledger as this transaction sees it,
/// and, when admitted, its record is chained, hashed and put at once. Index
/// entries and stream states are gathered and put in key order every
/// `flushEvery` events: neighbouring keys share B-tree pages, which is what
/// makes random-key indexes cheap.
public final class AppendSession {
    private let store: StoreTransaction
    private var sequencer: Sequencer
    private var head: LedgerHead
    private let flushEvery: Int
    private var idEntries: [(key: [UInt8], seq: Int64)] = []
    private var streamEntries: [(key: [UInt8], seq: Int64)] = []

    /// Events appended so far in this session.
    public private(set) var appended = 0

    init(store: StoreTransaction, clock: Instant, flushEvery: Int) throws {
        self.store = store
        self.flushEvery = max(flushEvery, 1)
        sequencer = try Sequencer(lookup: store, clock: clock)
        head = try store.head()
    }

    /// Judges `event` and, when it is admitted, stores it. A rejected event
    /// changes nothing; the caller decides whether the session goes on.
    public func offer(_ event: NewEvent) throws -> Admission {
        let admission = try sequencer.admit(event)
        guard case .append(let seq, let version, let recordedAt) = admission else { return admission }
        var commitment: String?
        var vault: VaultEntry?
        if let restored = event.restoration {
            (commitment, vault) = try restoredPersonalData(event, restored, seq: seq, version: version)
        } else if let canonical = event.canonicalPII {
            let salt = randomSalt()
            commitment = piiCommitment(salt: salt, pii: canonical)
            vault = VaultEntry(salt: salt, canonicalPII: canonical)
        }
        let bytes = LedgerRecord.canonicalBytes(
            seq: seq, id: event.id, stream: event.stream, version: version, type: event.type,
            schema: event.schema, occurredAt: event.occurredAt, recordedAt: recordedAt, actor: event.actor,
            orgUnit: event.orgUnit, canonicalData: event.canonicalData, piiCommitment: commitment, prevHash: head.hash)
        let hash = sha256(bytes)
        if let restored = event.restoration, restored.hash != hash {
            throw LedgerError.rejected(
                index: appended,
                violations: [.init(.chain, field: "hash", rule: "does not match the record (computed \(Hex.encode(hash)))")])
        }
        try store.txn.put(hash + bytes, forKey: bigEndianKey(seq), in: store.dbs.records, options: .append)
        if let vault {
            try store.txn.put(vault.encoded, forKey: bigEndianKey(seq), in: store.dbs.vault, options: .append)
        }
        idEntries.append((Array(event.id.utf8), seq))
        streamEntries.append((StoreTransaction.streamIndexKey(event.stream, version: version), seq))
        if event.erasesStreamPII {
            try flush()
            for erased in try store.seqs(ofStream: event.stream) {
                try store.txn.delete(bigEndianKey(erased), in: store.dbs.vault)
            }
        }
        head = LedgerHead(seq: seq, hash: hash, recordedAt: recordedAt)
        appended += 1
        if idEntries.count >= flushEvery { try flush() }
        return admission
    }

    /// The commitment a restored record keeps, and its vault entry when the
    /// export carried the personal data; refuses a record that does not continue the chain.
    private func restoredPersonalData(
        _ event: NewEvent, _ restored: NewEvent.Restoration, seq: Int64, version: Int64
    ) throws -> (String?, VaultEntry?) {
        var problems: [RuleViolation] = []
        if restored.seq != seq { problems.append(.init(.chain, field: "seq", rule: "is \(restored.seq), expected \(seq)")) }
        if restored.version != version {
            problems.append(.init(.chain, field: "version", rule: "is \(restored.version), expected \(version) for \(event.stream)"))
        }
        if restored.prevHash != head.hash {
            problems.append(.init(.chain, field: "prevHash", rule: "does not link to the hash of seq \(seq - 1)"))
        }
        var vault: VaultEntry?
        if let salt = restored.piiSalt, let canonical = event.canonicalPII, let expected = restored.piiCommitment {
            if piiCommitment(salt: salt, pii: canonical) != expected {
                problems.append(.init(.chain, field: "pii", rule: "does not match piiCommitment"))
            }
            vault = VaultEntry(salt: salt, canonicalPII: canonical)
        }
        guard problems.isEmpty else { throw LedgerError.rejected(index: appended, violations: problems) }
        return (restored.piiCommitment, vault)
    }

    /// Puts the gathered index entries and stream states, each in key order,
    /// and lets the judge forget what the transaction now holds.
    private func flush() throws {
        for entry in AppendSession.inKeyOrder(idEntries) {
            try store.txn.put(bigEndianKey(entry.seq), forKey: entry.key, in: store.dbs.ids, options: .noOverwrite)
        }
        for entry in AppendSession.inKeyOrder(streamEntries) {
            try store.txn.put(bigEndianKey(entry.seq), forKey: entry.key, in: store.dbs.streamIndex, options: .noOverwrite)
        }
        let states = sequencer.touchedStreams.map { (key: Array($0.key.utf8), state: $0.value) }
        for entry in states.sorted(by: { precedes($0.key, $1.key) }) {
            try store.txn.put(entry.state.encoded, forKey: entry.key, in: store.dbs.streams)
        }
        idEntries.removeAll(keepingCapacity: true)
        streamEntries.removeAll(keepingCapacity: true)
        sequencer.forgetStored()
    }

    /// `entries` sorted by key; ids often arrive in order already, and then are not sorted again.
    private static func inKeyOrder(_ entries: [(key: [UInt8], seq: Int64)]) -> [(key: [UInt8], seq: Int64)] {
        var sorted = true
        var index = 1
        while sorted && index < entries.count {
            sorted = precedes(entries[index - 1].key, entries[index].key)
            index += 1
        }
        return sorted ? entries : entries.sorted { precedes($0.key, $1.key) }
    }

    /// Puts what is still gathered and the new head.
    func finish() throws {
        try flush()
        try store.txn.put(head.encoded, forKey: StoreTransaction.headKey, in: store.dbs.meta)
    }
}

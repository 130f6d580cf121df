import Crypto
import LMDBKit
import LedgerValues

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the ledger could not do what was asked.
public enum LedgerError: Error, Equatable, CustomStringConvertible {
    /// There is no ledger at the path (read commands never create one).
    case noLedger(path: String)
    /// An event in an append batch broke rules; nothing of the batch was stored.
    case rejected(index: Int, violations: [RuleViolation])
    /// The disk (or a quota or file-size limit) has no room for the write; what
    /// was committed before is intact.
    case outOfSpace(detail: String)
    /// Another process holds the ledger for writing and we were told not to wait.
    case writerBusy(holder: String)
    /// A stored structure could not be read back.
    case damaged(seq: Int64, reason: String)

    public var description: String {
        switch self {
        case .noLedger(let path):
            "there is no ledger at \(path) (import events first, or give --ledger PATH)"
        case .rejected(let index, let violations):
            "event \(index + 1) of the batch was rejected: "
                + violations.map(\.description).joined(separator: "; ")
        case .outOfSpace(let detail):
            "the disk is full (\(detail)); nothing committed before was lost. Free some space and run the same command again"
        case .writerBusy(let holder):
            "another process is writing to this ledger (\(holder)); try again when it has finished"
        case .damaged(let seq, let reason):
            "seq \(seq): \(reason)"
        }
    }
}

/// The append-only, hash-chained event log of one ledger directory.
///
/// Records are keyed by seq and appended; beside them the store keeps an index
/// id → seq, an index stream → version → seq, each stream's state, the head,
/// and the personal-data vault. Every batch is one LMDB write transaction: all
/// of it is stored, or none. The class is `@unchecked Sendable` because its one
/// piece of state, the environment, is itself safe to share.
public final class EventLog: @unchecked Sendable {
    /// The ledger directory.
    public let path: String
    let env: LMDBEnvironment
    let dbs: LedgerDatabases

    /// Opens the ledger at `path`. With `create` false, a missing ledger is an error
    /// rather than an empty directory left behind.
    public init(path: String, create: Bool, options: LMDBEnvironment.Options = .init()) throws {
        if !create && access(path + "/data.mdb", F_OK) != 0 {
            throw LedgerError.noLedger(path: path)
        }
        self.path = path
        env = try LMDBEnvironment(path: path, options: options)
        dbs = LedgerDatabases(try env.openDatabases(named: LedgerDatabases.names))
    }

    /// The current size of the LMDB map (grows by itself).
    public var mapSize: Int { env.mapSize }

    /// The last record: seq, hash and recordedAt.
    public func head() throws -> LedgerHead {
        try env.read { try StoreTransaction(txn: $0, dbs: dbs).head() }
    }

    /// Makes every commit so far durable on disk.
    public func sync() throws {
        try mapStorageErrors { try env.sync() }
    }

    // MARK: Appending

    /// Judges events one by one against a snapshot of the ledger, writing
    /// nothing: the check an import makes of a whole file before it stores any
    /// of it. The judge remembers what it admitted, so later events see earlier ones.
    public func check<T>(clock: Instant, _ body: (inout AdmissionCheck) throws -> T) throws -> T {
        try env.read { txn in
            var check = AdmissionCheck(sequencer: try Sequencer(lookup: StoreTransaction(txn: txn, dbs: dbs), clock: clock))
            return try body(&check)
        }
    }

    /// Appends `events` in one write transaction and returns what became of each.
    ///
    /// Throws `LedgerError.rejected` (storing nothing) if any event breaks a rule,
    /// `LedgerError.outOfSpace` if the disk is full. The commit is durable on disk
    /// only after `sync()` (or `append(_:clock:durable: true)`).
    @discardableResult
    public func append(_ events: [NewEvent], clock: Instant, durable: Bool = false) throws -> [Admission] {
        let outcomes = try mapStorageErrors {
            try env.write { txn in try appendBatch(events, clock: clock, in: StoreTransaction(txn: txn, dbs: dbs)) }
        }
        if durable { try sync() }
        return outcomes
    }

    private func appendBatch(_ events: [NewEvent], clock: Instant, in store: StoreTransaction) throws -> [Admission] {
        var sequencer = try Sequencer(lookup: store, clock: clock)
        var head = try store.head()
        var outcomes: [Admission] = []
        outcomes.reserveCapacity(events.count)
        var idEntries: [(key: [UInt8], seq: Int64)] = []
        var streamEntries: [(key: [UInt8], seq: Int64)] = []
        var generator = SystemRandomNumberGenerator()

        // Index keys are put in sorted order at the end of the batch: neighbouring
        // keys share B-tree pages, which is what makes random-key indexes cheap.
        func flushIndexes() throws {
            for entry in idEntries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try store.txn.put(bigEndianKey(entry.seq), forKey: entry.key, in: dbs.ids, options: .noOverwrite)
            }
            for entry in streamEntries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                try store.txn.put(bigEndianKey(entry.seq), forKey: entry.key, in: dbs.streamIndex, options: .noOverwrite)
            }
            idEntries.removeAll(keepingCapacity: true)
            streamEntries.removeAll(keepingCapacity: true)
        }

        for (index, event) in events.enumerated() {
            let admission = try sequencer.admit(event)
            outcomes.append(admission)
            guard case .append(let seq, let version, let recordedAt) = admission else {
                if case .rejected(let violations) = admission {
                    throw LedgerError.rejected(index: index, violations: violations)
                }
                continue
            }
            var commitment: String?
            var vault: VaultEntry?
            if let restored = event.restoration {
                var problems: [RuleViolation] = []
                if restored.seq != seq { problems.append(.init(.chain, field: "seq", rule: "is \(restored.seq), expected \(seq)")) }
                if restored.version != version {
                    problems.append(.init(.chain, field: "version", rule: "is \(restored.version), expected \(version) for \(event.stream)"))
                }
                if restored.prevHash != head.hash {
                    problems.append(.init(.chain, field: "prevHash", rule: "does not link to the hash of seq \(seq - 1)"))
                }
                commitment = restored.piiCommitment
                if let salt = restored.piiSalt, let pii = event.pii, let expected = restored.piiCommitment {
                    let canonical = CanonicalJSON.encode(.object(pii))
                    if piiCommitment(salt: salt, pii: canonical) != expected {
                        problems.append(.init(.chain, field: "pii", rule: "does not match piiCommitment"))
                    }
                    vault = VaultEntry(salt: salt, canonicalPII: canonical)
                }
                guard problems.isEmpty else { throw LedgerError.rejected(index: index, violations: problems) }
            } else if let pii = event.pii {
                let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                let canonical = CanonicalJSON.encode(.object(pii))
                commitment = piiCommitment(salt: salt, pii: canonical)
                vault = VaultEntry(salt: salt, canonicalPII: canonical)
            }
            let record = LedgerRecord(
                seq: seq, id: event.id, stream: event.stream, version: version, type: event.type,
                schema: event.schema, occurredAt: event.occurredAt, recordedAt: recordedAt, actor: event.actor,
                orgUnit: event.orgUnit, data: event.data, piiCommitment: commitment, prevHash: head.hash)
            let bytes = record.canonicalBytes()
            let hash = sha256(bytes)
            if let restored = event.restoration, restored.hash != hash {
                throw LedgerError.rejected(
                    index: index,
                    violations: [.init(.chain, field: "hash", rule: "does not match the record (computed \(Hex.encode(hash)))")])
            }
            try store.txn.put(hash + bytes, forKey: bigEndianKey(seq), in: dbs.records, options: .append)
            if let vault {
                try store.txn.put(vault.encoded, forKey: bigEndianKey(seq), in: dbs.vault, options: .append)
            }
            idEntries.append((Array(event.id.utf8), seq))
            streamEntries.append((StoreTransaction.streamIndexKey(event.stream, version: version), seq))
            if event.erasesStreamPII {
                try flushIndexes()
                for erased in try store.seqs(ofStream: event.stream) {
                    try store.txn.delete(bigEndianKey(erased), in: dbs.vault)
                }
            }
            head = LedgerHead(seq: seq, hash: hash, recordedAt: recordedAt)
        }
        try flushIndexes()
        for (stream, state) in sequencer.touchedStreams.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            try store.txn.put(state.encoded, forKey: Array(stream.utf8), in: dbs.streams)
        }
        try store.txn.put(head.encoded, forKey: StoreTransaction.headKey, in: dbs.meta)
        return outcomes
    }

    /// Turns a storage failure into the error a clerk can act on.
    ///
    /// A disk that fills up in the middle of a write often shows as a short
    /// write, which LMDB reports as an input/output error: so an I/O error is
    /// reported as a full disk when the disk (or the process's file-size limit)
    /// has no room left.
    private func mapStorageErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LMDBError where error.isOutOfSpace || (error.code == EIO && storageIsFull()) {
            throw LedgerError.outOfSpace(detail: error.description)
        }
    }

    /// Whether the ledger's file system has less than 16 MiB free, or the data
    /// file has reached the process's file-size limit.
    private func storageIsFull() -> Bool {
        var fs = statvfs()
        if statvfs(path, &fs) == 0 && UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 16 << 20 { return true }
        var limit = rlimit()
        var file = stat()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max, stat(path + "/data.mdb", &file) == 0 {
            return UInt64(file.st_size) + (16 << 20) >= UInt64(limit.rlim_cur)
        }
        return false
    }

    // MARK: Reading

    /// Calls `body` for every record with `from ≤ seq ≤ through`, in seq order, from
    /// one consistent snapshot: its seq, its stored hash, its canonical bytes and,
    /// when `withVault`, its vault entry if one is still held.
    public func forEachRecord(
        from: Int64 = 1, through: Int64? = nil, withVault: Bool = false,
        _ body: (_ seq: Int64, _ hash: UnsafeRawBufferPointer, _ canonical: UnsafeRawBufferPointer, _ vault: VaultEntry?) throws -> Void
    ) throws {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            try txn.scan(dbs.records, from: bigEndianKey(max(from, 1))) { key, value in
                let seq = Int64(readBigEndian(key))
                if let through, seq > through { return .stop }
                guard value.count > 32 else { throw LedgerError.damaged(seq: seq, reason: "the stored record is truncated") }
                let vault = withVault ? try store.vaultEntry(at: seq) : nil
                try body(seq, UnsafeRawBufferPointer(rebasing: value[0..<32]), UnsafeRawBufferPointer(rebasing: value[32...]), vault)
                return .next
            }
        }
    }

    /// A stored record with its hash and, when asked, its vault entry.
    public struct StoredRecord: Sendable {
        public let record: LedgerRecord
        public let hash: [UInt8]
        public let vault: VaultEntry?
    }

    /// The events of `stream` in version order, as recorded.
    public func history(of stream: String, withVault: Bool = false) throws -> [StoredRecord] {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            return try store.seqs(ofStream: stream).map { seq in
                guard let record = try store.record(at: seq), let hash = try store.hash(at: seq) else {
                    throw LedgerError.damaged(seq: seq, reason: "the stream index names a record that cannot be read")
                }
                return StoredRecord(record: record, hash: hash, vault: withVault ? try store.vaultEntry(at: seq) : nil)
            }
        }
    }

    /// The record at `seq`, if stored.
    public func record(at seq: Int64) throws -> StoredRecord? {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            guard let record = try store.record(at: seq), let hash = try store.hash(at: seq) else { return nil }
            return StoredRecord(record: record, hash: hash, vault: try store.vaultEntry(at: seq))
        }
    }

    /// The stored hash of the record at `seq`.
    public func hash(at seq: Int64) throws -> [UInt8]? {
        try env.read { try StoreTransaction(txn: $0, dbs: dbs).hash(at: seq) }
    }

    // MARK: One writer

    /// Runs `body` holding the ledger's writer lock, which every writing command
    /// takes for its whole run (an import's check and its commits), so that no
    /// other writer slips in between. When another process holds it, `waiting`
    /// is called with what that process is doing and we wait, unless `wait` is
    /// false, in which case this throws `writerBusy`.
    public func exclusively<T>(
        doing purpose: String, wait: Bool = true, waiting: (String) -> Void = { _ in }, _ body: () throws -> T
    ) throws -> T {
        let lockPath = path + "/writer.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LMDBError(code: errno, operation: "open \(lockPath)") }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else { throw LMDBError(code: errno, operation: "flock \(lockPath)") }
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = pread(fd, &buffer, buffer.count, 0)
            let holder = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
                .trimmingTrailingNewlines()
            guard wait else { throw LedgerError.writerBusy(holder: holder) }
            waiting(holder)
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else { throw LMDBError(code: errno, operation: "flock \(lockPath)") }
            }
        }
        defer { flock(fd, LOCK_UN) }
        let note = Array("pid \(getpid()): \(purpose)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, note, note.count, 0)
        return try body()
    }
}

/// The judge of a dry run: see `EventLog.check`.
public struct AdmissionCheck {
    var sequencer: Sequencer

    /// Decides what would become of `event`, taking the events admitted before it into account.
    public mutating func admit(_ event: NewEvent) throws -> Admission {
        try sequencer.admit(event)
    }

    /// The seq the next admitted event would get, minus one.
    public var lastSeq: Int64 { sequencer.headSeq }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

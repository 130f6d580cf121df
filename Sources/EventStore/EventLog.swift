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
    /// The directory holds an LMDB environment of another program: one with
    /// data but none of the ledger's databases.
    case notALedger(path: String)
    /// An event in an append batch broke rules; nothing of the batch was stored.
    case rejected(index: Int, violations: [RuleViolation])
    /// The disk (or a quota or file-size limit) has no room for the write; what
    /// was committed before is intact.
    case outOfSpace(detail: String)
    /// The ledger lies on a read-only file system: it is read, not written.
    case readOnly(path: String)
    /// A stored structure could not be read back.
    case damaged(seq: Int64, reason: String)
    /// A projection database was asked for that the log was not opened with.
    case noSuchProjection(String)
    /// A Merkle tree size beyond the records stored (or below 0).
    case noSuchTreeSize(Int64, leaves: Int64)
    /// A record that is not a leaf of the tree asked about.
    case noSuchLeaf(Int64, treeSize: Int64)
    /// The ledger was made before it kept a Merkle tree and has not been appended to since.
    case noMerkleTree
    /// A consistency proof asked from a tree larger than the one it is to reach.
    case earlierSizeTooLarge(Int64, size: Int64)
    /// The data file is shorter than its last committed page: it was cut short.
    case dataFileCutShort(path: String, bytes: Int, needed: Int)
    /// A page of one of the data file's own B-trees is not what LMDB wrote (`verify` walks them all).
    case damagedTree(database: String, page: Int, reason: String)

    public var description: String {
        switch self {
        case .noLedger(let path):
            "there is no ledger at \(path) (import events first, or give --ledger PATH)"
        case .notALedger(let path):
            "\(path) holds an LMDB database of another program, not a ledger (it has no records): give --ledger a ledger directory, or a new one"
        case .rejected(let index, let violations):
            "event \(index + 1) of the batch was rejected: "
                + violations.map(\.description).joined(separator: "; ")
        case .outOfSpace(let detail):
            "the disk is full (\(detail)); nothing committed before was lost. Free some space and run the same command again"
        case .readOnly(let path):
            "the ledger at \(path) is on a read-only file system: it can be read, verified and exported there, not written (nor its personal data read, which is logged in it)"
        case .damaged(let seq, let reason):
            "seq \(seq): \(reason)"
        case .noSuchProjection(let name):
            "the ledger was not opened with the projection database \(name)"
        case .noSuchTreeSize(let size, let leaves):
            "there is no tree of size \(size): the ledger holds \(leaves) record\(leaves == 1 ? "" : "s")"
        case .noMerkleTree:
            "this ledger was made before it kept a Merkle tree; the next append (an import) plants it"
        case .noSuchLeaf(let seq, let size):
            size == 0
                ? "seq \(seq) is not a leaf of the tree of size 0, which has none"
                : "seq \(seq) is not a leaf of the tree of size \(size) (its leaves are seqs 1–\(size))"
        case .earlierSizeTooLarge(let from, let size):
            "the earlier tree size \(from) is larger than the tree size \(size): a consistency proof runs from a smaller tree to a larger one"
        case .damagedTree(let database, let page, let reason):
            "the data file is damaged: the \(database) database's page \(page) \(reason). LMDB trusts its pages, so what the file holds cannot all be read as it was written. Restore the ledger from an export (`sunledger restore`) or a whole copy"
        case .dataFileCutShort(let path, let bytes, let needed):
            "\(path) holds \(bytes) bytes but its last page ends at byte \(needed): the file was cut short, so nothing in it can be trusted. Restore the ledger from an export (`sunledger restore`) or a whole copy"
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
    /// Whether the ledger lies on a read-only file system: it is read, and every write is refused.
    public var isReadOnly: Bool { env.isReadOnly }
    let dbs: LedgerDatabases
    /// The databases of derived state, by name.
    let projectionSpaces: [String: LMDBDatabase]
    /// What keeps the derived state up to date in every append transaction.
    let projector: (any LedgerProjector)?
    /// The keys that lock the personal-data vault.
    public let vaultKeys: VaultKeys

    /// Opens the ledger at `path`. With `create` false, a missing ledger is an error
    /// rather than an empty directory left behind.
    /// - Parameters:
    ///   - projectionSpaces: named databases, beside the log's own, for state
    ///     derived from it (see `ProjectionAccess`).
    ///   - projector: called in every append transaction before it commits.
    ///   - keyEnvironment: where to look for the vault's master key first
    ///     (`SUNLEDGER_MASTER_KEY`, `SUNLEDGER_MASTER_KEY_FILE`); by default the
    ///     process's environment.
    ///   - vaultKeyLimits: how many of the vault's stream keys are held in memory.
    public init(
        path: String, create: Bool, options: LMDBEnvironment.Options = .init(),
        projectionSpaces spaceNames: [String] = [],
        projector: (any LedgerProjector)? = nil,
        keyEnvironment: [String: String]? = nil,
        vaultKeyLimits: VaultKeys.Limits = .standard
    ) throws {
        if !create && access(path + "/data.mdb", F_OK) != 0 {
            throw LedgerError.noLedger(path: path)
        }
        self.path = path
        env = try LMDBEnvironment(path: path, options: options)
        // Reading a page past the end of a cut-short file would kill the process (SIGBUS).
        if let short = env.dataFileShortfall() {
            throw LedgerError.dataFileCutShort(path: path + "/data.mdb", bytes: short.bytes, needed: short.needed)
        }
        // Another program's environment is neither read as a ledger nor written into.
        let names = try env.mainDatabaseKeys()
        if !names.isEmpty, !names.contains(Array(LedgerDatabases.recordsName.utf8)) {
            throw LedgerError.notALedger(path: path)
        }
        let handles = try env.openDatabases(named: LedgerDatabases.names + spaceNames)
        dbs = LedgerDatabases(Array(handles.prefix(LedgerDatabases.names.count)))
        self.projectionSpaces = Dictionary(
            uniqueKeysWithValues: zip(spaceNames, handles.dropFirst(LedgerDatabases.names.count)))
        self.projector = projector
        vaultKeys = VaultKeys(
            ledgerPath: path, environment: keyEnvironment ?? EventLog.masterKeyEnvironment(), limits: vaultKeyLimits)
    }

    /// The master-key variables of the process's environment.
    static func masterKeyEnvironment() -> [String: String] {
        var found: [String: String] = [:]
        for name in ["SUNLEDGER_MASTER_KEY", "SUNLEDGER_MASTER_KEY_FILE"] {
            if let value = getenv(name) { found[name] = String(cString: value) }
        }
        return found
    }

    /// The current size of the LMDB map (grows by itself).
    public var mapSize: Int { env.mapSize }

    /// The last record: seq, hash and recordedAt.
    public func head() throws -> LedgerHead {
        try env.read { try StoreTransaction(txn: $0, dbs: dbs, keys: vaultKeys).head() }
    }

    /// Makes every commit so far durable on disk.
    public func sync() throws {
        try mapStorageErrors { try env.sync() }
    }

    // MARK: Appending

    /// Appends `events` in one write transaction and returns what became of each.
    ///
    /// Throws `LedgerError.rejected` (storing nothing) if any event breaks a rule,
    /// `LedgerError.outOfSpace` if the disk is full. The commit is durable on disk
    /// only after `sync()` (or with `durable: true`).
    @discardableResult
    public func append(_ events: [NewEvent], clock: Instant, durable: Bool = false) throws -> [Admission] {
        let outcomes = try appending(clock: clock) { session in
            try events.enumerated().map { index, event in
                let admission = try session.offer(event)
                if case .rejected(let violations) = admission {
                    throw LedgerError.rejected(index: index, violations: violations)
                }
                return admission
            }
        }
        if durable { try sync() }
        return outcomes
    }

    /// Runs `body` with an append session in one write transaction: everything
    /// it offers is stored when it returns, and nothing if it throws.
    ///
    /// This is how a whole file becomes one transaction: the session keeps only
    /// a bounded amount in memory (id index entries are put, sorted, every
    /// `flushEvery` appended events, stream index entries once
    /// `streamEntriesHeld` are gathered, stream states once `streamStatesHeld`
    /// streams are touched), so a file of any size can be offered.
    /// The map is grown beforehand by `expectedBytes`, so that a large import
    /// does not run out of map halfway and start again.
    public func appending<T>(
        clock: Instant, expectedBytes: Int = 0, flushEvery: Int = 50_000,
        streamEntriesHeld: Int = AppendSession.streamEntriesHeld,
        streamStatesHeld: Int = AppendSession.streamStatesHeld, _ body: (AppendSession) throws -> T
    ) throws -> T {
        if expectedBytes > 0 { try env.reserve(additionalBytes: expectedBytes) }
        // A large append has the data file grown ahead of it on another thread.
        let preallocator = env.dataFilePreallocator(expectedBytes: expectedBytes)
        defer { preallocator?.finish() }
        let (result, erasedKeys) = try mapStorageErrors {
            try env.write { txn in
                preallocator?.follow(txn, writing: dbs.all + projectionSpaces.values)
                let session = try AppendSession(
                    store: StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys), projectionSpaces: projectionSpaces,
                    releasePages: env.releaseResidentPages, preallocator: preallocator, clock: clock,
                    flushEvery: flushEvery, streamEntriesHeld: streamEntriesHeld, streamStatesHeld: streamStatesHeld)
                let result = try body(session)
                try projector?.bringUpToDate(session.projections)
                try session.finish()
                // The stream keys the records refer to are on disk before they are.
                try vaultKeys.persist(session.store)
                return (result, session.shreddedSlots)
            }
        }
        // The erasure is committed: its keys go now. Should this fail, the
        // slots stay listed and the next append overwrites them.
        try? vaultKeys.shred(erasedKeys)
        return result
    }

    /// Turns a storage failure into the error a clerk can act on.
    ///
    /// A disk that fills up in the middle of a write often shows as a short
    /// write, which LMDB reports as an input/output error: so an I/O error is
    /// reported as a full disk when the disk (or the process's file-size limit)
    /// has no room left.
    func mapStorageErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LMDBError where error.isOutOfSpace || (error.code == EIO && storageIsFull()) {
            throw LedgerError.outOfSpace(detail: error.description)
        } catch LMDBError.readOnlyFileSystem {
            throw LedgerError.readOnly(path: path)
        }
    }

    /// Whether the ledger's file system has less than 16 MiB free, or the data
    /// file has reached the process's file-size limit.
    private func storageIsFull() -> Bool {
        var fs = statvfs()
        if statvfs(path, &fs) == 0 && UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 16 << 20 { return true }
        var limit = rlimit()
        var file = stat()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
            stat(path + "/data.mdb", &file) == 0
        {
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
        _ body: (
            _ seq: Int64, _ hash: UnsafeRawBufferPointer, _ canonical: UnsafeRawBufferPointer, _ vault: VaultEntry?
        ) throws -> Void
    ) throws {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
            var pages = ScannedPages(release: env.releaseResidentPages)
            try txn.scan(dbs.records, from: bigEndianKey(max(from, 1))) { key, value in
                let seq = Int64(readBigEndian(key))
                if let through, seq > through { return .stop }
                pages.read(value.count)
                guard value.count > 32 else {
                    throw LedgerError.damaged(seq: seq, reason: "the stored record is truncated")
                }
                let vault = withVault ? try store.vaultEntry(at: seq) : nil
                try body(
                    seq, UnsafeRawBufferPointer(rebasing: value[0..<32]),
                    UnsafeRawBufferPointer(rebasing: value[32...]), vault)
                return .next
            }
        }
    }

    /// Gives the pages of the data file that this process has read back from
    /// its resident memory (they stay in the page cache): for readers that
    /// scan in transactions of their own and cannot count what a single scan read.
    public func releaseResidentPages() {
        env.releaseResidentPages()
    }

    /// A stored record with its hash and, when asked, its vault entry.
    public struct StoredRecord: Sendable {
        /// The record.
        public let record: LedgerRecord
        /// Its stored hash.
        public let hash: [UInt8]
        /// Its personal data, while the vault holds it.
        public let vault: VaultEntry?
    }

    /// The events of `stream` in version order, as recorded.
    public func history(of stream: String, withVault: Bool = false) throws -> [StoredRecord] {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
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
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
            guard let record = try store.record(at: seq), let hash = try store.hash(at: seq) else { return nil }
            return StoredRecord(record: record, hash: hash, vault: try store.vaultEntry(at: seq))
        }
    }

    /// The seq of the event stored under idempotency key `id`, if any.
    public func seq(ofID id: String) throws -> Int64? {
        try env.read { try StoreTransaction(txn: $0, dbs: dbs, keys: vaultKeys).seq(ofID: id) }
    }

    /// The stored hash of the record at `seq`.
    public func hash(at seq: Int64) throws -> [UInt8]? {
        try env.read { try StoreTransaction(txn: $0, dbs: dbs, keys: vaultKeys).hash(at: seq) }
    }

    // MARK: One writer

    /// Runs `body` holding the ledger's writer lock, which every writing command
    /// takes for its whole run, so that writers queue rather than interleave.
    /// When another process holds it, `waiting` is called with what that process
    /// is doing, and we wait for it.
    public func exclusively<T>(
        doing purpose: String, waiting: (String) -> Void = { _ in }, _ body: () throws -> T
    ) throws -> T {
        guard !env.isReadOnly else { throw LedgerError.readOnly(path: path) }
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

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

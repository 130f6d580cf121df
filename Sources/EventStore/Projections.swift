import LMDBKit
import LedgerValues

/// Keeps state derived from the log (such as the KPI figures) in the ledger's
/// own LMDB environment, up to date with every append.
///
/// The log calls it in every append transaction, after the events are stored
/// and before the transaction commits, so whatever it writes commits with the
/// events or not at all: derived state and log can never disagree about how
/// far the state has got.
public protocol LedgerProjector: Sendable {
    /// Brings the projections up to `access.lastSeq`, inside the append's transaction.
    func bringUpToDate(_ access: ProjectionAccess) throws
}

/// The projection databases of one transaction, beside the log they are
/// derived from: one consistent view of both.
///
/// Derived state lives in named databases of its own (named when the log is
/// opened); the log's own databases are never written through here.
public struct ProjectionAccess {
    let store: StoreTransaction
    let spaces: [String: LMDBDatabase]
    private let head: () throws -> LedgerHead
    private let releasePages: () -> Void

    init(
        store: StoreTransaction, spaces: [String: LMDBDatabase], head: @escaping () throws -> LedgerHead,
        releasePages: @escaping () -> Void
    ) {
        self.store = store
        self.spaces = spaces
        self.head = head
        self.releasePages = releasePages
    }

    /// LMDB's id of this transaction: a write transaction's is one more than
    /// that of the last committed, so one transaction can tell what it made
    /// itself from what earlier ones did.
    public var transactionID: Int { store.txn.snapshot }

    /// The last record this transaction sees, its own appends included.
    public var lastRecord: LedgerHead {
        get throws { try head() }
    }

    /// The seq of the last record this transaction sees (0 for an empty ledger).
    public var lastSeq: Int64 {
        get throws { try head().seq }
    }

    /// Whether this transaction may write.
    public var isWritable: Bool { !store.txn.isReadOnly }

    /// The hash of the record at `seq`, as this transaction sees it; nil when there is none.
    public func hash(ofSeq seq: Int64) throws -> [UInt8]? {
        try store.hash(at: seq)
    }

    private func database(_ space: String) throws -> LMDBDatabase {
        guard let database = spaces[space] else { throw LedgerError.noSuchProjection(space) }
        return database
    }

    /// Calls `body` with the value under `key` in `space` (valid only during the
    /// call), or returns nil when there is none.
    public func withValue<T>(
        forKey key: [UInt8], in space: String, _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        try store.txn.withValue(in: try database(space), forKey: key, body)
    }

    /// Calls `body` with the entry of the greatest key ≤ `key` in `space`, or
    /// returns nil when there is none.
    public func withEntry<T>(
        atOrBefore key: [UInt8], in space: String,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        try store.txn.withEntry(atOrBefore: key, in: try database(space), body)
    }

    /// Visits the entries of `space` whose keys start with `prefix` (every
    /// entry when it is empty), in key order.
    public func forEachEntry(
        withPrefix prefix: [UInt8], in space: String,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try store.txn.scan(try database(space), from: prefix.isEmpty ? nil : prefix) { key, value in
            guard key.starts(with: prefix) else { return .stop }
            try body(key, value)
            return .next
        }
    }

    /// Stores `value` under `key` in `space`.
    public func put(_ value: [UInt8], forKey key: [UInt8], in space: String) throws {
        try store.txn.put(value, forKey: key, in: try database(space))
    }

    /// Stores `pieces`, one after another, as the value under `key` in
    /// `space`: each is copied once, into the page LMDB makes ready for the
    /// value, so a large value written in parts is never joined in memory.
    public func put(pieces: [[UInt8]], forKey key: [UInt8], in space: String) throws {
        let count = pieces.reduce(0) { $0 + $1.count }
        let db = try database(space)
        try key.withUnsafeBytes { key in
            try store.txn.reserve(count, forKey: key, in: db) { value in
                var offset = 0
                for piece in pieces {
                    piece.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: value[offset...]).copyMemory(from: $0)
                    }
                    offset += piece.count
                }
            }
        }
    }

    /// Removes `key` from `space`; false when it was not there.
    @discardableResult
    public func delete(_ key: [UInt8], in space: String) throws -> Bool {
        try store.txn.delete(key, in: try database(space))
    }

    /// Removes every entry of `space`.
    public func removeAll(in space: String) throws {
        try store.txn.removeAll(in: try database(space))
    }

    /// Calls `body` for every record with `from ≤ seq ≤ through`, in seq order,
    /// with its canonical bytes (valid only during the call).
    public func forEachRecord(
        from: Int64, through: Int64, _ body: (_ seq: Int64, _ canonical: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard from <= through else { return }
        var pages = ScannedPages(release: releasePages)
        try store.txn.scan(store.dbs.records, from: bigEndianKey(max(from, 1))) { key, value in
            let seq = Int64(readBigEndian(key))
            if seq > through { return .stop }
            pages.read(value.count)
            guard value.count > 32 else {
                throw LedgerError.damaged(seq: seq, reason: "the stored record is truncated")
            }
            // LMDB fills a leaf page from its end down, so the next record in
            // seq order mostly lies just below this one: its bytes are asked
            // for now, while this one is decoded. Without this, a rebuild's
            // reading of the fields waited on memory for 40% of its time.
            if let start = value.baseAddress {
                CacheHint.prefetch(
                    UnsafeRawBufferPointer(
                        start: start - ProjectionAccess.bytesAhead, count: ProjectionAccess.bytesAhead))
            }
            try body(seq, UnsafeRawBufferPointer(rebasing: value[32...]))
            return .next
        }
    }

    /// The bytes fetched below each record as it is read: a stored record and more.
    static let bytesAhead = 512

    /// The recordedAt of the record at `seq`, read without decoding the rest of it.
    public func recordedAt(ofSeq seq: Int64) throws -> Instant? {
        try store.record(at: seq)?.recordedAt
    }
}

extension EventLog {
    /// Runs `body` with the projections and the log as one read transaction sees them.
    public func readingProjections<T>(_ body: (ProjectionAccess) throws -> T) throws -> T {
        try env.read { try body(try projectionAccess($0)) }
    }

    /// Runs `body` in a write transaction that may change the projections only
    /// (never the log), committed when it returns and abandoned if it throws.
    public func updatingProjections<T>(_ body: (ProjectionAccess) throws -> T) throws -> T {
        try mapStorageErrors {
            try env.write { try body(try projectionAccess($0)) }
        }
    }

    /// The projections of `txn`, whose last record is the ledger's head as `txn` sees it.
    private func projectionAccess(_ txn: LMDBTransaction) throws -> ProjectionAccess {
        let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
        let head = try store.head()
        return ProjectionAccess(
            store: store, spaces: projectionSpaces, head: { head }, releasePages: env.releaseResidentPages)
    }
}

/// The bytes a long scan has read through the map, giving the map's resident
/// pages back (`LMDBEnvironment.releaseResidentPages`) each time they pass
/// `limit`: the scan's memory is then what it keeps, not all it has read.
struct ScannedPages {
    /// Bytes of records between two releases.
    static let recordBytes = 64 << 20
    /// Bytes of index entries between two releases (their pages are fuller of overhead).
    static let entryBytes = 32 << 20

    let release: () -> Void
    let limit: Int
    private var scanned = 0

    init(release: @escaping () -> Void, limit: Int = ScannedPages.recordBytes) {
        self.release = release
        self.limit = limit
    }

    mutating func read(_ count: Int) {
        scanned += count
        if scanned > limit {
            release()
            scanned = 0
        }
    }
}

internal import CLMDB

/// A transaction, valid only inside the `read {}` or `write {}` closure that
/// received it. Byte buffers handed to closures point into the memory map and
/// are valid only during that call.
public final class LMDBTransaction {
    let txn: OpaquePointer
    /// True for a read-only snapshot.
    public let isReadOnly: Bool
    /// Set when an operation ran out of map, so that `write` grows it and retries
    /// even if the caller wrapped the error in one of its own.
    var ranOutOfMap = false
    /// The cursors `append` and `putInKeyOrder` keep, by database handle.
    private var keptCursors: [OpaquePointer?] = []

    init(_ txn: OpaquePointer, readOnly: Bool) {
        self.txn = txn
        self.isReadOnly = readOnly
    }

    /// The snapshot this transaction sees: two read transactions with the same
    /// id see the same committed data. The corresponding C function is `mdb_txn_id`.
    public var snapshot: Int { mdb_txn_id(txn) }

    /// How a value is put.
    public struct PutOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The key sorts after every key in the database (`MDB_APPEND`): a fast
        /// append that fails with `keyExists` if the order is broken.
        public static let append = PutOptions(rawValue: UInt32(MDB_APPEND))
        /// Fail with `keyExists` rather than overwrite (`MDB_NOOVERWRITE`).
        public static let noOverwrite = PutOptions(rawValue: UInt32(MDB_NOOVERWRITE))
    }

    /// The environment's main (unnamed) database, whose keys name the others.
    func openMainDatabase() throws(LMDBError) -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn, nil, 0, &dbi), "mdb_dbi_open (main)")
        return LMDBDatabase(handle: dbi, name: "(main)")
    }

    /// Opens a named database in this transaction. The corresponding C function is `mdb_dbi_open`.
    func openDatabase(named name: String, create: Bool) throws(LMDBError) -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "mdb_dbi_open \(name)")
        return LMDBDatabase(handle: dbi, name: name)
    }

    /// The value stored under `key`, or nil when there is none. The buffer points
    /// into the map: it is valid until this transaction ends or next writes,
    /// so read it at once. The corresponding C function is `mdb_get`.
    public func get(_ key: UnsafeRawBufferPointer, in db: LMDBDatabase) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.handle, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get \(db.name)")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Calls `body` with the value stored under `key`, or returns nil when there is none.
    public func withValue<T>(
        in db: LMDBDatabase, forKey key: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        guard let value = try get(key, in: db) else { return nil }
        return try body(value)
    }

    /// Calls `body` with the value stored under `key`, or returns nil when there is none.
    public func withValue<T>(
        in db: LMDBDatabase, forKey key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        try key.withUnsafeBytes { try withValue(in: db, forKey: $0, body) }
    }

    /// A copy of the value stored under `key`, or nil.
    public func value(in db: LMDBDatabase, forKey key: [UInt8]) throws -> [UInt8]? {
        try withValue(in: db, forKey: key) { Array($0) }
    }

    /// Stores `value` under `key`. The corresponding C function is `mdb_put`.
    public func put(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, in db: LMDBDatabase,
        options: PutOptions = []
    ) throws(LMDBError) {
        let rc = LMDBTransaction.withValues(key, value) { k, v in mdb_put(txn, db.handle, &k, &v, options.rawValue) }
        try checkWrite(rc, "mdb_put \(db.name)")
    }

    /// Makes room for a value of `count` bytes under `key` and lets `fill` write
    /// it in place, saving a copy (`MDB_RESERVE`). The corresponding C function is `mdb_put`.
    public func reserve(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in db: LMDBDatabase, options: PutOptions = [],
        _ fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: count, mv_data: nil)
        let rc = mdb_put(txn, db.handle, &k, &v, options.rawValue | UInt32(MDB_RESERVE))
        try checkWrite(rc, "mdb_put \(db.name)")
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
    }

    /// Puts `value` under `key`, which must sort after every key of `db`
    /// (else `keyExists`), through a cursor this transaction keeps for the
    /// database: it stays on the last key, so the next append needs no descent
    /// from the root, where `put(_:forKey:in:options: .append)` makes one for
    /// each call. For a database appended to many times in one write
    /// transaction, from which the transaction deletes nothing. The
    /// corresponding C function is `mdb_cursor_put` with `MDB_APPEND`.
    public func append(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, in db: LMDBDatabase
    ) throws(LMDBError) {
        try putInKeyOrder(value, forKey: key, in: db, options: .append)
    }

    /// `append`, making room for `count` bytes that `fill` writes in place (`MDB_RESERVE`).
    public func reserveAppending(
        _ count: Int, forKey key: UnsafeRawBufferPointer, in db: LMDBDatabase,
        _ fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: count, mv_data: nil)
        let rc = mdb_cursor_put(try keptCursor(db), &k, &v, UInt32(MDB_APPEND | MDB_RESERVE))
        try checkWrite(rc, "mdb_cursor_put \(db.name)")
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
    }

    /// Puts `value` under `key` through the cursor this transaction keeps for
    /// the database, for keys put in rising order: LMDB looks first on the
    /// leaf page the cursor stands on, so a key that falls among the keys of
    /// the page put to before needs no descent from the root, where
    /// `put(_:forKey:in:options:)` makes one for each call. For a database put
    /// to many times in one write transaction, from which the transaction
    /// deletes nothing. The corresponding C function is `mdb_cursor_put`.
    public func putInKeyOrder(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, in db: LMDBDatabase,
        options: PutOptions = []
    ) throws(LMDBError) {
        let cursor = try keptCursor(db)
        let rc = LMDBTransaction.withValues(key, value) { k, v in mdb_cursor_put(cursor, &k, &v, options.rawValue) }
        try checkWrite(rc, "mdb_cursor_put \(db.name)")
    }

    /// Calls `body` with `key` and `value` as LMDB's `MDB_val`s, which point at their bytes.
    @inline(__always)
    private static func withValues(
        _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
        _ body: (inout MDB_val, inout MDB_val) -> Int32
    ) -> Int32 {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        return body(&k, &v)
    }

    /// Checks the outcome of a write; one that ran out of map is noted, so
    /// that `write` grows the map and runs again.
    private func checkWrite(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if rc == MDB_MAP_FULL { ranOutOfMap = true }
        try check(rc, operation())
    }

    /// The cursor `append` and `putInKeyOrder` use for `db`, opened on first use.
    private func keptCursor(_ db: LMDBDatabase) throws(LMDBError) -> OpaquePointer {
        let index = Int(db.handle)
        if index < keptCursors.count, let cursor = keptCursors[index] { return cursor }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &cursor), "mdb_cursor_open \(db.name)")
        if index >= keptCursors.count {
            keptCursors += Array(repeating: nil, count: index + 1 - keptCursors.count)
        }
        keptCursors[index] = cursor
        return cursor!
    }

    /// Closes the cursors this transaction kept: called before the transaction
    /// ends, while a write transaction's cursors may still be closed.
    func closeKeptCursors() {
        for cursor in keptCursors { if let cursor { mdb_cursor_close(cursor) } }
        keptCursors = []
    }

    /// Stores `value` under `key`.
    public func put(_ value: [UInt8], forKey key: [UInt8], in db: LMDBDatabase, options: PutOptions = []) throws {
        try value.withUnsafeBytes { v in
            try key.withUnsafeBytes { k in try put(v, forKey: k, in: db, options: options) }
        }
    }

    /// Removes `key`; returns false when it was not there. The corresponding C function is `mdb_del`.
    @discardableResult
    public func delete(_ key: [UInt8], in db: LMDBDatabase) throws -> Bool {
        try key.withUnsafeBytes { buffer in
            var k = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            let rc = mdb_del(txn, db.handle, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del \(db.name)")
            return true
        }
    }

    /// The number of entries in `db`. The corresponding C function is `mdb_stat`.
    public func count(in db: LMDBDatabase) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, db.handle, &stat), "mdb_stat \(db.name)")
        return stat.ms_entries
    }

    /// What a scan does after each entry.
    public enum ScanStep: Sendable {
        case next
        case stop
    }

    /// Visits the entries of `db` in key order, starting at the first key ≥ `start`
    /// (or at the first key when `start` is nil), until `body` says stop.
    public func scan(
        _ db: LMDBDatabase, from start: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> ScanStep
    ) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &cursor), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc: Int32
        if let start {
            rc = start.withUnsafeBytes { buffer in
                k = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        }
        while rc == MDB_SUCCESS {
            let step = try body(
                UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
            if step == .stop { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get \(db.name)") }
    }

    /// Calls `body` with a cursor over `db` that the caller moves forward
    /// itself, at its own pace, beside other reads of this transaction. The
    /// cursor is valid only inside `body`.
    public func withCursor<T>(on db: LMDBDatabase, _ body: (LMDBCursor) throws -> T) throws -> T {
        var handle: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &handle), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(handle) }
        return try body(LMDBCursor(handle!, db: db))
    }

    /// Calls `body` with the entry of the greatest key ≤ `key` in `db`, or returns
    /// nil when every key is greater (or `db` is empty).
    public func withEntry<T>(
        atOrBefore key: [UInt8], in db: LMDBDatabase,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &cursor), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc = key.withUnsafeBytes { buffer in
            k = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
        if rc == MDB_NOTFOUND {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        } else if rc == MDB_SUCCESS {
            let found = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            if !found.elementsEqual(key) { rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV) }
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get \(db.name)")
        return try body(
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Removes every entry of `db`, keeping the database. The corresponding C function is `mdb_drop`.
    public func removeAll(in db: LMDBDatabase) throws(LMDBError) {
        try check(mdb_drop(txn, db.handle, 0), "mdb_drop \(db.name)")
    }

    /// Calls `body` with the entry of the greatest key in `db`, or returns nil when `db` is empty.
    public func withLast<T>(
        in db: LMDBDatabase, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, db.handle, &cursor), "mdb_cursor_open \(db.name)")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get \(db.name)")
        return try body(
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}

/// A cursor that walks a database's entries in key order, one `next()` at a
/// time (see `LMDBTransaction.withCursor`).
public final class LMDBCursor {
    private let handle: OpaquePointer
    private let db: LMDBDatabase
    private var started = false
    private var exhausted = false

    init(_ handle: OpaquePointer, db: LMDBDatabase) {
        self.handle = handle
        self.db = db
    }

    /// The next entry in key order (the first, on the first call), or nil past
    /// the last. The buffers point into the map, valid while the transaction lasts.
    public func next() throws(LMDBError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        guard !exhausted else { return nil }
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, started ? MDB_NEXT : MDB_FIRST)
        started = true
        if rc == MDB_NOTFOUND {
            exhausted = true
            return nil
        }
        try check(rc, "mdb_cursor_get \(db.name)")
        return (
            UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
            UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
        )
    }
}

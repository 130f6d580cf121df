internal import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`, shared
/// by every process that opens it.
///
/// Transactions exist only inside `read {}` and `write {}` closures, so none can
/// outlive its scope or be forgotten open. The memory map grows by itself: when
/// a write runs out of map, the transaction is abandoned, the map is doubled and
/// the closure runs again from the start (so a write closure must compute
/// everything it writes from what it reads in that transaction). Readers never
/// block the writer or each other, in this process or any other.
///
/// The raw `MDB_env` pointer lives only here; the class is `@unchecked Sendable`
/// because LMDB environments are thread-safe once opened (with `MDB_NOTLS`, a read
/// transaction is not tied to the thread that began it) and the one piece of
/// mutable state, the map size, changes only under `resizeLock` held exclusively.
public final class LMDBEnvironment: @unchecked Sendable {
    /// How an environment is opened.
    public struct Options: Sendable {
        /// The map size to start with; an existing, larger environment keeps its own.
        public var initialMapSize: Int
        /// How many named databases may be opened.
        public var maxDatabases: Int
        /// How many read transactions may be open at once across all processes.
        public var maxReaders: Int

        public init(initialMapSize: Int = 256 << 20, maxDatabases: Int = 32, maxReaders: Int = 254) {
            self.initialMapSize = initialMapSize
            self.maxDatabases = maxDatabases
            self.maxReaders = maxReaders
        }
    }

    let env: OpaquePointer
    /// Held shared by every transaction and exclusively while the map is resized:
    /// LMDB allows `mdb_env_set_mapsize` only when this process has no transaction.
    private var resizeLock = pthread_rwlock_t()
    /// The directory of the environment.
    public let path: String
    /// Whether the environment lies on a read-only file system (an archived
    /// copy, a read-only snapshot): it is read as usual, and every write
    /// transaction is refused with `EROFS`.
    public let isReadOnly: Bool

    /// Opens (creating if need be) the environment in the directory `path`.
    ///
    /// Commits write the data pages durably but not the meta page
    /// (`MDB_NOMETASYNC`): an operating-system crash may undo the last commit, never
    /// corrupt the file. Call `sync()` before reporting a write as durable.
    ///
    /// On a read-only file system the environment is opened for reading only
    /// (`MDB_RDONLY`); LMDB then reads it without its lock file, which is safe
    /// because no process can write there.
    public init(path: String, options: Options = Options()) throws(LMDBError) {
        self.path = path
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw LMDBError(code: errno, operation: "mkdir \(path)")
        }
        let flags = UInt32(MDB_NOTLS | MDB_NOMETASYNC)
        do {
            env = try LMDBEnvironment.opened(path, flags: flags, options)
            isReadOnly = false
        } catch LMDBError.readOnlyFileSystem {
            env = try LMDBEnvironment.opened(path, flags: flags | UInt32(MDB_RDONLY), options)
            isReadOnly = true
        }
        pthread_rwlock_init(&resizeLock, nil)
    }

    /// A new environment handle with `options`, opened on `path` with `flags`.
    private static func opened(_ path: String, flags: UInt32, _ options: Options) throws(LMDBError) -> OpaquePointer {
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle), "mdb_env_create")
        guard let handle else { throw LMDBError(code: EINVAL, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(handle, MDB_dbi(options.maxDatabases)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(handle, UInt32(options.maxReaders)), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(handle, options.initialMapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(handle, path, flags, 0o644), "mdb_env_open \(path)")
            // Free the reader slots of processes that died (kill -9) holding them.
            var dead: Int32 = 0
            try check(mdb_reader_check(handle, &dead), "mdb_reader_check")
        } catch {
            // A handle whose mdb_env_open failed is good only for closing.
            mdb_env_close(handle)
            throw error
        }
        return handle
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(&resizeLock)
    }

    /// The current size of the memory map in bytes: the most the data file may
    /// hold before the map grows again.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// The data file's length and the length its last committed page needs,
    /// when the file is shorter: it was cut short (a partial copy, a damaged
    /// disk), and reading the missing pages through the map would kill the
    /// process. Nil when the file is whole.
    public func dataFileShortfall() -> (bytes: Int, needed: Int)? {
        var file = stat()
        guard let needed = committedBytes, stat(path + "/data.mdb", &file) == 0 else { return nil }
        return Int(file.st_size) < needed ? (Int(file.st_size), needed) : nil
    }

    /// Where the last committed page ends in the data file: the length the
    /// ledger as committed needs (the file may be longer). Nil when LMDB
    /// cannot say.
    public var committedBytes: Int? {
        var info = MDB_envinfo()
        var stats = MDB_stat()
        guard mdb_env_info(env, &info) == MDB_SUCCESS, mdb_env_stat(env, &stats) == MDB_SUCCESS else { return nil }
        return (info.me_last_pgno + 1) * Int(stats.ms_psize)
    }

    /// The size of a page of the data file.
    var pageSize: Int {
        var stats = MDB_stat()
        return mdb_env_stat(env, &stats) == MDB_SUCCESS ? Int(stats.ms_psize) : 4096
    }

    /// Gives the map's pages back from this process's resident memory: they stay
    /// in the kernel's page cache and are mapped again when next read. A long
    /// scan calls this now and then, so that the process's memory is what it
    /// keeps rather than all of the file it has read.
    ///
    /// Only the read-only mappings of this environment's data file are touched
    /// (found in `/proc/self/maps` by the file's inode): pages a write
    /// transaction has changed live in ordinary memory and are never given back.
    public func releaseResidentPages() {
        for mapping in dataFileMappings() {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            _ = madvise(start, Int(mapping.end - mapping.start), MADV_DONTNEED)
        }
    }

    /// Where this process maps the data file read-only (from `/proc/self/maps`,
    /// by the file's inode): each mapping's address range and its offset in the file.
    func dataFileMappings() -> [(start: UInt, end: UInt, offset: UInt64)] {
        var file = stat()
        guard stat(path + "/data.mdb", &file) == 0,
            let maps = fopen("/proc/self/maps", "r")
        else { return [] }
        defer { fclose(maps) }
        var mappings: [(start: UInt, end: UInt, offset: UInt64)] = []
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), maps) != nil {
            // start-end perms offset major:minor inode path
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1].hasPrefix("r"), !fields[1].contains("w"),
                UInt64(fields[4]) == UInt64(file.st_ino), fields[5].hasSuffix("data.mdb\n"),
                let offset = UInt64(fields[2], radix: 16)
            else { continue }
            let range = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard range.count == 2, range[1] > range[0] else { continue }
            mappings.append((range[0], range[1], offset))
        }
        return mappings
    }

    /// The bytes of files mapped into this process that are resident (the
    /// map's pages, and the program's own), from `/proc/self/statm`; nil
    /// where that cannot be read. Cheap enough to ask every few thousand puts.
    public static func residentFileBytes() -> Int? {
        #if !os(Linux)
            return nil
        #else
            let fd = open("/proc/self/statm", O_RDONLY)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 128)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            // size resident shared text lib data dt, in pages: "shared" is the file-backed part.
            let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
            guard fields.count >= 3, let pages = Int(String(decoding: fields[2], as: UTF8.self)) else { return nil }
            return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #endif
    }

    /// Flushes every committed transaction to disk. The corresponding C function is `mdb_env_sync`.
    public func sync() throws(LMDBError) {
        guard !isReadOnly else { return }  // nothing was written
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        while true {
            pthread_rwlock_rdlock(&resizeLock)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(&resizeLock)
                try adoptMapSize()
                continue
            }
            defer { pthread_rwlock_unlock(&resizeLock) }
            try check(rc, "mdb_txn_begin (read)")
            let transaction = LMDBTransaction(txn!, readOnly: true)
            defer { mdb_txn_abort(txn) }
            return try body(transaction)
        }
    }

    /// Runs `body` in the one write transaction and commits it when `body`
    /// returns; any error thrown aborts it, so the write is all or nothing.
    ///
    /// Only one write transaction exists at a time across all processes: a second
    /// writer waits here until the first commits or aborts. When the map is full,
    /// the map grows and `body` runs again from the start.
    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard !isReadOnly else { throw LMDBError(code: EROFS, operation: "cannot write to \(path)") }
        while true {
            var transaction: LMDBTransaction?
            do {
                pthread_rwlock_rdlock(&resizeLock)
                defer { pthread_rwlock_unlock(&resizeLock) }
                var txn: OpaquePointer?
                try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin (write)")
                let current = LMDBTransaction(txn!, readOnly: false)
                transaction = current
                let result: T
                do {
                    result = try body(current)
                } catch {
                    current.closeKeptCursors()
                    mdb_txn_abort(txn)
                    throw error
                }
                current.closeKeptCursors()
                // mdb_txn_commit frees the transaction whether or not it succeeds.
                let rc = mdb_txn_commit(txn)
                if rc == MDB_MAP_FULL { current.ranOutOfMap = true }
                try check(rc, "mdb_txn_commit")
                return result
            } catch {
                if transaction?.ranOutOfMap == true || LMDBError.mapFull ~= error {
                    try grow()
                } else if LMDBError.mapResized ~= error {
                    try adoptMapSize()
                } else {
                    throw error
                }
            }
        }
    }

    /// The keys of the main database: the names of the named databases, and
    /// whatever else a program that made the environment stored there.
    public func mainDatabaseKeys() throws -> [[UInt8]] {
        try read { txn in
            var keys: [[UInt8]] = []
            try txn.scan(try txn.openMainDatabase()) { key, _ in
                keys.append(Array(key))
                return .next
            }
            return keys
        }
    }

    /// Opens the named databases, creating the missing ones.
    ///
    /// It tries a read transaction first, so that a process that only reads never
    /// waits for a writer; only if a database does not exist yet does it take the
    /// write transaction to create it.
    public func openDatabases(named names: [String]) throws -> [LMDBDatabase] {
        do {
            // A read-only transaction must be committed, not aborted, for the
            // handles it opened to stay valid in the environment.
            pthread_rwlock_rdlock(&resizeLock)
            defer { pthread_rwlock_unlock(&resizeLock) }
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin (read)")
            let transaction = LMDBTransaction(txn!, readOnly: true)
            let handles: [LMDBDatabase]
            do {
                handles = try names.map { try transaction.openDatabase(named: $0, create: false) }
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit (read)")
            return handles
        } catch LMDBError.notFound {
            return try write { txn in try names.map { try txn.openDatabase(named: $0, create: true) } }
        } catch LMDBError.mapResized {
            try adoptMapSize()
            return try openDatabases(named: names)
        }
    }

    /// Grows the map, if need be, so that the data file can take
    /// `additionalBytes` more than it holds now without running out of map.
    public func reserve(additionalBytes: Int) throws(LMDBError) {
        var info = stat()
        let used = stat(path + "/data.mdb", &info) == 0 ? Int(info.st_size) : 0
        let needed = used + additionalBytes
        guard needed > mapSize else { return }
        pthread_rwlock_wrlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        var size = mapSize
        while size < needed { size += min(size, 16 << 30) }
        try check(mdb_env_set_mapsize(env, size), "mdb_env_set_mapsize")
    }

    /// Doubles the map (by at most 16 GiB at a time). Virtual address space
    /// only: the data file grows as pages are written, not when the map grows.
    private func grow() throws(LMDBError) {
        pthread_rwlock_wrlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        let current = mapSize
        let next = current + min(current, 16 << 30)
        try check(mdb_env_set_mapsize(env, next), "mdb_env_set_mapsize")
    }

    /// Takes on the larger map size another process has committed.
    private func adoptMapSize() throws(LMDBError) {
        pthread_rwlock_wrlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        try check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize")
    }
}

/// A named database inside an environment. The handle stays valid for the life
/// of the environment.
public struct LMDBDatabase: Sendable, Hashable {
    let handle: MDB_dbi
    /// The name it was opened by.
    public let name: String
}

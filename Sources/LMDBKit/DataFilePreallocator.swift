internal import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Grows the data file a stretch ahead of a long write transaction, on a
/// thread of its own: the next `lead` bytes past where the transaction has
/// got to are allocated on disk (`fallocate`, which never touches bytes the
/// file holds) and brought into the page cache as the zeros they read as
/// (`posix_fadvise(WILLNEED)`).
///
/// LMDB writes a large transaction's pages out as it goes (it keeps at most
/// 512 MiB of them in memory) and the rest at commit. Writing into a page the
/// page cache does not hold yet makes the kernel find, clear and account a new
/// one first, on the writing thread; on this project's machine kind, whose
/// memory the hypervisor hands over page by page on first use, that costs
/// about 20 µs a page, a third of a large import's storing thread. Done here,
/// it overlaps with the storing, and the storing thread only copies.
///
/// The same thread starts sending to disk what the transaction has written
/// out well behind where it is (`sync_file_range`), so that the commit's
/// sync has less left to write.
///
/// It is a hint, never a condition: when the file system cannot allocate
/// (no space, no `fallocate`, the process's file-size limit), the
/// preallocator stops and the transaction meets the condition itself, as it
/// would have without it. The file may end up to `lead` bytes longer than
/// the ledger needs; LMDB uses that room in the next transactions.
public final class DataFilePreallocator: @unchecked Sendable {
    /// How far ahead of the transaction the file is grown.
    public static let lead = 32 << 20
    /// How much is allocated and brought in at a time.
    static let step = 4 << 20
    /// How far behind the writer the pages it has written out are sent to
    /// disk, and how many at a time (see `run`).
    static let writebackLag = 128 << 20
    static let writebackStep = 64 << 20

    private let fd: Int32
    /// Guards the six fields below, with `changed` to wait on.
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// How far the file is wanted prepared.
    private var wanted: Int
    /// How far the file is allocated and cached so far.
    private var prepared: Int
    /// Where the writer has got to, and how far behind it the file has been sent to disk.
    private var reached: Int
    private var writtenBack: Int
    private var stopped = false
    private var running = true
    private let limit: Int
    private let lead: Int
    private let pageSize: Int
    /// Where the last committed page ends: where a new transaction starts writing.
    private let committedBytes: Int
    /// The transaction followed, and its pages in use when it began; touched
    /// by the writing thread only.
    private var followed: (databases: [LMDBDatabase], pages: Int)?

    /// Starts preparing the file open as `fd`, whose committed pages end at
    /// `committedBytes` and which is `fileBytes` long, `lead` bytes past the
    /// committed pages, never past `limit`.
    init(fd: Int32, pageSize: Int, committedBytes: Int, fileBytes: Int, limit: Int, lead: Int) {
        self.fd = fd
        self.lead = lead
        self.limit = limit
        self.pageSize = pageSize
        self.committedBytes = committedBytes
        prepared = max(committedBytes, fileBytes)
        wanted = min(limit, committedBytes + lead)
        reached = committedBytes
        writtenBack = committedBytes
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(
            &thread, nil,
            { context in
                let preallocator = Unmanaged<DataFilePreallocator>.fromOpaque(context!).takeRetainedValue()
                preallocator.run()
                return nil
            }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<DataFilePreallocator>.fromOpaque(context).release()
            running = false
        }
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        changed.deallocate()
        lock.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// Follows `txn`, a write transaction just begun (a new one after a
    /// retry), which writes to `databases`.
    public func follow(_ txn: LMDBTransaction, writing databases: [LMDBDatabase]) {
        followed = (databases, txn.pagesInUse(of: databases))
    }

    /// Looks at how far the transaction followed has got into the file, and
    /// prepares the file up to `lead` bytes beyond. Cheap enough to call
    /// every few thousand puts.
    public func look(at txn: LMDBTransaction) {
        guard let followed else { return }
        let grown = max(0, txn.pagesInUse(of: followed.databases) - followed.pages)
        writerReached(committedBytes + grown * pageSize)
    }

    /// Prepares the file up to `lead` bytes past `bytes`, which the writer has reached.
    func writerReached(_ bytes: Int) {
        let target = min(limit, bytes + lead)
        locked {
            reached = max(reached, bytes)
            if target > wanted || writebackDue {
                wanted = max(wanted, target)
                pthread_cond_signal(changed)
            }
        }
    }

    /// Whether enough of what the writer has left behind waits to be sent to disk (under `lock`).
    private var writebackDue: Bool {
        reached - DataFilePreallocator.writebackLag - writtenBack >= DataFilePreallocator.writebackStep
    }

    /// How far the file is prepared (allocated and cached) so far.
    public var preparedBytes: Int { locked { prepared } }

    /// Up to where the file has been sent on its way to disk.
    var writtenBackBytes: Int { locked { writtenBack } }

    /// Stops, and returns once no preparing is under way: after this the
    /// file is not touched again.
    public func finish() {
        pthread_mutex_lock(lock)
        stopped = true
        pthread_cond_broadcast(changed)
        while running { pthread_cond_wait(changed, lock) }
        pthread_mutex_unlock(lock)
    }

    private func run() {
        pthread_mutex_lock(lock)
        defer {
            running = false
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(lock)
        }
        while true {
            while !stopped && prepared >= wanted && !writebackDue { pthread_cond_wait(changed, lock) }
            if stopped { return }
            if prepared >= wanted {
                // The pages LMDB wrote out well behind where it is now (records, mostly, never
                // written again) start on their way to disk, so that the commit's sync has less
                // left to write. A hint: a failure changes nothing.
                let from = writtenBack
                writtenBack += DataFilePreallocator.writebackStep
                pthread_mutex_unlock(lock)
                _ = sunledger_start_writeback(fd, Int64(from), Int64(DataFilePreallocator.writebackStep))
                pthread_mutex_lock(lock)
                continue
            }
            let from = prepared
            let length = min(DataFilePreallocator.step, wanted - from)
            pthread_mutex_unlock(lock)
            let allocated = sunledger_fallocate(fd, Int64(from), Int64(length)) == 0
            if allocated { _ = posix_fadvise(fd, off_t(from), off_t(length), POSIX_FADV_WILLNEED) }
            pthread_mutex_lock(lock)
            // Out of space or of file-size limit, or no fallocate here: the transaction is left to meet it.
            guard allocated else { return }
            prepared = from + length
        }
    }
}

extension LMDBEnvironment {
    /// A preallocator for a write transaction expected to add about
    /// `expectedBytes` to the data file (see `DataFilePreallocator`), or nil
    /// when that is too little to be worth a thread, or the file cannot be
    /// read here. It never prepares past the expected size plus its lead, nor
    /// past the process's file-size limit.
    public func dataFilePreallocator(expectedBytes: Int) -> DataFilePreallocator? {
        guard !isReadOnly, expectedBytes >= LMDBEnvironment.preallocatedFrom else { return nil }
        var fd: Int32 = -1
        var file = stat()
        guard mdb_env_get_fd(env, &fd) == MDB_SUCCESS, fd >= 0, fstat(fd, &file) == 0, let committed = committedBytes
        else { return nil }
        var limit = committed + expectedBytes + DataFilePreallocator.lead
        var fileSize = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &fileSize) == 0, fileSize.rlim_cur != rlim_t.max {
            // Past the limit fallocate raises SIGXFSZ, which would end the process.
            limit = min(limit, Int(clamping: fileSize.rlim_cur))
        }
        guard limit > committed else { return nil }
        return DataFilePreallocator(
            fd: fd, pageSize: pageSize, committedBytes: committed, fileBytes: Int(file.st_size), limit: limit,
            lead: DataFilePreallocator.lead)
    }

    /// The least growth a write transaction is expected to bring for its data
    /// file to be prepared ahead of it.
    public static let preallocatedFrom = 64 << 20
}

extension LMDBTransaction {
    /// The pages this transaction's view of `databases`, of the main database
    /// and of LMDB's free list takes: how far into the data file it reaches,
    /// as near as can be told from outside LMDB (a page copied on write in
    /// place of a committed one grows the file but not the count; a page
    /// taken from the free list, the count but not the file). Cheap: it
    /// reads each database's counts.
    public func pagesInUse(of databases: [LMDBDatabase]) -> Int {
        var pages = 0
        for dbi in [MDB_dbi(0), MDB_dbi(1)] + databases.map(\.handle) {
            var stats = MDB_stat()
            guard mdb_stat(txn, dbi, &stats) == MDB_SUCCESS else { continue }
            pages += stats.ms_branch_pages + stats.ms_leaf_pages + stats.ms_overflow_pages
        }
        return pages
    }
}

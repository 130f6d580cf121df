internal import CLMDB
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fault in the B-tree of one database, found by reading its pages.
public struct LMDBStructureProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The named database whose tree holds the fault.
    public let database: String
    /// The page where it lies.
    public let page: Int
    /// What is wrong there.
    public let reason: String

    public var description: String { "the \(database) database's page \(page) \(reason)" }
}

extension LMDBEnvironment {
    /// Walks the B-tree of every named database in `txn`'s snapshot, page by page,
    /// reading the pages in the memory map as LMDB 0.9 lays them out, and
    /// returns the first fault found; nil when every tree is sound.
    ///
    /// LMDB itself trusts its pages: a child page number, a node's offset or
    /// size, or a separator key changed behind its back is followed as it
    /// stands, and can crash a reader, skip records in a scan, or send a
    /// lookup to the wrong leaf while a scan still sees every record. This
    /// checks, for every page reached: that it lies inside the file and is
    /// reached once only; that it names itself and is of the kind its depth
    /// calls for; that its nodes lie inside it; that its keys rise strictly and
    /// lie between the separators that lead to it; that a value kept on
    /// overflow pages has them; and, for each tree, that its pages and entries
    /// add up to the counts LMDB keeps. It reads every page once, and nothing
    /// outside the pages the trees reach. The subtrees below the roots are
    /// walked on every core, and the map's pages are given back as it goes.
    ///
    /// Databases with flags (sorted duplicates, integer keys) are not walked:
    /// the ledger has none. Nothing is checked unless the LMDB in use is 0.9,
    /// the version whose layout this knows.
    public func structureProblem(in txn: LMDBTransaction) throws -> LMDBStructureProblem? {
        try structureCheck(in: txn, leavesInOrderOf: nil).problem
    }

    /// `structureProblem(in:)`, with the leaf pages of `database`'s tree left
    /// out of the walk (its branch pages are walked with the rest) and handed
    /// back in key order, to be checked as they are read: a caller that reads
    /// every entry of that database reads each of its pages once, not once to
    /// check it and once more through LMDB. Its leaves are sound only once
    /// `LeavesInOrder.forEachEntry` has returned nil.
    ///
    /// `leaves` is nil when there is a problem elsewhere, when the database
    /// is empty or was not found, or when nothing is checked (not LMDB 0.9):
    /// the caller then reads the database through LMDB.
    public func structureCheck(
        in txn: LMDBTransaction, leavesInOrderOf database: LMDBDatabase?
    ) throws -> (problem: LMDBStructureProblem?, leaves: LeavesInOrder?) {
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = mdb_version(&major, &minor, nil)
        guard major == 0, minor == 9, MemoryLayout<Int>.size == 8 else { return (nil, nil) }
        var info = MDB_envinfo()
        var stats = MDB_stat()
        try check(mdb_env_info(env, &info), "mdb_env_info")
        try check(mdb_env_stat(env, &stats), "mdb_env_stat")
        // The whole map is one read-only mapping of the file from its start.
        let pageSize = Int(stats.ms_psize)
        let end = (info.me_last_pgno + 1) * pageSize
        guard
            let mapping = dataFileMappings().first(where: {
                $0.offset == 0 && $0.end - $0.start >= UInt(end)
            }),
            let map = UnsafeRawPointer(bitPattern: mapping.start)
        else { return (nil, nil) }
        let walk = PageWalk(
            map: map, pageSize: pageSize, lastPage: info.me_last_pgno, release: { [self] in releaseResidentPages() })

        // The main database holds each named database's record (`MDB_db`) under its name.
        var main: MDB_dbi = 0
        try check(mdb_dbi_open(txn.txn, nil, 0, &main), "mdb_dbi_open (main)")
        var trees: [Tree] = []
        var problem: LMDBStructureProblem?
        try txn.scan(LMDBDatabase(handle: main, name: "")) { key, value in
            switch Tree.read(name: String(decoding: key, as: UTF8.self), record: value) {
            case .success(let tree): if let tree { trees.append(tree) }
            case .failure(let fault): problem = fault
            }
            return problem == nil ? .next : .stop
        }
        if let problem { return (problem, nil) }
        let checked = walk.check(trees, deferring: database?.name)
        return (checked.problem, checked.deferred.map { LeavesInOrder(walk: walk, $0) })
    }
}

/// The leaf pages of one database's tree in key order, whose branch pages a
/// structure walk has found sound (`LMDBEnvironment.structureCheck`), to be
/// checked as they are read. Valid while the read transaction of that walk is.
public final class LeavesInOrder: @unchecked Sendable {
    private let walk: PageWalk
    private let tree: Tree
    private let leaves: [Visit]
    private var tally: Tally

    fileprivate init(walk: PageWalk, _ deferred: (tree: Tree, leaves: [Visit], tally: Tally)) {
        self.walk = walk
        tree = deferred.tree
        leaves = deferred.leaves
        tally = deferred.tally
    }

    /// Checks the leaf pages one after another, in key order, as the walk
    /// checks any page, and calls `body` with the key and value of each entry
    /// of a page once the whole page is found sound. Returns the first fault
    /// (nothing after it is read), or, once every leaf is read, a disagreement
    /// of the tree's pages and entries with the counts LMDB keeps; nil when
    /// the whole tree is sound. `body` may stop the reading by throwing.
    public func forEachEntry(
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> LMDBStructureProblem? {
        for visit in leaves {
            if case .failure(let problem) = walk.checkPage(visit, of: tree, tally: &tally, marked: true) {
                return problem
            }
            try walk.forEachEntry(ofLeaf: visit.page, body)
        }
        return walk.countProblem(of: tree, total: tally)
    }
}

/// A named database's tree, as its record (`MDB_db`) in the main database describes it.
private struct Tree {
    let name: String
    let depth: Int
    let root: Int
    let expected: Tally

    /// The tree `record` describes; nil for an empty database, or for one with
    /// flags (sorted duplicates, integer keys), which the ledger never makes.
    static func read(name: String, record: UnsafeRawBufferPointer) -> Result<Tree?, LMDBStructureProblem> {
        guard record.count == 48 else {
            return .failure(
                LMDBStructureProblem(
                    database: name, page: 0, reason: "has a database record of \(record.count) bytes, not 48"))
        }
        let flags = record.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        let depth = Int(record.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        let expected = Tally(
            branches: record.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            leaves: record.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            overflow: record.loadUnaligned(fromByteOffset: 24, as: UInt64.self),
            entries: record.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
        let root = record.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        guard flags == 0 else { return .success(nil) }
        guard root != UInt64.max else {
            guard expected.entries == 0, depth == 0 else {
                return .failure(
                    LMDBStructureProblem(database: name, page: 0, reason: "has no root page but counts entries"))
            }
            return .success(nil)
        }
        return .success(Tree(name: name, depth: depth, root: Int(clamping: root), expected: expected))
    }
}

/// Pages and entries counted in a tree.
private struct Tally: Equatable {
    var branches: UInt64 = 0
    var leaves: UInt64 = 0
    var overflow: UInt64 = 0
    var entries: UInt64 = 0

    static func + (a: Tally, b: Tally) -> Tally {
        Tally(
            branches: a.branches + b.branches, leaves: a.leaves + b.leaves, overflow: a.overflow + b.overflow,
            entries: a.entries + b.entries)
    }
}

/// A page to check and the bounds its keys must keep: at or above `lower`, below `upper`.
private struct Visit: @unchecked Sendable {
    let page: Int
    let level: Int
    let lower: UnsafeRawBufferPointer?
    let upper: UnsafeRawBufferPointer?
    /// The page whose node led here (for the message when this one cannot be read).
    let from: Int
}

/// The pages reached so far, shared by every core: a page that two trees, or
/// two branches of one tree, claim is found by whichever reaches it second.
private final class ReachedPages: @unchecked Sendable {
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let count: Int

    init(lastPage: Int) {
        count = lastPage / 64 + 1
        words = .allocate(capacity: count)
        for index in 0..<count { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: count)
        words.deallocate()
    }

    /// Marks `page` reached; false when it already was.
    func mark(_ page: Int) -> Bool {
        let bit = UInt64(1) << UInt64(page % 64)
        return (words + page / 64).pointee.bitwiseOr(bit, ordering: .relaxed).oldValue & bit == 0
    }
}

/// One walk over the trees of a snapshot.
private struct PageWalk: @unchecked Sendable {
    let map: UnsafeRawPointer
    let pageSize: Int
    let lastPage: Int
    /// Gives the map's pages back, every `pagesBetweenReleases` leaves a core reads.
    let release: @Sendable () -> Void
    private let reached: ReachedPages

    // Page flags, node flags and sizes of LMDB 0.9 on a 64-bit machine.
    private static let branchPage: UInt16 = 0x01
    private static let leafPage: UInt16 = 0x02
    private static let overflowPage: UInt16 = 0x04
    /// The flags that say what a page is (a committed page keeps no others).
    private static let kindMask: UInt16 = 0x6F
    private static let bigData: UInt16 = 0x01
    private static let headerSize = 16
    private static let nodeHeaderSize = 8
    private static let pagesBetweenReleases = 8_192

    init(map: UnsafeRawPointer, pageSize: Int, lastPage: Int, release: @escaping @Sendable () -> Void) {
        self.map = map
        self.pageSize = pageSize
        self.lastPage = lastPage
        self.release = release
        reached = ReachedPages(lastPage: lastPage)
    }

    /// Checks every tree in two passes. The branch pages, few, are walked from
    /// each root; each leaf they lead to is noted with the separators that
    /// bound it. The leaves, most of the file, are then read in page order on
    /// every core: near-sequential reading, which the kernel serves fast and
    /// whose pages can be given back as it goes. Told is the fault of the lowest
    /// page among the leaves, or the first met among the branches.
    ///
    /// The leaves of the tree named `deferred` are left out, and given back in
    /// key order with the tally of its branch pages (`LeavesInOrder`).
    func check(
        _ trees: [Tree], deferring deferredName: String? = nil
    ) -> (problem: LMDBStructureProblem?, deferred: (tree: Tree, leaves: [Visit], tally: Tally)?) {
        var tallies = [Tally](repeating: Tally(), count: trees.count)
        var leaves: [(tree: Int, visit: Visit)] = []
        var deferredLeaves: [Visit] = []
        let deferredIndex = trees.firstIndex { $0.name == deferredName }
        for (index, tree) in trees.enumerated() {
            func leaf(_ visit: Visit) {
                if index == deferredIndex { deferredLeaves.append(visit) } else { leaves.append((index, visit)) }
            }
            var pending = [Visit(page: tree.root, level: 1, lower: nil, upper: nil, from: 0)]
            if tree.depth == 1 {
                guard tree.root >= 2, tree.root <= lastPage, reached.mark(tree.root) else {
                    return (
                        LMDBStructureProblem(
                            database: tree.name, page: tree.root, reason: "is a root that is not a page of its own"),
                        nil
                    )
                }
                leaf(pending.removeLast())
            }
            while let visit = pending.popLast() {
                switch checkPage(visit, of: tree, tally: &tallies[index]) {
                case .failure(let problem): return (problem, nil)
                case .success(let children):
                    guard visit.level + 1 == tree.depth else {
                        pending += children.reversed()
                        continue
                    }
                    for child in children {
                        guard child.page >= 2, child.page <= lastPage else {
                            return (
                                LMDBStructureProblem(
                                    database: tree.name, page: visit.page,
                                    reason: "points to page \(child.page), which is not a page of the file"), nil
                            )
                        }
                        guard reached.mark(child.page) else {
                            return (
                                LMDBStructureProblem(
                                    database: tree.name, page: child.page,
                                    reason: "is reached a second time (from page \(visit.page))"), nil
                            )
                        }
                        leaf(child)
                    }
                }
            }
        }
        leaves.sort { $0.visit.page < $1.visit.page }
        let ordered = leaves
        let cores = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), ordered.count / 1024))
        let found = Mutex([LMDBStructureProblem?](repeating: nil, count: cores))
        let counted = Mutex(tallies)
        DispatchQueue.concurrentPerform(iterations: cores) { worker in
            var mine = [Tally](repeating: Tally(), count: trees.count)
            let range = (ordered.count * worker / cores)..<(ordered.count * (worker + 1) / cores)
            for (read, position) in range.enumerated() {
                if read > 0 && read % PageWalk.pagesBetweenReleases == 0 { release() }
                let (tree, visit) = ordered[position]
                if case .failure(let problem) = checkPage(visit, of: trees[tree], tally: &mine[tree], marked: true) {
                    found.withLock { $0[worker] = problem }
                    break
                }
            }
            counted.withLock { all in
                for tree in all.indices { all[tree] = all[tree] + mine[tree] }
            }
        }
        release()
        if let first = found.withLock({ $0.lazy.compactMap { $0 }.first }) { return (first, nil) }
        let totals = counted.withLock { $0 }
        for (index, (tree, total)) in zip(trees, totals).enumerated() where index != deferredIndex {
            if let problem = countProblem(of: tree, total: total) { return (problem, nil) }
        }
        return (nil, deferredIndex.map { (trees[$0], deferredLeaves, totals[$0]) })
    }

    /// The fault of a tree whose pages and entries, counted, are not what the database counts.
    func countProblem(of tree: Tree, total: Tally) -> LMDBStructureProblem? {
        guard total != tree.expected else { return nil }
        return LMDBStructureProblem(
            database: tree.name, page: tree.root,
            reason:
                "is the root of a tree of \(total.branches) branch, \(total.leaves) leaf and \(total.overflow) overflow pages holding \(total.entries) entries, where the database counts \(tree.expected.branches), \(tree.expected.leaves), \(tree.expected.overflow) and \(tree.expected.entries)"
        )
    }

    /// Calls `body` with the key and value of each node of leaf page `number`,
    /// which `checkPage` has found sound, in order.
    func forEachEntry(
        ofLeaf number: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        let page = map + number * pageSize
        let count = (Int(page.loadUnaligned(fromByteOffset: 12, as: UInt16.self)) - PageWalk.headerSize) / 2
        for index in 0..<count {
            let node = page + Int(page.loadUnaligned(fromByteOffset: PageWalk.headerSize + 2 * index, as: UInt16.self))
            let size =
                Int(node.loadUnaligned(as: UInt16.self)) | Int(node.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                << 16
            let keySize = Int(node.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            let key = UnsafeRawBufferPointer(start: node + PageWalk.nodeHeaderSize, count: keySize)
            let value: UnsafeRawPointer
            if node.loadUnaligned(fromByteOffset: 4, as: UInt16.self) & PageWalk.bigData != 0 {
                let first = Int(node.loadUnaligned(fromByteOffset: PageWalk.nodeHeaderSize + keySize, as: UInt64.self))
                value = map + first * pageSize + PageWalk.headerSize
            } else {
                value = node + PageWalk.nodeHeaderSize + keySize
            }
            try body(key, UnsafeRawBufferPointer(start: value, count: size))
        }
    }

    /// Checks one page; gives its children to visit, leftmost first (none for a leaf).
    func checkPage(
        _ visit: Visit, of tree: Tree, tally: inout Tally, marked: Bool = false
    ) -> Result<[Visit], LMDBStructureProblem> {
        func problem(_ page: Int, _ reason: String) -> Result<[Visit], LMDBStructureProblem> {
            .failure(LMDBStructureProblem(database: tree.name, page: page, reason: reason))
        }
        guard visit.page >= 2, visit.page <= lastPage else {
            return problem(visit.from, "points to page \(visit.page), which is not a page of the file")
        }
        guard marked || reached.mark(visit.page) else {
            return problem(visit.page, "is reached a second time (from page \(visit.from))")
        }
        let page = map + visit.page * pageSize
        guard page.loadUnaligned(as: UInt64.self) == UInt64(visit.page) else {
            return problem(visit.page, "says it is page \(page.loadUnaligned(as: UInt64.self))")
        }
        let kind = page.loadUnaligned(fromByteOffset: 10, as: UInt16.self) & PageWalk.kindMask
        let isLeaf = visit.level == tree.depth
        guard kind == (isLeaf ? PageWalk.leafPage : PageWalk.branchPage) else {
            return problem(
                visit.page,
                "is not the \(isLeaf ? "leaf" : "branch") page its depth (\(visit.level) of \(tree.depth)) calls for")
        }
        let lowerEdge = Int(page.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
        let upperEdge = Int(page.loadUnaligned(fromByteOffset: 14, as: UInt16.self))
        guard lowerEdge > PageWalk.headerSize, lowerEdge <= upperEdge, upperEdge <= pageSize,
            (lowerEdge - PageWalk.headerSize) % 2 == 0
        else { return problem(visit.page, "has a broken header (its free space runs \(lowerEdge)–\(upperEdge))") }
        let count = (lowerEdge - PageWalk.headerSize) / 2
        if isLeaf { tally.leaves += 1 } else { tally.branches += 1 }

        var keys: [UnsafeRawBufferPointer] = []
        var children: [Int] = []
        var previous: UnsafeRawBufferPointer?
        for index in 0..<count {
            let offset = Int(page.loadUnaligned(fromByteOffset: PageWalk.headerSize + 2 * index, as: UInt16.self))
            guard offset >= upperEdge, offset % 2 == 0, offset + PageWalk.nodeHeaderSize <= pageSize else {
                return problem(visit.page, "has node \(index) at offset \(offset), outside its nodes")
            }
            let node = page + offset
            let low = UInt64(node.loadUnaligned(as: UInt16.self))
            let high = UInt64(node.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            let nodeFlags = node.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
            let keySize = Int(node.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            let keyStart = offset + PageWalk.nodeHeaderSize
            guard keyStart + keySize <= pageSize else {
                return problem(visit.page, "has node \(index) whose key runs past the page")
            }
            let key = UnsafeRawBufferPointer(start: node + PageWalk.nodeHeaderSize, count: keySize)
            // A branch's first key is never compared: its child holds everything below the second.
            if isLeaf || index > 0 {
                if let previous, !LMDBKeyOrder.precedes(previous, key) {
                    return problem(visit.page, "has node \(index) whose key does not sort after the one before")
                }
                if previous == nil, let lower = visit.lower, LMDBKeyOrder.precedes(key, lower) {
                    return problem(visit.page, "has node \(index) whose key sorts before the separator leading here")
                }
                previous = key
            }
            if isLeaf {
                tally.entries += 1
                let size = Int(low | high << 16)
                if nodeFlags & PageWalk.bigData != 0 {
                    guard keyStart + keySize + 8 <= pageSize else {
                        return problem(visit.page, "has node \(index) whose overflow page number runs past the page")
                    }
                    let first = Int(clamping: node.loadUnaligned(fromByteOffset: 8 + keySize, as: UInt64.self))
                    if let fault = checkOverflow(first, size: size) {
                        return problem(visit.page, "has node \(index) whose value \(fault)")
                    }
                    tally.overflow += UInt64((PageWalk.headerSize - 1 + size) / pageSize + 1)
                } else if nodeFlags != 0 {
                    return problem(
                        visit.page, "has node \(index) of a kind (flags \(nodeFlags)) no ledger database holds")
                } else if keyStart + keySize + size > pageSize {
                    return problem(visit.page, "has node \(index) whose value (\(size) bytes) runs past the page")
                }
            } else {
                keys.append(key)
                children.append(Int(clamping: low | high << 16 | UInt64(nodeFlags) << 32))
            }
        }
        // The keys rise, so the last below the next separator means all are.
        if let last = previous, let upper = visit.upper, !LMDBKeyOrder.precedes(last, upper) {
            return problem(visit.page, "has node \(count - 1) whose key is not below the next separator")
        }
        // Each child keeps the keys between its separators.
        return .success(
            children.indices.map { index in
                Visit(
                    page: children[index], level: visit.level + 1,
                    lower: index == 0 ? visit.lower : keys[index],
                    upper: index + 1 < keys.count ? keys[index + 1] : visit.upper, from: visit.page)
            })
    }

    /// Why the value of `size` bytes kept from overflow page `first` on cannot be read; nil when it can.
    private func checkOverflow(_ first: Int, size: Int) -> String? {
        let needed = (PageWalk.headerSize - 1 + size) / pageSize + 1
        guard first >= 2, first + needed - 1 <= lastPage else {
            return "lies on overflow pages \(first)–\(first + needed - 1), not all pages of the file"
        }
        let page = map + first * pageSize
        guard page.loadUnaligned(as: UInt64.self) == UInt64(first),
            page.loadUnaligned(fromByteOffset: 10, as: UInt16.self) & PageWalk.kindMask == PageWalk.overflowPage,
            Int(page.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) == needed
        else { return "is not on the \(needed) overflow pages from page \(first) on" }
        for number in first..<(first + needed) where !reached.mark(number) {
            return "shares overflow page \(number) with another"
        }
        return nil
    }
}

import Foundation
import LMDBKit
import Testing

/// A data file's bytes, read as far as these tests need to find and damage
/// pages (LMDB 0.9 on a 64-bit machine, 4 KiB pages).
private struct DataFile {
    var bytes: [UInt8]
    static let pageSize = 4096

    init(_ path: String) throws {
        bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb")))
    }

    func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.mdb"))
    }

    func uint16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func uint64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }

    mutating func setUInt16(_ at: Int, _ value: Int) {
        bytes[at] = UInt8(value & 0xFF)
        bytes[at + 1] = UInt8(value >> 8)
    }

    func start(_ page: Int) -> Int { page * DataFile.pageSize }
    func isBranch(_ page: Int) -> Bool { uint16(start(page) + 10) & 0x01 != 0 }
    func nodeCount(_ page: Int) -> Int { (uint16(start(page) + 12) - 16) / 2 }
    /// Where node `index` of `page` starts in the file.
    func node(_ page: Int, _ index: Int) -> Int { start(page) + uint16(start(page) + 16 + 2 * index) }
    func child(_ page: Int, _ index: Int) -> Int {
        let node = node(page, index)
        return uint16(node) | uint16(node + 2) << 16 | uint16(node + 4) << 32
    }

    /// Makes node `index` of branch `page` lead to page `child`.
    mutating func setChild(_ page: Int, _ index: Int, to child: Int) {
        let node = node(page, index)
        setUInt16(node, child & 0xFFFF)
        setUInt16(node + 2, (child >> 16) & 0xFFFF)
        setUInt16(node + 4, child >> 32)
    }

    /// Where the record (`MDB_db`) of database `name` lies: in the main
    /// database's root, a leaf, named by the newer meta page.
    func record(of name: String) -> Int? {
        let metas = [0, 1].map { start($0) + 16 }
        // mm_txnid follows the magic, version, address, map size, two MDB_db and mm_last_pg.
        let meta = metas.max { uint64($0 + 24 + 96 + 8) < uint64($1 + 24 + 96 + 8) }!
        let mainRoot = Int(uint64(meta + 24 + 48 + 40))
        for index in 0..<nodeCount(mainRoot) {
            let node = node(mainRoot, index)
            let keySize = uint16(node + 6)
            if Array(bytes[(node + 8)..<(node + 8 + keySize)]) == Array(name.utf8) { return node + 8 + keySize }
        }
        return nil
    }

    func root(of name: String) -> Int { Int(uint64(record(of: name)! + 40)) }
}

@Suite("The B-trees' own pages, walked")
struct LMDBStructureTests {
    /// A database "t" of 3,000 entries (keys 8-byte big-endian, values 100
    /// bytes: a tree of depth 2 or more) and one 20 KB value on overflow pages;
    /// `damage` then changes the closed file, and the walk's finding is returned.
    ///
    /// The walk that leaves t's leaves to be read in key order afterwards
    /// must find the same, after it or while reading them.
    private func problem(after damage: (inout DataFile) throws -> Void) throws -> LMDBStructureProblem? {
        try withTemporaryDirectory { path in
            do {
                let env = try LMDBEnvironment(path: path)
                let db = try env.openDatabases(named: ["t", "u"])[0]
                try env.write { txn in
                    for seq in 1...3_000 {
                        let key = withUnsafeBytes(of: UInt64(seq).bigEndian) { Array($0) }
                        try txn.put([UInt8](repeating: UInt8(seq % 251), count: 100), forKey: key, in: db)
                    }
                    try txn.put([UInt8](repeating: 9, count: 20_000), forKey: [0xFF, 0xFF], in: db)
                }
            }
            var file = try DataFile(path)
            try damage(&file)
            try file.write(to: path)
            let env = try LMDBEnvironment(path: path)
            let t = try env.openDatabases(named: ["t", "u"])[0]
            return try env.read { txn in
                let whole = try env.structureProblem(in: txn)
                let deferred = try env.structureCheck(in: txn, leavesInOrderOf: t)
                let found = deferred.problem ?? deferred.leaves?.forEachEntry { _, _ in }
                #expect(found == whole)
                #expect((deferred.leaves == nil) == (deferred.problem != nil))
                return whole
            }
        }
    }

    @Test("leaves left to be read in key order give every entry LMDB gives, in its order, overflow values included")
    func leavesInOrder() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let dbs = try env.openDatabases(named: ["t", "u", "empty"])
            try env.write { txn in
                // Keys put out of order, values of every size up to overflow pages, and another database between.
                for step in 0..<4_000 {
                    let number = step * 1_567 % 4_000 + 1
                    let key = withUnsafeBytes(of: UInt64(number).bigEndian) { Array($0) }
                    let size = number % 97 == 0 ? 3_000 + number : number % 300
                    try txn.put([UInt8](repeating: UInt8(number % 251), count: size), forKey: key, in: dbs[0])
                    try txn.put([UInt8(number % 7)], forKey: key, in: dbs[1])
                }
            }
            try env.read { txn in
                var expected: [([UInt8], [UInt8])] = []
                try txn.scan(dbs[0]) { key, value in
                    expected.append((Array(key), Array(value)))
                    return .next
                }
                let check = try env.structureCheck(in: txn, leavesInOrderOf: dbs[0])
                #expect(check.problem == nil)
                let leaves = try #require(check.leaves)
                var read: [([UInt8], [UInt8])] = []
                #expect(leaves.forEachEntry { read.append((Array($0), Array($1))) } == nil)
                #expect(read.count == 4_000)
                #expect(read.map(\.0) == expected.map(\.0))
                #expect(read.map(\.1) == expected.map(\.1))
                // An empty database has no leaves to read: it is read through LMDB.
                let empty = try env.structureCheck(in: txn, leavesInOrderOf: dbs[2])
                #expect(empty.problem == nil && empty.leaves == nil)
            }
        }
    }

    @Test("sound trees have no problem, an empty database included")
    func sound() throws {
        #expect(try problem { _ in } == nil)
    }

    @Test("a child page number beyond the file is named on the branch that holds it")
    func childBeyondTheFile() throws {
        var root = 0
        let found = try problem { file in
            root = file.root(of: "t")
            #expect(file.isBranch(root))
            file.setChild(root, 1, to: 0x7FFF_FFFF)
        }
        #expect(found?.database == "t")
        #expect(found?.page == root)
        #expect(found?.reason.contains("which is not a page of the file") == true, "\(String(describing: found))")
    }

    @Test("two children pointing at one page: the page is reached a second time")
    func pageReachedTwice() throws {
        let found = try problem { file in
            let root = file.root(of: "t")
            file.setChild(root, 1, to: file.child(root, 0))
        }
        // The walk meets the page again, or first finds the keys out of their separators' range.
        #expect(found != nil)
        #expect(
            found?.reason.contains("reached a second time") == true || found?.reason.contains("separator") == true,
            "\(String(describing: found))")
    }

    @Test("two nodes of a leaf swapped: a key that does not sort after the one before")
    func keysOutOfOrder() throws {
        let found = try problem { file in
            let leaf = file.child(file.root(of: "t"), 0)
            let pointers = file.start(leaf) + 16
            let (a, b) = (file.uint16(pointers + 2), file.uint16(pointers + 4))
            file.setUInt16(pointers + 2, b)
            file.setUInt16(pointers + 4, a)
        }
        #expect(found?.reason.contains("does not sort after the one before") == true, "\(String(describing: found))")
    }

    @Test("a separator key changed in a branch: keys below it are found out of range")
    func separatorChanged() throws {
        let found = try problem { file in
            let root = file.root(of: "t")
            // The second child's separator: its last key byte raised, so its own first key lies below it.
            let node = file.node(root, 1)
            let keySize = file.uint16(node + 6)
            file.bytes[node + 8 + keySize - 1] &+= 1
        }
        #expect(found?.reason.contains("sorts before the separator") == true, "\(String(describing: found))")
    }

    @Test("a page that does not name itself, and a leaf's flags where a branch belongs")
    func wrongPage() throws {
        let renamed = try problem { file in
            let leaf = file.child(file.root(of: "t"), 0)
            file.bytes[file.start(leaf)] ^= 0x01
        }
        #expect(renamed?.reason.contains("says it is page") == true, "\(String(describing: renamed))")
        let leafForBranch = try problem { file in
            let root = file.root(of: "t")
            file.bytes[file.start(root) + 10] = 0x02
        }
        #expect(
            leafForBranch?.reason.contains("is not the branch page") == true, "\(String(describing: leafForBranch))")
    }

    @Test("a value's size that runs past its page, and a node outside the page's nodes")
    func nodesOutsideThePage() throws {
        let oversized = try problem { file in
            let leaf = file.child(file.root(of: "t"), 0)
            let node = file.node(leaf, 0)
            file.setUInt16(node, 0xFFFF)
        }
        #expect(oversized?.reason.contains("runs past the page") == true, "\(String(describing: oversized))")
        let misplaced = try problem { file in
            let leaf = file.child(file.root(of: "t"), 0)
            file.setUInt16(file.start(leaf) + 16, 20)
        }
        #expect(misplaced?.reason.contains("outside its nodes") == true, "\(String(describing: misplaced))")
    }

    @Test("a value on overflow pages whose page number is changed")
    func overflowMoved() throws {
        let found = try problem { file in
            // The 20 KB value is the last entry: its node ends in the number of its first overflow page.
            var page = file.root(of: "t")
            while file.isBranch(page) { page = file.child(page, file.nodeCount(page) - 1) }
            let node = file.node(page, file.nodeCount(page) - 1)
            let keySize = file.uint16(node + 6)
            file.bytes[node + 8 + keySize] ^= 0x01
        }
        #expect(found?.reason.contains("overflow") == true, "\(String(describing: found))")
    }

    @Test("counts that do not add up: the database's entries changed in its record")
    func countsDiffer() throws {
        let found = try problem { file in
            let record = file.record(of: "t")!
            file.bytes[record + 32] ^= 0x04
        }
        #expect(found?.reason.contains("where the database counts") == true, "\(String(describing: found))")
    }
}

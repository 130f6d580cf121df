import Foundation
import LMDBKit
import Testing

/// A fresh directory under the system's temporary folder, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "lmdbkit-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

struct Abandon: Error {}

@Suite("LMDB environment")
struct LMDBEnvironmentTests {
    @Test("a write that throws stores nothing")
    func allOrNothing() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let db = try env.openDatabases(named: ["t"])[0]
            #expect(throws: Abandon.self) {
                try env.write { txn in
                    try txn.put([1], forKey: [1], in: db)
                    throw Abandon()
                }
            }
            #expect(try env.read { try $0.count(in: db) } == 0)
        }
    }

    @Test("the map grows by itself when a write runs out of room")
    func growth() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path, options: .init(initialMapSize: 64 << 10))
            let db = try env.openDatabases(named: ["t"])[0]
            let before = env.mapSize
            let value = [UInt8](repeating: 7, count: 1000)
            var runs = 0
            try env.write { txn in
                runs += 1
                for i in 0..<5000 {
                    try txn.put(
                        value, forKey: withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) }, in: db, options: .append)
                }
            }
            #expect(env.mapSize > before)
            #expect(runs > 1)
            #expect(try env.read { try $0.count(in: db) } == 5000)
        }
    }

    @Test("a read sees one snapshot, unaffected by a write committed during it")
    func snapshot() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let db = try env.openDatabases(named: ["t"])[0]
            try env.write { try $0.put([1], forKey: [1], in: db) }
            try env.read { txn in
                try env.write { try $0.put([2], forKey: [2], in: db) }
                #expect(try txn.count(in: db) == 1)
            }
            #expect(try env.read { try $0.count(in: db) } == 2)
        }
    }

    @Test("scans start at the first key at or after the given one, in key order")
    func scanning() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let db = try env.openDatabases(named: ["t"])[0]
            try env.write { txn in
                for key: UInt8 in [5, 1, 3, 9] { try txn.put([key], forKey: [key], in: db) }
            }
            let seen = try env.read { txn in
                var keys: [UInt8] = []
                try txn.scan(db, from: [2]) { key, _ in
                    keys.append(key[0])
                    return keys.count < 2 ? .next : .stop
                }
                return keys
            }
            #expect(seen == [3, 5])
            #expect(try env.read { try $0.withLast(in: db) { key, _ in key[0] } } == 9)
        }
    }

    @Test("appending out of key order is refused, not silently reordered")
    func appendOrder() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let db = try env.openDatabases(named: ["t"])[0]
            #expect(throws: LMDBError.keyExists) {
                try env.write { txn in
                    try txn.put([1], forKey: [2], in: db, options: .append)
                    try txn.put([1], forKey: [1], in: db, options: .append)
                }
            }
        }
    }

    @Test(
        "appends through the transaction's kept cursor: in order across page splits, beside other puts and reads, after the map grows and the write reruns, and out of order refused"
    )
    func appendThroughCursor() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path, options: .init(initialMapSize: 64 << 10))
            let dbs = try env.openDatabases(named: ["log", "side"])
            func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) } }
            var runs = 0
            try env.write { txn in
                runs += 1
                for i in 1...6000 {
                    let value = [UInt8](repeating: UInt8(i % 251), count: 100 + i % 300)
                    try key(i).withUnsafeBytes { key in
                        if i % 2 == 0 {
                            try value.withUnsafeBytes { try txn.append($0, forKey: key, in: dbs[0]) }
                        } else {
                            try txn.reserveAppending(value.count, forKey: key, in: dbs[0]) { room in
                                value.withUnsafeBytes { room.copyMemory(from: $0) }
                            }
                        }
                    }
                    // Random-key puts in another database and reads of this one, between appends.
                    try txn.put([UInt8(i % 7)], forKey: key(i &* 7919 % 6007), in: dbs[1])
                    if i % 100 == 0 { #expect(try txn.value(in: dbs[0], forKey: key(i / 2)) != nil) }
                }
            }
            #expect(runs > 1)
            let stored = try env.read { txn in
                var keys: [UInt64] = []
                var intact = true
                try txn.scan(dbs[0]) { key, value in
                    let i = Int(key.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                    keys.append(UInt64(i))
                    intact = intact && value.count == 100 + i % 300 && value.allSatisfy { $0 == UInt8(i % 251) }
                    return .next
                }
                return (keys, intact)
            }
            #expect(stored.0 == (1...6000).map(UInt64.init))
            #expect(stored.1)
            #expect(throws: LMDBError.keyExists) {
                try env.write { txn in
                    try key(6001).withUnsafeBytes { try txn.append($0, forKey: $0, in: dbs[0]) }
                    try key(3).withUnsafeBytes { try txn.append($0, forKey: $0, in: dbs[0]) }
                }
            }
            #expect(try env.read { try $0.count(in: dbs[0]) } == 6000)
        }
    }

    @Test(
        "puts in key order through the kept cursor: runs of rising keys spread over the tree, beside puts and reads through others, after the map grows and the write reruns; a repeat refused, a key out of order still put"
    )
    func putInKeyOrderThroughCursor() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path, options: .init(initialMapSize: 64 << 10))
            let dbs = try env.openDatabases(named: ["index", "side"])
            func key(_ i: Int) -> [UInt8] { Array("stream-\(i * 7919 % 10007)".utf8) }
            var runs = 0
            try env.write { txn in
                runs += 1
                // Five runs of 2,000 keys, each sorted, each spread over the keys of the runs before.
                for run in 0..<5 {
                    let keys = (run * 2000..<(run + 1) * 2000).map(key).sorted { $0.lexicographicallyPrecedes($1) }
                    for (n, key) in keys.enumerated() {
                        let value = [UInt8](repeating: UInt8(run), count: 20 + n % 40)
                        try value.withUnsafeBytes { value in
                            try key.withUnsafeBytes {
                                try txn.putInKeyOrder(value, forKey: $0, in: dbs[0], options: .noOverwrite)
                            }
                        }
                        if n % 50 == 0 {
                            try txn.put([1], forKey: key, in: dbs[1])
                            #expect(try txn.value(in: dbs[0], forKey: key)?.count == 20 + n % 40)
                        }
                    }
                }
                #expect(throws: LMDBError.keyExists) {
                    try key(3).withUnsafeBytes {
                        try txn.putInKeyOrder($0, forKey: $0, in: dbs[0], options: .noOverwrite)
                    }
                }
                // A key below the cursor's page is looked for from the root.
                try [UInt8]([9]).withUnsafeBytes { value in
                    try [UInt8]([0]).withUnsafeBytes { try txn.putInKeyOrder(value, forKey: $0, in: dbs[0]) }
                }
            }
            #expect(runs > 1)
            let stored = try env.read { txn in
                var keys: [[UInt8]] = []
                try txn.scan(dbs[0]) { key, _ in
                    keys.append(Array(key))
                    return .next
                }
                return keys
            }
            let expected = ([[0]] + (0..<10000).map(key)).sorted { $0.lexicographicallyPrecedes($1) }
            #expect(stored == expected)
        }
    }
}

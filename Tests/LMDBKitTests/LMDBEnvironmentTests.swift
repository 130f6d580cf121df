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
}

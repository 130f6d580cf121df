import Foundation
import Testing

@testable import LMDBKit

@Suite("Data file preallocation")
struct DataFilePreallocatorTests {
    /// Waits (up to 10 s) until `preallocator` has prepared the file up to `bytes`.
    private func waitUntil(_ preallocator: DataFilePreallocator, prepared bytes: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while preallocator.preparedBytes < bytes {
            guard Date() < deadline else { return false }
            usleep(1000)
        }
        return true
    }

    private func fileLength(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? -1
    }

    @Test("a large write has the data file prepared ahead of where it has got to, by the lead and no further")
    func aheadOfTheWriter() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            let db = try env.openDatabases(named: ["t"])[0]
            let committed = try #require(env.committedBytes)
            let preallocator = try #require(env.dataFilePreallocator(expectedBytes: 256 << 20))
            let lead = DataFilePreallocator.lead
            let value = [UInt8](repeating: 7, count: 1000)
            var reached = 0
            try env.write { txn in
                preallocator.follow(txn, writing: [db])
                let pagesAtStart = txn.pagesInUse(of: [db])
                #expect(waitUntil(preallocator, prepared: committed + lead))
                for i in 0..<40_000 {
                    try txn.put(
                        value, forKey: withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) }, in: db, options: .append)
                    if i % 1000 == 999 { preallocator.look(at: txn) }
                }
                reached = committed + (txn.pagesInUse(of: [db]) - pagesAtStart) * env.pageSize
                // 40,000 values of 1,000 bytes take some 40 MB: the file is prepared past them.
                #expect(reached > committed + (39 << 20))
                #expect(waitUntil(preallocator, prepared: reached + lead))
            }
            preallocator.finish()
            let length = fileLength(path + "/data.mdb")
            let needed = try #require(env.committedBytes)
            #expect(length >= reached + lead)
            #expect(length <= needed + lead + 2 * DataFilePreallocator.step)
            #expect(try env.read { try $0.count(in: db) } == 40_000)
        }
    }

    @Test("preparing never changes a byte the file holds, and stops at its limit")
    func keepsWhatTheFileHolds() throws {
        try withTemporaryDirectory { path in
            let file = path + "/data"
            let held = Data(repeating: 0xAB, count: 1 << 20)
            try held.write(to: URL(fileURLWithPath: file))
            let fd = open(file, O_RDWR)
            #expect(fd >= 0)
            defer { close(fd) }
            // Told that the writer is at the start, it allocates over the bytes held too.
            let preallocator = DataFilePreallocator(
                fd: fd, pageSize: 4096, committedBytes: 0, fileBytes: 0, limit: 6 << 20, lead: 4 << 20)
            #expect(waitUntil(preallocator, prepared: 4 << 20))
            preallocator.writerReached(8 << 20)
            #expect(waitUntil(preallocator, prepared: 6 << 20))
            preallocator.finish()
            #expect(fileLength(file) == 6 << 20)
            let contents = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(contents.prefix(1 << 20) == held)
            #expect(contents.dropFirst(1 << 20).allSatisfy { $0 == 0 })
        }
    }

    @Test("what the writer has left well behind is sent to disk in steps, never what is near it")
    func writesBackBehindTheWriter() throws {
        try withTemporaryDirectory { path in
            let fd = open(path + "/data", O_RDWR | O_CREAT, 0o644)
            #expect(fd >= 0)
            defer { close(fd) }
            let preallocator = DataFilePreallocator(
                fd: fd, pageSize: 4096, committedBytes: 0, fileBytes: 0, limit: 1 << 20, lead: 1 << 20)
            let step = DataFilePreallocator.writebackStep
            let lag = DataFilePreallocator.writebackLag
            preallocator.writerReached(lag + 2 * step + step / 2)
            let deadline = Date().addingTimeInterval(10)
            while preallocator.writtenBackBytes < 2 * step && Date() < deadline { usleep(1000) }
            preallocator.finish()
            // Two whole steps lie more than the lag behind the writer; the half step does not count yet.
            #expect(preallocator.writtenBackBytes == 2 * step)
            // Preparing stops at its limit all the same.
            #expect(preallocator.preparedBytes == 1 << 20)
        }
    }

    @Test("a small write has no preallocation")
    func onlyForLargeWrites() throws {
        try withTemporaryDirectory { path in
            let env = try LMDBEnvironment(path: path)
            #expect(env.dataFilePreallocator(expectedBytes: 0) == nil)
            #expect(env.dataFilePreallocator(expectedBytes: LMDBEnvironment.preallocatedFrom - 1) == nil)
            let preallocator = env.dataFilePreallocator(expectedBytes: LMDBEnvironment.preallocatedFrom)
            #expect(preallocator != nil)
            preallocator?.finish()
        }
    }
}

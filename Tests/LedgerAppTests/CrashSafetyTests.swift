import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the built `sunledger` without waiting for it.
func launch(_ arguments: [String], prefix: [String] = []) throws -> Process {
    let process = Process()
    if prefix.isEmpty {
        process.executableURL = URL(fileURLWithPath: sunledgerPath)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: prefix[0])
        process.arguments = Array(prefix.dropFirst()) + [sunledgerPath] + arguments
    }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// The seq of the ledger's head, read by another process.
func headSeq(_ ledger: String) throws -> Int {
    let digest = try sunledger("digest", "--ledger", ledger)
    guard digest.status == 0, let range = digest.stdout.range(of: #"(?<="seq":)\d+"#, options: .regularExpression) else {
        return -1
    }
    return Int(digest.stdout[range])!
}

@Suite("crash safety and concurrent use", .serialized)
struct CrashSafetyTests {
    static let events = syntheticEvents(persons: 10_000, perPerson: 4)
    static let total = 50_000

    @Test("kill -9 of an import at any moment leaves a ledger that verifies; re-running completes it", arguments: [0, 1, 2])
    func killAndRerun(_ round: Int) throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let file = dir + "/events.jsonl"
            try write(CrashSafetyTests.events, to: file)
            let importer = try launch(["import", file, "--batch-size", "2000", "--ledger", ledger])
            // Round 0 kills during the check, before anything is stored; the others
            // wait until some batches are committed and kill while more are written.
            if round == 0 {
                usleep(300_000)
            } else {
                var seq = -1
                for _ in 0..<1000 where seq < 8_000 * round {
                    usleep(20_000)
                    seq = (try? headSeq(ledger)) ?? -1
                }
            }
            kill(importer.processIdentifier, SIGKILL)
            importer.waitUntilExit()
            #expect(importer.terminationReason == .uncaughtSignal)

            let partial = try? headSeq(ledger)
            if FileManager.default.fileExists(atPath: ledger + "/data.mdb") {
                let verified = try sunledger("verify", "--ledger", ledger)
                #expect(verified.status == 0, "\(verified.stderr)")
            }
            let rerun = try sunledger("import", file, "--ledger", ledger)
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let stored = max(partial ?? 0, 0)
            #expect(rerun.stdout.contains("\(CrashSafetyTests.total - stored) stored"))
            #expect(rerun.stdout.contains("\(stored) duplicate"))
            #expect(try headSeq(ledger) == CrashSafetyTests.total)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }

    @Test("readers in other processes keep reading during an import; a second writer waits, then succeeds")
    func concurrentUse() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(syntheticEvents(persons: 10, perPerson: 1, prefix: "small"), to: dir + "/small.jsonl")
            #expect(try sunledger("import", dir + "/small.jsonl", "--ledger", ledger).status == 0)
            let file = dir + "/events.jsonl"
            try write(syntheticEvents(persons: 10_000, perPerson: 4, prefix: "big", start: "2021-01-01T00:00:00Z"), to: file)
            let importer = try launch(["import", file, "--batch-size", "2000", "--ledger", ledger])
            var reads = 0
            var sawGrowth = false
            while importer.isRunning && reads < 200 {
                let verified = try sunledger("verify", "--ledger", ledger)
                #expect(verified.status == 0, "\(verified.stderr)")
                let export = try sunledger("export", "--from-seq", "1", "--to-seq", "5", "--ledger", ledger)
                #expect(export.status == 0)
                if try headSeq(ledger) > 20 { sawGrowth = true }
                reads += 1
            }
            // A second writer during the first: it waits for the lock, then stores its file.
            try write(syntheticEvents(persons: 2, perPerson: 1, prefix: "late", start: "2022-01-01T00:00:00Z"), to: dir + "/late.jsonl")
            let second = try sunledger("import", dir + "/late.jsonl", "--ledger", ledger)
            importer.waitUntilExit()
            #expect(importer.terminationStatus == 0)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(reads > 0)
            #expect(sawGrowth || reads < 3)
            #expect(try headSeq(ledger) == CrashSafetyTests.total + 24)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }

    @Test("a full disk gives a clear error, loses nothing stored, and the same import completes later")
    func fullDisk() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            let file = dir + "/events.jsonl"
            try write(syntheticEvents(persons: 10_000, perPerson: 4, prefix: "big", start: "2025-06-01T00:00:00Z"), to: file)
            // A file-size limit makes every write past 4 MiB fail, as a full disk would.
            let limited = try run("/bin/bash", ["-c", "trap '' XFSZ; ulimit -f 4096; exec \"$0\" \"$@\"", sunledgerPath, "import", file, "--ledger", ledger])
            #expect(limited.status != 0)
            #expect(limited.stderr.contains("the disk is full"))
            #expect(limited.stderr.contains("nothing committed before was lost"))
            let verified = try sunledger("verify", "--digest", digest, "--ledger", ledger)
            #expect(verified.status == 0, "\(verified.stderr)")
            let rerun = try sunledger("import", file, "--ledger", ledger)
            #expect(rerun.status == 0)
            #expect(try headSeq(ledger) == CrashSafetyTests.total + 9)
        }
    }
}

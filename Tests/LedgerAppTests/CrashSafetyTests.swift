import Foundation
import LMDBKit
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
    guard digest.status == 0, let range = digest.stdout.range(of: #"(?<="seq":)\d+"#, options: .regularExpression)
    else {
        return -1
    }
    return Int(digest.stdout[range])!
}

@Suite("crash safety and concurrent use", .serialized)
struct CrashSafetyTests {
    static let events = syntheticEvents(persons: 10_000, perPerson: 4)
    static let total = 50_000

    @Test(
        "kill -9 of an import at any moment leaves a ledger that verifies; re-running completes it",
        arguments: [150, 600, 1500, 4000])
    func killAndRerun(_ milliseconds: Int) throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(
                syntheticEvents(persons: 10, perPerson: 1, prefix: "before", start: "2019-12-05T00:00:00Z"),
                to: dir + "/before.jsonl")
            #expect(try sunledger("import", dir + "/before.jsonl", "--ledger", ledger).status == 0)
            let file = dir + "/events.jsonl"
            try write(CrashSafetyTests.events, to: file)
            let importer = try launch(["import", file, "--ledger", ledger])
            usleep(useconds_t(milliseconds * 1000))
            kill(importer.processIdentifier, SIGKILL)
            importer.waitUntilExit()

            // The file is one transaction: the ledger holds all of it or none of it, and verifies.
            let verified = try sunledger("verify", "--ledger", ledger)
            #expect(verified.status == 0, "\(verified.stderr)")
            let stored = try headSeq(ledger) - 20
            #expect(stored == 0 || stored == CrashSafetyTests.total)
            let rerun = try sunledger("import", file, "--ledger", ledger)
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(rerun.stdout.contains("\(CrashSafetyTests.total - stored) stored"))
            #expect(rerun.stdout.contains("\(stored) duplicate"))
            #expect(try headSeq(ledger) == CrashSafetyTests.total + 20)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }

    @Test(
        "kill -9 of a rebuild leaves the live figures answering; running it again proves and switches them",
        arguments: [20, 120])
    func killRebuild(_ milliseconds: Int) throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let file = dir + "/events.jsonl"
            try write(CrashSafetyTests.events, to: file)
            #expect(try sunledger("import", file, "--ledger", ledger).status == 0)
            let figures = ["kpi", "--as-of", "2020-06-30", "--json", "--ledger", ledger]
            func kpi() throws -> Run { try run(sunledgerPath, figures) }
            let before = try kpi()
            #expect(before.status == 0, "\(before.stderr)")

            let rebuild = try launch(["rebuild", "--ledger", ledger])
            usleep(useconds_t(milliseconds * 1000))
            kill(rebuild.processIdentifier, SIGKILL)
            rebuild.waitUntilExit()
            #expect(try kpi().stdout == before.stdout)

            let again = try sunledger("rebuild", "--ledger", ledger)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("rebuilt the KPI figures through seq \(CrashSafetyTests.total.formatted())"))
            #expect(again.stdout.contains("the live figures equal the log's"))
            #expect(again.stdout.contains("content hash: "))
            // Not a terminal: progress comes as plain lines on standard error.
            #expect(again.stderr.contains("(100%)"))
            #expect(try kpi().stdout == before.stdout)
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
            try write(
                syntheticEvents(persons: 10_000, perPerson: 4, prefix: "big", start: "2021-01-01T00:00:00Z"), to: file)
            try write(
                syntheticEvents(persons: 2, perPerson: 1, prefix: "late", start: "2022-01-01T00:00:00Z"),
                to: dir + "/late.jsonl")
            let importer = try launch(["import", file, "--ledger", ledger])
            // Wait until the first import holds the writer lock, then start a second writer.
            for _ in 0..<200 {
                let holder = (try? String(contentsOfFile: ledger + "/writer.lock", encoding: .utf8)) ?? ""
                if holder.contains("events.jsonl") { break }
                usleep(10_000)
            }
            let second = Process()
            second.executableURL = URL(fileURLWithPath: sunledgerPath)
            second.arguments = ["import", dir + "/late.jsonl", "--ledger", ledger]
            let secondErrors = dir + "/second.err"
            _ = FileManager.default.createFile(atPath: secondErrors, contents: nil)
            second.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: secondErrors))
            second.standardOutput = FileHandle.nullDevice
            try second.run()
            var reads = 0
            while importer.isRunning && reads < 200 {
                // Readers see a whole ledger: before the file, with it, or with both files.
                let verified = try sunledger("verify", "--ledger", ledger)
                #expect(verified.status == 0, "\(verified.stderr)")
                let export = try sunledger("export", "--from-seq", "1", "--to-seq", "5", "--ledger", ledger)
                #expect(export.status == 0)
                let seq = try headSeq(ledger)
                #expect([20, CrashSafetyTests.total + 20, CrashSafetyTests.total + 24].contains(seq))
                reads += 1
            }
            importer.waitUntilExit()
            second.waitUntilExit()
            #expect(importer.terminationStatus == 0)
            #expect(second.terminationStatus == 0)
            let said = try String(contentsOfFile: secondErrors, encoding: .utf8)
            #expect(said.contains("another process is writing to the ledger (pid"))
            #expect(said.contains("waiting for it to finish"))
            #expect(reads > 0)
            #expect(try headSeq(ledger) == CrashSafetyTests.total + 24)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }

    @Test(
        "a file-size limit the ledger fits under is not overstepped by the data file prepared ahead of a large import"
    )
    func preparedWithinTheFileSizeLimit() throws {
        try withScratch { dir in
            let file = dir + "/events.jsonl"
            // Some 27 MB: an import large enough for its data file to be prepared ahead of it.
            try write(syntheticEvents(persons: 20_000, perPerson: 5, prefix: "big"), to: file)
            let reference = dir + "/reference"
            #expect(try sunledger("import", file, "--ledger", reference).status == 0)
            let needed = try #require(try LMDBEnvironment(path: reference).committedBytes)
            let length = { (ledger: String) in
                ((try? FileManager.default.attributesOfItem(atPath: ledger + "/data.mdb")[.size]) as? Int) ?? 0
            }
            #expect(length(reference) > needed + (16 << 20), "the file was prepared past the ledger's pages")
            // 8 MiB of room past what the ledger needs, less than the preparing's lead: past the
            // limit, growing the file raises SIGXFSZ, which (as it is by default, whatever this
            // test runner does with it) ends the process.
            let limitKiB = needed / 1024 + 8192
            let limited = try run(
                "/bin/bash",
                [
                    "-c", "ulimit -f \(limitKiB); exec env --default-signal=XFSZ \"$0\" \"$@\"", sunledgerPath,
                    "import", file, "--ledger", dir + "/ledger",
                ])
            #expect(limited.status == 0, "\(limited.stderr)")
            #expect(length(dir + "/ledger") <= limitKiB * 1024)
            #expect(try headSeq(dir + "/ledger") == 120_000)
        }
    }

    @Test("a full disk gives a clear error, loses nothing stored, and the same import completes later")
    func fullDisk() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            let file = dir + "/events.jsonl"
            try write(
                syntheticEvents(persons: 10_000, perPerson: 4, prefix: "big", start: "2025-06-01T00:00:00Z"), to: file)
            // A file-size limit makes every write past 4 MiB fail, as a full disk would.
            let limited = try run(
                "/bin/bash",
                [
                    "-c", "trap '' XFSZ; ulimit -f 4096; exec \"$0\" \"$@\"", sunledgerPath, "import", file, "--ledger",
                    ledger,
                ])
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

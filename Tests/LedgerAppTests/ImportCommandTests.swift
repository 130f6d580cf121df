import Foundation
import LMDBKit
import LedgerValues
import Synchronization
import Testing

@testable import LedgerApp

@Suite("sunledger import", .serialized)
struct ImportCommandTests {
    @Test("a good file is stored and counted; importing it again stores nothing and counts duplicates")
    func storesAndCounts() throws {
        try withScratch { dir in
            let file = dir + "/events.jsonl"
            try write(syntheticEvents(persons: 3, perPerson: 2), to: file)
            let first = try sunledger("import", file, "--ledger", dir + "/ledger")
            #expect(first.status == 0)
            #expect(first.stdout.contains("9 stored (seq 1–9), 0 duplicates"))
            let again = try sunledger("import", file, "--ledger", dir + "/ledger")
            #expect(again.status == 0)
            #expect(again.stdout.contains("0 stored, 9 duplicates"))
        }
    }

    @Test("--ledger is accepted before the subcommand as well as after it")
    func globalLedgerOption() throws {
        try withScratch { dir in
            try write(syntheticEvents(persons: 2, perPerson: 1), to: dir + "/e.jsonl")
            #expect(try sunledger("--ledger", dir + "/ledger", "import", dir + "/e.jsonl").status == 0)
            #expect(try sunledger("--ledger", dir + "/ledger", "digest").stdout.hasPrefix(#"{"seq":4,"#))
            #expect(try sunledger("digest", "--ledger", dir + "/ledger").stdout.hasPrefix(#"{"seq":4,"#))
        }
    }

    @Test(
        "--timings tells where the time went, per line read, what the storing thread waited for, which allocator the process runs on and what it does with freed memory"
    )
    func timings() throws {
        try withScratch { dir in
            try write(syntheticEvents(persons: 2, perPerson: 1), to: dir + "/e.jsonl")
            let result = try sunledger("import", dir + "/e.jsonl", "--timings", "--ledger", dir + "/ledger")
            #expect(result.status == 0)
            #expect(result.stderr.contains("parsing: "))
            #expect(result.stderr.contains("storing: "))
            #expect(result.stderr.contains("for 4 lines"))
            #expect(result.stderr.contains(" for parsed lines, "))
            #expect(result.stderr.contains(" for the KPI fold, "))
            // Where Linux says how long a thread was ready to run and waited for a processor, so does the import.
            if FileManager.default.fileExists(atPath: "/proc/thread-self/schedstat") {
                #expect(result.stderr.contains(" for a processor (wall clock, storing thread)"))
            }
            #expect(result.stderr.contains("commit:  "))
            #expect(result.stderr.contains("memory:  jemalloc 5."))
            // A check folds and commits nothing: it waits only for the lines.
            let check = try sunledger("import", "--check", dir + "/e.jsonl", "--timings", "--ledger", dir + "/ledger")
            #expect(check.status == 0)
            #expect(check.stderr.contains(" for parsed lines, "), "\(check.stderr)")
            #expect(!check.stderr.contains("KPI fold"))
            #expect(!check.stderr.contains("commit:"))
            // What `import` asks of it (`returnFreedMemorySoon`), read back from it.
            #expect(result.stderr.contains(", freed memory given back after 100 ms, by a thread of its own"))
        }
    }

    @Test("standard input is read with -, and once")
    func standardInput() throws {
        try withScratch { dir in
            let lines = syntheticEvents(persons: 2, perPerson: 1).joined(separator: "\n") + "\n"
            let result = try sunledger("import", "-", "--ledger", dir + "/ledger", stdin: Data(lines.utf8))
            #expect(result.status == 0)
            #expect(result.stdout.contains("<stdin>: 4 stored"))
            // Standard input is read once: a second - would read nothing and say 0 stored.
            for arguments in [["-", "-"], ["--check", "-", "-"]] {
                let twice = try run(
                    sunledgerPath, ["import", "--ledger", dir + "/ledger"] + arguments, stdin: Data(lines.utf8))
                #expect(twice.status == 2, "\(twice.stderr)")
                #expect(twice.stderr.contains("- (standard input) is given more than once"), "\(twice.stderr)")
            }
        }
    }

    @Test(
        "standard input is copied aside into $TMPDIR; a directory that cannot take it is named, and nothing is stored")
    func temporaryCopy() throws {
        try withScratch { dir in
            let lines = Data((syntheticEvents(persons: 2, perPerson: 1).joined(separator: "\n") + "\n").utf8)
            let ledger = dir + "/ledger"
            let nowhere = try run(
                sunledgerPath, ["import", "-", "--ledger", ledger], stdin: lines, environment: ["TMPDIR": dir + "/none"]
            )
            #expect(nowhere.status == 3, "\(nowhere.stderr)")
            #expect(
                nowhere.stderr.contains(
                    "cannot make a temporary copy of the input in \(dir)/none: No such file or directory; "
                        + "set TMPDIR to a directory with room for it"), "\(nowhere.stderr)")
            #expect(try sunledger("digest", "--ledger", ledger).stdout.hasPrefix(#"{"seq":0,"#))
            try FileManager.default.createDirectory(atPath: dir + "/spool", withIntermediateDirectories: false)
            let spooled = try run(
                sunledgerPath, ["import", "-", "--ledger", ledger], stdin: lines,
                environment: ["TMPDIR": dir + "/spool"])
            #expect(spooled.status == 0, "\(spooled.stderr)")
            #expect(spooled.stdout.contains("<stdin>: 4 stored"))
            // The copy is unlinked as soon as it is made.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/spool").isEmpty)
            // Events given in memory (erase appends its own) need no copy at all.
            let erased = try run(
                sunledgerPath, ["erase", "ev0", "--reason", "request", "--ledger", ledger],
                environment: ["TMPDIR": dir + "/none"])
            #expect(erased.status == 0, "\(erased.stderr)")
        }
    }

    @Test(
        "an error met while storing, with the parser chunks ahead, ends the import with its message and stores nothing")
    func storingFailsMidFile() throws {
        try withScratch { dir in
            // Far more lines than the parser may hold ready, so it is stopped while it waits to hand one over.
            try write(syntheticEvents(persons: 30_000, perPerson: 1), to: dir + "/e.jsonl")
            let key = dir + "/open.key"
            try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: key))
            let ledger = dir + "/ledger"
            let result = try run(
                sunledgerPath, ["import", dir + "/e.jsonl", "--ledger", ledger],
                environment: ["SUNLEDGER_MASTER_KEY_FILE": key])
            #expect(result.status == 1)
            #expect(result.stderr.contains("may be read by others"))
            #expect(!result.stderr.contains("crashed"))
            #expect(try sunledger("digest", "--ledger", ledger).stdout.hasPrefix(#"{"seq":0,"#))
        }
    }

    @Test("a named pipe is read once, as `import <(zcat events.jsonl.gz)` gives it")
    func namedPipe() throws {
        try withScratch { dir in
            let lines = syntheticEvents(persons: 2, perPerson: 1).joined(separator: "\n") + "\n"
            let pipe = dir + "/events"
            #expect(mkfifo(pipe, 0o600) == 0)
            let done = Mutex(false)
            let writer = Thread {
                // Opening a named pipe for writing waits for its reader.
                if let handle = FileHandle(forWritingAtPath: pipe) {
                    handle.write(Data(lines.utf8))
                    try? handle.close()
                }
                // An import that opened the pipe a second time would wait there for ever:
                // after a minute it is given an empty pipe, and the count below fails.
                let deadline = Date().addingTimeInterval(60)
                while !done.withLock({ $0 }), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                let late = open(pipe, O_WRONLY | O_NONBLOCK)
                if late >= 0 { close(late) }
            }
            writer.start()
            let result = try sunledger("import", pipe, "--ledger", dir + "/ledger")
            done.withLock { $0 = true }
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("\(pipe): 4 stored"), "\(result.stdout)")
        }
    }

    @Test("a file with no events makes an empty ledger that verifies, whose digest has no recordedAt")
    func emptyFile() throws {
        try withScratch { dir in
            try "\n \n".write(toFile: dir + "/empty.jsonl", atomically: true, encoding: .utf8)
            let ledger = dir + "/ledger"
            let imported = try sunledger("import", dir + "/empty.jsonl", "--ledger", ledger)
            #expect(imported.status == 0)
            #expect(imported.stdout.contains("0 stored, 0 duplicates"))
            let verified = try sunledger("verify", "--ledger", ledger)
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.contains("verified 0 records"))
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            #expect(digest.contains(#""seq":0,"#) && digest.contains(#""recordedAt":null"#))
            #expect(try sunledger("verify", "--digest", digest, "--ledger", ledger).status == 0)
            let restored = try sunledger("restore", dir + "/empty.jsonl", "--ledger", dir + "/copy")
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(try sunledger("verify", "--ledger", dir + "/copy").status == 0)
        }
    }

    @Test("the directory part of a path, bare names and the root included (paths are checked with it)")
    func parentDirectories() {
        #expect(parentDirectory(of: "ledger") == "")
        #expect(parentDirectory(of: "a/b") == "a")
        #expect(parentDirectory(of: "a/b/") == "a")
        #expect(parentDirectory(of: "/x") == "/")
        #expect(parentDirectory(of: "/") == "/")
        #expect(parentDirectory(of: "/srv/ledgers/jiading") == "/srv/ledgers")
    }

    @Test("another program's LMDB environment is neither read as a ledger nor written into")
    func foreignEnvironment() throws {
        try withScratch { dir in
            let other = dir + "/other"
            do {
                let env = try LMDBEnvironment(path: other)
                let users = try env.openDatabases(named: ["users"])[0]
                try env.write { try $0.put(Array("ada".utf8), forKey: Array("1".utf8), in: users) }
            }
            for arguments in [["import", workedExample], ["digest"], ["verify"], ["kpi"]] {
                let result = try run(sunledgerPath, arguments + ["--ledger", other])
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(
                    result.stderr.contains(
                        "\(other) holds an LMDB database of another program, not a ledger (it has no records)"),
                    "\(arguments): \(result.stderr)")
            }
            let keys = try LMDBEnvironment(path: other).mainDatabaseKeys()
            #expect(keys == [Array("users".utf8)])
        }
    }

    @Test("paths that cannot serve are wrong usage (exit 2) said in words, and a failed export leaves no file behind")
    func unusablePaths() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            try "x".write(toFile: dir + "/afile", atomically: true, encoding: .utf8)
            func refused(_ arguments: [String], saying words: String) throws {
                let result = try run(sunledgerPath, arguments)
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(words), "\(arguments): \(result.stderr)")
                #expect(!result.stderr.contains("crashed"))
            }
            try refused(["import", dir + "/none.jsonl", "--ledger", ledger], saying: "No such file or directory")
            try refused(["import", dir, "--ledger", ledger], saying: "is a directory")
            try refused(["restore", dir + "/none.jsonl", "--ledger", dir + "/copy"], saying: "No such file")
            try refused(
                ["import", workedExample, "--ledger", dir + "/afile"], saying: "is a file, not a ledger directory")
            try refused(
                ["import", workedExample, "--ledger", dir + "/no/such"], saying: "is not an existing directory")
            try refused(["digest", "--ledger", ""], saying: "the ledger path is empty")
            // A directory of other things is not made a ledger; one holding only its master key
            // (and, on a volume of its own, lost+found) is.
            try refused(
                ["import", workedExample, "--ledger", dir],
                saying:
                    "\(dir) holds no ledger but other files (afile among them): give --ledger a new or empty directory")
            try FileManager.default.createDirectory(
                atPath: dir + "/keyed/lost+found", withIntermediateDirectories: true)
            try String(repeating: "ab", count: 32).write(
                toFile: dir + "/keyed/master.key", atomically: false, encoding: .utf8)
            #expect(chmod(dir + "/keyed/master.key", 0o600) == 0)
            #expect(try sunledger("import", workedExample, "--ledger", dir + "/keyed").status == 0)
            try FileManager.default.removeItem(atPath: dir + "/keyed")
            try refused(["export", "--out", dir, "--ledger", ledger], saying: "is a directory")
            try refused(
                ["export", "--out", dir + "/afile/x", "--ledger", ledger], saying: "is not an existing directory")
            try refused(["verify", "--digest", dir, "--ledger", ledger], saying: "is a directory")
            try refused(["verify", "--digest", dir + "/none", "--ledger", ledger], saying: "neither a digest")
            try refused(
                ["report", "--year", "2024", "--format", "csv", "--out", dir + "/afile/x", "--ledger", ledger],
                saying: "is a file, not a directory")
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(files == ["afile", "ledger"])
            // An export with personal data is readable by its owner alone.
            let out = dir + "/pii.jsonl"
            #expect(
                try sunledger("export", "--pii", "--purpose", "audit", "--out", out, "--ledger", ledger).status == 0)
            let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test("every rejected line is reported as FILE:LINE: field: rule, exit 1, and the ledger's bytes are unchanged")
    func rejection() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(syntheticEvents(persons: 2, perPerson: 1, prefix: "a"), to: dir + "/first.jsonl")
            #expect(try sunledger("import", dir + "/first.jsonl", "--ledger", ledger).status == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))

            var lines = syntheticEvents(persons: 3, perPerson: 1, prefix: "b", start: "2021-01-01T00:00:00Z")
            lines[1] = lines[1].replacingOccurrences(of: #""orgUnit":"anting""#, with: #""orgUnit":"pudong""#)
            lines[3] = lines[3].replacingOccurrences(
                of: #""occurredAt":"2019-12-02""#, with: #""occurredAt":"2019-11-30""#)
            lines.append("{not json")
            let file = dir + "/bad.jsonl"
            try write(lines, to: file)
            let result = try sunledger("import", file, "--ledger", ledger)
            #expect(result.status == 1)
            #expect(result.stderr.contains("\(file):2: orgUnit: \"pudong\" is not a unit code"))
            #expect(result.stderr.contains("\(file):4: occurredAt: 2019-11-30 is before the first event of person-b0"))
            // A rejected opener leaves its stream unopened, so the stream's next line is refused too.
            #expect(
                result.stderr.contains(
                    "\(file):5: type: person-b1 has no events yet, so its first event must be PersonRegistered"))
            #expect(result.stderr.contains("\(file):7: line: not valid JSON at column 2"))
            #expect(result.stderr.contains("4 lines rejected; nothing was stored"))
            let after = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
            #expect(before == after)
        }
    }

    @Test("a line holding a forged report line, terminal escapes and a 1 MB value still gets one short line per error")
    func hostileLine() throws {
        try withScratch { dir in
            var line = syntheticEvents(persons: 1, perPerson: 1)[0]
            line = line.replacingOccurrences(
                of: #""actor":"staff-001""#, with: #""actor":"x\nevil.jsonl:9: id: made up\u001b[2J""#)
            line = line.replacingOccurrences(
                of: #""orgUnit":"anting""#,
                with: #""note\u202e":1,"orgUnit":"\#(String(repeating: "y", count: 1_000_000))""#)
            let file = dir + "/hostile.jsonl"
            try write([line], to: file)
            let result = try sunledger("import", file, "--ledger", dir + "/ledger")
            #expect(result.status == 1)
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == 4, "\(result.stderr.prefix(2_000).debugDescription)")
            #expect(lines.dropLast().allSatisfy { $0.hasPrefix("\(file):1: ") })
            #expect(
                result.stderr.contains(
                    #"\#(file):1: actor: must match ^[A-Za-z0-9_.@-]{1,64}$ (got "x\nevil.jsonl:9: id: made up\u001b[2J")"#
                ))
            #expect(result.stderr.contains(#"\#(file):1: "note\u202e": is not a key of the interchange form"#))
            let cut = "\"" + String(repeating: "y", count: Echo.limit) + "…\" (1,000,000 characters) is not a unit code"
            #expect(result.stderr.contains("\(file):1: orgUnit: \(cut)"))
            #expect(result.stderr.utf8.count < 1_500)
        }
    }

    @Test("one bad line among 100,000 good ones stores nothing and names that line")
    func oneBadLine() throws {
        try withScratch { dir in
            var lines = syntheticEvents(persons: 20_000, perPerson: 4)
            #expect(lines.count == 100_000)
            lines[77_776] = lines[77_776].replacingOccurrences(
                of: #""actor":"staff-002""#, with: #""actor":"staff 002""#)
            let file = dir + "/big.jsonl"
            try write(lines, to: file)
            let result = try sunledger("import", file, "--ledger", dir + "/ledger")
            #expect(result.status == 1)
            #expect(result.stderr.contains("\(file):77777: actor: must match"))
            #expect(result.stderr.contains("1 line rejected; nothing was stored"))
            #expect(try sunledger("digest", "--ledger", dir + "/ledger").stdout.hasPrefix(#"{"seq":0,"#))
        }
    }

    @Test("the same id with other content is an error; within a file a repeated identical line is a duplicate")
    func identity() throws {
        try withScratch { dir in
            var lines = syntheticEvents(persons: 1, perPerson: 1)
            lines.append(lines[1])
            try write(lines, to: dir + "/a.jsonl")
            let result = try sunledger("import", dir + "/a.jsonl", "--ledger", dir + "/ledger")
            #expect(result.stdout.contains("2 stored (seq 1–2), 1 duplicate"))
            let changed = lines[1].replacingOccurrences(of: "staff-002", with: "staff-003")
            try write([changed], to: dir + "/b.jsonl")
            let refused = try sunledger("import", dir + "/b.jsonl", "--ledger", dir + "/ledger")
            #expect(refused.status == 1)
            #expect(
                refused.stderr.contains("b.jsonl:1: id: \"ev-h0-0\" is already stored as seq 2 with a different actor"))
        }
    }

    @Test("usage errors exit 2; reading a ledger that does not exist exits 1 and creates nothing")
    func exitCodes() throws {
        try withScratch { dir in
            #expect(try sunledger("import").status == 2)
            #expect(try sunledger("export", "--pii", "--masked", "--ledger", dir).status == 2)
            #expect(try sunledger("frobnicate").status == 2)
            let missing = try sunledger("verify", "--ledger", dir + "/none")
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("there is no ledger at"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/none"))
        }
    }
    @Test("--check judges a file as the import would and stores nothing; the import then stores what it said")
    func checkStoresNothing() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let lines = syntheticEvents(persons: 3, perPerson: 2)
            try write(Array(lines.prefix(5)), to: dir + "/first.jsonl")
            try write(lines, to: dir + "/all.jsonl")
            #expect(try sunledger("import", dir + "/first.jsonl", "--ledger", ledger).status == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
            let check = try sunledger("import", "--check", dir + "/all.jsonl", "--ledger", ledger)
            #expect(check.status == 0)
            #expect(check.stdout.contains("all.jsonl: 4 would be stored (seq 6–9), 5 duplicates"))
            #expect(check.stdout.contains("nothing was stored (--check)"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb")) == before)
            #expect(try sunledger("digest", "--ledger", ledger).stdout.hasPrefix(#"{"seq":5,"#))
            let imported = try sunledger("import", dir + "/all.jsonl", "--ledger", ledger)
            #expect(imported.stdout.contains("all.jsonl: 4 stored (seq 6–9), 5 duplicates"))
        }
    }

    @Test(
        "--check judges each file against the ledger and the files before it, and makes no ledger where there is none")
    func checkFollowsEarlierFiles() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let lines = syntheticEvents(persons: 2, perPerson: 1)
            // The health checks need the registrations of the first file.
            try write(Array(lines.prefix(2)), to: dir + "/registrations.jsonl")
            try write(Array(lines.suffix(2)), to: dir + "/checks.jsonl")
            let alone = try sunledger("import", "--check", dir + "/checks.jsonl", "--ledger", ledger)
            #expect(alone.status == 1)
            #expect(alone.stderr.contains("checks.jsonl:1: type: person-ev0 has no events yet"))
            let both = try sunledger(
                "import", "--check", dir + "/registrations.jsonl", dir + "/checks.jsonl", "--ledger", ledger)
            #expect(both.status == 0)
            #expect(both.stdout.contains("registrations.jsonl: 2 would be stored (seq 1–2), 0 duplicates"))
            #expect(both.stdout.contains("checks.jsonl: 2 would be stored (seq 3–4), 0 duplicates"))
            #expect(both.stderr.contains("there is no ledger at \(ledger) yet"))
            #expect(!FileManager.default.fileExists(atPath: ledger))
        }
    }

    @Test("--check names every rejected line, exits 1, stores nothing and reads no later file")
    func checkRejects() throws {
        try withScratch { dir in
            let ledger = try importedLedger(in: dir, persons: 2, perPerson: 1)
            let before = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
            let good = syntheticEvents(persons: 2, perPerson: 1, prefix: "g", start: "2025-07-01T00:00:00Z")
            try write(good, to: dir + "/good.jsonl")
            try write(
                syntheticEvents(persons: 1, perPerson: 1, prefix: "b", start: "2025-08-01T00:00:00Z").map {
                    $0.replacingOccurrences(of: "\"malu\"", with: "\"nowhere\"")
                }, to: dir + "/bad.jsonl")
            let result = try sunledger(
                "import", "--check", dir + "/good.jsonl", dir + "/bad.jsonl", dir + "/missing-later.jsonl",
                "--ledger", ledger)
            // A file that is not there is wrong usage, found before anything is judged.
            #expect(result.status == 2)
            try write(good, to: dir + "/later.jsonl")
            let judged = try sunledger(
                "import", "--check", dir + "/good.jsonl", dir + "/bad.jsonl", dir + "/later.jsonl", "--ledger", ledger)
            #expect(judged.status == 1)
            #expect(judged.stdout.contains("good.jsonl: 4 would be stored (seq 5–8), 0 duplicates"))
            #expect(judged.stderr.contains("bad.jsonl:2: orgUnit: "))
            #expect(judged.stderr.contains("bad.jsonl: 1 line rejected; nothing was stored"))
            #expect(judged.stderr.contains("1 later file not checked"))
            #expect(!judged.stdout.contains("later.jsonl"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb")) == before)
        }
    }
}

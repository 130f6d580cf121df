import Foundation
import Synchronization
import Testing

/// The worked example of kpis.md, as shipped in seeds/.
let workedExample = repositoryRoot + "/seeds/worked-example.jsonl"

@Suite("export, verify, restore and the independent verifier", .serialized)
struct AuditCommandTests {
    @Test(
        "a data file cut short is refused in words (exit 1) by every command; a seq, size or range it lacks, negative ones too, is wrong usage"
    )
    func cutShortAndOutOfRange() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let prove = try sunledger("prove", "10", "--ledger", ledger)
            #expect(
                prove.status == 2 && prove.stderr.contains("is not a leaf of the tree of size 9"), "\(prove.stderr)")
            #expect(try sunledger("prove", "0", "--ledger", ledger).status == 2)
            let empty = try sunledger("prove", "1", "--tree-size", "0", "--ledger", ledger)
            #expect(empty.status == 2 && empty.stderr.contains("tree of size 0, which has none"), "\(empty.stderr)")
            let beyond = try sunledger("prove", "5", "--tree-size", "100", "--ledger", ledger)
            #expect(beyond.status == 2 && beyond.stderr.contains("the ledger holds 9 records"), "\(beyond.stderr)")
            let consistency = try sunledger("prove", "--consistency", "5", "--tree-size", "3", "--ledger", ledger)
            #expect(consistency.status == 2, "\(consistency.stderr)")
            #expect(consistency.stderr.contains("the earlier tree size 5 is larger than the tree size 3"))
            let negative = try sunledger("prove", "--consistency", "-3", "--ledger", ledger)
            #expect(
                negative.status == 2 && negative.stderr.contains("there is no tree of size -3"), "\(negative.stderr)")
            for (arguments, message) in [
                (["--from-seq", "-5"], "--from-seq must be at least 1 (got -5)"),
                (["--from-seq", "0"], "--from-seq must be at least 1 (got 0)"),
                (["--from-seq", "4", "--to-seq", "-1"], "--to-seq must not be below --from-seq (got 4–-1)"),
                (["--pii", "--masked"], "--pii and --masked exclude each other"),
                (["--purpose", "audit"], "--purpose goes with --pii"),
            ] {
                let export = try run(sunledgerPath, ["export", "--ledger", ledger] + arguments)
                #expect(export.status == 2 && export.stderr.contains(message), "\(arguments): \(export.stderr)")
                #expect(export.stdout.isEmpty)
            }
            let data = ledger + "/data.mdb"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data))
            try handle.truncate(atOffset: 16384)
            try handle.close()
            for command in [["verify"], ["digest"], ["kpi"], ["export"], ["history", "person-P1"]] {
                let result = try run(sunledgerPath, command + ["--ledger", ledger])
                #expect(result.status == 1, "\(command): \(result.stderr)")
                #expect(result.stderr.contains("the file was cut short"), "\(command): \(result.stderr)")
            }
        }
    }

    @Test(
        "a damaged page of the data file's own B-trees makes verify fail in words (exit 1), naming the database and the page"
    )
    func damagedPages() throws {
        try withScratch { dir in
            let ledger = try importedLedger(in: dir, persons: 400, perPerson: 4)
            let intact = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
            let pages = LMDBPages(intact)

            // A branch node's child page number (its first six bytes) beyond the file.
            var lost = intact
            let branch = try #require(pages.first { $0.isBranch && $0.nodeCount > 1 })
            let child = branch.node(1)
            for index in child..<(child + 6) { lost[index] = 0xFF }
            try lost.write(to: URL(fileURLWithPath: ledger + "/data.mdb"))
            expectFailedCheck(
                try sunledger("verify", "--ledger", ledger),
                saying: "the data file is damaged", "page \(branch.number) points to page")
            // Other commands meet it through LMDB, which finds no such page: the same failure, in words.
            expectFailedCheck(try sunledger("export", "--ledger", ledger), saying: "the data file is damaged")

            // A record's size (the node's first four bytes) made 4 GiB: it runs past its page.
            var oversized = intact
            let leaf = try #require(
                pages.first { page in
                    page.isLeaf && page.nodeCount > 0
                        && intact[(page.node(0) + 8 + 8 + 32)...].starts(with: Array(#"{"actor":"#.utf8))
                })
            for index in leaf.node(0)..<(leaf.node(0) + 4) { oversized[index] = 0xFF }
            try oversized.write(to: URL(fileURLWithPath: ledger + "/data.mdb"))
            let runsPast = try sunledger("verify", "--ledger", ledger)
            #expect(runsPast.status == 1, "\(runsPast.stderr)")
            #expect(
                runsPast.stderr.contains("the records database's page \(leaf.number) has node 0 whose value"),
                "\(runsPast.stderr)")

            try intact.write(to: URL(fileURLWithPath: ledger + "/data.mdb"))
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }

    @Test(
        "a stored KPI fold damaged in the data file fails verify and kpi in words (exit 1) until rebuild makes it again"
    )
    func damagedFold() throws {
        try withScratch { dir in
            // More records than the stored fold's lag (5,000), so that the import stores it.
            let ledger = try importedLedger(in: dir, persons: 1_100, perPerson: 4)
            let intact = try sunledger("verify", "--ledger", ledger)
            #expect(intact.status == 0, "\(intact.stderr)")
            #expect(intact.stdout.contains("verified 1 stored KPI fold against its seal"), "\(intact.stdout)")

            // One bit inside every sealed fold in the file (the live one among them) flipped.
            var file = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
            let tag = Data("SLKS".utf8)
            var flips = 0
            var from = file.startIndex
            while let found = file.range(of: tag, in: from..<file.endIndex) {
                file[found.lowerBound + 4 + 32 + 40] ^= 0x04
                flips += 1
                from = found.upperBound
            }
            #expect(flips >= 1)
            try file.write(to: URL(fileURLWithPath: ledger + "/data.mdb"))

            expectFailedCheck(
                try sunledger("verify", "--ledger", ledger),
                saying: "the stored figures of kpi-", "run `sunledger rebuild`")
            expectFailedCheck(try sunledger("kpi", "--ledger", ledger), saying: "no longer matches the seal")
            // An import, whose figures commit with its records, stores nothing until then.
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            try write(
                syntheticEvents(persons: 3, perPerson: 1, prefix: "later", start: "2026-01-01T00:00:00Z"),
                to: dir + "/later.jsonl")
            expectFailedCheck(
                try sunledger("import", dir + "/later.jsonl", "--ledger", ledger), saying: "run `sunledger rebuild`")
            #expect(try sunledger("digest", "--ledger", ledger).stdout == digest)

            // Rebuild says the live figures differed (exit 1) and replaces them; then all is well.
            let rebuild = try sunledger("rebuild", "--ledger", ledger)
            #expect(rebuild.status == 1, "\(rebuild.stderr)")
            #expect(rebuild.stdout.contains("could not be read") || rebuild.stderr.contains("could not be read"))
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
            #expect(try sunledger("kpi", "--ledger", ledger).status == 0)
            #expect(try sunledger("import", dir + "/later.jsonl", "--ledger", ledger).status == 0)
        }
    }

    @Test(
        "verify reads in a child process: a fault that stops the child is a failed check in words (exit 1); a stop from outside stops it the same way"
    )
    func supervisedVerify() throws {
        try withScratch { dir in
            let ledger = try importedLedger(in: dir, persons: 800, perPerson: 5)
            for (signal, faults) in [(SIGSEGV, true), (SIGBUS, true), (SIGKILL, false)] {
                // The child is caught while it reads (a few tries, should one finish first),
                // held still, given the signal, and let go.
                var outcome: (reason: Process.TerminationReason, status: Int32, said: String)?
                for _ in 0..<5 where outcome == nil {
                    let parent = Process()
                    parent.executableURL = URL(fileURLWithPath: sunledgerPath)
                    parent.arguments = ["verify", "--ledger", ledger]
                    let errors = Pipe()
                    parent.standardError = errors
                    parent.standardOutput = FileHandle.nullDevice
                    try parent.run()
                    let child = childProcess(of: parent.processIdentifier)
                    let caught = child.map { kill($0, SIGSTOP) == 0 } ?? false
                    if let child, caught {
                        kill(child, signal)
                        kill(child, SIGCONT)
                    }
                    let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    parent.waitUntilExit()
                    let finishedFirst = parent.terminationReason == .exit && parent.terminationStatus == 0
                    if caught && !finishedFirst { outcome = (parent.terminationReason, parent.terminationStatus, said) }
                }
                let seen = try #require(outcome, "the child could not be caught while it read")
                if faults {
                    #expect(seen.reason == .exit && seen.status == 1, "\(seen.said)")
                    #expect(seen.said.contains("reading the ledger stopped with SIG"), "\(seen.said)")
                    #expect(seen.said.contains("restore it from an export"), "\(seen.said)")
                } else {
                    #expect(seen.reason == .uncaughtSignal && seen.status == signal, "\(seen.said)")
                }
            }
        }
    }

    @Test("verify --digest reads a digest from a pipe, as `--digest <(sunledger digest)` gives it")
    func digestFromAPipe() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            let pipe = dir + "/digest"
            #expect(mkfifo(pipe, 0o600) == 0)
            let writer = Thread {
                // Opening a named pipe for writing waits for its reader.
                if let handle = FileHandle(forWritingAtPath: pipe) {
                    handle.write(Data(digest.utf8))
                    try? handle.close()
                }
            }
            writer.start()
            let verified = try sunledger("verify", "--ledger", ledger, "--digest", pipe)
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.contains("the ledger extends the digest at seq 9"), "\(verified.stdout)")
        }
    }

    @Test(
        "import → export → tools/verify-export → restore into a fresh ledger → byte-identical export; a restore without personal data says so"
    )
    func roundTrip() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            try write(
                syntheticEvents(persons: 50, perPerson: 3, start: "2025-06-01T00:00:00Z"), to: dir + "/more.jsonl")
            #expect(try sunledger("import", dir + "/more.jsonl", "--ledger", ledger).status == 0)
            for mode in [[], ["--pii", "--purpose", "independent check"]] {
                let export = dir + "/export\(mode.count).jsonl"
                #expect(try run(sunledgerPath, ["export", "--ledger", ledger, "--out", export] + mode).status == 0)
                let independent = try run("/usr/bin/env", ["python3", repositoryRoot + "/tools/verify-export", export])
                #expect(independent.status == 0, "\(independent.stderr)")
                let digest = try sunledger("digest", "--ledger", ledger).stdout
                #expect(
                    independent.stdout.split(separator: "\n").last.map(String.init)
                        == digest.trimmingCharacters(in: .newlines))

                let copy = dir + "/copy\(mode.count)"
                let restored = try sunledger("restore", export, "--ledger", copy)
                #expect(restored.status == 0, "\(restored.stderr)")
                // Restoring an export made without --pii leaves the vault empty, and says so.
                let committing = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n")
                    .filter { $0.contains(#""piiCommitment""#) }.count
                #expect(committing > 0)
                #expect(
                    restored.stderr.contains(
                        "note: \(committing) of the \(committing) restored records that commit to personal data came without it"
                    ) == mode.isEmpty, "\(restored.stderr)")
                let again = dir + "/again\(mode.count).jsonl"
                #expect(try run(sunledgerPath, ["export", "--ledger", copy, "--out", again] + mode).status == 0)
                #expect(
                    try Data(contentsOf: URL(fileURLWithPath: again)) == Data(contentsOf: URL(fileURLWithPath: export)))
                #expect(try sunledger("verify", "--ledger", copy).status == 0)
            }
        }
    }

    @Test("a restore says how many records came without personal data, not counting those of an erased person")
    func restoreWithoutPersonalData() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            #expect(try sunledger("erase", "P1", "--reason", "the person asked", "--ledger", ledger).status == 0)
            let withPII = dir + "/pii.jsonl"
            let plain = dir + "/plain.jsonl"
            #expect(
                try sunledger("export", "--pii", "--purpose", "backup", "--out", withPII, "--ledger", ledger).status
                    == 0)
            #expect(try sunledger("export", "--out", plain, "--ledger", ledger).status == 0)
            let committing = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n")
                .filter { $0.contains(#""piiCommitment""#) }
            let erased = committing.filter { $0.contains(#""stream":"person-P1""#) }.count
            #expect(erased > 0 && erased < committing.count)

            let full = try sunledger("restore", withPII, "--ledger", dir + "/full")
            #expect(full.status == 0 && !full.stderr.contains("note:"), "\(full.stderr)")
            let bare = try sunledger("restore", plain, "--ledger", dir + "/bare")
            #expect(bare.status == 0, "\(bare.stderr)")
            #expect(
                bare.stderr.contains(
                    "note: \(committing.count - erased) of the \(committing.count) restored records that commit to personal data came without it"
                ), "\(bare.stderr)")
        }
    }

    @Test("a restore continues a ledger that holds a prefix, and a cut-off restore completes when run again")
    func restoreContinues() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(syntheticEvents(persons: 20, perPerson: 2), to: dir + "/e.jsonl")
            #expect(try sunledger("import", dir + "/e.jsonl", "--ledger", ledger).status == 0)
            #expect(
                try sunledger(
                    "export", "--pii", "--purpose", "test of the round trip", "--ledger", ledger, "--out",
                    dir + "/all.jsonl"
                ).status == 0)
            #expect(
                try sunledger(
                    "export", "--pii", "--purpose", "test of the round trip", "--to-seq", "25", "--ledger", ledger,
                    "--out", dir + "/head.jsonl"
                )
                .status == 0)
            #expect(try sunledger("restore", dir + "/head.jsonl", "--ledger", dir + "/copy").status == 0)
            let rest = try sunledger("restore", dir + "/all.jsonl", "--ledger", dir + "/copy")
            #expect(rest.status == 0)
            #expect(rest.stdout.contains("restored 35 records (seq 26–60); 25 already present"))
            #expect(
                try sunledger("digest", "--ledger", dir + "/copy").stdout
                    == sunledger("digest", "--ledger", ledger).stdout)
        }
    }

    @Test("a broken or reordered export is refused with the seq where it breaks, and nothing is stored")
    func brokenExport() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            #expect(
                try sunledger(
                    "export", "--pii", "--purpose", "test of the round trip", "--ledger", ledger, "--out",
                    dir + "/e.jsonl"
                ).status == 0)
            var lines = try String(contentsOfFile: dir + "/e.jsonl", encoding: .utf8).split(separator: "\n").map(
                String.init)

            var changed = lines
            changed[5] = changed[5].replacingOccurrences(of: "physical_therapy", with: "speech_therapy")
            try write(changed, to: dir + "/changed.jsonl")
            let refusedChange = try sunledger("restore", dir + "/changed.jsonl", "--ledger", dir + "/a")
            #expect(refusedChange.status == 1)
            #expect(refusedChange.stderr.contains("changed.jsonl:6: seq 6: hash does not match"))
            #expect(try sunledger("digest", "--ledger", dir + "/a").stdout.hasPrefix(#"{"seq":0,"#))

            lines.swapAt(3, 4)
            try write(lines, to: dir + "/swapped.jsonl")
            let refusedOrder = try sunledger("restore", dir + "/swapped.jsonl", "--ledger", dir + "/b")
            #expect(refusedOrder.status == 1)
            #expect(refusedOrder.stderr.contains("swapped.jsonl:4: seq 5: expected seq 4 here"))

            var pii = try String(contentsOfFile: dir + "/e.jsonl", encoding: .utf8).split(separator: "\n").map(
                String.init)
            pii[0] = pii[0].replacingOccurrences(of: "王芳", with: "王方")
            try write(pii, to: dir + "/pii.jsonl")
            let refusedPII = try sunledger("restore", dir + "/pii.jsonl", "--ledger", dir + "/c")
            #expect(refusedPII.status == 1)
            #expect(refusedPII.stderr.contains("seq 1: pii: does not match piiCommitment"))

            // Masked personal data on a record that commits to none: refused here as by tools/verify-export.
            var masked = lines
            masked[1] = String(masked[1].dropLast()) + #","piiMasked":{"name":"王*"}}"#
            try write(masked, to: dir + "/masked.jsonl")
            let refusedMasked = try sunledger("restore", dir + "/masked.jsonl", "--ledger", dir + "/d")
            #expect(refusedMasked.status == 1)
            #expect(
                refusedMasked.stderr.contains("seq 2: piiMasked: the record has no piiCommitment"),
                "\(refusedMasked.stderr)")
            #expect(
                try run("/usr/bin/env", ["python3", repositoryRoot + "/tools/verify-export", dir + "/masked.jsonl"])
                    .status != 0)
        }
    }

    @Test("verify shows how far it has come on standard error, as rebuild does, and its result on standard output")
    func verifyProgress() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(syntheticEvents(persons: 8_000, perPerson: 4), to: dir + "/e.jsonl")  // 5 events a person
            #expect(try sunledger("import", dir + "/e.jsonl", "--ledger", ledger).status == 0)
            let result = try sunledger("verify", "--ledger", ledger)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("verified 40000 records"))
            let lines = result.stderr.split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.contains(" of 40,000 records (") }, "\(result.stderr)")
            #expect(lines.first?.hasPrefix("8,192 of 40,000 records (20%)") == true, "\(result.stderr)")
        }
    }

    @Test("one byte changed inside a stored record, behind the store's back, makes verify exit 1 naming that seq")
    func tamperedDataFile() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
            let url = URL(fileURLWithPath: ledger + "/data.mdb")
            var bytes = try Data(contentsOf: url)
            let needle = Data(#""serviceKind":"physical_therapy""#.utf8)
            let found = try #require(bytes.range(of: needle))
            bytes[found.lowerBound + 16] = UInt8(ascii: "P")
            try bytes.write(to: url)
            let result = try sunledger("verify", "--ledger", ledger)
            #expect(result.status == 1)
            #expect(result.stderr.contains("verify failed at seq 6"))
        }
    }

    @Test("verify --digest proves the ledger still extends a digest taken earlier, and refuses one it does not")
    func digestExtension() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(syntheticEvents(persons: 3, perPerson: 1, prefix: "a"), to: dir + "/a.jsonl")
            try write(
                syntheticEvents(persons: 3, perPerson: 1, prefix: "b", start: "2021-01-01T00:00:00Z"),
                to: dir + "/b.jsonl")
            #expect(try sunledger("import", dir + "/a.jsonl", "--ledger", ledger).status == 0)
            let early = try sunledger("digest", "--ledger", ledger).stdout
            try early.write(toFile: dir + "/digest.json", atomically: true, encoding: .utf8)
            #expect(try sunledger("import", dir + "/b.jsonl", "--ledger", ledger).status == 0)
            let good = try sunledger("verify", "--digest", dir + "/digest.json", "--ledger", ledger)
            #expect(good.status == 0)
            #expect(good.stdout.contains("extends the digest at seq 6"))
            var digest = early
            let hashStart = digest.range(of: #""hash":""#)!.upperBound
            digest.replaceSubrange(
                hashStart..<digest.index(after: hashStart), with: digest[hashStart] == "a" ? "b" : "a")
            let bad = try sunledger("verify", "--digest", digest, "--ledger", ledger)
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("seq 6"))
            // A digest that is not one is wrong usage of verify, and says where verify's help is.
            let malformed = try sunledger("verify", "--digest", #"{"seq":3}"#, "--ledger", ledger)
            #expect(malformed.status == 2)
            #expect(
                malformed.stderr.contains(
                    "Error: --digest: the digest's hash must be the last record's hash, 64 hex digits (got nothing)"),
                "\(malformed.stderr)")
            // Each key of a digest is judged, and named with what was given.
            let refusals = [
                (dir + "/array.json", #"a digest is a JSON object {"seq":N,"#),
                (
                    #"{"seq":-1,"hash":"x"}"#,
                    "the digest's seq must be the whole number of records it covers, 0 or more (got -1)"
                ),
                (
                    #"{"hash":"x"}"#,
                    "the digest's seq must be the whole number of records it covers, 0 or more (got nothing)"
                ),
                (
                    #"{"seq":3,"hash":"abc"}"#,
                    #"the digest's hash must be the last record's hash, 64 hex digits (got "abc")"#
                ),
                (
                    #"{"seq":3,"hash":"\#(String(repeating: "a", count: 64))","recordedAt":"2016-12-31T23:59:60Z"}"#,
                    "the digest's recordedAt must not be a leap second"
                ),
                (
                    #"{"seq":3,"hash":"\#(String(repeating: "a", count: 64))","recordedAt":7}"#,
                    "the digest's recordedAt must be an RFC 3339 instant, or null for an empty ledger (got 7)"
                ),
                (
                    #"{"seq":3,"hash":"\#(String(repeating: "a", count: 64))","merkleRoot":"ab"}"#,
                    #"the digest's merkleRoot must be 64 hex digits (got "ab")"#
                ),
            ]
            try "[1]\n".write(toFile: dir + "/array.json", atomically: true, encoding: .utf8)
            for (given, words) in refusals {
                let refused = try sunledger("verify", "--digest", given, "--ledger", ledger)
                #expect(refused.status == 2, "\(given)")
                #expect(refused.stderr.contains("Error: --digest: " + words), "\(given): \(refused.stderr)")
            }
            #expect(malformed.stderr.contains("Usage: sunledger verify "), "\(malformed.stderr)")
            #expect(malformed.stderr.contains("See 'sunledger verify --help'"), "\(malformed.stderr)")
        }
    }

    @Test("history shows a stream as recorded, masked, and as known at an earlier instant")
    func history() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let all = try sunledger("history", "person-P1", "--purpose", "checking a complaint", "--ledger", ledger)
            #expect(all.stdout.contains("person-P1: 6 events"))
            #expect(all.stdout.contains("name=王**"))
            #expect(!all.stdout.contains("王芳"))
            let withheld = try sunledger("history", "person-P1", "--ledger", ledger)
            #expect(withheld.stdout.contains("person-P1: 6 events"))
            #expect(!withheld.stdout.contains("王"))
            let known = try sunledger("history", "person-P1", "--known-at", "2025-01-15T00:00:00Z", "--ledger", ledger)
            #expect(known.stdout.contains("person-P1: 5 events known at"))
            #expect(!known.stdout.contains("PersonMoved"))
            let bare = try sunledger("history", "P1", "--ledger", ledger)
            #expect(bare.status == 2)
            #expect(bare.stderr.contains("<stream> must be <kind>-<key>"), "\(bare.stderr)")
            #expect(bare.stderr.contains("named person-P1"), "\(bare.stderr)")
        }
    }

    @Test("history's table shows free text and masked names with line-breaking and bidirectional characters escaped")
    func historyEscapesFreeText() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let registration = syntheticEvents(persons: 1, perPerson: 1)[0]
                .replacingOccurrences(of: "王芳", with: #"\u202e王芳"#)
            let employment =
                #"{"id":"x-e1","stream":"person-ev0","type":"EmploymentStarted","occurredAt":"2020-04-01","#
                + #""recordedAt":"2020-04-01T02:00:00Z","actor":"staff-001","orgUnit":"anting","#
                + #""data":{"employmentId":"E1","employer":"ACME\u2028\u202eevil","form":"public_welfare_post"}}"#
            try write([registration, employment], to: dir + "/e.jsonl")
            #expect(try sunledger("import", dir + "/e.jsonl", "--ledger", ledger).status == 0)
            let shown = try sunledger("history", "person-ev0", "--purpose", "a test", "--ledger", ledger)
            #expect(shown.status == 0)
            #expect(shown.stdout.contains(#""employer":"ACME\u2028\u202eevil""#), "\(shown.stdout)")
            #expect(shown.stdout.contains(#"name=\u202e**"#), "\(shown.stdout)")
            #expect(!shown.stdout.unicodeScalars.contains { $0 == "\u{202E}" || $0 == "\u{2028}" })
        }
    }

    @Test("export --out writes into a named pipe as it is, and through a symbolic link, replacing neither")
    func exportIntoWhatIsThere() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let expected = try sunledger("export", "--ledger", ledger).stdout
            // A named pipe: a reader gets the export, and the pipe is still a pipe.
            let pipe = dir + "/pipe"
            #expect(mkfifo(pipe, 0o600) == 0)
            let received = Mutex(Data())
            let reader = Thread {
                // Opening a named pipe for reading waits for its writer.
                if let handle = FileHandle(forReadingAtPath: pipe) {
                    let data = handle.readDataToEndOfFile()
                    received.withLock { $0 = data }
                }
            }
            reader.start()
            let piped = try sunledger("export", "--ledger", ledger, "--out", pipe)
            #expect(piped.status == 0, "\(piped.stderr)")
            // A pipe replaced by a file would leave its reader waiting for ever: give it a minute.
            let deadline = Date().addingTimeInterval(60)
            while !reader.isFinished, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            #expect(String(decoding: received.withLock { $0 }, as: UTF8.self) == expected)
            #expect(fileType(pipe) == S_IFIFO)
            // A symbolic link: the file it names gets the export, and the link stays.
            let target = dir + "/target.jsonl"
            #expect(symlink(target, dir + "/link.jsonl") == 0)
            #expect(try sunledger("export", "--ledger", ledger, "--out", dir + "/link.jsonl").status == 0)
            #expect(try String(contentsOfFile: target, encoding: .utf8) == expected)
            #expect(fileType(dir + "/link.jsonl", following: false) == S_IFLNK)
        }
    }

    @Test("export --masked masks, plain export carries no personal data at all")
    func maskedExport() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let plain = try sunledger("export", "--ledger", ledger).stdout
            #expect(!plain.contains("王") && !plain.contains("310114198002290025") && !plain.contains("pii\""))
            let masked = try sunledger("export", "--masked", "--ledger", ledger).stdout
            #expect(masked.contains(#""piiMasked":{"idNumber":"310114********0025","name":"王**"}"#))
            let ranged = try sunledger("export", "--from-seq", "3", "--to-seq", "4", "--ledger", ledger).stdout
            #expect(ranged.split(separator: "\n").count == 2)
            #expect(ranged.hasPrefix(#"{"actor":"staff-001","data":{"birthDate":"1965-12-31""#))
        }
    }
}

/// The kind of file at `path` (`S_IFIFO`, `S_IFCHR`, …), or 0 when there is none.
private func fileType(_ path: String, following: Bool = true) -> mode_t {
    var info = stat()
    guard (following ? stat(path, &info) : lstat(path, &info)) == 0 else { return 0 }
    return info.st_mode & S_IFMT
}

/// The pages of an LMDB data file (0.9's layout, 4 KiB pages on a 64-bit
/// machine), read only as far as a test needs to damage them.
struct LMDBPages: Sequence {
    let data: Data
    static let size = 4096

    init(_ data: Data) { self.data = data }

    struct Page {
        let data: Data
        let start: Int
        var number: Int { start / LMDBPages.size }

        private func uint16(_ offset: Int) -> Int {
            Int(data[start + offset]) | Int(data[start + offset + 1]) << 8
        }

        /// `mp_flags`: P_BRANCH 0x01, P_LEAF 0x02.
        var isBranch: Bool { uint16(10) & 0x01 != 0 }
        var isLeaf: Bool { uint16(10) & 0x02 != 0 && uint16(10) & 0x04 == 0 }
        /// From `mp_lower`: each node has a 2-byte pointer after the 16-byte header.
        var nodeCount: Int { (uint16(12) - 16) / 2 }
        /// Where node `index` starts in the file.
        func node(_ index: Int) -> Int { start + uint16(16 + 2 * index) }
    }

    func makeIterator() -> some IteratorProtocol<Page> {
        // Pages 0 and 1 are the meta pages.
        (2..<(data.count / LMDBPages.size)).lazy.map { Page(data: data, start: $0 * LMDBPages.size) }.makeIterator()
    }
}

/// The process whose parent is `parent` (one of its threads started it),
/// looked for every half millisecond for a few seconds.
func childProcess(of parent: Int32) -> Int32? {
    for _ in 0..<10_000 {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(parent)/task")) ?? []
        for task in tasks {
            let children = (try? String(contentsOfFile: "/proc/\(parent)/task/\(task)/children", encoding: .utf8)) ?? ""
            if let child = children.split(separator: " ").first.flatMap({ Int32($0) }) { return child }
        }
        usleep(500)
    }
    return nil
}

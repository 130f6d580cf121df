import Foundation
import LedgerValues
import Testing

/// Runs the independent verifier on a bundle.
func verifyBundle(_ directory: String, digest: String? = nil) throws -> Run {
    var arguments = [repositoryRoot + "/tools/verify-export", "--bundle", directory]
    if let digest { arguments += ["--digest", digest] }
    return try run("/usr/bin/env", ["python3"] + arguments)
}

/// The lines of a file, parsed as JSON objects.
func jsonLines(_ path: String) throws -> [JSONObject] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try #require(try JSONParser.parse(Array($0.utf8)).objectValue)
    }
}

@Suite("audit bundles and the access log")
struct BundleTests {
    let fixture = repositoryRoot + "/fixtures/catalogue/every-type.jsonl"

    /// 200 persons' 800 events recorded on 2020-01-01, then every type (seq 801–846).
    func ledger(in dir: String) throws -> String {
        let ledger = dir + "/ledger"
        try write(
            syntheticEvents(persons: 200, perPerson: 3, prefix: "sy"),
            to: dir + "/early.jsonl")
        #expect(try sunledger("import", dir + "/early.jsonl", "--ledger", ledger).status == 0)
        #expect(try sunledger("import", fixture, "--ledger", ledger).status == 0)
        return ledger
    }

    @Test("a person's bundle holds exactly their stream's records, each with a proof the independent verifier accepts")
    func personBundle() throws {
        try withScratch { dir in
            let ledger = try ledger(in: dir)
            let out = dir + "/bundle"
            let made = try sunledger("bundle", "--person", "P002", "--out", out, "--ledger", ledger)
            #expect(made.status == 0, "\(made.stderr)")
            let records = try jsonLines(out + "/records.jsonl")
            let history = try sunledger("history", "person-P002", "--json", "--ledger", ledger).stdout
            let expected = history.split(separator: "\n").map { try? JSONParser.parse(Array($0.utf8)).objectValue }
            #expect(records.map { $0["hash"] } == expected.map { $0?["hash"] })
            #expect(records.allSatisfy { $0["stream"] == .string("person-P002") && $0["pii"] == nil })
            let proofs = try jsonLines(out + "/proofs.jsonl")
            #expect(proofs.map { $0["seq"] } == records.map { $0["seq"] })
            let digest = try sunledger("digest", "--ledger", ledger).stdout.trimmingCharacters(in: .newlines)
            #expect(try String(contentsOfFile: out + "/digest.json", encoding: .utf8) == digest + "\n")
            #expect(!FileManager.default.fileExists(atPath: out + "/kpi.json"))

            let checked = try verifyBundle(out, digest: digest)
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")

            // One byte changed in a record, manifest and all, is caught.
            var text = try String(contentsOfFile: out + "/records.jsonl", encoding: .utf8)
            text = text.replacingOccurrences(of: "\"grade\":2", with: "\"grade\":3")
            try text.write(toFile: out + "/records.jsonl", atomically: true, encoding: .utf8)
            #expect(try verifyBundle(out).status == 1)
        }
    }

    @Test("a range bundle known at T stops at the last record recorded by T; the KPI document is as then known")
    func rangeKnownAt() throws {
        try withScratch { dir in
            let ledger = try ledger(in: dir)
            let out = dir + "/bundle"
            let made = try sunledger(
                "bundle", "--from-seq", "790", "--to-seq", "100000", "--known-at", "2025-01-01T00:00:00Z", "--as-of",
                "2024-12-31", "--out", out, "--ledger", ledger)
            #expect(made.status == 0, "\(made.stderr)")
            let records = try jsonLines(out + "/records.jsonl")
            let knownAt = Instant(rfc3339: "2025-01-01T00:00:00Z")!
            let recordedBy = try jsonLines(fixture).filter { line in
                line["recordedAt"]?.stringValue.flatMap(Instant.init(rfc3339:)).map { $0 <= knownAt } ?? false
            }
            #expect(records.first?["seq"] == .integer(790))
            #expect(records.count == 11 + recordedBy.count)
            #expect(records.map { $0["seq"] } == (790..<(801 + recordedBy.count)).map { .integer(Int64($0)) })
            let kpi = try String(contentsOfFile: out + "/kpi.json", encoding: .utf8)
            let direct = try sunledger(
                "kpi", "--as-of", "2024-12-31", "--known-at", "2025-01-01T00:00:00Z", "--json", "--ledger", ledger)
            #expect(kpi == direct.stdout)
            let checked = try verifyBundle(out)
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        }
    }

    @Test("personal data travels only with --pii and --purpose, and every reading is in the access log first")
    func personalDataIsLogged() throws {
        try withScratch { dir in
            let ledger = try ledger(in: dir)
            let refused = try sunledger("bundle", "--person", "P001", "--pii", "--out", dir + "/b1", "--ledger", ledger)
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("say why with --purpose"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/b1"))
            #expect(try sunledger("export", "--pii", "--ledger", ledger).status == 2)
            #expect(try sunledger("access-log", "--ledger", ledger).stdout.contains("no personal data has been read"))

            let made = try sunledger(
                "bundle", "--person", "P001", "--pii", "--purpose", "court request 2026-17", "--actor", "privacy-01",
                "--out", dir + "/b2", "--ledger", ledger)
            #expect(made.status == 0, "\(made.stderr)")
            let records = try jsonLines(dir + "/b2/records.jsonl")
            #expect(records.first?["pii"]?.objectValue?["name"] == .string("王芳"))
            let checked = try verifyBundle(dir + "/b2")
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
            #expect(
                try sunledger("export", "--pii", "--purpose", "annual backup", "--to-seq", "5", "--ledger", ledger)
                    .status == 0)
            #expect(
                try sunledger("history", "person-P001", "--purpose", "callback", "--ledger", ledger).stdout.contains(
                    "name=王**"))
            #expect(
                try sunledger("history", "person-P001", "--ledger", ledger).stdout.contains(
                    "give --purpose to see it masked"))

            let log = try sunledger("access-log", "--json", "--ledger", ledger).stdout.split(separator: "\n").map {
                try #require(try JSONParser.parse(Array($0.utf8)).objectValue)
            }
            #expect(
                log.map { $0["what"] } == [
                    .string("bundle --pii person-P001"), .string("export --pii seq 1–5"),
                    .string("history person-P001"),
                ])
            #expect(
                log.map { $0["purpose"] } == [
                    .string("court request 2026-17"), .string("annual backup"), .string("callback"),
                ])
            #expect(log.first?["who"] == .string("privacy-01"))
            #expect(log.map { $0["number"] } == [.integer(1), .integer(2), .integer(3)])
        }
    }

    @Test("bundle names what is wrong: no selection or two, a stream with no events, an --out that exists")
    func refusals() throws {
        try withScratch { dir in
            let ledger = try ledger(in: dir)
            #expect(try sunledger("bundle", "--out", dir + "/x", "--ledger", ledger).status == 2)
            #expect(
                try sunledger(
                    "bundle", "--person", "P1", "--stream", "case-C1", "--out", dir + "/x", "--ledger", ledger
                )
                .status == 2)
            let none = try sunledger("bundle", "--stream", "case-NONE", "--out", dir + "/x", "--ledger", ledger)
            #expect(none.status == 2)
            #expect(none.stderr.contains("case-NONE has no events"))
            let unnamed = try sunledger("bundle", "--stream", "C1", "--out", dir + "/x", "--ledger", ledger)
            #expect(unnamed.status == 2)
            #expect(unnamed.stderr.contains(#"--stream must be <kind>-<key>"#), "\(unnamed.stderr)")
            let oddPerson = try sunledger("bundle", "--person", "P 1", "--out", dir + "/x", "--ledger", ledger)
            #expect(oddPerson.status == 2)
            #expect(oddPerson.stderr.contains(#"--person must be a person's key"#), "\(oddPerson.stderr)")
            let beyond = try sunledger(
                "bundle", "--from-seq", "100000", "--to-seq", "100001", "--out", dir + "/x", "--ledger", ledger)
            #expect(beyond.stderr.contains("beyond the last record"))
            try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: true)
            let taken = try sunledger("bundle", "--person", "P001", "--out", dir + "/taken", "--ledger", ledger)
            #expect(taken.status == 2)
            #expect(taken.stderr.contains("already exists"))
        }
    }
}

import Foundation
import LedgerValues
import Testing

@Suite("erasure changes no figure")
struct ErasureFiguresTests {
    /// The `kpis` and `indices` of `kpi --json` for a ledger holding `lines`.
    func figures(_ lines: [String], in dir: String, name: String) throws -> [JSONValue?] {
        let file = dir + "/\(name).jsonl"
        try write(lines, to: file)
        let ledger = dir + "/\(name)"
        let imported = try sunledger("import", file, "--ledger", ledger)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        let document = try sunledger("kpi", "--as-of", "2024-12-31", "--json", "--ledger", ledger)
        #expect(document.status == 0, "\(document.stderr)")
        let object = try #require(
            try JSONParser.parse(document.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
        return [object["kpis"], object["indices"]]
    }

    @Test("every KPI is the same with and without a person's PersonPiiErased")
    func unchanged() throws {
        let all = try String(contentsOfFile: repositoryRoot + "/fixtures/catalogue/every-type.jsonl", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let erasures = all.filter { $0.contains("\"type\":\"PersonPiiErased\"") }
        #expect(erasures.count == 1)
        try withScratch { dir in
            let with = try figures(all, in: dir, name: "with")
            let without = try figures(all.filter { !erasures.contains($0) }, in: dir, name: "without")
            #expect(with == without)
            #expect(with[0] != nil)
        }
    }

    @Test("sunledger erase: the person's name and ID number are in no file of the ledger; chain and KPIs unchanged")
    func eraseHoldsOnDisk() throws {
        let fixture = repositoryRoot + "/fixtures/catalogue/every-type.jsonl"
        let personal = ["王芳", "310114198002290025", "13916205817"]
        try withScratch { dir in
            let ledger = dir + "/ledger"
            // The file's own erasure (P004's) removes the one record of personal data given before it.
            let imported = try sunledger("import", fixture, "--ledger", ledger)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(
                imported.stdout.contains(
                    "every-type.jsonl: 46 stored (seq 1–46), 0 duplicates, the personal data of 1 record erased"),
                "\(imported.stdout)")
            func kpis() throws -> [JSONValue?] {
                let run = try sunledger("kpi", "--as-of", "2024-12-31", "--json", "--ledger", ledger)
                let object = try #require(
                    try JSONParser.parse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue)
                return [object["kpis"], object["indices"]]
            }
            let before = try kpis()
            let exportBefore = try sunledger(
                "export", "--pii", "--purpose", "test of the round trip", "--ledger", ledger
            ).stdout
            for text in personal { #expect(exportBefore.contains(text), "the export holds \(text) before") }

            let erased = try sunledger(
                "erase", "P001", "--reason", "the person asked", "--actor", "privacy-01",
                "--ledger", ledger)
            #expect(erased.status == 0, "\(erased.stderr)")
            #expect(
                erased.stdout.contains("person-P001: personal data of 2 records erased (seq 47)"), "\(erased.stdout)")

            for file in try FileManager.default.contentsOfDirectory(atPath: ledger) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: ledger + "/" + file))
                for text in personal {
                    #expect(bytes.range(of: Data(text.utf8)) == nil, "\(file) holds \(text)")
                }
            }
            let exportAfter = try sunledger(
                "export", "--pii", "--purpose", "test of the round trip", "--ledger", ledger
            ).stdout
            for text in personal { #expect(!exportAfter.contains(text), "the export holds \(text) after") }
            // The 46 records before are what they were, less P001's personal data.
            func records(_ export: String) throws -> [String] {
                try export.split(separator: "\n").map { line in
                    var object = try #require(try JSONParser.parse(Array(line.utf8)).objectValue)
                    object["pii"] = nil
                    object["piiSalt"] = nil
                    return String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self)
                }
            }
            #expect(try records(exportBefore) == Array(try records(exportAfter).prefix(46)))
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
            #expect(try kpis() == before)
            let record = try sunledger("history", "person-P001", "--json", "--ledger", ledger).stdout
            #expect(record.contains(#""actor":"privacy-01""#) && record.contains(#""reason":"the person asked""#))
            // Asked again, the erasure is on the record, and it says the vault held nothing more.
            let again = try sunledger(
                "erase", "P001", "--reason", "asked again", "--actor", "privacy-01", "--ledger", ledger)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(
                again.stdout.contains(
                    "person-P001: erasure recorded (seq 48); the vault held no personal data of theirs"),
                "\(again.stdout)")
        }
    }

    @Test(
        "sunledger erase names what is wrong: an unknown person, a stream of another kind, a malformed id, an empty reason"
    )
    func eraseRefusals() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            let fixture = repositoryRoot + "/fixtures/catalogue/every-type.jsonl"
            #expect(try sunledger("import", fixture, "--ledger", ledger).status == 0)
            let unknown = try sunledger("erase", "P404", "--reason", "x", "--actor", "a", "--ledger", ledger)
            #expect(unknown.status == 1)
            #expect(
                unknown.stderr.contains(
                    "person: names no one in the ledger (person-P404 has no events), so there is nothing to erase\n"),
                "\(unknown.stderr)")
            let stream = try sunledger("erase", "case-C2022-0001", "--reason", "x", "--actor", "a", "--ledger", ledger)
            #expect(stream.status == 1)
            #expect(
                stream.stderr.contains("; case-C2022-0001 is the name of a case stream, not a person's"),
                "\(stream.stderr)")
            let malformed = try sunledger("erase", "P 1", "--reason", "x", "--actor", "a", "--ledger", ledger)
            #expect(malformed.status == 2)
            #expect(
                malformed.stderr.contains(#"the person must be given by their personId, such as P000123"#)
                    && malformed.stderr.contains(#"(got "P 1")"#), "\(malformed.stderr)")
            let empty = try sunledger("erase", "P001", "--reason", "", "--actor", "a", "--ledger", ledger)
            #expect(empty.status == 1)
            #expect(empty.stderr.contains("data.reason: must be 1–128 characters"))
        }
    }

    @Test("erasing a deregistered person today says how: date it at or before the closing, which then succeeds")
    func eraseAfterClosing() throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            let today = try sunledger("erase", "P2", "--reason", "the family asked", "--actor", "a", "--ledger", ledger)
            #expect(today.status == 1)
            #expect(
                today.stderr.contains(
                    "was closed on 2024-12-20; date the erasure on or before that day (--on YYYY-MM-DD"))
            let dated = try sunledger(
                "erase", "P2", "--reason", "the family asked", "--actor", "a", "--on", "2024-12-20", "--ledger", ledger)
            #expect(dated.status == 0, "\(dated.stderr)")
        }
    }
}

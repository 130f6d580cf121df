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
}

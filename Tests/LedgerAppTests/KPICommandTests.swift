import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues
import PropertyBased
import Testing

/// One directory of `fixtures/kpis/`: a ledger and the KPI documents it must give.
struct KPIFixture: Sendable, CustomTestStringConvertible {
    /// The directory's name, which names the rule it proves.
    let name: String

    var directory: String { KPIFixture.root + "/" + name }
    var events: String { directory + "/events.jsonl" }
    var testDescription: String { name }

    /// The expected documents, by file name.
    var expectedFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }

    static let root = repositoryRoot + "/fixtures/kpis"

    /// Every fixture, in name order.
    static let all: [KPIFixture] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/events.jsonl") }.sorted()
            .map(KPIFixture.init)
    }()
}

/// Where two JSON documents differ, as `path: expected … got …` lines. Numbers
/// are compared by value (0.5 and 0.50 are the same), integers and fractions
/// kept apart (a count must be an integer); object member order is ignored.
func jsonDifferences(_ expected: JSONValue, _ actual: JSONValue, at path: String = "$") -> [String] {
    switch (expected, actual) {
    case (.object(let e), .object(let a)):
        var differences: [String] = []
        for key in e.keys where a[key] == nil { differences.append("\(path).\(key): missing") }
        for key in a.keys where e[key] == nil { differences.append("\(path).\(key): not expected (\(a[key]!.quoted))") }
        for key in e.keys {
            if let value = a[key] { differences += jsonDifferences(e[key]!, value, at: "\(path).\(key)") }
        }
        return differences
    case (.array(let e), .array(let a)) where e.count == a.count:
        return zip(e, a).enumerated().flatMap { jsonDifferences($1.0, $1.1, at: "\(path)[\($0)]") }
    case (.number(let e), .number(let a)) where Double(e) != nil && Double(e) == Double(a):
        return []
    default:
        return expected == actual ? [] : ["\(path): expected \(expected.quoted), got \(actual.quoted)"]
    }
}

/// The arguments of the `kpi` query an expected document states: its asOf, and its knownAt or throughSeq.
private func queries(for expected: JSONObject) -> [[String]] {
    let asOf = expected["asOf"]!.stringValue!
    if let knownAt = expected["knownAt"]?.stringValue { return [["--as-of", asOf, "--known-at", knownAt]] }
    let seq = String(expected["throughSeq"]!.integerValue!)
    return [["--as-of", asOf], ["--as-of", asOf, "--through-seq", seq]]
}

/// Imports `file` into a new ledger in `dir`, requiring every line to be stored.
private func importedLedger(_ file: String, in dir: String) throws -> String {
    let ledger = dir + "/ledger"
    let imported = try sunledger("import", file, "--ledger", ledger)
    try #require(imported.status == 0, "\(file) must import: \(imported.stderr)")
    let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count
    try #require(imported.stdout.contains("\(lines) stored"), "every line is stored: \(imported.stdout)")
    return ledger
}

@Suite("sunledger kpi and caseload: the figures of kpis.md from the built command")
struct KPICommandTests {
    @Test("every rule has a fixture, and every fixture has expected documents, each with a .why note")
    func fixtureLayout() {
        #expect(KPIFixture.all.count >= 13)
        for fixture in KPIFixture.all {
            #expect(!fixture.expectedFiles.isEmpty, "\(fixture.name) has no expected document")
            for file in fixture.expectedFiles {
                let note = fixture.directory + "/" + file.dropLast(".json".count) + ".why"
                #expect(FileManager.default.fileExists(atPath: note), "\(fixture.name)/\(file) has no .why note")
            }
        }
    }

    @Test(
        "each fixture ledger imports and `kpi --json` gives exactly the documents worked out by hand",
        arguments: KPIFixture.all)
    func fixtureGivesItsDocuments(_ fixture: KPIFixture) throws {
        try withScratch { dir in
            let ledger = try importedLedger(fixture.events, in: dir)
            for file in fixture.expectedFiles {
                let text = try String(contentsOfFile: fixture.directory + "/" + file, encoding: .utf8)
                let expected = try JSONParser.parse(text)
                guard case .object(let object) = expected else {
                    Issue.record("\(fixture.name)/\(file) is not a JSON object")
                    continue
                }
                for query in queries(for: object) {
                    let result = try run(sunledgerPath, ["kpi", "--json", "--ledger", ledger] + query)
                    #expect(result.status == 0, "\(fixture.name)/\(file) \(query): \(result.stderr)")
                    guard result.status == 0 else { continue }
                    let actual = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
                    let differences = jsonDifferences(expected, actual)
                    #expect(
                        differences.isEmpty,
                        "\(fixture.name)/\(file) with \(query.joined(separator: " ")):\n\(differences.joined(separator: "\n"))"
                    )
                }
            }
        }
    }

    @Test("the worked example's table of kpis.md, figure by figure, at both known-at instants")
    func workedExampleTable() throws {
        try withScratch { dir in
            let ledger = try importedLedger(repositoryRoot + "/seeds/worked-example.jsonl", in: dir)
            func document(_ extra: String...) throws -> JSONObject {
                let result = try run(
                    sunledgerPath, ["kpi", "--json", "--ledger", ledger, "--as-of", "2024-12-31"] + extra)
                try #require(result.status == 0, "\(result.stderr)")
                return try #require(try JSONParser.parse(result.stdout).objectValue)
            }
            func kpi(_ document: JSONObject, _ id: String) -> JSONObject {
                document["kpis"]!.objectValue![id]!.objectValue!
            }
            func rate(_ document: JSONObject, _ id: String) -> String {
                let figure = kpi(document, id)
                return "\(figure["numerator"]!.quoted)/\(figure["denominator"]!.quoted)"
            }
            let early = try document("--known-at", "2025-01-15T00:00:00Z")
            let late = try document()
            #expect(early["throughSeq"] == .integer(7) && late["throughSeq"] == .integer(9))
            #expect(early["knownAt"] == .string("2025-01-15T00:00:00.000Z") && late["knownAt"] == .null)
            #expect(kpi(early, "registered_persons")["value"] == .integer(2))
            #expect(kpi(late, "registered_persons")["value"] == .integer(1))
            #expect(rate(early, "employment_rate") == "0/2" && rate(late, "employment_rate") == "0/1")
            #expect(rate(early, "rehab_coverage") == "1/1" && rate(late, "rehab_coverage") == "1/1")
            #expect(kpi(early, "rehab_coverage")["byUnit"]!.objectValue!.keys == ["anting"])
            #expect(kpi(late, "rehab_coverage")["byUnit"]!.objectValue!.keys == ["malu"])
            #expect(kpi(early, "elderly_mental_care_rate")["value"] == .null)
            #expect(kpi(late, "elderly_mental_care_rate")["value"] == .null)
            #expect(rate(early, "family_doctor_rate") == "0/2" && rate(late, "family_doctor_rate") == "0/1")
            for document in [early, late] {
                #expect(
                    document["indices"]
                        == .object(
                            JSONObject([
                                ("service", .number("25.0")), ("smart", .number("0.0")), ("open", .number("0.0")),
                                ("rule_of_law", .number("0.0")),
                            ])))
            }
        }
    }

    @Test("`kpi --json` is stable: the same query prints the same bytes, keys in kpis.md's order")
    func jsonIsStable() throws {
        try withScratch { dir in
            let ledger = try importedLedger(KPIFixture.root + "/prorated-targets/events.jsonl", in: dir)
            let first = try sunledger("kpi", "--json", "--as-of", "2024-02-29", "--ledger", ledger)
            let second = try sunledger("kpi", "--json", "--as-of", "2024-02-29", "--ledger", ledger)
            #expect(first.status == 0 && first.stdout == second.stdout)
            #expect(
                first.stdout.hasPrefix(
                    #"{"asOf":"2024-02-29","knownAt":null,"throughSeq":12,"kpis":{"registered_persons":{"value":1,"#))
            #expect(
                first.stdout.contains(
                    #""volunteer_minutes":{"value":960,"byUnit":{"anting":{"value":360},"malu":{"value":600}},"byAlliance":{"jiading":120,"kunshan":840},"partyMember":840}"#
                ))
            #expect(
                first.stdout.hasSuffix(#""indices":{"service":0.0,"smart":1.0,"open":33.4,"rule_of_law":50.8}}"# + "\n")
            )
            let ids = KPI.allCases.map { "\"\($0.rawValue)\":" }
            let positions = ids.map { first.stdout.range(of: $0)?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil } && positions.map { $0! } == positions.map { $0! }.sorted())
        }
    }

    @Test("the default output is a table: Chinese and English names, district value and target, units, indices")
    func readableTable() throws {
        try withScratch { dir in
            let ledger = try importedLedger(repositoryRoot + "/seeds/worked-example.jsonl", in: dir)
            let result = try sunledger(
                "kpi", "--as-of", "2024-12-31", "--known-at", "2025-01-15T00:00:00Z", "--ledger", ledger)
            #expect(result.status == 0, "\(result.stderr)")
            let text = result.stdout
            #expect(text.contains("as of 2024-12-31, known at 2025-01-15T00:00:00.000Z (through seq 7)"))
            #expect(text.contains("持证残疾人就业率") && text.contains("Employment rate of registered persons"))
            #expect(text.contains("0.0% (0/2)") && text.contains("50.0% (expected)"))
            #expect(text.contains("安亭镇") && text.contains("马陆镇"))
            #expect(text.contains("服务型") && text.contains("25.0"))
            let lines = text.split(separator: "\n")
            for id in ["持证残疾人数", "普法教育人次", "在册个案"] {
                #expect(lines.filter { $0.hasPrefix(id) }.count == 2, "\(id): once with the district, once by unit")
            }
        }
    }

    @Test("`caseload` lists the open cases by unit, service type and worker, a late reassignment included")
    func caseload() throws {
        try withScratch { dir in
            let ledger = try importedLedger(KPIFixture.root + "/case-reassigned/events.jsonl", in: dir)
            let everything = try sunledger("caseload", "--json", "--as-of", "2024-06-30", "--ledger", ledger)
            #expect(everything.status == 0, "\(everything.stderr)")
            let expected = try JSONParser.parse(
                #"{"asOf":"2024-06-30","knownAt":null,"throughSeq":6,"openCases":2,"byUnit":{"malu":{"openCases":2,"byServiceType":{"care":1,"rehab":1},"byWorker":{"w07":2}}},"byServiceType":{"care":1,"rehab":1},"byWorker":{"w07":2}}"#
            )
            #expect(jsonDifferences(expected, try JSONParser.parse(everything.stdout)) == [])

            let known = try sunledger(
                "caseload", "--json", "--as-of", "2024-06-30", "--known-at", "2024-07-01T00:00:00Z", "--ledger", ledger)
            let expectedKnown = try JSONParser.parse(
                #"{"asOf":"2024-06-30","knownAt":"2024-07-01T00:00:00.000Z","throughSeq":5,"openCases":2,"byUnit":{"anting":{"openCases":1,"byServiceType":{"rehab":1},"byWorker":{"w01":1}},"malu":{"openCases":1,"byServiceType":{"care":1},"byWorker":{"w07":1}}},"byServiceType":{"care":1,"rehab":1},"byWorker":{"w01":1,"w07":1}}"#
            )
            #expect(jsonDifferences(expectedKnown, try JSONParser.parse(known.stdout)) == [])

            let table = try sunledger("caseload", "--as-of", "2024-06-30", "--ledger", ledger)
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("Open cases as of 2024-06-30 (through seq 6): 2"))
            #expect(table.stdout.contains("马陆镇") && table.stdout.contains("w07"))
        }
    }

    @Test(
        "wrong options exit 2 and say what is wrong",
        arguments: [
            (["--as-of", "2024-02-30"], "--as-of must be a real date"),
            (["--as-of", "31/12/2024"], "--as-of must be a real date"),
            (["--known-at", "2025-01-15"], "--known-at must be an RFC 3339 instant"),
            (["--known-at", "2025-01-15T00:00:00Z", "--through-seq", "3"], "exclude each other"),
            (["--through-seq=-1"], "--through-seq must be 0 or more"),
            (["--through-seq", "-1"], "--through-seq must be 0 or more (got -1)"),
            (["--as-of", "2024-06-30", "--as-of=2024-12-31"], "--as-of is given more than once"),
            (["--json", "--json"], "--json is given more than once"),
            (["--ledger", "elsewhere"], "--ledger is given more than once"),
            (["--through-seq", "many"], "through-seq"),
        ])
    func wrongOptions(_ arguments: [String], _ message: String) throws {
        try withScratch { dir in
            let ledger = try importedLedger(repositoryRoot + "/seeds/worked-example.jsonl", in: dir)
            for command in ["kpi", "caseload"] {
                let result = try run(sunledgerPath, [command, "--ledger", ledger] + arguments)
                #expect(result.status == 2, "\(command) \(arguments): \(result.stderr)")
                #expect(result.stderr.contains(message), "\(command) \(arguments): \(result.stderr)")
            }
        }
    }

    @Test("--ledger before the command's name and again after it is wrong usage, not the second ledger read alone")
    func ledgerGivenTwice() throws {
        try withScratch { dir in
            let ledger = try importedLedger(repositoryRoot + "/seeds/worked-example.jsonl", in: dir)
            for command in [["verify"], ["digest"], ["kpi"], ["import", "-"]] {
                let result = try run(
                    sunledgerPath, ["--ledger", ledger, command[0], "--ledger", dir + "/other"] + command.dropFirst())
                #expect(result.status == 2, "\(command): \(result.stderr)")
                #expect(result.stderr.contains("--ledger is given more than once"), "\(command): \(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/other"))
        }
    }

    @Test("a target changed in seeds/kpis.json changes the indices with no rebuild; a malformed file is refused")
    func targetsAreReferenceData() throws {
        try withScratch { dir in
            let ledger = try importedLedger(KPIFixture.root + "/zero-denominator/events.jsonl", in: dir)
            let shipped = try String(contentsOfFile: repositoryRoot + "/seeds/kpis.json", encoding: .utf8)
            let seeds = dir + "/seeds"
            try FileManager.default.createDirectory(atPath: seeds, withIntermediateDirectories: true)

            // 120 attendees against 6,000 is 2.0; against 600, 20.0.
            let changed = shipped.replacingOccurrences(
                of: #""target": 6000, "targetType": "expected""#, with: #""target": 600, "targetType": "expected""#)
            #expect(changed != shipped)
            try changed.write(toFile: seeds + "/kpis.json", atomically: true, encoding: .utf8)
            let arguments = ["kpi", "--json", "--as-of", "2024-12-31", "--ledger", ledger]
            let before = try run(sunledgerPath, arguments)
            let after = try run(sunledgerPath, arguments, environment: ["SUNLEDGER_SEEDS": seeds])
            #expect(before.stdout.contains(#""rule_of_law":2.0}"#), "\(before.stdout)")
            #expect(after.stdout.contains(#""rule_of_law":20.0}"#), "\(after.stdout)")

            for (broken, complaint) in [
                (
                    shipped.replacingOccurrences(
                        of: #""target": 0.95, "targetType": "binding"}"#,
                        with: #""target": 95, "targetType": "binding"}"#), "target must be a fraction > 0 and ≤ 1"
                ),
                (
                    shipped.replacingOccurrences(
                        of: #""id": "legal_education_attendees""#, with: #""id": "legal_education""#),
                    "\"legal_education\" is not a KPI"
                ),
                (String(shipped.dropLast(4)), "is not JSON"),
            ] {
                try broken.write(toFile: seeds + "/kpis.json", atomically: true, encoding: .utf8)
                let refused = try run(sunledgerPath, arguments, environment: ["SUNLEDGER_SEEDS": seeds])
                #expect(refused.status != 0 && refused.stdout.isEmpty)
                #expect(
                    refused.stderr.contains("seeds/kpis.json") && refused.stderr.contains(complaint),
                    "\(refused.stderr)")
            }
        }
    }

    @Test(
        "property (fixed seeds): the figures through seq N, or known at the N-th recordedAt, are those of a ledger holding only the first N records",
        arguments: [UInt64(0x4B50_0001), 0x4B50_0002, 0x4B50_0003])
    func prefixesAreLedgers(seed: UInt64) throws {
        var random = seededGenerator(seed, salt: 0xA5A5_5A5A)
        let history = RandomHistory.make(events: 160, using: &random)
        try withScratch { dir in
            let all = dir + "/all.jsonl"
            try write(history.lines, to: all)
            let full = try Ledger(path: dir + "/full", create: true)
            _ = try Importer(ledger: full).importFile(all)
            let fullReport = try KPIReport(ledger: full)

            var prefixes: Set<Int> = [0, history.lines.count]
            while prefixes.count < 6 { prefixes.insert(Int.random(in: 1..<history.lines.count, using: &random)) }
            for n in prefixes.sorted() {
                let file = dir + "/first-\(n).jsonl"
                try write(Array(history.lines.prefix(n)), to: file)
                let prefix = try Ledger(path: dir + "/first-\(n)", create: true)
                if n > 0 { _ = try Importer(ledger: prefix).importFile(file) }
                let prefixReport = try KPIReport(ledger: prefix)
                for day in history.asOfDays(using: &random) {
                    let whole = try prefixReport.document(asOf: day, limit: .everything)
                    let throughSeq = try fullReport.document(asOf: day, limit: .throughSeq(Int64(n)))
                    #expect(whole.throughSeq == Int64(n))
                    #expect(throughSeq.json == whole.json, "seed \(seed), N \(n), D \(day)")
                    guard n > 0 else { continue }
                    let known = try fullReport.document(asOf: day, limit: .knownAt(history.recordedAt[n - 1]))
                    #expect(known.throughSeq == Int64(n))
                    #expect(
                        known.figures == whole.figures && known.indices == whole.indices,
                        "seed \(seed), N \(n), D \(day)")
                    #expect(
                        try fullReport.caseload(asOf: day, limit: .throughSeq(Int64(n)))
                            == prefixReport.caseload(asOf: day, limit: .everything))
                }
            }
        }
    }
}

/// What `tools/kpi-reference --compare` finds wrong in the document `sunledger`
/// prints for `arguments` (a command and its query) on `ledger`; nil when every
/// figure agrees.
private func referenceDifferences(
    _ ledger: String, export: String, _ arguments: [String], in dir: String
) throws -> String? {
    let document = dir + "/\(arguments[0]).json"
    let figures = try run(sunledgerPath, arguments + ["--ledger", ledger])
    try #require(figures.status == 0, "\(arguments): \(figures.stderr)")
    try figures.stdout.write(toFile: document, atomically: true, encoding: .utf8)
    let reference = try run(
        "/usr/bin/env", ["python3", repositoryRoot + "/tools/kpi-reference", "--compare", document, export])
    return reference.status == 0 && reference.stdout.contains("every figure agrees")
        ? nil : "\(arguments.joined(separator: " ")):\n\(reference.stdout)\(reference.stderr)"
}

/// Exports `ledger` and holds every document `sunledger` prints for `documents`
/// (each a command and its query) to `tools/kpi-reference` over that export,
/// recording an issue (after `label`) for each that differs.
private func expectReferenceAgrees(
    _ ledger: String, _ documents: [[String]], in dir: String, label: String = ""
) throws {
    let export = try sunledger("export", "--ledger", ledger)
    try #require(export.status == 0, "\(export.stderr)")
    try export.stdout.write(toFile: dir + "/export.jsonl", atomically: true, encoding: .utf8)
    for arguments in documents {
        if let found = try referenceDifferences(ledger, export: dir + "/export.jsonl", arguments, in: dir) {
            Issue.record(Comment(rawValue: label + found))
        }
    }
}

@Suite("the figures, restatements and returns against an independent reading (tools/kpi-reference)")
struct KPIReferenceTests {
    @Test(
        "a generated district: every figure, the caseload, restatements and the year-end returns, for year ends, a leap day, mid-year dates and past instants"
    )
    func generatedDistrict() throws {
        try withScratch { dir in
            let generated = try sunledger("generate", "--persons", "300", "--seed", "11", "--to", "2025")
            try #require(generated.status == 0)
            try generated.stdout.write(toFile: dir + "/district.jsonl", atomically: true, encoding: .utf8)
            let ledger = try importedLedger(dir + "/district.jsonl", in: dir)
            let queries: [[String]] = [
                ["--as-of", "2015-12-31"], ["--as-of", "2016-12-31"], ["--as-of", "2020-02-29"],
                ["--as-of", "2022-07-15"], ["--as-of", "2025-12-31"],
                ["--as-of", "2019-12-31", "--known-at", "2020-01-10T00:00:00Z"],
                ["--as-of", "2023-06-30", "--known-at", "2023-07-01T08:30:00+08:00"],
                ["--as-of", "2024-12-31", "--through-seq", "3000"],
            ]
            let returns: [[String]] = [
                ["--year", "2016"], ["--year", "2020"], ["--year", "2025"],
                ["--year", "2019", "--known-at", "2020-01-10T00:00:00Z"],
                ["--year", "2023", "--known-at", "2024-02-01T00:00:00+08:00"],
            ]
            let restatements: [[String]] = [
                [
                    "--as-of", "2019-06-30", "--known-at", "2019-07-01T00:00:00+08:00", "--known-at",
                    "2019-07-20T00:00:00+08:00",
                ],
                ["--as-of", "2020-12-31", "--known-at", "2021-01-10T00:00:00Z", "--known-at", "2021-03-01T00:00:00Z"],
            ]
            let documents =
                queries.flatMap { [["kpi", "--json"] + $0, ["caseload", "--json"] + $0] }
                + returns.map { ["report", "--format", "json"] + $0 }
                + restatements.map { ["restatement", "--json"] + $0 }
            try expectReferenceAgrees(ledger, documents, in: dir)
        }
    }

    @Test(
        "random histories (fixed seeds), late reports among them: every figure at every as-of date and prefix tried, restatements, and every year's returns",
        arguments: [UInt64(0x4B52_0001), 0x4B52_0002, 0x4B52_0003])
    func randomHistories(seed: UInt64) throws {
        var random = seededGenerator(seed, salt: 0xA5A5_5A5A)
        let history = RandomHistory.make(events: 200, using: &random)
        try withScratch { dir in
            try write(history.lines, to: dir + "/history.jsonl")
            let ledger = try importedLedger(dir + "/history.jsonl", in: dir)
            var documents: [[String]] = []
            for day in history.asOfDays(using: &random) {
                let n = Int.random(in: 1...history.lines.count, using: &random)
                for query in [
                    ["--as-of", day.description],
                    ["--as-of", day.description, "--through-seq", String(n)],
                    ["--as-of", day.description, "--known-at", history.recordedAt[n - 1].description],
                ] {
                    documents.append(["kpi", "--json"] + query)
                }
            }
            // A restatement between two random instants, as of a random day.
            for day in history.asOfDays(using: &random).prefix(3) {
                let (a, b) = (
                    Int.random(in: 1...history.lines.count, using: &random),
                    Int.random(in: 1...history.lines.count, using: &random)
                )
                guard a != b else { continue }
                documents.append([
                    "restatement", "--json", "--as-of", day.description,
                    "--known-at", history.recordedAt[min(a, b) - 1].description,
                    "--known-at", history.recordedAt[max(a, b) - 1].description,
                ])
            }
            // The returns of every year the history spans, as known at its end and at a random instant.
            for year in history.first.year...history.last.year {
                let n = Int.random(in: 1...history.lines.count, using: &random)
                documents.append(["report", "--format", "json", "--year", String(year)])
                documents.append([
                    "report", "--format", "json", "--year", String(year),
                    "--known-at", history.recordedAt[n - 1].description,
                ])
            }
            try expectReferenceAgrees(ledger, documents, in: dir, label: "seed \(seed): ")
        }
    }
}

/// A random history that `sunledger import` accepts: every stream kind and
/// most types, late reports among them, recordedAt strictly rising one event
/// after another.
struct RandomHistory {
    var lines: [String] = []
    var recordedAt: [Instant] = []
    var first = LocalDate(year: 2022, month: 1, day: 1)!
    var last = LocalDate(year: 2022, month: 1, day: 1)!

    private struct Stream {
        let opened: LocalDate
        var latest: LocalDate
        var closed: LocalDate?
        var openEmployments: [(id: String, start: LocalDate)] = []
        var employments = 0
    }

    private var streams: [String: Stream] = [:]
    private var today = LocalDate(year: 2022, month: 1, day: 1)!
    private var clock: Int64 = 0
    private var counter = 0

    private static let units = ["anting", "malu", "nanxiang", "jiangqiao"]

    /// The as-of dates to try: a few inside the history, year ends, and one before it.
    func asOfDays(using random: inout Xoshiro) -> [LocalDate] {
        let span = first.days(until: last)
        return [
            first.adding(days: -1), last, LocalDate(year: 2022, month: 12, day: 31)!,
            first.adding(days: Int.random(in: 0...span, using: &random)),
            first.adding(days: Int.random(in: 0...span, using: &random)),
        ]
    }

    static func make(events: Int, using random: inout Xoshiro) -> RandomHistory {
        var history = RandomHistory()
        while history.lines.count < events { history.step(&random) }
        history.last = history.today
        return history
    }

    private func keys(of kind: String, open: Bool) -> [String] {
        streams.filter { $0.key.hasPrefix(kind + "-") && (!open || $0.value.closed == nil) }.keys.sorted()
    }

    /// A date for a new event of `stream`: today, or a late report up to 40 days back, never before its
    /// opener and never after its closer.
    private func date(for stream: Stream, _ random: inout Xoshiro) -> LocalDate {
        var day = Bool.random(using: &random) ? today : today.adding(days: -Int.random(in: 0...40, using: &random))
        day = max(day, stream.opened)
        if let closed = stream.closed { day = min(day, closed) }
        return day
    }

    private mutating func emit(
        _ stream: String, _ type: String, _ day: LocalDate, _ unit: String, _ data: String, pii: String? = nil
    ) {
        counter += 1
        clock += 1
        // 02:00 UTC is 10:00 in Shanghai: today's local date, so no event is dated after its recordedAt.
        let instant = Instant.startOfLocalDay(today).adding(milliseconds: 10 * 3_600_000 + clock * 1000)
        recordedAt.append(instant)
        var line =
            #"{"id":"h\#(counter)","stream":"\#(stream)","type":"\#(type)","occurredAt":"\#(day)","recordedAt":"\#(instant)","actor":"staff-001","orgUnit":"\#(unit)","data":\#(data)"#
        if let pii { line += #","pii":\#(pii)"# }
        lines.append(line + "}")
        if var known = streams[stream] {
            known.latest = max(known.latest, day)
            streams[stream] = known
        } else {
            streams[stream] = Stream(opened: day, latest: day)
        }
    }

    private mutating func step(_ random: inout Xoshiro) {
        if Int.random(in: 0..<4, using: &random) == 0 {
            today = today.adding(days: Int.random(in: 1...9, using: &random))
        }
        let unit = RandomHistory.units.randomElement(using: &random)!
        let persons = keys(of: "person", open: false)
        let choice = persons.isEmpty ? 0 : Int.random(in: 0..<14, using: &random)
        switch choice {
        case 0, 1:
            let key = "person-P\(counter)"
            let birth = LocalDate(
                year: Int.random(in: 1950...2010, using: &random), month: Int.random(in: 1...12, using: &random),
                day: Int.random(in: 1...28, using: &random))!
            let day = today.adding(days: -Int.random(in: 0...20, using: &random))
            let male = Bool.random(using: &random)
            var digits = Array("310114".utf8)
            birth.write(into: &digits)
            digits.removeAll { $0 == UInt8(ascii: "-") }
            digits += Array(String(format: "%02d", Int.random(in: 0...99, using: &random)).utf8)
            digits.append(UInt8(ascii: "0") + UInt8(male ? 1 : 2))
            let id = String(decoding: digits, as: UTF8.self) + String(IDNumber.checkCharacter(for: digits)!)
            let category = DisabilityCategory.allCases.randomElement(using: &random)!.rawValue
            emit(
                key, "PersonRegistered", max(day, birth), unit,
                #"{"sex":"\#(male ? "M" : "F")","birthDate":"\#(birth)","category":"\#(category)","grade":\#(Int.random(in: 1...4, using: &random)),"residence":"\#(unit)"}"#,
                pii: #"{"name":"张三","idNumber":"\#(id)"}"#)
        case 2...7:
            let key = persons.randomElement(using: &random)!
            var stream = streams[key]!
            let day = date(for: stream, &random)
            let simple: [(String, String)] = [
                ("PersonMoved", #"{"residence":"\#(unit)"}"#),
                ("PersonReassessed", #"{"category":"mental","grade":2}"#),
                (
                    "NeedsAssessed",
                    #"{"workCapacity":"\#(["full", "partial", "none"].randomElement(using: &random)!)","inEducation":\#(Int.random(in: 0..<5, using: &random) == 0),"needs":["rehab","assistive_device"]}"#
                ),
                ("TrainingCompleted", #"{"programme":"smart_skills","hours":4}"#),
                ("RehabServiceDelivered", #"{"serviceKind":"other"}"#),
                ("AssistiveDeviceFitted", #"{"deviceKind":"wheelchair"}"#),
                ("HomeModificationCompleted", #"{"programme":"other","costYuan":100}"#),
                ("HealthCheckCompleted", "{}"), ("FamilyDoctorContracted", "{}"), ("FamilyDoctorContractEnded", "{}"),
                ("CareEnrolled", #"{"facility":"养护院"}"#), ("CareEnded", "{}"),
            ]
            switch Int.random(in: 0..<16, using: &random) {
            case 0..<12:
                let (type, data) = simple.randomElement(using: &random)!
                emit(key, type, day, unit, data)
            case 12, 13:
                stream.employments += 1
                let id = "e\(stream.employments)"
                stream.openEmployments.append((id, day))
                streams[key] = stream
                emit(
                    key, "EmploymentStarted", day, unit,
                    #"{"employmentId":"\#(id)","form":"flexible","employer":"某公司"}"#)
            case 14:
                guard let job = stream.openEmployments.first else { return }
                let end = max(day, job.start)
                if let closed = stream.closed, end > closed { return }
                stream.openEmployments.removeFirst()
                streams[key] = stream
                emit(key, "EmploymentEnded", end, unit, #"{"employmentId":"\#(job.id)","reason":"resigned"}"#)
            default:
                guard stream.closed == nil else { return }
                let end = max(stream.latest, date(for: stream, &random))
                streams[key]!.closed = end
                emit(key, "PersonDeregistered", end, unit, #"{"reason":"deceased"}"#)
            }
        case 8:
            let person = String(persons.randomElement(using: &random)!.dropFirst("person-".count))
            let type = CaseServiceType.allCases.randomElement(using: &random)!.rawValue
            emit(
                "case-K\(counter)", "CaseOpened", today.adding(days: -Int.random(in: 0...10, using: &random)), unit,
                #"{"personId":"\#(person)","serviceType":"\#(type)","worker":"w\#(Int.random(in: 1...4, using: &random))"}"#
            )
        case 9:
            guard let key = keys(of: "case", open: true).randomElement(using: &random) else { return }
            let stream = streams[key]!
            if Bool.random(using: &random) {
                emit(key, "CaseReassigned", date(for: stream, &random), unit, #"{"worker":"w9","unit":"\#(unit)"}"#)
            } else {
                let end = max(stream.latest, date(for: stream, &random))
                streams[key]!.closed = end
                emit(key, "CaseClosed", end, unit, #"{"outcome":"resolved"}"#)
            }
        case 10:
            if let key = keys(of: "call", open: true).randomElement(using: &random), Bool.random(using: &random) {
                let stream = streams[key]!
                let end = max(stream.latest, stream.opened.adding(days: Int.random(in: 0...6, using: &random)))
                guard end <= today else { return }
                streams[key]!.closed = end
                emit(key, "CallResolved", end, unit, #"{"satisfied":\#(Bool.random(using: &random))}"#)
            } else {
                let channel = CallChannel.allCases.randomElement(using: &random)!.rawValue
                emit("call-C\(counter)", "CallReceived", today, unit, #"{"topic":"policy","channel":"\#(channel)"}"#)
            }
        case 11:
            if let key = keys(of: "rights", open: true).randomElement(using: &random), Bool.random(using: &random) {
                let stream = streams[key]!
                let end = max(stream.latest, stream.opened.adding(days: Int.random(in: 10...20, using: &random)))
                guard end <= today else { return }
                streams[key]!.closed = end
                emit(key, "RightsCaseClosed", end, unit, #"{"resolution":"resolved"}"#)
            } else {
                emit("rights-R\(counter)", "RightsCaseOpened", today, unit, #"{"kind":"complaint"}"#)
            }
        case 12:
            let projects = keys(of: "project", open: true)
            guard let key = projects.randomElement(using: &random), Int.random(in: 0..<3, using: &random) > 0 else {
                emit(
                    "project-J\(counter)", "ProjectLaunched", today, unit,
                    #"{"title":"项目","operator":"某机构","category":"rehab","budgetYuan":1000}"#)
                return
            }
            let stream = streams[key]!
            let day = date(for: stream, &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0, 1:
                let year = day.year - Int.random(in: 0...1, using: &random)
                emit(key, "ProjectEvaluated", day, unit, #"{"year":\#(year),"score":70}"#)
            case 2:
                emit(
                    key, "ProjectAdopted", day, unit,
                    #"{"company":"某企业","amountYuan":\#(Int.random(in: 1...90_000, using: &random))}"#)
            default:
                let end = max(stream.latest, day)
                streams[key]!.closed = end
                emit(key, "ProjectEliminated", end, unit, #"{"reason":"评估不合格"}"#)
            }
        default:
            if Int.random(in: 0..<4, using: &random) == 0 {
                let key = "org-\(unit)"
                let day = streams[key].map { date(for: $0, &random) } ?? today
                emit(
                    key, "LegalEducationHeld", day, unit,
                    #"{"attendees":\#(Int.random(in: 1...200, using: &random)),"topic":"普法"}"#)
            } else if let key = keys(of: "volunteer", open: false).randomElement(using: &random),
                Bool.random(using: &random)
            {
                emit(
                    key, "VolunteerServiceLogged", date(for: streams[key]!, &random), unit,
                    #"{"minutes":\#(Int.random(in: 1...300, using: &random)),"activity":"陪伴"}"#)
            } else {
                let alliance = Alliance.allCases.randomElement(using: &random)!.rawValue
                emit(
                    "volunteer-V\(counter)", "VolunteerRegistered", today, unit,
                    #"{"partyMember":\#(Bool.random(using: &random)),"alliance":"\#(alliance)"}"#)
            }
        }
    }
}

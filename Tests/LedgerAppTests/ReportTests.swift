import EventStore
import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

/// `fixtures/report/`: a small ledger across two units and the 2024/2025
/// boundary, and the CSV files of its 2024 returns as known at 2025-01-15.
private enum ReportFixture {
    static let root = repositoryRoot + "/fixtures/report"
    static let events = root + "/events.jsonl"
    static let knownAt = "2025-01-15T00:00:00Z"
    static let expected = root + "/2024-known-at-2025-01-15"
}

/// Imports `file` into a new ledger in `dir` and returns the ledger's path.
private func ledger(from file: String, in dir: String) throws -> String {
    let path = dir + "/ledger"
    let imported = try sunledger("import", file, "--ledger", path)
    try #require(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
    return path
}

/// The returns of one run as JSON: the stamp and a reader of cells.
private struct ReturnsDocument {
    let stamp: JSONObject
    let tables: [String: JSONObject]

    init(_ text: String) throws {
        let document = try #require(try JSONParser.parse(text).objectValue)
        stamp = try #require(document["stamp"]?.objectValue)
        guard case .array(let list)? = document["tables"] else { throw ReportTestError("no tables") }
        var tables: [String: JSONObject] = [:]
        for table in list {
            let object = try #require(table.objectValue)
            tables[try #require(object["name"]?.stringValue)] = object
        }
        self.tables = tables
    }

    /// The integer in column `key` of the row whose codes are `codes`, in table `name`.
    func count(_ name: String, _ codes: [String], _ key: String) throws -> Int64 {
        let table = try #require(tables[name], "no table \(name)")
        guard case .array(let columns)? = table["columns"], case .array(let rows)? = table["rows"] else {
            throw ReportTestError("\(name) has no columns or rows")
        }
        let keys = columns.map { $0.objectValue?["key"]?.stringValue ?? "" }
        let codeColumns = keys.indices.filter { keys[$0].hasSuffix("Code") }
        let column = try #require(keys.firstIndex(of: key), "\(name) has no column \(key)")
        for case .array(let row) in rows where codeColumns.map({ row[$0].stringValue ?? "" }) == codes {
            return try #require(row[column].integerValue, "\(name) \(codes) \(key) is not an integer")
        }
        throw ReportTestError("\(name) has no row \(codes)")
    }
}

private struct ReportTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("year-end statistical returns (sunledger report)")
struct ReportTests {
    @Test(
        "the fixture's 2024 returns known at 2025-01-15 are exactly the expected CSV files, and the manifest names them"
    )
    func fixtureGivesItsTables() throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            let out = dir + "/returns"
            let result = try sunledger(
                "report", "--year", "2024", "--known-at", ReportFixture.knownAt, "--format", "csv", "--out", out,
                "--ledger", path)
            #expect(result.status == 0, "\(result.stderr)")
            let expectedNames = try FileManager.default.contentsOfDirectory(atPath: ReportFixture.expected).sorted()
            let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            #expect(written == (expectedNames + [ComplianceReport.manifestName]).sorted())
            #expect(expectedNames.count == 14)
            for name in expectedNames {
                let expected = try Data(contentsOf: URL(fileURLWithPath: ReportFixture.expected + "/" + name))
                // The stamp row (the second) names the ledger's hashes, which vary with
                // the random salts of the personal data: the manifest test checks it.
                var rows = try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)).split(
                    separator: 0x0A, omittingEmptySubsequences: false)
                #expect(rows[1].starts(with: Array("统计标记 stamp,".utf8)), "\(name)")
                rows.remove(at: 1)
                let actual = Data(rows.joined(separator: [0x0A]))
                #expect(
                    actual == expected,
                    "\(name) differs:\n\(String(decoding: actual, as: UTF8.self))")
            }
        }
    }

    @Test("events dated in the next year, or recorded after --known-at, do not count; recorded by then, they do")
    func nextYearAndLateRecords() throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            func returns(_ extra: String...) throws -> ReturnsDocument {
                let result = try run(
                    sunledgerPath, ["report", "--year", "2024", "--format", "json", "--ledger", path] + extra)
                try #require(result.status == 0, "\(result.stderr)")
                return try ReturnsDocument(result.stdout)
            }
            let known = try returns("--known-at", ReportFixture.knownAt)
            let everything = try returns()
            // 66 of the 69 records were recorded by 2025-01-15; the last three after it.
            #expect(known.stamp["throughSeq"]?.integerValue == 66)
            #expect(everything.stamp["throughSeq"]?.integerValue == 69)
            #expect(known.stamp["knownAt"]?.stringValue == "2025-01-15T00:00:00.000Z")
            #expect(everything.stamp["knownAt"] == .null)

            for document in [known, everything] {
                // Dated in 2025: a registration, a placement, an adoption, volunteer minutes, a legal-education session, a call's
                // resolution and a case's closing.
                #expect(try document.count("01-population", ["anting", "speech", "3"], "registeredPersons") == 0)
                #expect(try document.count("02-employment", ["all", "self_employed"], "placementsStarted") == 0)
                #expect(try document.count("06a-projects", ["rehab"], "adoptionYuan") == 50_000)
                #expect(try document.count("06b-volunteers", ["jiading"], "minutesInYear") == 180)
                #expect(try document.count("07b-legal-education", ["anting"], "attendees") == 50)
                #expect(try document.count("05-call-centre", ["policy", "one_network"], "resolved") == 0)
                #expect(try document.count("04-caseload", ["malu", "employment"], "openAtYearEnd") == 1)
                // A death dated 20 December, recorded on 10 January, is known at both.
                #expect(try document.count("01-population", ["malu", "physical", "2"], "registeredPersons") == 0)
            }
            // Recorded after 2025-01-15: P1's move to Malu dated 1 November, the
            // closing of case C4 dated 30 December, a session for P3 dated 15 December.
            #expect(try known.count("01-population", ["anting", "physical", "3"], "registeredPersons") == 1)
            #expect(try everything.count("01-population", ["anting", "physical", "3"], "registeredPersons") == 0)
            #expect(try everything.count("01-population", ["malu", "physical", "3"], "registeredPersons") == 1)
            #expect(try known.count("04-caseload", ["anting", "assistive_device"], "openAtYearEnd") == 1)
            #expect(try known.count("04-caseload", ["anting", "assistive_device"], "closedWithdrawn") == 0)
            #expect(try everything.count("04-caseload", ["anting", "assistive_device"], "openAtYearEnd") == 0)
            #expect(try everything.count("04-caseload", ["anting", "assistive_device"], "closedWithdrawn") == 1)
            // P5's session dated 2025 never counts; P1's two of 2024 follow P1 to Malu.
            #expect(try known.count("03a-rehabilitation", ["malu", "physical_therapy"], "servicesDelivered") == 0)
            #expect(try everything.count("03a-rehabilitation", ["malu", "physical_therapy"], "servicesDelivered") == 2)
            #expect(try known.count("03a-rehabilitation", ["malu", "psychiatric_support"], "personsServed") == 0)
            #expect(try everything.count("03a-rehabilitation", ["malu", "psychiatric_support"], "personsServed") == 1)
        }
    }

    @Test(
        "a CSV file starts with a byte-order mark, ends every row with CRLF, and quotes a field holding a comma or a quote"
    )
    func csvBytes() throws {
        let table = ReturnTable(
            name: "test", title: Label(chinese: "测试", english: "test"),
            columns: [ReturnColumn("unitCode", "街镇代码", "unit code"), ReturnColumn("operator", "运营方", "operator")],
            rows: [
                [.text("anting"), .text(#"嘉定"阳光", 助残中心"#)],
                [.text("malu"), .count(42)],
                [.text("all"), .share(nil)],
            ])
        let expected =
            [0xEF, 0xBB, 0xBF]
            + Array(
                "街镇代码 unit code,运营方 operator\r\nanting,\"嘉定\"\"阳光\"\", 助残中心\"\r\nmalu,42\r\nall,\r\n".utf8)
        #expect(table.csv == expected)
        #expect(csvField("a\nb") == "\"a\nb\"")
        #expect(csvField("安亭镇") == "安亭镇")
    }

    @Test(
        "the manifest holds the SHA-256 and size of every file written, the stamp names the ledger's record and Merkle root, and every CSV file carries it"
    )
    func manifestMatchesFiles() throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            for (format, arguments) in [("csv", ["--known-at", ReportFixture.knownAt]), ("json", [])] {
                let out = dir + "/returns-" + format
                let result = try run(
                    sunledgerPath,
                    ["report", "--year", "2024", "--format", format, "--out", out, "--ledger", path] + arguments)
                try #require(result.status == 0, "\(result.stderr)")
                let manifest = try #require(
                    try JSONParser.parse(
                        Array(try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json")))
                    ).objectValue)
                guard case .array(let files)? = manifest["files"] else { throw ReportTestError("no files") }
                var listed: [String] = []
                for file in files {
                    let entry = try #require(file.objectValue)
                    let name = try #require(entry["name"]?.stringValue)
                    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)))
                    #expect(entry["sha256"]?.stringValue == Hex.encode(sha256(bytes)), "\(name)")
                    #expect(entry["bytes"]?.integerValue == Int64(bytes.count), "\(name)")
                    listed.append(name)
                }
                let present = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0 != "manifest.json" }
                #expect(listed.sorted() == present.sorted())
                #expect(listed.count == (format == "csv" ? 14 : 1))

                let stamp = try #require(manifest["stamp"]?.objectValue)
                let seq = try #require(stamp["throughSeq"]?.integerValue)
                let ledger = try Ledger(path: path, create: false)
                let record = try #require(try ledger.log.record(at: seq))
                #expect(stamp["headHash"]?.stringValue == Hex.encode(record.hash))
                #expect(stamp["recordedAt"]?.stringValue == record.record.recordedAt.description)
                let root = try ledger.log.merkleProofs { try $0.root(size: seq) }
                #expect(stamp["merkleRoot"]?.stringValue == Hex.encode(root))
                #expect(stamp["kpiCatalogueVersion"]?.integerValue == (try KPIReport.loadCatalogue()).version)
                #expect(stamp["programVersion"]?.stringValue == LedgerStamp.currentProgramVersion)
                #expect(stamp["year"]?.integerValue == 2024 && stamp["asOf"]?.stringValue == "2024-12-31")
                if format == "csv" {
                    // Each file carries its title and the same stamp in its first two rows.
                    for name in listed {
                        let text = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
                        let rows = text.components(separatedBy: "\r\n")
                        #expect(rows[0].hasSuffix(",2024年度 year 2024"), "\(name)")
                        let fields = rows[1].split(separator: ",").map(String.init)
                        #expect(fields.first == "统计标记 stamp", "\(name)")
                        #expect(fields.contains("截至记录 through seq \(seq)"), "\(name)")
                        #expect(fields.contains("记录哈希 head hash \(Hex.encode(record.hash))"), "\(name)")
                        #expect(fields.contains("默克尔根 Merkle root \(Hex.encode(root))"), "\(name)")
                        #expect(fields.contains("知悉时点 known at 2025-01-15T00:00:00.000Z"), "\(name)")
                        #expect(fields.last == "程序 program sunledger \(LedgerStamp.currentProgramVersion)", "\(name)")
                    }
                }
                if format == "json" {
                    // Everything known: the stamp is the ledger's digest.
                    let digest = try ledger.digest()
                    #expect(seq == digest.seq && stamp["merkleRoot"]?.stringValue == digest.merkleRoot.map(Hex.encode))
                    let document = try ReturnsDocument(
                        String(
                            decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/report.json")), as: UTF8.self))
                    #expect(document.stamp == stamp)
                }
            }
        }
    }

    @Test(
        "tools/verify-export --returns ties the returns to an export: every file as its manifest lists it, the stamp a digest of the export; a changed figure or a shorter export is named"
    )
    func returnsVerifiedAgainstAnExport() throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            let export = try run(sunledgerPath, ["export", "--ledger", path, "--out", dir + "/export.jsonl"])
            try #require(export.status == 0, "\(export.stderr)")
            func verify(_ returns: String, _ exportFile: String = dir + "/export.jsonl") throws -> Run {
                try run(
                    "/usr/bin/env",
                    ["python3", repositoryRoot + "/tools/verify-export", "--returns", returns, exportFile])
            }
            for (format, arguments) in [("csv", ["--known-at", ReportFixture.knownAt]), ("json", [])] {
                let out = dir + "/returns-" + format
                let written = try run(
                    sunledgerPath,
                    ["report", "--year", "2024", "--format", format, "--out", out, "--ledger", path] + arguments)
                try #require(written.status == 0, "\(written.stderr)")
                let verified = try verify(out)
                #expect(verified.status == 0, "\(verified.stderr)")
                #expect(verified.stderr.contains("returns of 2024 in \(out)"), "\(verified.stderr)")
            }

            // One figure changed in a CSV file, its size kept: its hash is no longer the manifest's.
            let csv = URL(fileURLWithPath: dir + "/returns-csv/05-call-centre.csv")
            var bytes = Array(try Data(contentsOf: csv))
            let (from, to) = (Array(",phone,电话,1,1,1,1,".utf8), Array(",phone,电话,1,2,1,1,".utf8))
            let at = try #require(bytes.indices.first { bytes[$0...].starts(with: from) })
            bytes.replaceSubrange(at..<(at + from.count), with: to)
            try Data(bytes).write(to: csv)
            let changed = try verify(dir + "/returns-csv")
            #expect(changed.status == 1)
            #expect(changed.stderr.contains("05-call-centre.csv: its SHA-256 is not the one manifest.json gives"))

            // An export that ends before the stamped record cannot vouch for it.
            let lines = try String(contentsOfFile: dir + "/export.jsonl", encoding: .utf8).split(separator: "\n")
            try write(lines.prefix(60).map(String.init), to: dir + "/short.jsonl")
            let short = try verify(dir + "/returns-json", dir + "/short.jsonl")
            #expect(short.status == 1)
            #expect(short.stderr.contains("the digest names seq"), "\(short.stderr)")
        }
    }

    @Test("the returns agree with the KPI document of the same D and T on a generated district")
    func agreesWithKPIs() throws {
        try withScratch { dir in
            let generated = try sunledger(
                "generate", "--persons", "200", "--seed", "3", "--from", "2023", "--to", "2024")
            try #require(generated.status == 0)
            let file = dir + "/district.jsonl"
            try generated.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            let path = try ledger(from: file, in: dir)
            for (year, knownAt) in [(2024, nil), (2023, nil), (2024, "2024-07-01T00:00:00Z") as (Int, String?)] {
                let extra = knownAt.map { ["--known-at", $0] } ?? []
                let report = try run(
                    sunledgerPath, ["report", "--year", String(year), "--format", "json", "--ledger", path] + extra)
                try #require(report.status == 0, "\(report.stderr)")
                let returns = try ReturnsDocument(report.stdout)
                let kpi = try run(
                    sunledgerPath, ["kpi", "--json", "--as-of", "\(year)-12-31", "--ledger", path] + extra)
                try #require(kpi.status == 0, "\(kpi.stderr)")
                let document = try #require(try JSONParser.parse(kpi.stdout).objectValue)
                #expect(returns.stamp["throughSeq"] == document["throughSeq"])
                let kpis = try #require(document["kpis"]?.objectValue)
                func figure(_ id: String, _ part: String = "value") throws -> Int64 {
                    try #require(kpis[id]?.objectValue?[part]?.integerValue, "\(id).\(part)")
                }
                func byUnit(_ id: String, _ unit: String, _ part: String = "value") -> Int64 {
                    kpis[id]?.objectValue?["byUnit"]?.objectValue?[unit]?.objectValue?[part]?.integerValue ?? 0
                }
                let all = ["all"]
                let everyone = ["all", "all", "all"]
                #expect(try figure("registered_persons") > 50, "a district with people in it")
                #expect(
                    try returns.count("01-population", everyone, "registeredPersons") == figure("registered_persons"))
                #expect(
                    try returns.count("01-population", everyone, "workingAgeCapable")
                        == figure("employment_rate", "denominator"))
                #expect(
                    try returns.count("02-employment", ["all", "all"], "employedWorkingAgeCapable")
                        == figure("employment_rate", "numerator"))
                #expect(
                    try returns.count("02-employment", ["all", "all"], "personsPlaced") == figure("new_employment"))
                for unit in try KPIReport.loadUnitLabels().dropFirst().map(\.code) {
                    #expect(
                        try returns.count("01-population", [unit, "all", "all"], "registeredPersons")
                            == byUnit("registered_persons", unit), "\(unit)")
                    #expect(
                        try returns.count("02-employment", [unit, "all"], "employedWorkingAgeCapable")
                            == byUnit("employment_rate", unit, "numerator"), "\(unit)")
                    #expect(
                        try returns.count("07b-legal-education", [unit], "attendees")
                            == byUnit("legal_education_attendees", unit), "\(unit)")
                }
                for category in DisabilityCategory.codes {
                    let persons = try DisabilityGrade.allCases.reduce(Int64(0)) {
                        $0
                            + (try returns.count(
                                "01-population", ["all", category, String($1.rawValue)], "registeredPersons"))
                    }
                    let expected =
                        kpis["registered_persons"]?.objectValue?["byCategory"]?.objectValue?[category]?.integerValue
                        ?? 0
                    #expect(persons == expected, "\(category)")
                }
                #expect(
                    try returns.count("03c-home-modifications", ["all", "all"], "households")
                        == figure("home_modifications"))
                #expect(
                    try returns.count("03d-health-checks", all, "personsChecked")
                        == figure("health_check_rate", "numerator"))
                #expect(
                    try returns.count("03d-health-checks", all, "registeredPersons")
                        == figure("health_check_rate", "denominator"))
                #expect(
                    try returns.count("03e-family-doctors", all, "activeAtYearEnd")
                        == figure("family_doctor_rate", "numerator"))
                #expect(
                    try returns.count("03f-care", all, "mentalAged60PlusInCare")
                        == figure("elderly_mental_care_rate", "numerator"))
                #expect(
                    try returns.count("03f-care", all, "mentalAged60Plus")
                        == figure("elderly_mental_care_rate", "denominator"))
                #expect(try returns.count("04-caseload", ["all", "all"], "openAtYearEnd") == figure("open_cases"))
                for type in CaseServiceType.codes {
                    let expected =
                        kpis["open_cases"]?.objectValue?["byServiceType"]?.objectValue?[type]?.integerValue ?? 0
                    #expect(try returns.count("04-caseload", ["all", type], "openAtYearEnd") == expected, "\(type)")
                }
                #expect(
                    try returns.count("05-call-centre", ["all", "all"], "received")
                        == figure("call_resolution_rate", "denominator"))
                #expect(
                    try returns.count("05-call-centre", ["all", "all"], "resolvedWithin3Days")
                        == figure("call_resolution_rate", "numerator"))
                #expect(
                    try returns.count("05-call-centre", ["all", "all"], "resolved")
                        == figure("call_satisfaction", "denominator"))
                #expect(
                    try returns.count("05-call-centre", ["all", "all"], "satisfied")
                        == figure("call_satisfaction", "numerator"))
                #expect(try returns.count("06a-projects", all, "activeAtYearEnd") == figure("active_projects"))
                #expect(
                    try returns.count("06a-projects", all, "evaluatedForYear")
                        == figure("project_evaluation_coverage", "numerator"))
                #expect(try returns.count("06a-projects", all, "adoptionYuan") == figure("corporate_adoption_yuan"))
                #expect(try returns.count("06b-volunteers", all, "minutesInYear") == figure("volunteer_minutes"))
                #expect(
                    try returns.count("06b-volunteers", all, "partyMemberMinutes")
                        == figure("volunteer_minutes", "partyMember"))
                for alliance in Alliance.codes {
                    let expected =
                        kpis["volunteer_minutes"]?.objectValue?["byAlliance"]?.objectValue?[alliance]?.integerValue ?? 0
                    #expect(try returns.count("06b-volunteers", [alliance], "minutesInYear") == expected, "\(alliance)")
                }
                #expect(
                    try returns.count("07a-rights-cases", all, "openedInYear")
                        == figure("rights_closure_rate", "denominator"))
                #expect(
                    try returns.count("07a-rights-cases", all, "closedWithin15Days")
                        == figure("rights_closure_rate", "numerator"))
                #expect(
                    try returns.count("07b-legal-education", all, "attendees") == figure("legal_education_attendees"))
            }
        }
    }

    @Test("a scan that decodes only the records the year's facts read gives the same returns as one that decodes all")
    func scanSkipsOnlyWhatNoTableReads() throws {
        let units = try Ledger.loadUnits()
        let labels = ReturnLabels(units: try KPIReport.loadUnitLabels(), vocabulary: try Ledger.loadVocabulary())
        let lines = try GeneratedDistrict(persons: 400, seed: 9, from: 2021, to: 2024).lines()
        for year in [2022, 2024] {
            var fold = KPIProjection()
            var decodedAll = YearEndFacts(year: year)
            var decodedRead = YearEndFacts(year: year)
            var passedOver = 0
            for (index, line) in lines.enumerated() {
                let seq = Int64(index + 1)
                let event = try #require(
                    line.withUnsafeBufferPointer { InterchangeEvent.decodePlain($0, units: units) },
                    "line \(seq) is not a valid plain line")
                let recorded = RecordedEvent(
                    seq: seq, stream: event.stream, occurredAt: event.occurredAt,
                    recordedAt: try #require(event.recordedAt), orgUnit: event.orgUnit, payload: event.payload)
                fold.apply(recorded)
                decodedAll.apply(recorded)
                if decodedRead.reads(event.type, datedOn: event.occurredAt) {
                    decodedRead.apply(recorded)
                } else {
                    decodedRead.passOver(seq)
                    passedOver += 1
                }
            }
            let all = ComplianceReturns(fold: fold, facts: decodedAll, labels: labels)
            let read = ComplianceReturns(fold: fold, facts: decodedRead, labels: labels)
            for (decoded, skipped) in zip(all.tables, read.tables) {
                #expect(decoded == skipped, "\(decoded.name) of \(year) differs when records are passed over")
            }
            #expect(passedOver > lines.count / 3, "most records of other years are passed over")
            let served = all.table("03a-rehabilitation")!.rows.last!.last!
            #expect(served != .count(0), "the district's rehabilitation in \(year) is not empty")
        }
    }

    @Test(
        "bad usage exits 2 and says what is wrong",
        arguments: [
            (["--format", "json"], "--year"),
            (["--year", "20x4", "--format", "json"], "--year"),
            (["--year", "1899", "--format", "json"], "1900–2100"),
            (["--year", "-2024", "--format", "json"], "1900–2100 (got -2024)"),
            (["--year", "2024"], "--out"),
            (["--year", "2024", "--format", "csv"], "--out"),
            (["--year", "2024", "--format", "xlsx", "--out", "x"], "--format"),
            (["--year", "2024", "--format", "json", "--known-at", "2025-01-15"], "--known-at"),
        ])
    func badUsage(_ arguments: [String], _ message: String) throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            let result = try run(sunledgerPath, ["report", "--ledger", path] + arguments)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("--out holding other files is refused (exit 2) and left as it was; earlier returns in it are replaced")
    func outDirectory() throws {
        try withScratch { dir in
            let path = try ledger(from: ReportFixture.events, in: dir)
            let out = dir + "/papers"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try "minutes of the board".write(toFile: out + "/notes.txt", atomically: true, encoding: .utf8)
            let refused = try sunledger(
                "report", "--year", "2024", "--format", "csv", "--out", out, "--ledger", path)
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("notes.txt") && refused.stderr.contains("not returns"), "\(refused.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["notes.txt"])

            let returns = dir + "/returns"
            for format in ["csv", "json", "csv"] {
                let result = try sunledger(
                    "report", "--year", "2024", "--format", format, "--out", returns, "--ledger", path)
                #expect(result.status == 0, "\(result.stderr)")
            }
            // The JSON document of the run before is gone: the manifest describes the whole directory.
            let present = try FileManager.default.contentsOfDirectory(atPath: returns)
            #expect(present.count == 15 && !present.contains("report.json") && present.contains("manifest.json"))
        }
    }
}

import Foundation
import LedgerApp
import LedgerDomain
import LedgerValues
import Testing

/// One generated district: the arguments of `sunledger generate`.
struct GeneratedDistrict: Sendable, CustomTestStringConvertible {
    let persons: Int
    let seed: UInt64
    let from: Int
    let to: Int

    var arguments: [String] {
        ["generate", "--persons", String(persons), "--seed", String(seed), "--from", String(from), "--to", String(to)]
    }

    var testDescription: String { "\(persons) persons, seed \(seed), \(from)–\(to)" }

    /// The file's lines, generated in process.
    func lines() throws -> [[UInt8]] {
        var bytes: [UInt8] = []
        try SyntheticDistrict(persons: persons, seed: seed, fromYear: from, toYear: to).write { block in
            bytes.append(contentsOf: block)
        }
        return bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map(Array.init)
    }

    /// The small districts imported in full (a debug build stores a few thousand lines a second).
    static let imported = [
        GeneratedDistrict(persons: 200, seed: 3, from: 2023, to: 2024),
        GeneratedDistrict(persons: 700, seed: 7, from: 2020, to: 2022),
        GeneratedDistrict(persons: 1_500, seed: 11, from: 2021, to: 2024),
    ]
    /// A medium district, large enough for every kind of event.
    static let medium = GeneratedDistrict(persons: 2_000, seed: 11, from: 2021, to: 2024)
}

/// One line read back: its members.
private func members(_ line: [UInt8]) throws -> JSONObject {
    guard case .object(let object) = try JSONParser.parse(line) else {
        throw AppError.usage("not an object: \(String(decoding: line, as: UTF8.self))")
    }
    return object
}

@Suite("sunledger generate")
struct GenerateTests {
    @Test(
        "a generated district imports with no line rejected, and the ledger verifies",
        arguments: GeneratedDistrict.imported)
    func importsAndVerifies(_ district: GeneratedDistrict) throws {
        try withScratch { dir in
            let generated = try run(sunledgerPath, district.arguments)
            #expect(generated.status == 0, "\(generated.stderr)")
            let file = dir + "/district.jsonl"
            try generated.stdout.write(toFile: file, atomically: false, encoding: .utf8)
            let lines = generated.stdout.utf8.count { $0 == UInt8(ascii: "\n") }
            let imported = try sunledger("import", file, "--ledger", dir + "/ledger")
            #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr.prefix(2_000))")
            #expect(imported.stdout.contains("\(lines) stored (seq 1–\(lines)), 0 duplicates"))
            let verified = try sunledger("verify", "--ledger", dir + "/ledger")
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.hasPrefix("verified \(lines) records"))
        }
    }

    @Test("the same arguments give the same bytes; another seed gives another file")
    func deterministic() throws {
        let arguments = ["generate", "--persons", "300", "--seed", "42", "--from", "2022", "--to", "2023"]
        let first = try run(sunledgerPath, arguments)
        let second = try run(sunledgerPath, arguments)
        #expect(first.status == 0)
        #expect(!first.stdout.isEmpty)
        #expect(first.stdout == second.stdout)
        let inProcess = try GeneratedDistrict(persons: 300, seed: 42, from: 2022, to: 2023).lines()
        #expect(inProcess.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined() == first.stdout)
        let otherSeed = try run(
            sunledgerPath, ["generate", "--persons", "300", "--seed", "43", "--from", "2022", "--to", "2023"])
        #expect(otherSeed.status == 0)
        #expect(otherSeed.stdout != first.stdout)
    }

    @Test(
        "lines are compact, in recordedAt order, never dated after the local day they were recorded, nor recorded after the last year"
    )
    func recordedOrder() throws {
        let district = GeneratedDistrict(persons: 800, seed: 5, from: 2019, to: 2021)
        let lastInstant = Instant(rfc3339: "2021-12-31T23:59:59.999+08:00")!
        var previous = Instant(milliseconds: 0)
        for line in try district.lines() {
            #expect(!line.contains(UInt8(ascii: " ")))
            let event = try members(line)
            let recordedText = try #require(event["recordedAt"]?.stringValue)
            let recorded = try #require(Instant(rfc3339: recordedText))
            // Always UTC with exactly milliseconds, as the ledger normalises it.
            #expect(recorded.description == recordedText)
            #expect(previous <= recorded)
            #expect(recorded <= lastInstant)
            let occurredText = try #require(event["occurredAt"]?.stringValue)
            let occurred = try #require(LocalDate(iso: occurredText))
            #expect(occurred <= recorded.localDate)
            previous = recorded
        }
    }

    @Test("a medium district uses every one of the 32 event types")
    func everyType() throws {
        var counts: [String: Int] = [:]
        for line in try GeneratedDistrict.medium.lines() {
            if let type = try members(line)["type"]?.stringValue { counts[type, default: 0] += 1 }
        }
        for type in EventType.allCases {
            #expect(counts[type.rawValue, default: 0] > 0, "no \(type.rawValue)")
        }
        #expect(counts.count == EventType.allCases.count)
    }

    @Test(
        "the register looks like Jiading's: units by their weights, the category mix, a third grade 1–2, many older persons"
    )
    func realistic() throws {
        let district = GeneratedDistrict(persons: 3_000, seed: 2, from: 2024, to: 2024)
        var categories: [String: Int] = [:]
        var units: [String: Int] = [:]
        var severe = 0
        var older = 0
        var registrations = 0
        var late = 0
        var entered = 0
        for line in try district.lines() {
            let event = try members(line)
            if event["actor"]?.stringValue != "migration" {
                let occurred = LocalDate(iso: event["occurredAt"]!.stringValue!)!
                let recorded = Instant(rfc3339: event["recordedAt"]!.stringValue!)!
                entered += 1
                if occurred.days(until: recorded.localDate) >= 14 { late += 1 }
            }
            guard event["type"]?.stringValue == EventType.personRegistered.rawValue,
                let data = event["data"]?.objectValue
            else { continue }
            registrations += 1
            categories[data["category"]!.stringValue!, default: 0] += 1
            units[data["residence"]!.stringValue!, default: 0] += 1
            if data["grade"]!.integerValue! <= 2 { severe += 1 }
            if LocalDate(iso: data["birthDate"]!.stringValue!)!.year <= 1964 { older += 1 }
            let pii = try #require(event["pii"]?.objectValue)
            let idNumber = try #require(pii["idNumber"]?.stringValue)
            #expect(idNumber.hasPrefix("310114"))
            #expect(IDNumber.isValid(idNumber))
        }
        #expect(registrations == district.persons)
        let share = { (count: Int) in Double(count) / Double(registrations) }
        #expect(abs(share(categories["physical", default: 0]) - 0.566) < 0.04)
        #expect(abs(share(categories["visual", default: 0]) - 0.134) < 0.03)
        #expect(abs(share(categories["mental", default: 0]) - 0.078) < 0.025)
        #expect((0.28...0.39).contains(share(severe)))
        #expect(share(older) > 0.45)
        // anting (weight 1795) has about five times the persons of xinchenglu (338).
        #expect(units["anting", default: 0] > 3 * units["xinchenglu", default: 0])
        #expect(units.count == 12)
        // Clerks enter most events within days; some 5–10% come weeks or months late.
        #expect((0.03...0.12).contains(Double(late) / Double(entered)))
    }

    @Test("wrong arguments are refused with exit 2, saying what is wrong")
    func usage() throws {
        let backwards = try sunledger("generate", "--persons", "10", "--from", "2024", "--to", "2023")
        #expect(backwards.status == 2)
        #expect(backwards.stderr.contains("--from (2024) must not be after --to (2023)"))
        let none = try sunledger("generate", "--persons", "0", "--to", "2023")
        #expect(none.status == 2)
        #expect(none.stderr.contains("--persons must be"))
        #expect(none.stdout.isEmpty)
        let negative = try sunledger("generate", "--persons", "-5", "--to", "2023")
        #expect(negative.status == 2)
        #expect(negative.stderr.contains("--persons must be"), "\(negative.stderr)")
    }
}

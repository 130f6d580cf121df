import Foundation
import LedgerDomain
import LedgerValues
import Testing

/// One file of `fixtures/rules/<n>-<rule>/`: an interchange file, the good
/// `NAME.setup.jsonl` imported before it (if any), and what importing it must
/// give: the exact error lines (`NAME.errors`) or the counts it is stored with
/// (`NAME.expected.json`).
struct RuleFixture: Sendable, CustomTestStringConvertible {
    /// The rule of events.md §6 the fixture proves (1–7), from its directory.
    let rule: Int
    /// `fixtures/rules/<directory>/<name>.jsonl`, as written in `.errors` files.
    let relativePath: String

    var path: String { repositoryRoot + "/" + relativePath }
    private var base: String { String(path.dropLast(".jsonl".count)) }
    var setupPath: String? { existing(base + ".setup.jsonl") }
    var errorsPath: String? { existing(base + ".errors") }
    var expectedPath: String? { existing(base + ".expected.json") }

    var testDescription: String { String(relativePath.dropFirst("fixtures/rules/".count)) }

    private func existing(_ path: String) -> String? {
        FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static let directory = repositoryRoot + "/fixtures/rules"

    /// Every fixture, in path order.
    static let all: [RuleFixture] = {
        let files = FileManager.default
        let directories = ((try? files.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return directories.flatMap { name -> [RuleFixture] in
            guard let rule = Int(name.prefix { $0.isNumber }) else { return [] }
            let entries = ((try? files.contentsOfDirectory(atPath: directory + "/" + name)) ?? []).sorted()
            return entries.filter { $0.hasSuffix(".jsonl") && !$0.hasSuffix(".setup.jsonl") }.map {
                RuleFixture(rule: rule, relativePath: "fixtures/rules/\(name)/\($0)")
            }
        }
    }()

    /// The fixtures of `rule` whose file must be refused.
    static func refused(rule: Int) -> [RuleFixture] {
        all.filter { $0.rule == rule && $0.expectedPath == nil }
    }

    /// The fixtures whose file must be stored (duplicates, late reports).
    static var accepted: [RuleFixture] { all.filter { $0.expectedPath != nil } }
}

/// What a ledger holds, byte for byte: a rejected import must leave it exactly so.
private struct LedgerSnapshot: Equatable {
    let data: Data
    let digest: String

    init(_ ledger: String) throws {
        data = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
        digest = try sunledger("digest", "--ledger", ledger).stdout
    }
}

/// Imports the fixture's setup (or, without one, an empty file, so that the
/// ledger exists) and returns the ledger's path.
private func ledgerPrepared(for fixture: RuleFixture, in dir: String) throws -> String {
    let ledger = dir + "/ledger"
    var setup = fixture.setupPath
    if setup == nil {
        setup = dir + "/empty.jsonl"
        try Data().write(to: URL(fileURLWithPath: setup!))
    }
    let prepared = try sunledger("import", setup!, "--ledger", ledger)
    try #require(prepared.status == 0, "the setup must import: \(prepared.stderr)")
    return ledger
}

private func lines(of text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

/// The line number of a `FILE:LINE: field: rule` line, when it belongs to `file`.
private func lineNumber(_ line: String, of file: String) -> Int? {
    guard line.hasPrefix(file + ":") else { return nil }
    return Int(line.dropFirst(file.count + 1).prefix { $0.isNumber })
}

/// Whether `actual` is the `expected` error line. `<now>` in `expected` stands
/// for the store's clock, an instant within `run`; `<today>` for its local date.
private func matches(_ actual: String, _ expected: String, during run: ClosedRange<Instant>) -> Bool {
    for (token, isInstant) in [("<now>", true), ("<today>", false)] {
        guard let range = expected.range(of: token) else { continue }
        let head = expected[..<range.lowerBound]
        let tail = expected[range.upperBound...]
        guard actual.hasPrefix(head), actual.hasSuffix(tail), actual.count >= head.count + tail.count else {
            return false
        }
        let value = String(actual.dropFirst(head.count).dropLast(tail.count))
        if isInstant {
            guard let instant = Instant(rfc3339: value) else { return false }
            return run.contains(instant)
        }
        return value == run.lowerBound.localDate.description || value == run.upperBound.localDate.description
    }
    return actual == expected
}

/// Every personal value (`pii` strings) written in the file: no message may show one whole.
private func personalValues(in path: String) throws -> [String] {
    try lines(of: String(contentsOfFile: path, encoding: .utf8)).flatMap { line -> [String] in
        guard case .object(let event)? = try? JSONParser.parse(line), case .object(let pii)? = event["pii"] else {
            return []
        }
        return pii.compactMap { $0.value.stringValue }.filter { !$0.isEmpty }
    }
}

/// Imports a fixture that must be refused and checks everything a refusal promises.
private func checkRefused(_ fixture: RuleFixture) throws {
    let errorsPath = try #require(fixture.errorsPath, "\(fixture.relativePath) has no .errors file")
    let expected = lines(of: try String(contentsOfFile: errorsPath, encoding: .utf8))
    try withScratch { dir in
        let ledger = try ledgerPrepared(for: fixture, in: dir)
        let before = try LedgerSnapshot(ledger)

        let started = Instant.now()
        let result = try sunledger("import", fixture.path, "--ledger", ledger)
        let ended = Instant.now()
        #expect(result.status == 1, "a file with a rejected line must exit 1")

        // The file is named as given; the .errors files name it from the repository root.
        let printed = lines(of: result.stderr).map { line in
            line.hasPrefix(fixture.path + ":")
                ? fixture.relativePath + line.dropFirst(fixture.path.count) : line
        }
        let errors = printed.filter { lineNumber($0, of: fixture.relativePath) != nil }
        #expect(errors.count == expected.count, "printed:\n\(errors.joined(separator: "\n"))")
        for (actual, wanted) in zip(errors, expected) {
            #expect(matches(actual, wanted, during: started...ended), "printed: \(actual)\nexpected: \(wanted)")
        }
        // Besides the errors, one summary line that counts the rejected lines.
        let rejected = Set(errors.compactMap { lineNumber($0, of: fixture.relativePath) }).count
        let rest = printed.filter { lineNumber($0, of: fixture.relativePath) == nil }
        #expect(rest.count == 1 && rest[0].hasPrefix("\(fixture.relativePath): \(rejected) line"), "\(rest)")

        for value in try personalValues(in: fixture.path) {
            #expect(!result.stderr.contains(value), "a message shows personal data unmasked: \(value)")
        }
        #expect(try LedgerSnapshot(ledger) == before, "a refused file must leave the ledger unchanged")
    }
}

@Suite("fixtures/rules: every rule of events.md §6 with the exact errors it gives")
struct RuleFixtureTests {
    @Test("every rule 1–7 has refused fixtures; each says what it gives and keeps some good lines")
    func layout() throws {
        #expect(Set(RuleFixture.all.map(\.rule)) == Set(1...7))
        for rule in 1...7 { #expect(!RuleFixture.refused(rule: rule).isEmpty, "rule \(rule) has no bad input") }
        for fixture in RuleFixture.all {
            #expect(
                (fixture.errorsPath == nil) != (fixture.expectedPath == nil),
                "\(fixture.relativePath) needs exactly one of .errors and .expected.json")
            guard let errorsPath = fixture.errorsPath else { continue }
            let count = lines(of: try String(contentsOfFile: fixture.path, encoding: .utf8)).count
            let named = Set(
                lines(of: try String(contentsOfFile: errorsPath, encoding: .utf8)).map {
                    lineNumber($0, of: fixture.relativePath)
                })
            #expect(!named.isEmpty && !named.contains(nil), "\(errorsPath): every line is FILE:LINE: field: rule")
            #expect(named.allSatisfy { ($0 ?? 0) >= 1 && ($0 ?? 0) <= count }, "\(errorsPath) names no line")
            #expect(named.count < count, "\(fixture.relativePath) must hold good lines beside the bad ones")
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: RuleFixture.directory)
        for setup in files where setup.hasSuffix(".setup.jsonl") {
            let main = RuleFixture.directory + "/" + setup.dropLast(".setup.jsonl".count) + ".jsonl"
            #expect(FileManager.default.fileExists(atPath: main), "\(setup) sets up no fixture")
        }
    }

    @Test(
        "rule 1, shape: keys, patterns, kinds, ranges, enumerations, dates and pii refuse the file",
        arguments: RuleFixture.refused(rule: 1))
    func shape(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test("rule 2, identity: a stored id with other content refuses the file", arguments: RuleFixture.refused(rule: 2))
    func identity(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rule 3, time: occurredAt after recordedAt's local date, recordedAt going back or ahead of the clock",
        arguments: RuleFixture.refused(rule: 3))
    func time(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rule 4, stream order: openers first and once, closers once, expectedVersion, org-<unit> refuse the file",
        arguments: RuleFixture.refused(rule: 4))
    func streamOrder(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rule 5, effective dates: before the opener, a closer before an earlier event, after a stored closer",
        arguments: RuleFixture.refused(rule: 5))
    func effectiveDates(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rule 6, persons: birth date, ID number of GB 11643 and employments refuse the file",
        arguments: RuleFixture.refused(rule: 6))
    func persons(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rule 7, references: a personId naming no stored person refuses the file",
        arguments: RuleFixture.refused(rule: 7))
    func references(_ fixture: RuleFixture) throws { try checkRefused(fixture) }

    @Test(
        "rules 2 and 5: duplicates are skipped and counted, late reports on or before a closer are stored",
        arguments: RuleFixture.accepted)
    func accepted(_ fixture: RuleFixture) throws {
        let expected = try JSONParser.parse(String(contentsOfFile: fixture.expectedPath!, encoding: .utf8))
        let stored = try #require(expected.objectValue?["stored"]?.integerValue)
        let duplicates = try #require(expected.objectValue?["duplicates"]?.integerValue)
        try withScratch { dir in
            let ledger = try ledgerPrepared(for: fixture, in: dir)
            let setupSeq = try digestSeq(ledger)
            let result = try sunledger("import", fixture.path, "--ledger", ledger)
            #expect(result.status == 0, "\(result.stderr)")
            let range = stored == 0 ? "" : " (seq \(setupSeq + 1)–\(setupSeq + stored))"
            let plural = duplicates == 1 ? "" : "s"
            #expect(result.stdout == "\(fixture.path): \(stored) stored\(range), \(duplicates) duplicate\(plural)\n")
            #expect(try digestSeq(ledger) == setupSeq + stored)
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
            // Once stored, the whole file is duplicates.
            let again = try sunledger("import", fixture.path, "--ledger", ledger)
            #expect(again.stdout.hasSuffix(": 0 stored, \(stored + duplicates) duplicates\n"))
        }
    }
}

private func digestSeq(_ ledger: String) throws -> Int64 {
    let digest = try JSONParser.parse(sunledger("digest", "--ledger", ledger).stdout)
    return try #require(digest.objectValue?["seq"]?.integerValue)
}

@Suite("fixtures/catalogue: one good file with every event type of events.md §5")
struct CatalogueFixtureTests {
    static let file = repositoryRoot + "/fixtures/catalogue/every-type.jsonl"
    static let expectedFile = repositoryRoot + "/fixtures/catalogue/every-type.expected.json"

    @Test("every one of the 32 types is stored with its figures; verify passes; export --pii gives each line back")
    func everyType() throws {
        let expected = try #require(
            JSONParser.parse(String(contentsOfFile: Self.expectedFile, encoding: .utf8)).objectValue)
        let stored = try #require(expected["stored"]?.integerValue)
        let streams = try #require(expected["streams"]?.integerValue)
        let types = try #require(expected["types"]?.objectValue)
        let commitments = try #require(expected["piiCommitmentsInVault"]?.integerValue)
        guard case .array(let erasedStreams)? = expected["piiErasedStreams"] else {
            Issue.record("every-type.expected.json lists piiErasedStreams")
            return
        }
        let erased = Set(erasedStreams.compactMap(\.stringValue))
        #expect(Set(types.keys) == Set(EventType.allCases.map(\.rawValue)), "the file must use every type")
        #expect(types.allSatisfy { ($0.value.integerValue ?? 0) >= 1 })

        let input = try lines(of: String(contentsOfFile: Self.file, encoding: .utf8)).map {
            try #require(JSONParser.parse($0).objectValue)
        }
        #expect(Int64(input.count) == stored)

        try withScratch { dir in
            let ledger = dir + "/ledger"
            let imported = try sunledger("import", Self.file, "--ledger", ledger)
            #expect(imported.status == 0, "\(imported.stderr)")
            // Its one erasure (P004's) removes the personal data of the one record that gave it.
            #expect(
                imported.stdout
                    == "\(Self.file): \(stored) stored (seq 1–\(stored)), 0 duplicates, the personal data of 1 record erased\n"
            )

            let verified = try sunledger("verify", "--ledger", ledger)
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.hasPrefix("verified \(stored) records"))
            #expect(verified.stdout.contains("head of \(streams) streams"))
            #expect(verified.stdout.contains("\(commitments) pii commitments"))

            let exported = try sunledger("export", "--pii", "--purpose", "test of the round trip", "--ledger", ledger)
            #expect(exported.status == 0)
            let records = try lines(of: exported.stdout).map { try #require(JSONParser.parse($0).objectValue) }
            try #require(records.count == input.count)

            var counted: [String: Int64] = [:]
            for record in records { counted[record["type"]?.stringValue ?? "", default: 0] += 1 }
            var wanted: [String: Int64] = [:]
            for member in types { wanted[member.key] = member.value.integerValue }
            #expect(counted == wanted, "records per type")

            var interchange: [String] = []
            for (index, (line, record)) in zip(input, records).enumerated() {
                let id = line["id"]?.stringValue ?? "?"
                #expect(record["seq"]?.integerValue == Int64(index + 1), "\(id) keeps its place in the file")
                for key in ["id", "stream", "type", "occurredAt", "actor", "orgUnit", "data"] {
                    #expect(record[key] == line[key], "\(id): \(key) comes back as it went in")
                }
                if let given = line["recordedAt"]?.stringValue {
                    #expect(
                        record["recordedAt"]?.stringValue == Instant(rfc3339: given)?.description,
                        "\(id): recordedAt comes back normalised to UTC milliseconds")
                }
                if let version = line["expectedVersion"]?.integerValue {
                    #expect(record["version"]?.integerValue == version + 1, "\(id): expectedVersion held")
                }
                let stream = line["stream"]?.stringValue ?? ""
                if line["pii"] == nil {
                    #expect(record["pii"] == nil && record["piiCommitment"] == nil, "\(id) carries no pii")
                } else if erased.contains(stream) {
                    #expect(
                        record["pii"] == nil && record["piiCommitment"] != nil, "\(id): pii erased, commitment kept")
                } else {
                    #expect(record["pii"] == line["pii"], "\(id): pii comes back whole with --pii")
                    #expect(record["piiSalt"] != nil && record["piiCommitment"] != nil)
                }
                // The record as an interchange line again, except where its pii is gone.
                guard !(line["pii"] != nil && erased.contains(stream)) else { continue }
                var event = JSONObject()
                for key in ["id", "stream", "type", "occurredAt", "recordedAt", "actor", "orgUnit", "data", "pii"] {
                    if let value = record[key] { event[key] = value }
                }
                interchange.append(String(decoding: CanonicalJSON.encode(.object(event)), as: UTF8.self))
            }

            // The ledger judges the exported records identical to what it stored.
            let roundTrip = dir + "/round-trip.jsonl"
            try write(interchange, to: roundTrip)
            let again = try sunledger("import", roundTrip, "--ledger", ledger)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout == "\(roundTrip): 0 stored, \(interchange.count) duplicates\n")
            let original = try sunledger("import", Self.file, "--ledger", ledger)
            #expect(original.stdout == "\(Self.file): 0 stored, \(stored) duplicates\n")
        }
    }
}

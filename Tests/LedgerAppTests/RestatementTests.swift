import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues
import PropertyBased
import Testing

@testable import LedgerApp

// `sunledger restatement`: which KPI figures of a date changed between two
// known-at instants, and which late-recorded events changed them.

private let fixture = repositoryRoot + "/fixtures/restatement"
private let asOf = "2024-12-31"
private let knownAtBefore = "2025-01-15T00:00:00Z"
private let knownAtAfter = "2025-03-01T02:00:00Z"

/// Imports the fixture's events into a new ledger in `dir`, every line stored.
private func fixtureLedger(in dir: String) throws -> String {
    let ledger = dir + "/ledger"
    let imported = try sunledger("import", fixture + "/events.jsonl", "--ledger", ledger)
    try #require(imported.status == 0, "the fixture must import: \(imported.stderr)")
    try #require(imported.stdout.contains("14 stored"), "\(imported.stdout)")
    return ledger
}

/// The seqs a restatement's JSON names, over all its changes.
private func namedSeqs(_ document: JSONValue) -> Set<Int64> {
    guard case .array(let changes)? = document.objectValue?["changes"] else { return [] }
    var seqs: Set<Int64> = []
    for change in changes {
        guard case .array(let events)? = change.objectValue?["events"] else { continue }
        for event in events { if let seq = event.objectValue?["seq"]?.integerValue { seqs.insert(seq) } }
    }
    return seqs
}

/// Every leaf of a KPI document's JSON by its dotted path (`kpis.employment_rate.byUnit.anting.numerator`,
/// `indices.service`).
private func leaves(_ value: JSONValue, at path: String = "", into result: inout [String: JSONValue]) {
    if case .object(let object) = value {
        for (key, member) in object { leaves(member, at: path.isEmpty ? key : path + "." + key, into: &result) }
    } else {
        result[path] = value
    }
}

/// The KPI figures and indices of a document (`kpis` and `indices`), by path.
private func figureLeaves(_ document: KPIDocument) throws -> [String: JSONValue] {
    let parsed = try JSONParser.parse(document.json)
    var result: [String: JSONValue] = [:]
    for key in ["kpis", "indices"] { leaves(parsed.objectValue![key]!, at: key, into: &result) }
    return result
}

/// Where a restated number sits in the KPI document's JSON.
private func documentPath(_ place: FigurePlace) -> String {
    switch place.subject {
    case .index(let index): "indices." + index.rawValue
    case .kpi(let kpi): "kpis." + kpi.rawValue + (place.unit.map { ".byUnit." + $0 } ?? "") + "." + place.field.name
    }
}

@Suite("sunledger restatement: the figures that late-recorded events changed, and those events")
struct RestatementTests {
    @Test(
        "a late move and a late deregistration change the figures of exactly two units (and, through the deregistration only, the district's); the JSON equals the fixture's expected file and names exactly those two events"
    )
    func fixtureRestatement() throws {
        try withScratch { dir in
            let ledger = try fixtureLedger(in: dir)
            let result = try sunledger(
                "restatement", "--ledger", ledger, "--as-of", asOf, "--known-at", knownAtBefore, "--known-at",
                knownAtAfter, "--json")
            try #require(result.status == 0, "\(result.stderr)")
            let actual = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
            let expected = try JSONParser.parse(try String(contentsOfFile: fixture + "/expected.json", encoding: .utf8))
            let differences = jsonDifferences(expected, actual)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")

            // Exactly the move (12) and the deregistration (13): not the event known at T1 (10), not the
            // late one dated after D (11), not the one recorded after T2 (14).
            #expect(namedSeqs(actual) == [12, 13])
            guard case .array(let changes)? = actual.objectValue?["changes"] else {
                Issue.record("no changes array")
                return
            }
            var units: Set<String> = []
            for change in changes {
                let object = change.objectValue!
                let seqs = namedSeqs(.object(JSONObject([("changes", .array([change]))])))
                if let unit = object["unit"]?.stringValue {
                    units.insert(unit)
                } else {
                    // A district figure (or index) moves only with the deregistration: the move keeps R1 in P(D).
                    #expect(seqs == [13], "\(object["kpi"]!.quoted) \(object["field"]!.quoted)")
                }
            }
            #expect(units == ["anting", "malu"])
        }
    }

    @Test("the table shows a rate's value rounded half up on its exact quotient: 1/16 reads 6.3%, as `kpi` prints it")
    func exactPercentages() throws {
        // 16 persons registered and one checked, known at T1 (1/16 = 6.25%); a second check reported late (2/16).
        let lines =
            syntheticEvents(persons: 16, perPerson: 0) + [
                #"{"id":"ev-h0","stream":"person-ev0","type":"HealthCheckCompleted","occurredAt":"2019-12-02","recordedAt":"2020-01-01T00:01:00Z","actor":"staff-002","orgUnit":"anting","data":{}}"#,
                #"{"id":"ev-h1","stream":"person-ev1","type":"HealthCheckCompleted","occurredAt":"2019-12-03","recordedAt":"2020-02-01T00:00:00Z","actor":"staff-002","orgUnit":"anting","data":{}}"#,
            ]
        try withScratch { dir in
            try write(lines, to: dir + "/checks.jsonl")
            let imported = try sunledger("import", dir + "/checks.jsonl", "--ledger", dir + "/ledger")
            try #require(imported.status == 0, "\(imported.stderr)")
            let table = try sunledger(
                "restatement", "--ledger", dir + "/ledger", "--as-of", "2019-12-31", "--known-at",
                "2020-01-15T00:00:00Z", "--known-at", "2020-03-01T00:00:00Z")
            try #require(table.status == 0, "\(table.stderr)")
            let row = table.stdout.split(separator: "\n").first {
                $0.contains("Health check rate") && $0.contains(" value ")
            }
            #expect(row?.contains("6.3%") == true && row?.contains("12.5%") == true, "\(table.stdout)")
            #expect(!table.stdout.contains("6.2%"))
        }
    }

    @Test(
        "within one stream, a late event whose effect a later late event undoes is not named, nor one dated after D")
    func eventsWithinAStream() throws {
        func line(_ n: Int, _ type: String, _ occurredAt: String, _ recordedAt: String, _ data: String) -> String {
            #"{"id":"q-\#(n)","stream":"person-Q1","type":"\#(type)","occurredAt":"\#(occurredAt)","recordedAt":"\#(recordedAt)","actor":"staff-001","orgUnit":"anting","data":\#(data)"#
        }
        let registration = line(
            1, "PersonRegistered", "2020-03-01", "2020-03-02T01:00:00Z",
            #"{"sex":"F","birthDate":"1980-02-29","category":"physical","grade":3,"residence":"anting"}"#)
        let lines = [
            registration + #","pii":{"name":"王芳","idNumber":"310114198002290025"}}"#,
            line(2, "PersonMoved", "2024-06-01", "2025-02-01T02:00:00Z", #"{"residence":"malu"}"#) + "}",
            line(3, "PersonMoved", "2024-07-01", "2025-02-02T02:00:00Z", #"{"residence":"anting"}"#) + "}",
            line(4, "PersonMoved", "2024-08-01", "2025-02-03T02:00:00Z", #"{"residence":"nanxiang"}"#) + "}",
            line(5, "HealthCheckCompleted", "2025-01-20", "2025-02-04T02:00:00Z", "{}") + "}",
            line(6, "HealthCheckCompleted", "2024-09-01", "2025-02-05T02:00:00Z", "{}") + "}",
        ]
        try withScratch { dir in
            try write(lines, to: dir + "/q.jsonl")
            let imported = try sunledger("import", dir + "/q.jsonl", "--ledger", dir + "/ledger")
            try #require(imported.status == 0, "\(imported.stderr)")
            let result = try sunledger(
                "restatement", "--ledger", dir + "/ledger", "--as-of", asOf, "--known-at", knownAtBefore,
                "--known-at", knownAtAfter, "--json")
            try #require(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
            guard case .array(let changes)? = document.objectValue?["changes"] else {
                Issue.record("no changes array")
                return
            }
            var named: [String: Set<Int64>] = [:]
            for change in changes {
                let object = change.objectValue!
                let key = [object["kpi"]!, object["unit"]!, object["field"]!].map(\.quoted).joined(separator: " ")
                named[key] = namedSeqs(.object(JSONObject([("changes", .array([change]))])))
            }
            // The moves to malu (2) and back (3) cancel: malu changes nowhere, and anting's figures name
            // only the move to nanxiang (4). The check dated after D (5) is named nowhere; the one dated
            // before it (6) only against the health-check numerators.
            #expect(named[#""registered_persons" "anting" "value""#] == [4])
            #expect(named[#""registered_persons" "nanxiang" "value""#] == [4])
            #expect(named[#""health_check_rate" null "numerator""#] == [6])
            #expect(named[#""health_check_rate" "nanxiang" "numerator""#] == [6])
            #expect(named[#""health_check_rate" "nanxiang" "denominator""#] == [4])
            #expect(!named.keys.contains { $0.contains(#""malu""#) }, "\(named.keys.sorted())")
            #expect(namedSeqs(document) == [4, 6])
        }
    }

    @Test(
        "the table names the KPI in Chinese and English, the unit, before and after; a window that changes nothing says so"
    )
    func humanForm() throws {
        try withScratch { dir in
            let ledger = try fixtureLedger(in: dir)
            let table = try sunledger(
                "restatement", "--ledger", ledger, "--as-of", asOf, "--known-at", knownAtBefore, "--known-at",
                knownAtAfter)
            try #require(table.status == 0, "\(table.stderr)")
            for text in [
                "持证残疾人数", "安亭镇 anting", "马陆镇 malu", "全区 district", "PersonMoved", "PersonDeregistered",
                "服务型", "76.8", "63.2", "through seq 10", "through seq 13",
            ] {
                #expect(table.stdout.contains(text), "\(text) in:\n\(table.stdout)")
            }
            #expect(!table.stdout.contains("no figure changed"))

            // Only seq 11 (dated after D) is recorded in this window: exit 0, nothing changed.
            let quiet = try sunledger(
                "restatement", "--ledger", ledger, "--as-of", asOf, "--known-at", knownAtBefore, "--known-at",
                "2025-01-31T00:00:00Z")
            #expect(quiet.status == 0, "\(quiet.stderr)")
            #expect(quiet.stdout.contains("no figure changed"), "\(quiet.stdout)")
            let quietJSON = try sunledger(
                "restatement", "--ledger", ledger, "--as-of", asOf, "--known-at", knownAtBefore, "--known-at",
                "2025-01-31T00:00:00Z", "--json")
            #expect(quietJSON.status == 0)
            let parsed = try JSONParser.parse(quietJSON.stdout.trimmingCharacters(in: .newlines))
            #expect(parsed.objectValue?["changes"] == .array([]))
            #expect(parsed.objectValue?["throughSeq"] == .array([.integer(10), .integer(11)]))
        }
    }

    @Test(
        "T1 equal to T2, or later than it, is refused with exit 2 naming --known-at; so is giving it other than twice")
    func instantsOutOfOrder() throws {
        try withScratch { dir in
            let ledger = try fixtureLedger(in: dir)
            let cases: [([String], String)] = [
                (["--known-at", knownAtBefore, "--known-at", knownAtBefore], "earlier than"),
                (["--known-at", knownAtAfter, "--known-at", knownAtBefore], "earlier than"),
                // The same instant written in Shanghai time is still the same instant.
                (["--known-at", "2025-01-15T08:00:00+08:00", "--known-at", knownAtBefore], "same instant"),
                (["--known-at", knownAtBefore], "exactly twice"),
                (["--known-at", knownAtBefore, "--known-at", "2025-02-30T00:00:00Z"], "RFC 3339"),
            ]
            for (arguments, complaint) in cases {
                let refused = try run(
                    sunledgerPath, ["restatement", "--ledger", ledger, "--as-of", asOf] + arguments)
                #expect(refused.status == 2, "\(arguments): \(refused.stderr)")
                #expect(refused.stdout.isEmpty)
                #expect(
                    refused.stderr.contains("--known-at") && refused.stderr.contains(complaint),
                    "\(arguments): \(refused.stderr)")
            }
            // The library refuses it too.
            let report = try KPIReport(ledger: try Ledger(path: ledger, create: false))
            let instant = Instant(rfc3339: knownAtBefore)!
            #expect(throws: AppError.self) {
                try report.restatement(asOf: LocalDate(iso: asOf)!, knownAt: instant, instant)
            }
        }
    }

    @Test(
        "property (fixed seeds): the changed figures are exactly those where the two KPI documents differ, every named event was recorded in (T1, T2], and the streams named against a sum are exactly those whose late events alone move it",
        arguments: [UInt64(0x5E57_0001), 0x5E57_0002, 0x5E57_0003])
    func changesAreTheDocumentsDifference(seed: UInt64) throws {
        var random = seededGenerator(seed, salt: 0x0DD_BA11)
        let history = RandomHistory.make(events: 240, using: &random)
        try withScratch { dir in
            let file = dir + "/history.jsonl"
            try write(history.lines, to: file)
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            _ = try Importer(ledger: ledger).importFile(file)
            let report = try KPIReport(ledger: ledger)
            var events: [RecordedEvent] = []
            try ledger.log.readingProjections { access in
                try access.forEachRecord(from: 1, through: try access.lastSeq) { seq, canonical in
                    events.append(try RecordReplay.event(seq: seq, canonical: canonical, units: ledger.units))
                }
            }
            let count = history.recordedAt.count

            var changesSeen = 0
            var sumsChecked = 0
            var pairs: [(Instant, Instant)] = [
                (history.recordedAt[0].adding(milliseconds: -1), history.recordedAt[count - 1])
            ]
            while pairs.count < 5 {
                let first = Int.random(in: 0..<(count - 1), using: &random)
                let second = Int.random(in: (first + 1)..<count, using: &random)
                pairs.append((history.recordedAt[first], history.recordedAt[second]))
            }
            for (before, after) in pairs {
                for day in history.asOfDays(using: &random).prefix(3) {
                    let restatement = try report.restatement(asOf: day, knownAt: before, after)
                    let old = try figureLeaves(try report.document(asOf: day, limit: .knownAt(before)))
                    let new = try figureLeaves(try report.document(asOf: day, limit: .knownAt(after)))
                    var differing: [String: (JSONValue, JSONValue)] = [:]
                    for path in Set(old.keys).union(new.keys) {
                        // A breakdown key the document leaves out is zero.
                        let was = old[path] ?? .integer(0)
                        let now = new[path] ?? .integer(0)
                        if was != now { differing[path] = (was, now) }
                    }
                    let context = "seed \(seed), D \(day), T1 \(before), T2 \(after)"
                    let listed = Dictionary(
                        restatement.changes.map { (documentPath($0.place), $0) },
                        uniquingKeysWith: { first, _ in first }
                    )
                    #expect(listed.count == restatement.changes.count, "each figure once: \(context)")
                    #expect(Set(listed.keys) == Set(differing.keys), "\(context)")
                    for (path, numbers) in differing {
                        guard let change = listed[path] else { continue }
                        #expect(
                            change.before.json == numbers.0 && change.after.json == numbers.1, "\(path): \(context)")
                    }

                    // Each late stream's own effect, from whole-ledger folds: the T1 ledger plus that stream's
                    // late events alone. A number is a sum over streams, so the streams that move it are those.
                    let late = { (event: RecordedEvent) in before < event.recordedAt && event.recordedAt <= after }
                    let known = events.filter { $0.recordedAt <= after }
                    var lateStreams: [String] = []
                    for event in known where late(event) && !lateStreams.contains(event.stream) {
                        lateStreams.append(event.stream)
                    }
                    func figures(withLateEventsOf streams: Set<String>) throws -> [String: JSONValue] {
                        let fold = KPIProjection(known.filter { !late($0) || streams.contains($0.stream) })
                        return try figureLeaves(
                            KPIDocument(figures: fold.figures(asOf: day), knownAt: nil, catalogue: report.catalogue))
                    }
                    let alone = try Dictionary(
                        uniqueKeysWithValues: lateStreams.map { ($0, try figures(withLateEventsOf: [$0])) })

                    for change in restatement.changes {
                        let path = documentPath(change.place)
                        #expect(!change.events.isEmpty, "\(path) names an event: \(context)")
                        for event in change.events {
                            #expect(before < event.recordedAt && event.recordedAt <= after, "\(event.seq): \(context)")
                        }
                        guard case .integer = change.after else { continue }
                        sumsChecked += 1
                        // The streams named are exactly those whose late events alone move the number…
                        let named = Set(change.events.map(\.stream))
                        let moving = Set(lateStreams.filter { (alone[$0]![path] ?? .integer(0)) != change.before.json })
                        #expect(named == moving, "\(path): \(context)")
                        // …and together they carry the whole change.
                        #expect(
                            (try figures(withLateEventsOf: named)[path] ?? .integer(0)) == change.after.json,
                            "\(path): \(context)")
                    }
                    changesSeen += restatement.changes.count
                }
            }
            // The property is not vacuous: late events did change figures, sums among them.
            #expect(changesSeen > 0 && sumsChecked > 0, "seed \(seed): \(changesSeen) changes, \(sumsChecked) sums")
        }
    }
}

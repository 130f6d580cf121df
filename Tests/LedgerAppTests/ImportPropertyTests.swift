import Foundation
import LedgerDomain
import LedgerValues
import PropertyBased
import Testing

// Randomised histories imported through the built `sunledger`. Every draw comes
// from a PropertyBased xoshiro256** generator started at one of the fixed seeds
// below, so each seed names one history, the same on every run.

/// The seeds of the histories; each is one test case.
private let historySeeds: [UInt64] = [0x5EED_A001, 0x5EED_A002, 0x5EED_A003, 0x5EED_A004, 0x5EED_A005]
/// Corrupted files tried against each history.
private let corruptionsPerHistory = 10

@Suite("imports of random histories (events.md §6)")
struct ImportPropertyTests {
    @Test(
        "a random valid history imports with no rejection, is stored as written, verifies, and re-imports as duplicates",
        arguments: historySeeds)
    func validHistoryImports(seed: UInt64) throws {
        var r = randomness(seed)
        let objects = validHistory(&r)
        let lines = objects.map { lineText($0, &r) }
        try withScratch { dir in
            let file = dir + "/history.jsonl"
            let ledger = dir + "/ledger"
            try write(lines, to: file)
            let imported = try sunledger("import", file, "--ledger", ledger)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.contains("\(lines.count) stored (seq 1–\(lines.count)), 0 duplicates"))
            let verified = try sunledger("verify", "--ledger", ledger)
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.hasPrefix("verified \(lines.count) records"))
            let export = dir + "/export.jsonl"
            let exported = try sunledger(
                "export", "--pii", "--purpose", "test of the round trip", "--out", export, "--ledger", ledger)
            #expect(exported.status == 0, "\(exported.stderr)")
            try expectRecords(of: objects, in: try String(contentsOfFile: export, encoding: .utf8))
            let independent = try run("/usr/bin/env", ["python3", repositoryRoot + "/tools/verify-export", export])
            #expect(independent.status == 0, "\(independent.stderr)")
            let again = try sunledger("import", file, "--ledger", ledger)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("0 stored, \(lines.count) duplicates"))
        }
    }

    @Test("the valid histories together hold every one of the 32 types, so every stream kind")
    func historiesCoverTheCatalogue() {
        var types: Set<String> = []
        for seed in historySeeds {
            var r = randomness(seed)
            for line in validHistory(&r) { types.insert(line["type"]?.stringValue ?? "") }
        }
        #expect(types == Set(EventType.allCases.map(\.rawValue)))
    }

    @Test(
        "one field of one line corrupted: exit 1, that line and field named, data.mdb byte for byte unchanged",
        arguments: historySeeds)
    func corruptedLineChangesNothing(seed: UInt64) throws {
        var r = randomness(seed ^ 0xC0DE)
        let objects = validHistory(&r)
        let lines = objects.map { lineText($0, &r) }
        let prefix = lines.count / 3
        try withScratch { dir in
            let ledger = dir + "/ledger"
            try write(Array(lines[..<prefix]), to: dir + "/prefix.jsonl")
            let first = try sunledger("import", dir + "/prefix.jsonl", "--ledger", ledger)
            try #require(first.status == 0, "\(first.stderr)")
            let before = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))

            for attempt in 0..<corruptionsPerHistory {
                let index = Gen.int(in: 0...(lines.count - 1)).run(using: &r)
                let corruption = corrupt(objects[index], &r)
                var changed = lines
                changed[index] = lineText(corruption.line, &r)
                let file = dir + "/corrupted-\(attempt).jsonl"
                try write(changed, to: file)
                let result = try sunledger("import", file, "--ledger", ledger)
                let context = "line \(index + 1), \(corruption.field) \(corruption.change):\n\(changed[index])"
                #expect(result.status == 1, "\(context)\n\(result.stdout)\(result.stderr)")
                let reported = reportedErrors(result.stderr, file: file)
                #expect(reported.first?.line == index + 1, "\(context)\n\(result.stderr)")
                #expect(
                    Set(reported.filter { $0.line == index + 1 }.map(\.field)) == [corruption.field],
                    "\(context)\n\(result.stderr)")
                #expect(result.stderr.contains("nothing was stored"), "\(context)\n\(result.stderr)")
                let after = try Data(contentsOf: URL(fileURLWithPath: ledger + "/data.mdb"))
                #expect(after == before, "data.mdb changed after \(context)")
            }

            // The ledger the refused files left alone takes the whole history.
            try write(lines, to: dir + "/whole.jsonl")
            let whole = try sunledger("import", dir + "/whole.jsonl", "--ledger", ledger)
            #expect(whole.status == 0, "\(whole.stderr)")
            #expect(whole.stdout.contains("\(lines.count - prefix) stored"))
            #expect(whole.stdout.contains("\(prefix) duplicate"))
            #expect(try sunledger("verify", "--ledger", ledger).status == 0)
        }
    }
}

/// Checks that the records of an export (`export --pii`) are the lines imported,
/// in order: each input key as given, `recordedAt` normalised to UTC milliseconds,
/// and the personal data as given unless a later `PersonPiiErased` removed it.
private func expectRecords(of lines: [JSONObject], in export: String) throws {
    let records = export.split(separator: "\n").map(String.init)
    try #require(records.count == lines.count)
    var versions: [String: Int64] = [:]
    for (index, (line, text)) in zip(lines, records).enumerated() {
        let record = try #require(try JSONParser.parse(text).objectValue)
        let stream = line["stream"]!.stringValue!
        versions[stream, default: 0] += 1
        #expect(record["seq"] == .integer(Int64(index + 1)), "\(text)")
        #expect(record["version"] == .integer(versions[stream]!), "\(text)")
        for key in ["id", "stream", "type", "occurredAt", "actor", "orgUnit", "data"] {
            #expect(record[key] == line[key], "seq \(index + 1): \(key) stored as \(record[key]?.quoted ?? "nothing")")
        }
        let recordedAt = Instant(rfc3339: line["recordedAt"]!.stringValue!)!
        #expect(record["recordedAt"] == .string(recordedAt.description), "\(text)")
        let erasedLater = lines[(index + 1)...].contains {
            $0["stream"] == line["stream"] && $0["type"] == .string("PersonPiiErased")
        }
        if let pii = line["pii"], !erasedLater {
            #expect(record["pii"] == pii, "seq \(index + 1): pii stored as \(record["pii"]?.quoted ?? "nothing")")
        } else {
            #expect(record["pii"] == nil, "seq \(index + 1): pii \(record["pii"]?.quoted ?? "") kept")
        }
        #expect((record["piiCommitment"] != nil) == (line["pii"] != nil), "\(text)")
    }
}

/// The `FILE:LINE: field: rule` lines of an import's error output, in order.
private func reportedErrors(_ stderr: String, file: String) -> [(line: Int, field: String)] {
    stderr.split(separator: "\n").compactMap { text in
        guard let start = text.range(of: file + ":") else { return nil }
        let rest = text[start.upperBound...]
        let parts = rest.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[0]) else { return nil }
        return (line, parts[1].trimmingCharacters(in: .whitespaces))
    }
}

// MARK: drawing values

private typealias Randomness = any SeededRandomNumberGenerator

private func randomness(_ seed: UInt64) -> Randomness {
    seededGenerator(seed)
}

private func one<T: Sendable>(_ items: [T], _ r: inout Randomness) -> T { Gen<T?>.element(of: items).run(using: &r)! }

private func chance(_ rate: Float, _ r: inout Randomness) -> Bool { Float.random(in: 0..<1, using: &r) < rate }

/// An integer of `range`, each bound drawn one time in five.
private func integer(in range: ClosedRange<Int64>, _ r: inout Randomness) -> Int64 {
    switch Gen.int(in: 0...9).run(using: &r) {
    case 0, 1: range.lowerBound
    case 2, 3: range.upperBound
    default: Gen.int64(in: range).run(using: &r)
    }
}

private func choice<E: CatalogueEnumeration>(_ r: inout Randomness) -> E {
    Gen<E>.case.run(using: &r)
}

private let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

/// `count` characters of `characters`.
private func characters(_ count: Int, of characters: [Character], _ r: inout Randomness) -> String {
    String((0..<count).map { _ in one(characters, &r) })
}

/// Letters of one or several code points (free text counts code points), and characters JSON escapes.
private let clusters: [Character] = [
    "👩‍💻", "👍🏽", "🇨🇳", "e\u{301}", "𠮷", "\"", "\\", "\t", "\n", "/", "\u{7F}", "\u{0}", "\u{1F}", "\u{2028}",
]

/// Free text of 1–128 characters (code points): Latin, Chinese, emoji, quotes and
/// control characters; a cluster too long for what is left ends the text early.
private func freeText(_ r: inout Randomness) -> String {
    var left = Int(integer(in: 1...128, &r))
    var text = ""
    while left > 0 {
        let next: Character =
            switch Gen.int(in: 0...9).run(using: &r) {
            case 0...2: Gen.character(in: " "..."~").run(using: &r)
            case 3...6: Gen.character(in: "\u{4E00}"..."\u{9FA5}").run(using: &r)
            case 7, 8: Gen.character(in: "\u{1F600}"..."\u{1F64F}").run(using: &r)
            default: one(clusters, &r)
            }
        guard next.unicodeScalars.count <= left else { break }
        text.append(next)
        left -= next.unicodeScalars.count
    }
    return text.isEmpty ? "嘉" : text
}

/// A valid ID number of region 310114 for `birthDate` and `sex` (GB 11643).
private func idNumber(born birthDate: LocalDate, sex: Sex, _ r: inout Randomness) -> String {
    let order = characters(2, of: Array("0123456789"), &r)
    let last = one(sex == .male ? ["1", "3", "5", "7", "9"] : ["0", "2", "4", "6", "8"], &r)
    let digits = "310114" + birthDate.description.filter { $0 != "-" } + order + last
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    let sum = zip(digits, weights).reduce(0) { $0 + $1.0.wholeNumberValue! * $1.1 }
    return digits + String(Array("10X98765432")[sum % 11])
}

/// The twelve streets and towns, and every unit that may record.
private let twelveUnits = [
    "xinchenglu", "zhenxin", "jiadingzhen", "nanxiang", "anting", "malu", "xuhang", "huating", "waigang",
    "jiangqiao", "juyuan", "industrial",
]
private let unitsThatRecord = ["jiading"] + twelveUnits

// MARK: valid histories

/// A random valid history: a few persons registered, then follow-up events of
/// random types in date order with increasing recordedAt; cases, calls and
/// rights cases naming those persons; projects; volunteers; legal education in
/// `org-<unit>` streams. Every line passes every rule of events.md §6.
private func validHistory(_ r: inout Randomness) -> [JSONObject] {
    var history = History(
        start: LocalDate(year: 2010, month: 1, day: 1)!.adding(days: Gen.int(in: 0...3650).run(using: &r)))
    for _ in 0..<Gen.int(in: 3...5).run(using: &r) { history.registerPerson(&r) }
    for _ in 0..<Gen.int(in: 90...140).run(using: &r) {
        switch Gen.int(in: 0...11).run(using: &r) {
        case 0...3: history.personEvent(&r)
        case 4, 5: history.caseEvent(&r)
        case 6: history.callEvent(&r)
        case 7, 8: history.projectEvent(&r)
        case 9: history.volunteerEvent(&r)
        case 10: history.rightsEvent(&r)
        default: history.legalEducation(&r)
        }
    }
    return history.lines
}

/// A history as it is written, and what its streams have seen so far.
private struct History {
    private(set) var lines: [JSONObject] = []
    /// The effective date of the next event; it never goes back.
    private var day: LocalDate
    /// The recordedAt of the last event, in milliseconds.
    private var clock: Int64
    private var versions: [String: Int64] = [:]
    /// Streams that are open, by kind: a closed stream takes nothing dated after its closer.
    private var open: [String: [String]] = [:]
    /// Every person registered (their keys), closed or not.
    private var persons: [String] = []
    /// Employments started and not yet ended, by person stream.
    private var employments: [String: [String]] = [:]
    private var serial = 0

    init(start: LocalDate) {
        day = start
        clock = Instant.startOfLocalDay(start).milliseconds
    }

    /// A fresh key of a stream of `kind` matching `^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`.
    private mutating func newKey(_ kind: String, _ r: inout Randomness) -> String {
        serial += 1
        let tail =
            chance(0.5, &r)
            ? "." + characters(Gen.int(in: 1...20).run(using: &r), of: alphanumerics + ["_", "-"], &r) : ""
        return "\(kind.prefix(1).uppercased())\(serial)\(tail)"
    }

    private mutating func append(
        _ stream: String, _ type: EventType, _ payload: Payload, pii: JSONObject? = nil, orgUnit: String? = nil,
        _ r: inout Randomness
    ) {
        if chance(0.3, &r) { day = day.adding(days: Gen.int(in: 1...4).run(using: &r)) }
        let earliest = Instant.startOfLocalDay(day).milliseconds + Gen.int64(in: 0...40_000_000).run(using: &r)
        clock = max(clock + Gen.int64(in: 0...5_000_000).run(using: &r), earliest)
        if chance(0.3, &r) { clock -= clock % 1000 }
        serial += 1
        var object = JSONObject()
        let idTail =
            chance(0.5, &r) ? characters(Gen.int(in: 1...30).run(using: &r), of: alphanumerics + Array("._:-"), &r) : ""
        object["id"] = .string("e\(serial)" + (idTail.isEmpty ? "" : ":" + idTail))
        object["stream"] = .string(stream)
        object["type"] = .string(type.rawValue)
        object["occurredAt"] = .string(day.description)
        object["recordedAt"] = .string(rfc3339(clock, &r))
        object["actor"] = .string(characters(Gen.int(in: 1...64).run(using: &r), of: alphanumerics + Array("_.@-"), &r))
        object["orgUnit"] = .string(orgUnit ?? one(unitsThatRecord, &r))
        let version = versions[stream, default: 0]
        if chance(0.25, &r) { object["expectedVersion"] = .integer(version) }
        object["data"] = .object(payload.data)
        if let pii { object["pii"] = .object(pii) }
        versions[stream] = version + 1
        lines.append(object)
    }

    /// `milliseconds` as an RFC 3339 instant with a random offset, with or
    /// without a fraction (digits past the third are dropped on reading).
    private func rfc3339(_ milliseconds: Int64, _ r: inout Randomness) -> String {
        let offset = one([0, 480, 480, -300, 345, 60], &r)
        let local = milliseconds + Int64(offset) * 60_000
        let day = local / 86_400_000
        let within = Int(local % 86_400_000)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = LocalDate(dayNumber: Int32(day)).description + "T" + two(within / 3_600_000) + ":"
        text += two(within / 60_000 % 60) + ":" + two(within / 1000 % 60)
        let millis = within % 1000
        if millis != 0 || chance(0.5, &r) {
            text +=
                "." + String(format: "%03d", millis)
                + (chance(0.3, &r) ? characters(3, of: Array("0123456789"), &r) : "")
        }
        if offset == 0 { return text + "Z" }
        let size = abs(offset)
        return text + (offset < 0 ? "-" : "+") + two(size / 60) + ":" + two(size % 60)
    }

    private mutating func opened(_ kind: String, _ key: String) -> String {
        let stream = kind + "-" + key
        open[kind, default: []].append(stream)
        return stream
    }

    private mutating func close(_ kind: String, _ stream: String) {
        open[kind]?.removeAll { $0 == stream }
    }

    /// A registered person's key, or nil when none is.
    private func somePerson(_ r: inout Randomness) -> String? { persons.isEmpty ? nil : one(persons, &r) }

    mutating func registerPerson(_ r: inout Randomness) {
        let key = newKey("person", &r)
        let stream = opened("person", key)
        persons.append(key)
        let sex: Sex = choice(&r)
        let born = LocalDate(
            dayNumber: Int32(
                integer(in: Int64(LocalDate(year: 1920, month: 1, day: 1)!.dayNumber)...Int64(day.dayNumber), &r)))
        var pii = JSONObject([
            ("name", .string(freeText(&r))), ("idNumber", .string(idNumber(born: born, sex: sex, &r))),
        ])
        if chance(0.5, &r) { pii["phone"] = .string("1" + characters(10, of: Array("0123456789"), &r)) }
        if chance(0.5, &r) { pii["address"] = .string(freeText(&r)) }
        let registration = PersonRegistration(
            sex: sex, birthDate: born, category: choice(&r), grade: one(DisabilityGrade.allCases, &r),
            residence: one(twelveUnits, &r))
        append(stream, .personRegistered, .personRegistered(registration), pii: pii, &r)
    }

    mutating func personEvent(_ r: inout Randomness) {
        guard let stream = open["person"].flatMap({ $0.isEmpty ? nil : one($0, &r) }) else {
            return registerPerson(&r)
        }
        let started = employments[stream, default: []]
        switch Gen.int(in: 0...17).run(using: &r) {
        case 0:
            append(
                stream, .personReassessed,
                .personReassessed(Reassessment(category: choice(&r), grade: one(DisabilityGrade.allCases, &r))), &r)
        case 1: append(stream, .personMoved, .personMoved(Move(residence: one(twelveUnits, &r))), &r)
        case 2:
            var pii = JSONObject()
            for key in ["name", "phone", "address"] where chance(0.5, &r) { pii[key] = .string(freeText(&r)) }
            if pii.count == 0 { pii["phone"] = .string(characters(11, of: Array("0123456789"), &r)) }
            append(stream, .personPiiCorrected, .personPiiCorrected, pii: pii, &r)
        case 3: append(stream, .personPiiErased, .personPiiErased(Erasure(reason: freeText(&r))), &r)
        case 4:
            let needs = Array(Need.allCases.shuffled(using: &r).prefix(Gen.int(in: 0...5).run(using: &r)))
            append(
                stream, .needsAssessed,
                .needsAssessed(NeedsAssessment(workCapacity: choice(&r), inEducation: chance(0.5, &r), needs: needs)),
                &r)
        case 5:
            let id = characters(Gen.int(in: 1...24).run(using: &r), of: alphanumerics + ["_", "-"], &r) + "-\(serial)"
            employments[stream, default: []].append(id)
            append(
                stream, .employmentStarted,
                .employmentStarted(EmploymentStart(employmentID: id, form: choice(&r), employer: freeText(&r))), &r)
        case 6, 7:
            guard let id = started.isEmpty ? nil : one(started, &r) else {
                return append(stream, .healthCheckCompleted, .healthCheckCompleted, &r)
            }
            employments[stream]?.removeAll { $0 == id }
            append(stream, .employmentEnded, .employmentEnded(EmploymentEnd(employmentID: id, reason: choice(&r))), &r)
        case 8:
            append(
                stream, .trainingCompleted,
                .trainingCompleted(Training(programme: choice(&r), hours: integer(in: 1...2000, &r))), &r)
        case 9:
            append(stream, .rehabServiceDelivered, .rehabServiceDelivered(RehabService(serviceKind: choice(&r))), &r)
        case 10:
            append(stream, .assistiveDeviceFitted, .assistiveDeviceFitted(DeviceFitting(deviceKind: choice(&r))), &r)
        case 11:
            append(
                stream, .homeModificationCompleted,
                .homeModificationCompleted(
                    HomeModification(programme: choice(&r), costYuan: integer(in: 0...10_000_000, &r))), &r)
        case 12: append(stream, .healthCheckCompleted, .healthCheckCompleted, &r)
        case 13: append(stream, .familyDoctorContracted, .familyDoctorContracted, &r)
        case 14: append(stream, .familyDoctorContractEnded, .familyDoctorContractEnded, &r)
        case 15: append(stream, .careEnrolled, .careEnrolled(CareEnrolment(facility: freeText(&r))), &r)
        case 16: append(stream, .careEnded, .careEnded, &r)
        default:
            close("person", stream)
            append(stream, .personDeregistered, .personDeregistered(Deregistration(reason: choice(&r))), &r)
        }
    }

    mutating func caseEvent(_ r: inout Randomness) {
        if let stream = open["case"].flatMap({ $0.isEmpty ? nil : one($0, &r) }), chance(0.6, &r) {
            if chance(0.6, &r) {
                let worker = characters(Gen.int(in: 1...32).run(using: &r), of: alphanumerics + Array("_.-"), &r)
                append(
                    stream, .caseReassigned,
                    .caseReassigned(CaseReassignment(worker: worker, unit: one(twelveUnits, &r))), &r)
            } else {
                close("case", stream)
                append(stream, .caseClosed, .caseClosed(CaseClosing(outcome: choice(&r))), &r)
            }
        } else if let person = somePerson(&r) {
            let worker = characters(Gen.int(in: 1...32).run(using: &r), of: alphanumerics + Array("_.-"), &r)
            let stream = opened("case", newKey("case", &r))
            append(
                stream, .caseOpened,
                .caseOpened(CaseOpening(personID: person, serviceType: choice(&r), worker: worker)), &r)
        }
    }

    mutating func callEvent(_ r: inout Randomness) {
        if let stream = open["call"].flatMap({ $0.isEmpty ? nil : one($0, &r) }), chance(0.5, &r) {
            close("call", stream)
            append(stream, .callResolved, .callResolved(CallResolution(satisfied: chance(0.7, &r))), &r)
        } else {
            let person = chance(0.6, &r) ? somePerson(&r) : nil
            let stream = opened("call", newKey("call", &r))
            append(
                stream, .callReceived,
                .callReceived(CallReceipt(topic: choice(&r), channel: choice(&r), personID: person)), &r)
        }
    }

    mutating func projectEvent(_ r: inout Randomness) {
        if let stream = open["project"].flatMap({ $0.isEmpty ? nil : one($0, &r) }), chance(0.7, &r) {
            switch Gen.int(in: 0...6).run(using: &r) {
            case 0...2:
                let year = integer(in: 1990...Int64(day.year), &r)
                append(
                    stream, .projectEvaluated,
                    .projectEvaluated(ProjectEvaluation(year: year, score: integer(in: 0...100, &r))), &r)
            case 3...5:
                append(
                    stream, .projectAdopted,
                    .projectAdopted(Adoption(company: freeText(&r), amountYuan: integer(in: 1...100_000_000, &r))), &r)
            default:
                close("project", stream)
                append(stream, .projectEliminated, .projectEliminated(ProjectElimination(reason: freeText(&r))), &r)
            }
        } else {
            let launch = ProjectLaunch(
                title: freeText(&r), operator: freeText(&r), category: choice(&r),
                budgetYuan: integer(in: 0...100_000_000, &r))
            append(opened("project", newKey("project", &r)), .projectLaunched, .projectLaunched(launch), &r)
        }
    }

    mutating func volunteerEvent(_ r: inout Randomness) {
        if let stream = open["volunteer"].flatMap({ $0.isEmpty ? nil : one($0, &r) }), chance(0.6, &r) {
            let service = VolunteerService(minutes: integer(in: 1...1440, &r), activity: freeText(&r))
            append(stream, .volunteerServiceLogged, .volunteerServiceLogged(service), &r)
        } else {
            var pii: JSONObject?
            if chance(0.6, &r) {
                var given = JSONObject()
                if chance(0.7, &r) { given["name"] = .string(freeText(&r)) }
                if given.count == 0 || chance(0.5, &r) { given["phone"] = .string(freeText(&r)) }
                pii = given
            }
            let registration = VolunteerRegistration(partyMember: chance(0.4, &r), alliance: choice(&r))
            append(
                opened("volunteer", newKey("volunteer", &r)), .volunteerRegistered,
                .volunteerRegistered(registration), pii: pii, &r)
        }
    }

    mutating func rightsEvent(_ r: inout Randomness) {
        if let stream = open["rights"].flatMap({ $0.isEmpty ? nil : one($0, &r) }), chance(0.5, &r) {
            close("rights", stream)
            append(stream, .rightsCaseClosed, .rightsCaseClosed(RightsCaseClosing(resolution: choice(&r))), &r)
        } else {
            let person = chance(0.6, &r) ? somePerson(&r) : nil
            append(
                opened("rights", newKey("rights", &r)), .rightsCaseOpened,
                .rightsCaseOpened(RightsCaseOpening(kind: choice(&r), personID: person)), &r)
        }
    }

    mutating func legalEducation(_ r: inout Randomness) {
        let unit = one(unitsThatRecord, &r)
        let session = LegalEducation(attendees: integer(in: 1...100_000, &r), topic: freeText(&r))
        append("org-" + unit, .legalEducationHeld, .legalEducationHeld(session), orgUnit: unit, &r)
    }
}

// MARK: writing lines

/// `object` as one line of JSON, members in random order; most lines plain (only
/// what JSON requires escaped), some with non-ASCII characters as `\u` escapes.
private func lineText(_ object: JSONObject, _ r: inout Randomness) -> String {
    let escapeAll = chance(0.15, &r)
    func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (escapeAll && scalar.value > 0x7E):
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
    func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): literal(s)
        case .integer(let n): String(n)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .number(let raw): raw
        case .array(let elements): "[" + elements.map(text).joined(separator: ",") + "]"
        case .object(let object):
            "{" + object.members.map { literal($0.key) + ":" + text($0.value) }.joined(separator: ",") + "}"
        }
    }
    return text(.object(JSONObject(object.members.shuffled(using: &r))))
}

// MARK: corruptions

/// One field of a line made wrong, and the field the error must name.
private struct Corruption {
    let field: String
    let change: String
    let line: JSONObject
}

/// A random single-field corruption of `line`, whatever its type: a required
/// key removed, an unknown key added, a value of the wrong kind, out of range, or
/// breaking its pattern, personal data where none is taken, a broken check
/// character. Each is wrong for every field it may hit: every string field
/// refuses "" and 129 characters, every integer field -1 and 2^63-1.
private func corrupt(_ line: JSONObject, _ r: inout Randomness) -> Corruption {
    let type = line["type"]!.stringValue!
    let data = line["data"]!.objectValue!
    let pii = line["pii"]?.objectValue
    var candidates: [(field: String, change: String, edit: (inout JSONObject) -> Void)] = []
    for key in ["id", "stream", "type", "occurredAt", "actor", "orgUnit", "data"] {
        candidates.append((key, "removed", { $0[key] = nil }))
    }
    for key in ["id", "stream", "type", "occurredAt", "recordedAt", "actor", "orgUnit"] {
        candidates.append((key, "emptied", { $0[key] = .string("") }))
        candidates.append((key, "made an integer", { $0[key] = .integer(7) }))
    }
    candidates.append(("data", "made an array", { $0["data"] = .array([]) }))
    candidates.append(("expectedVersion", "set to -1", { $0["expectedVersion"] = .integer(-1) }))
    candidates.append(("note", "added", { $0["note"] = .string("x") }))

    func editData(_ object: inout JSONObject, _ key: String, _ value: JSONValue?) {
        var data = object["data"]!.objectValue!
        data[key] = value
        object["data"] = .object(data)
    }
    let optionalData = ["CallReceived": "personId", "RightsCaseOpened": "personId"]
    for member in data {
        let key = member.key
        let field = "data." + key
        if optionalData[type] != key { candidates.append((field, "removed", { editData(&$0, key, nil) })) }
        switch member.value {
        case .string:
            candidates.append((field, "emptied", { editData(&$0, key, .string("")) }))
            candidates.append(
                (field, "made 129 characters", { editData(&$0, key, .string(String(repeating: "字", count: 129))) }))
            candidates.append((field, "made an integer", { editData(&$0, key, .integer(1)) }))
        case .integer:
            candidates.append((field, "set to -1", { editData(&$0, key, .integer(-1)) }))
            candidates.append((field, "set to 2^63-1", { editData(&$0, key, .integer(.max)) }))
            candidates.append((field, "made a string", { editData(&$0, key, .string("1")) }))
            candidates.append((field, "made a fraction", { editData(&$0, key, .number("1.5")) }))
        case .bool:
            candidates.append((field, "made a string", { editData(&$0, key, .string("yes")) }))
        default:
            candidates.append((field, "made a string", { editData(&$0, key, .string("rehab")) }))
        }
    }
    candidates.append(("data.note", "added", { editData(&$0, "note", .string("x")) }))

    func editPII(_ object: inout JSONObject, _ key: String, _ value: JSONValue?) {
        var pii = object["pii"]!.objectValue!
        pii[key] = value
        object["pii"] = .object(pii)
    }
    if let pii {
        for member in pii {
            let key = member.key
            let field = "pii." + key
            candidates.append((field, "emptied", { editPII(&$0, key, .string("")) }))
            candidates.append((field, "made an integer", { editPII(&$0, key, .integer(1)) }))
            if type == "PersonRegistered" && (key == "name" || key == "idNumber") {
                candidates.append((field, "removed", { editPII(&$0, key, nil) }))
            }
        }
        candidates.append(("pii.email", "added", { editPII(&$0, "email", .string("x@y")) }))
        if case .string(let number)? = pii["idNumber"] {
            let check = one(Array("0123456789X").filter { $0 != number.last }, &r)
            let broken = String(number.dropLast()) + String(check)
            candidates.append(
                ("pii.idNumber", "given the check character \(check)", { editPII(&$0, "idNumber", .string(broken)) }))
        }
    } else if !["PersonRegistered", "PersonPiiCorrected", "VolunteerRegistered"].contains(type) {
        candidates.append(("pii", "given to a \(type)", { $0["pii"] = .object(JSONObject([("name", .string("王芳"))])) }))
    }

    let chosen = one(candidates.indices.map { $0 }, &r)
    var changed = line
    candidates[chosen].edit(&changed)
    return Corruption(field: candidates[chosen].field, change: candidates[chosen].change, line: changed)
}

import Foundation
import LedgerDomain
import LedgerValues
import Testing

/// The repository root, for `seeds/`.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The shape errors of `line` (rule 1 and the ID-number part of rule 6), as `field: rule`.
private func errors(_ line: String) throws -> [String] {
    switch InterchangeEvent.validate(try JSONParser.parse(line), units: units) {
    case .success: []
    case .failure(let errors): errors.all.map(\.description)
    }
}

/// `goodLine` with its personal data's ID number, birth date and sex replaced.
private func registration(idNumber: String, birthDate: String = "1980-02-29", sex: String = "F") -> String {
    goodLine.replacingOccurrences(of: "310114198002290025", with: idNumber)
        .replacingOccurrences(of: "\"1980-02-29\"", with: "\"\(birthDate)\"")
        .replacingOccurrences(of: "\"sex\":\"F\"", with: "\"sex\":\"\(sex)\"")
}

@Suite("rule 6: GB 11643 ID numbers")
struct IDNumberTests {
    @Test("the standard's published examples are valid")
    func published() {
        #expect(IDNumber.isValid("11010519491231002X"))
        #expect(IDNumber.isValid("440524188001010014"))
        #expect(IDNumber.checkCharacter(for: Array("11010519491231002".utf8)) == "X")
    }

    @Test("changing any one character of a published example makes it invalid")
    func everySingleChange() {
        for example in ["11010519491231002X", "440524188001010014"] {
            let characters = Array(example)
            for position in characters.indices {
                for replacement in Array("0123456789X") where replacement != characters[position] {
                    var changed = characters
                    changed[position] = replacement
                    #expect(!IDNumber.isValid(String(changed)), "\(String(changed)) should be invalid")
                }
            }
        }
    }

    @Test("the check character must be X, not x, and the number 18 characters")
    func form() {
        #expect(!IDNumber.isValid("11010519491231002x"))
        #expect(!IDNumber.isValid("1101051949123100X"))
        #expect(!IDNumber.isValid("110105194912310021X"))
    }

    @Test("a registration's ID number agrees with its birth date and sex, and messages mask it")
    func agreesWithRegistration() throws {
        #expect(try errors(registration(idNumber: "310114198002290025")).isEmpty)
        let wrongCheck = try errors(registration(idNumber: "310114198002290026"))
        #expect(wrongCheck.count == 1)
        #expect(wrongCheck[0].hasPrefix("pii.idNumber: fails the GB 11643 check"))
        #expect(wrongCheck[0].contains("310114********0026"))
        #expect(!wrongCheck[0].contains("198002290026"))
        let otherBirth = try errors(registration(idNumber: "310114198002290025", birthDate: "1980-03-01"))
        #expect(otherBirth.map { $0.prefix(40) } == ["pii.idNumber: characters 7–14 must be th"])
        let otherSex = try errors(registration(idNumber: "310114198002290025", sex: "M"))
        #expect(otherSex.count == 1 && otherSex[0].contains("17th digit must be odd for M"))
        #expect(try errors(registration(idNumber: "31011419800229002")).count == 1)
        #expect(try errors(registration(idNumber: "3101141980022900２5")).count == 1)
    }

    @Test("a person is not born after being registered")
    func bornBeforeRegistration() throws {
        let line = goodLine.replacingOccurrences(
            of: "\"occurredAt\":\"2020-03-01\"", with: "\"occurredAt\":\"1980-02-28\"")
        #expect(try errors(line) == ["data.birthDate: 1980-02-29 is after the registration (1980-02-28)"])
    }
}

@Suite("the typed payloads of events.md §5")
struct PayloadTests {
    let context = FieldReader.Context(type: .projectEvaluated, occurredAt: LocalDate(iso: "2024-06-01")!, units: units)

    @Test("an evaluation's year lies between 1990 and the year it was made")
    func evaluationYear() {
        func read(_ year: Int64) -> Result<Payload, FieldErrors> {
            Payload.read(JSONObject([("year", .integer(year)), ("score", .integer(80))]), context: context)
        }
        #expect((try? read(2024).get()) == .projectEvaluated(ProjectEvaluation(year: 2024, score: 80)))
        #expect((try? read(1990).get()) != nil)
        #expect((try? read(2025).get()) == nil)
        #expect((try? read(1989).get()) == nil)
    }

    @Test("an unknown field names the type's fields; a missing one names the type")
    func unknownAndMissing() throws {
        let result = Payload.read(JSONObject([("year", .integer(2020)), ("grade", .integer(3))]), context: context)
        guard case .failure(let errors) = result else {
            Issue.record("accepted")
            return
        }
        #expect(
            errors.all.map(\.description) == [
                "data.score: is required for ProjectEvaluated",
                "data.grade: is not a field of ProjectEvaluated (its fields are year, score)",
            ])
    }

    @Test("free text is 1–128 code points, however they cluster into letters, in data and in pii")
    func freeTextCountsCodePoints() throws {
        let context = FieldReader.Context(type: .careEnrolled, occurredAt: LocalDate(iso: "2024-06-01")!, units: units)
        func facility(_ text: String) -> [String] {
            switch Payload.read(JSONObject([("facility", .string(text))]), context: context) {
            case .success: []
            case .failure(let errors): errors.all.map(\.description)
            }
        }
        let accent = "e\u{301}"  // one letter, two code points
        #expect(facility(String(repeating: accent, count: 64)).isEmpty)
        #expect(facility(String(repeating: "嘉", count: 128)).isEmpty)
        #expect(facility(String(repeating: accent, count: 65)) == ["data.facility: must be 1–128 characters (got 130)"])
        #expect(facility(String(repeating: "嘉", count: 129)) == ["data.facility: must be 1–128 characters (got 129)"])
        // One letter under ten thousand accents is not one character of free text.
        let buried = "王" + String(repeating: "\u{301}", count: 10_000)
        #expect(facility(buried) == ["data.facility: must be 1–128 characters (got 10001)"])
        #expect(facility("") == ["data.facility: must be 1–128 characters (got 0)"])
        let name = try errors(goodLine.replacingOccurrences(of: "王芳", with: buried))
        #expect(name == ["pii.name: must be 1–128 characters (got 10001)"])
    }

    @Test("needs are distinct codes of the list")
    func needs() {
        let context = FieldReader.Context(type: .needsAssessed, occurredAt: LocalDate(iso: "2024-06-01")!, units: units)
        func read(_ needs: [String]) -> [String] {
            let data = JSONObject([
                ("workCapacity", .string("partial")), ("inEducation", .bool(false)),
                ("needs", .array(needs.map { .string($0) })),
            ])
            switch Payload.read(data, context: context) {
            case .success: return []
            case .failure(let errors): return errors.all.map(\.field)
            }
        }
        #expect(read([]).isEmpty)
        #expect(read(["rehab", "care"]).isEmpty)
        #expect(read(["rehab", "rehab"]) == ["data.needs[1]"])
        #expect(read(["dancing"]) == ["data.needs[0]"])
    }

    @Test("every type's payload writes back exactly the data it was read from")
    func roundTrip() throws {
        for line in everyTypeLines {
            let event = try InterchangeEvent.validate(JSONParser.parse(line), units: units).get()
            #expect(event.payload.data == event.data, "\(event.type)")
        }
    }
}

@Suite("a type is found by the bytes of its name")
struct TypeNameTests {
    private func named(_ name: [UInt8]) -> EventType? { name.withUnsafeBufferPointer { EventType.named($0) } }

    @Test("every type by its own name, and no type by a name with one byte changed, dropped or added")
    func everyNameAndNoNearMiss() {
        for type in EventType.allCases {
            let name = Array(type.rawValue.utf8)
            #expect(named(name) == type)
            for index in name.indices {
                var changed = name
                changed[index] ^= 0x20
                #expect(named(changed) == nil, "\(String(decoding: changed, as: UTF8.self))")
                var dropped = name
                dropped.remove(at: index)
                #expect(named(dropped) == nil, "\(String(decoding: dropped, as: UTF8.self))")
            }
            #expect(named(name + [UInt8(ascii: "s")]) == nil)
            #expect(named([UInt8(ascii: "X")] + name) == nil)
        }
        #expect(named([]) == nil)
        #expect(named(Array("Person".utf8)) == nil)
    }
}

@Suite("plain lines are judged straight from their bytes, exactly as the general path judges them")
struct PlainLineTests {
    func plain(_ line: String) -> InterchangeEvent? {
        var line = line
        return line.withUTF8 { InterchangeEvent.decodePlain($0, units: units) }
    }

    func general(_ line: String) -> InterchangeEvent? {
        guard let value = try? JSONParser.parse(line) else { return nil }
        return try? InterchangeEvent.validate(value, units: units).get()
    }

    @Test("valid lines of every type decode to the same event either way")
    func same() throws {
        var lines = everyTypeLines
        // The same content in other spellings: spaces, member order, optional keys.
        lines.append(
            goodLine.replacingOccurrences(of: ",\"", with: ", \"").replacingOccurrences(of: "\":", with: "\" : "))
        lines.append(goodLine.replacingOccurrences(of: "{\"id\":\"e1\",", with: "{") + "")
        lines.append(goodLine.replacingOccurrences(of: "\"actor\"", with: "\"expectedVersion\":0,\"actor\""))
        lines.append("  " + goodLine + " \r")
        // Whitespace inside data and pii, arrays included, and an integer written -0.
        lines += everyTypeLines.map {
            $0.replacingOccurrences(of: ",\"", with: " ,\n\t\"").replacingOccurrences(of: "\":", with: "\" : ")
                .replacingOccurrences(of: "[", with: "[ ").replacingOccurrences(of: "]", with: " ]")
        }
        lines.append(
            everyTypeLines.first { $0.contains("costYuan") }!.replacingOccurrences(of: "8000", with: "-0"))
        for line in lines {
            let general = general(line)
            #expect(plain(line) == general, "\(line)")
        }
    }

    @Test("anything not plain or not valid is left to the general path")
    func leftToGeneral() {
        let variants = [
            goodLine.replacingOccurrences(of: "\"e1\"", with: "\"e\\u0031\""),  // an escape
            goodLine.replacingOccurrences(of: "\"actor\"", with: "\"id\":\"e2\",\"actor\""),  // a repeated key
            goodLine.replacingOccurrences(of: "\"actor\"", with: "\"extra\":1,\"actor\""),  // an unknown key
            goodLine.replacingOccurrences(of: "\"grade\":3", with: "\"grade\":3.0"),
            goodLine.replacingOccurrences(of: "\"anting\"}", with: "\"pudong\"}"),
            goodLine.replacingOccurrences(of: "2020-03-01", with: "2020-02-30"),
            goodLine.replacingOccurrences(of: "310114198002290025", with: "310114198002290026"),
            goodLine.replacingOccurrences(of: "\"actor\"", with: "\"expectedVersion\":01,\"actor\""),
            goodLine.replacingOccurrences(of: "\"actor\"", with: "\"expectedVersion\":-1,\"actor\""),
            goodLine + "x",
            String(goodLine.dropLast()),
            "[]",
            "{}",
        ]
        for line in variants {
            #expect(plain(line) == nil, "\(line)")
        }
    }
}

@Suite("the enumerations' labels come from seeds/enumerations.json")
struct VocabularyTests {
    func seedBytes() throws -> [UInt8] {
        Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("seeds/enumerations.json")))
    }

    @Test("the shipped seed file labels every code of every enumeration in Chinese and English")
    func shipped() throws {
        let vocabulary = try Vocabulary(json: seedBytes())
        #expect(vocabulary.label(DisabilityCategory.physical) == Label(chinese: "肢体残疾", english: "physical"))
        #expect(vocabulary.label(DisabilityGrade.one).chinese == "一级")
        #expect(vocabulary.label(TrainingProgramme.smartSkills).chinese == "智慧助我行")
        #expect(vocabulary.label(CallChannel.oneNetwork).chinese == "一网通办")
        for enumeration in catalogueEnumerations {
            for code in enumeration.codes {
                #expect(vocabulary.label(of: code, in: enumeration.catalogueName) != nil, "\(code)")
            }
        }
    }

    @Test("a seed file that drops, adds or reorders a code is refused")
    func mismatched() throws {
        let text = String(decoding: try seedBytes(), as: UTF8.self)
        let dropped = text.replacingOccurrences(
            of: #"    {"code": "multiple", "zh": "多重残疾", "en": "multiple"}"#, with: ""
        )
        .replacingOccurrences(of: #""mental"},"#, with: #""mental"}"#)
        #expect(throws: VocabularyError.self) { try Vocabulary(json: Array(dropped.utf8)) }
        let reordered = text.replacingOccurrences(of: #""code": "M""#, with: #""code": "X""#)
            .replacingOccurrences(of: #""code": "F""#, with: #""code": "M""#)
            .replacingOccurrences(of: #""code": "X""#, with: #""code": "F""#)
        #expect(throws: VocabularyError.self) { try Vocabulary(json: Array(reordered.utf8)) }
        #expect(DisabilityCategory.mental.certificateDigit == 6)
    }
}

/// One valid line of every event type of events.md §5 (each on its own; not a ledger in order).
let everyTypeLines: [String] = [
    #"{"id":"s1","stream":"person-P1","type":"PersonRegistered","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"sex":"F","birthDate":"1980-02-29","category":"physical","grade":3,"residence":"anting"},"pii":{"name":"王芳","idNumber":"310114198002290025","phone":"13800000000","address":"安亭镇某路1号"}}"#,
    #"{"id":"s2","stream":"person-P1","type":"PersonReassessed","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"category":"multiple","grade":2}}"#,
    #"{"id":"s3","stream":"person-P1","type":"PersonMoved","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"residence":"malu"}}"#,
    #"{"id":"s4","stream":"person-P1","type":"PersonPiiCorrected","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{},"pii":{"phone":"13900000000"}}"#,
    #"{"id":"s5","stream":"person-P1","type":"PersonPiiErased","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"reason":"本人申请删除"}}"#,
    #"{"id":"s6","stream":"person-P1","type":"PersonDeregistered","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"reason":"moved_out"}}"#,
    #"{"id":"s7","stream":"person-P1","type":"NeedsAssessed","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"workCapacity":"partial","inEducation":false,"needs":["rehab","employment"]}}"#,
    #"{"id":"s8","stream":"person-P1","type":"EmploymentStarted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"employmentId":"E-1","form":"public_welfare_post","employer":"嘉定区某街道"}}"#,
    #"{"id":"s9","stream":"person-P1","type":"EmploymentEnded","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"employmentId":"E-1","reason":"contract_ended"}}"#,
    #"{"id":"s10","stream":"person-P1","type":"TrainingCompleted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"programme":"smart_skills","hours":12}}"#,
    #"{"id":"s11","stream":"person-P1","type":"RehabServiceDelivered","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"serviceKind":"community_rehab"}}"#,
    #"{"id":"s12","stream":"person-P1","type":"AssistiveDeviceFitted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"deviceKind":"wheelchair"}}"#,
    #"{"id":"s13","stream":"person-P1","type":"HomeModificationCompleted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"programme":"government_project","costYuan":8000}}"#,
    #"{"id":"s14","stream":"person-P1","type":"HealthCheckCompleted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{}}"#,
    #"{"id":"s15","stream":"person-P1","type":"FamilyDoctorContracted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{}}"#,
    #"{"id":"s16","stream":"person-P1","type":"FamilyDoctorContractEnded","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{}}"#,
    #"{"id":"s17","stream":"person-P1","type":"CareEnrolled","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"facility":"安亭镇阳光之家"}}"#,
    #"{"id":"s18","stream":"person-P1","type":"CareEnded","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{}}"#,
    #"{"id":"s19","stream":"case-C1","type":"CaseOpened","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"personId":"P1","serviceType":"rehab","worker":"w.zhang"}}"#,
    #"{"id":"s20","stream":"case-C1","type":"CaseReassigned","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"worker":"w.li","unit":"malu"}}"#,
    #"{"id":"s21","stream":"case-C1","type":"CaseClosed","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"outcome":"resolved"}}"#,
    #"{"id":"s22","stream":"call-K1","type":"CallReceived","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"topic":"policy","channel":"one_network","personId":"P1"}}"#,
    #"{"id":"s23","stream":"call-K1","type":"CallResolved","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"satisfied":true}}"#,
    #"{"id":"s24","stream":"project-J1","type":"ProjectLaunched","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"title":"助残就业","operator":"某社会组织","category":"employment","budgetYuan":200000}}"#,
    #"{"id":"s25","stream":"project-J1","type":"ProjectEvaluated","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"year":2023,"score":88}}"#,
    #"{"id":"s26","stream":"project-J1","type":"ProjectAdopted","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"company":"某公司","amountYuan":50000}}"#,
    #"{"id":"s27","stream":"project-J1","type":"ProjectEliminated","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"reason":"评估未达标"}}"#,
    #"{"id":"s28","stream":"volunteer-V1","type":"VolunteerRegistered","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"partyMember":true,"alliance":"kunshan"},"pii":{"name":"赵敏"}}"#,
    #"{"id":"s29","stream":"volunteer-V1","type":"VolunteerServiceLogged","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"minutes":90,"activity":"陪同就医"}}"#,
    #"{"id":"s30","stream":"rights-R1","type":"RightsCaseOpened","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"kind":"legal_aid","personId":"P1"}}"#,
    #"{"id":"s31","stream":"rights-R1","type":"RightsCaseClosed","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"resolution":"mediated"}}"#,
    #"{"id":"s32","stream":"org-anting","type":"LegalEducationHeld","recordedAt":"2024-06-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","occurredAt":"2024-06-01","data":{"attendees":45,"topic":"残疾人保障法"}}"#,
]

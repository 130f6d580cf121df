import LedgerDomain
import LedgerValues
import Testing

let units = UnitDirectory(
    district: "jiading",
    units: [
        "xinchenglu", "zhenxin", "jiadingzhen", "nanxiang", "anting", "malu", "xuhang", "huating", "waigang",
        "jiangqiao", "juyuan", "industrial",
    ])

let goodLine =
    #"{"id":"e1","stream":"person-P1","type":"PersonRegistered","occurredAt":"2020-03-01","recordedAt":"2020-03-02T09:00:00+08:00","actor":"staff-001","orgUnit":"anting","data":{"sex":"F","birthDate":"1980-02-29","category":"physical","grade":3,"residence":"anting"},"pii":{"name":"王芳","idNumber":"310114198002290025"}}"#

/// The fields rule 1 names for `line` after `edit` changed its object.
func shapeErrors(_ edit: (inout JSONObject) -> Void) throws -> [String] {
    var object = try #require(try JSONParser.parse(goodLine).objectValue)
    edit(&object)
    switch InterchangeEvent.validate(.object(object), units: units) {
    case .success: return []
    case .failure(let errors): return errors.all.map(\.field)
    }
}

@Suite("rule 1: the shape of an interchange line (events.md §1)")
struct InterchangeTests {
    @Test("a well-formed line passes, with recordedAt normalised to UTC")
    func good() throws {
        let event = try InterchangeEvent.validate(JSONParser.parse(goodLine), units: units).get()
        #expect(event.type == .personRegistered)
        #expect(event.kind == .person)
        #expect(event.recordedAt?.description == "2020-03-02T01:00:00.000Z")
    }

    @Test("a line that is not an object is refused")
    func notObject() {
        guard case .failure(let errors) = InterchangeEvent.validate(.array([]), units: units) else {
            Issue.record("accepted")
            return
        }
        #expect(errors.all.map(\.field) == ["line"])
    }

    @Test("unknown top-level keys are errors")
    func unknownKey() throws {
        #expect(try shapeErrors { $0["extra"] = .integer(1) } == ["extra"])
    }

    @Test(
        "each required key is required", arguments: ["id", "stream", "type", "occurredAt", "actor", "orgUnit", "data"])
    func required(_ key: String) throws {
        #expect(try shapeErrors { $0[key] = nil }.contains(key))
    }

    @Test(
        "id follows ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        arguments: [
            ("a", true), ("A.b_c:d-e9", true), (String(repeating: "x", count: 64), true),
            (String(repeating: "x", count: 65), false), ("-a", false), ("a b", false), ("", false), ("é", false),
        ])
    func id(_ value: String, _ valid: Bool) throws {
        #expect(try shapeErrors { $0["id"] = .string(value) }.isEmpty == valid)
    }

    @Test(
        "stream is <kind>-<key> with a known kind and a key of ^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$",
        arguments: [
            ("person-P1", true), ("person-P-1.x_y", true), ("person-" + String(repeating: "k", count: 48), true),
            ("person-" + String(repeating: "k", count: 49), false), ("person-", false), ("person", false),
            ("people-P1", false), ("person-_x", false), ("Person-P1", false),
        ])
    func stream(_ value: String, _ valid: Bool) throws {
        #expect(try shapeErrors { $0["stream"] = .string(value) }.isEmpty == valid)
    }

    @Test("type must be in the catalogue and belong to the stream's kind")
    func type() throws {
        #expect(try shapeErrors { $0["type"] = .string("PersonInvented") } == ["type"])
        #expect(try shapeErrors { $0["type"] = .string("CaseOpened") }.contains("type"))
    }

    @Test(
        "occurredAt is a real date in 1900–2100",
        arguments: [
            ("2024-02-29", true), ("2023-02-29", false), ("1899-12-31", false), ("2101-01-01", false),
            ("2024-1-1", false),
        ])
    func occurredAt(_ value: String, _ valid: Bool) throws {
        #expect(try shapeErrors { $0["occurredAt"] = .string(value) }.isEmpty == valid)
    }

    @Test("recordedAt, where given, is an RFC 3339 instant")
    func recordedAt() throws {
        #expect(try shapeErrors { $0["recordedAt"] = .string("2020-03-02") } == ["recordedAt"])
        #expect(try shapeErrors { $0["recordedAt"] = nil }.isEmpty)
        var leap = try #require(try JSONParser.parse(goodLine).objectValue)
        leap["recordedAt"] = .string("2016-12-31T23:59:60Z")
        guard case .failure(let errors) = InterchangeEvent.validate(.object(leap), units: units) else {
            Issue.record("a leap second was accepted")
            return
        }
        #expect(errors.all.map(\.rule).contains { $0.hasPrefix("must not be a leap second") })
    }

    @Test(
        "actor follows ^[A-Za-z0-9_.@-]{1,64}$",
        arguments: [
            ("staff-001", true), ("a@b.c", true), ("", false), ("a b", false),
            (String(repeating: "a", count: 65), false),
        ])
    func actor(_ value: String, _ valid: Bool) throws {
        #expect(try shapeErrors { $0["actor"] = .string(value) }.isEmpty == valid)
    }

    @Test("orgUnit is the district or one of its twelve units")
    func orgUnit() throws {
        #expect(try shapeErrors { $0["orgUnit"] = .string("jiading") }.isEmpty)
        #expect(try shapeErrors { $0["orgUnit"] = .string("pudong") } == ["orgUnit"])
    }

    @Test("an org-<unit> stream takes only orgUnit = that unit")
    func orgStream() throws {
        let edit: (String, String) -> (inout JSONObject) -> Void = { stream, unit in
            { object in
                object["stream"] = .string(stream)
                object["type"] = .string("LegalEducationHeld")
                object["orgUnit"] = .string(unit)
                object["data"] = .object(JSONObject([("attendees", .integer(40)), ("topic", .string("劳动合同法"))]))
                object["pii"] = nil
            }
        }
        #expect(try shapeErrors(edit("org-malu", "malu")).isEmpty)
        #expect(try shapeErrors(edit("org-malu", "anting")) == ["orgUnit"])
        #expect(try shapeErrors(edit("org-nowhere", "malu")).contains("stream"))
    }

    @Test("expectedVersion is an integer ≥ 0")
    func expectedVersion() throws {
        #expect(try shapeErrors { $0["expectedVersion"] = .integer(0) }.isEmpty)
        #expect(try shapeErrors { $0["expectedVersion"] = .integer(-1) } == ["expectedVersion"])
        #expect(try shapeErrors { $0["expectedVersion"] = .string("1") } == ["expectedVersion"])
    }

    @Test("data holds exactly the type's fields: no floats, no nulls, no objects, nothing unknown or missing")
    func dataValues() throws {
        #expect(try shapeErrors { $0["data"] = .array([]) } == ["data"])
        let fields = try shapeErrors { object in
            var data = object["data"]!.objectValue!
            data["grade"] = .number("1.5")
            data["sex"] = .null
            data["birthDate"] = .object(JSONObject())
            data["residence"] = nil
            data["extra"] = .string("x")
            object["data"] = .object(data)
        }
        #expect(fields == ["data.sex", "data.birthDate", "data.grade", "data.residence", "data.extra"])
    }

    @Test("pii appears only where the type lists it, with only its keys")
    func pii() throws {
        #expect(try shapeErrors { $0["pii"] = nil } == ["pii"])
        #expect(try shapeErrors { $0["pii"] = .object(JSONObject([("name", .string("王芳"))])) } == ["pii.idNumber"])
        var extra = try #require(try JSONParser.parse(goodLine).objectValue?["pii"]?.objectValue)
        extra["email"] = .string("x@y")
        #expect(try shapeErrors { $0["pii"] = .object(extra) } == ["pii.email"])
        #expect(try shapeErrors { $0["pii"] = .string("王芳") } == ["pii"])
        #expect(
            try shapeErrors { object in
                object["type"] = .string("PersonMoved")
            }.contains("pii"))
    }

    @Test("a correction carries a non-empty subset of name, phone and address, never the ID number")
    func correction() throws {
        func errors(_ pii: JSONObject) throws -> [String] {
            try shapeErrors { object in
                object["type"] = .string("PersonPiiCorrected")
                object["data"] = .object(JSONObject())
                object["pii"] = .object(pii)
            }
        }
        #expect(try errors(JSONObject([("phone", .string("13800000000"))])).isEmpty)
        #expect(try errors(JSONObject()) == ["pii"])
        #expect(try errors(JSONObject([("idNumber", .string("310114198002290025"))])) == ["pii.idNumber"])
    }

    @Test("types, kinds and roles follow the catalogue of events.md §5")
    func catalogue() {
        #expect(EventType.allCases.count == 32)
        #expect(StreamKind.person.opener == .personRegistered)
        #expect(StreamKind.org.opener == nil)
        #expect(
            EventType.allCases.filter { $0.role == .closer }.map(\.rawValue).sorted()
                == ["CallResolved", "CaseClosed", "PersonDeregistered", "ProjectEliminated", "RightsCaseClosed"])
        for kind in StreamKind.allCases where kind != .org { #expect(kind.opener != nil) }
    }

    @Test("a stream's key is its name without its kind, and names the stream again")
    func streamKeys() {
        for kind in StreamKind.allCases {
            #expect(kind.key(ofStream: kind.streamName("K-1.a")) == "K-1.a")
            // A key too long to lie inline in a string.
            let long = String(repeating: "K0.", count: 16)
            #expect(kind.key(ofStream: kind.streamName(long)) == long)
            #expect(kind.key(ofStream: String(kind.streamName(long).dropLast(long.count))) == nil)
        }
        #expect(StreamKind.call.key(ofStream: "call-20240101-0001") == "20240101-0001")
        for other in ["case-C1", "calls-C1", "call", "call-", "callC1", ""] {
            #expect(StreamKind.call.key(ofStream: other) == nil, "\(other)")
        }
    }

    @Test("a stream name parses into its kind and key; a refused one is told the kinds, and a bare key its full name")
    func streamNames() {
        #expect(
            StreamKind.parse(streamName: "call-20240101-0001").map { "\($0.kind) \($0.key)" } == "call 20240101-0001")
        for refused in ["P000027", "people-P1", "person-", "person-_x", ""] {
            #expect(StreamKind.parse(streamName: refused) == nil, "\(refused)")
        }
        let bare = StreamKind.rule(refusing: "P000027")
        #expect(bare.hasPrefix("must be <kind>-<key> with kind one of person case call project volunteer rights org"))
        #expect(bare.hasSuffix(#"(got "P000027"; a person's stream, for one, is named person-P000027)"#))
        for mistyped in ["people-P1", "person_P1", "Person.P1"] {
            #expect(StreamKind.rule(refusing: mistyped).hasSuffix("(got \"\(mistyped)\")"), "\(mistyped)")
        }
    }
}

@Suite("masking (events.md §3)")
struct MaskingTests {
    @Test("ID number keeps 6 + 4, name its first character, phone its last 4; address is dropped")
    func masks() {
        let pii = JSONObject([
            ("name", .string("张三丰")), ("idNumber", .string("31011419800229123X")), ("phone", .string("13812345678")),
            ("address", .string("嘉定区某路1号")),
        ])
        let masked = Masking.mask(pii)
        #expect(masked["idNumber"] == .string("310114********123X"))
        #expect(masked["name"] == .string("张**"))
        #expect(masked["phone"] == .string("*******5678"))
        #expect(masked["address"] == nil)
    }
}

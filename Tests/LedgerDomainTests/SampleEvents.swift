import LedgerDomain
import LedgerValues
import PropertyBased
import Testing

// The catalogue of events.md §4–§5 written out again here, from the page and not
// from the code, so that the properties compare the code against the contract.

/// The twelve streets and towns of events.md §4.
let streetsAndTowns = [
    "xinchenglu", "zhenxin", "jiadingzhen", "nanxiang", "anting", "malu", "xuhang", "huating", "waigang",
    "jiangqiao", "juyuan", "industrial",
]

/// Every code `orgUnit` may take: the district and its twelve units.
let recordingUnits = ["jiading"] + streetsAndTowns

/// The district as the validator is given it.
let district = UnitDirectory(district: "jiading", units: Set(streetsAndTowns))

/// The enumerations of events.md §5, by their names in `seeds/enumerations.json`.
let catalogueCodes: [String: [String]] = [
    "category": ["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"],
    "sex": ["M", "F"],
    "workCapacity": ["full", "partial", "none"],
    "needs": ["rehab", "assistive_device", "home_modification", "employment", "care"],
    "employmentForm": [
        "concentrated", "proportional", "self_employed", "flexible", "auxiliary", "public_welfare_post", "agricultural",
    ],
    "employmentEndReason": ["resigned", "dismissed", "contract_ended", "retired", "other"],
    "trainingProgramme": ["vocational", "internship", "smart_skills"],
    "serviceKind": [
        "physical_therapy", "speech_therapy", "cognitive_training", "psychiatric_support", "community_rehab", "other",
    ],
    "deviceKind": ["wheelchair", "hearing_aid", "visual_aid", "prosthesis_orthosis", "daily_living_aid", "other"],
    "serviceType": ["rehab", "employment", "assistive_device", "home_modification", "care", "rights", "other"],
    "outcome": ["resolved", "referred", "withdrawn"],
    "topic": ["policy", "employment", "rehab", "assistive_device", "complaint", "other"],
    "channel": ["phone", "online", "one_network", "policy_assistant"],
    "projectCategory": ["life_service", "rehab", "employment", "culture_sports", "other"],
    "alliance": ["jiading", "kunshan", "taicang"],
    "rightsKind": ["complaint", "legal_aid", "petition"],
    "resolution": ["resolved", "mediated", "referred", "rejected"],
    "deregistrationReason": ["deceased", "moved_out", "certificate_revoked"],
    "homeModificationProgramme": ["government_project", "other"],
]

/// The codes of the enumeration named `name`.
func codes(_ name: String) -> [String] { catalogueCodes[name]! }

/// The shape of a code field (events.md §1 and §5).
struct CodeShape: Sendable {
    /// The characters the first may be.
    let first: [Character]
    /// The characters the others may be.
    let rest: [Character]
    /// The longest code.
    let maxLength: Int

    static let alphanumeric = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    /// `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`
    static let id = CodeShape(first: alphanumeric, rest: alphanumeric + Array("._:-"), maxLength: 64)
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`: a stream's key, and so a person's id.
    static let streamKey = CodeShape(first: alphanumeric, rest: alphanumeric + Array("_.-"), maxLength: 48)
    /// `^[A-Za-z0-9_.@-]{1,64}$`
    static let actor = CodeShape(first: alphanumeric + Array("_.@-"), rest: alphanumeric + Array("_.@-"), maxLength: 64)
    /// `^[A-Za-z0-9_-]{1,32}$`
    static let employmentID = CodeShape(
        first: alphanumeric + Array("_-"), rest: alphanumeric + Array("_-"), maxLength: 32)
    /// `^[A-Za-z0-9_.-]{1,32}$`
    static let worker = CodeShape(first: alphanumeric + Array("_.-"), rest: alphanumeric + Array("_.-"), maxLength: 32)
}

/// What one field of `data` holds, as events.md §5 states it.
enum FieldKind: Sendable {
    /// Free text of 1–128 characters.
    case text
    /// One code of the enumeration named.
    case code(String)
    /// An array of distinct codes of the enumeration named, possibly empty.
    case codes(String)
    case integer(ClosedRange<Int64>)
    /// An evaluated year: 1990 to the year of `occurredAt`.
    case evaluatedYear
    case flag
    /// A real date in 1900–2100, not after `occurredAt`.
    case birthDate
    /// One of the twelve units.
    case unit
    /// A code of the given shape.
    case shaped(CodeShape)
}

/// One field of a type's `data`.
struct FieldSpec: Sendable {
    let name: String
    let kind: FieldKind
    /// Whether the field may be left out.
    var optional = false

    init(_ name: String, _ kind: FieldKind, optional: Bool = false) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }
}

/// The personal data a type carries (events.md §3, §5).
struct PIISpec: Sendable {
    var required: [String] = []
    var optional: [String] = []
    /// Whether `pii` must be given at all.
    var mustBeGiven = false
    var allowed: [String] { required + optional }
}

/// One row of the catalogue table of events.md §5.
struct CatalogueEntry: Sendable, CustomTestStringConvertible {
    let type: String
    let kind: String
    let fields: [FieldSpec]
    var pii = PIISpec()

    var testDescription: String { type }
}

/// The catalogue table of events.md §5, row by row.
let catalogue: [CatalogueEntry] = {
    let text = FieldKind.text
    let personKey = FieldKind.shaped(.streamKey)
    return [
        CatalogueEntry(
            type: "PersonRegistered", kind: "person",
            fields: [
                FieldSpec("sex", .code("sex")), FieldSpec("birthDate", .birthDate),
                FieldSpec("category", .code("category")), FieldSpec("grade", .integer(1...4)),
                FieldSpec("residence", .unit),
            ],
            pii: PIISpec(required: ["name", "idNumber"], optional: ["phone", "address"], mustBeGiven: true)),
        CatalogueEntry(
            type: "PersonReassessed", kind: "person",
            fields: [FieldSpec("category", .code("category")), FieldSpec("grade", .integer(1...4))]),
        CatalogueEntry(type: "PersonMoved", kind: "person", fields: [FieldSpec("residence", .unit)]),
        CatalogueEntry(
            type: "PersonPiiCorrected", kind: "person", fields: [],
            pii: PIISpec(optional: ["name", "phone", "address"], mustBeGiven: true)),
        CatalogueEntry(type: "PersonPiiErased", kind: "person", fields: [FieldSpec("reason", text)]),
        CatalogueEntry(
            type: "PersonDeregistered", kind: "person", fields: [FieldSpec("reason", .code("deregistrationReason"))]),
        CatalogueEntry(
            type: "NeedsAssessed", kind: "person",
            fields: [
                FieldSpec("workCapacity", .code("workCapacity")), FieldSpec("inEducation", .flag),
                FieldSpec("needs", .codes("needs")),
            ]),
        CatalogueEntry(
            type: "EmploymentStarted", kind: "person",
            fields: [
                FieldSpec("employmentId", .shaped(.employmentID)), FieldSpec("form", .code("employmentForm")),
                FieldSpec("employer", text),
            ]),
        CatalogueEntry(
            type: "EmploymentEnded", kind: "person",
            fields: [
                FieldSpec("employmentId", .shaped(.employmentID)), FieldSpec("reason", .code("employmentEndReason")),
            ]),
        CatalogueEntry(
            type: "TrainingCompleted", kind: "person",
            fields: [FieldSpec("programme", .code("trainingProgramme")), FieldSpec("hours", .integer(1...2000))]),
        CatalogueEntry(
            type: "RehabServiceDelivered", kind: "person", fields: [FieldSpec("serviceKind", .code("serviceKind"))]),
        CatalogueEntry(
            type: "AssistiveDeviceFitted", kind: "person", fields: [FieldSpec("deviceKind", .code("deviceKind"))]),
        CatalogueEntry(
            type: "HomeModificationCompleted", kind: "person",
            fields: [
                FieldSpec("programme", .code("homeModificationProgramme")),
                FieldSpec("costYuan", .integer(0...10_000_000)),
            ]),
        CatalogueEntry(type: "HealthCheckCompleted", kind: "person", fields: []),
        CatalogueEntry(type: "FamilyDoctorContracted", kind: "person", fields: []),
        CatalogueEntry(type: "FamilyDoctorContractEnded", kind: "person", fields: []),
        CatalogueEntry(type: "CareEnrolled", kind: "person", fields: [FieldSpec("facility", text)]),
        CatalogueEntry(type: "CareEnded", kind: "person", fields: []),
        CatalogueEntry(
            type: "CaseOpened", kind: "case",
            fields: [
                FieldSpec("personId", personKey), FieldSpec("serviceType", .code("serviceType")),
                FieldSpec("worker", .shaped(.worker)),
            ]),
        CatalogueEntry(
            type: "CaseReassigned", kind: "case",
            fields: [FieldSpec("worker", .shaped(.worker)), FieldSpec("unit", .unit)]
        ),
        CatalogueEntry(type: "CaseClosed", kind: "case", fields: [FieldSpec("outcome", .code("outcome"))]),
        CatalogueEntry(
            type: "CallReceived", kind: "call",
            fields: [
                FieldSpec("topic", .code("topic")), FieldSpec("channel", .code("channel")),
                FieldSpec("personId", personKey, optional: true),
            ]),
        CatalogueEntry(type: "CallResolved", kind: "call", fields: [FieldSpec("satisfied", .flag)]),
        CatalogueEntry(
            type: "ProjectLaunched", kind: "project",
            fields: [
                FieldSpec("title", text), FieldSpec("operator", text), FieldSpec("category", .code("projectCategory")),
                FieldSpec("budgetYuan", .integer(0...100_000_000)),
            ]),
        CatalogueEntry(
            type: "ProjectEvaluated", kind: "project",
            fields: [FieldSpec("year", .evaluatedYear), FieldSpec("score", .integer(0...100))]),
        CatalogueEntry(
            type: "ProjectAdopted", kind: "project",
            fields: [FieldSpec("company", text), FieldSpec("amountYuan", .integer(1...100_000_000))]),
        CatalogueEntry(type: "ProjectEliminated", kind: "project", fields: [FieldSpec("reason", text)]),
        CatalogueEntry(
            type: "VolunteerRegistered", kind: "volunteer",
            fields: [FieldSpec("partyMember", .flag), FieldSpec("alliance", .code("alliance"))],
            pii: PIISpec(optional: ["name", "phone"])),
        CatalogueEntry(
            type: "VolunteerServiceLogged", kind: "volunteer",
            fields: [FieldSpec("minutes", .integer(1...1440)), FieldSpec("activity", text)]),
        CatalogueEntry(
            type: "RightsCaseOpened", kind: "rights",
            fields: [FieldSpec("kind", .code("rightsKind")), FieldSpec("personId", personKey, optional: true)]),
        CatalogueEntry(
            type: "RightsCaseClosed", kind: "rights", fields: [FieldSpec("resolution", .code("resolution"))]),
        CatalogueEntry(
            type: "LegalEducationHeld", kind: "org",
            fields: [FieldSpec("attendees", .integer(1...100_000)), FieldSpec("topic", text)]),
    ]
}()

// MARK: drawing values

/// Where random choices come from: a PropertyBased generator state.
typealias Randomness = any SeededRandomNumberGenerator

/// A xoshiro256** state started from `seed`, so that every run draws the same values.
func randomness(seed: UInt64) -> Randomness {
    Xoshiro(seed: (seed, 0x9E37_79B9_7F4A_7C15, seed ^ 0xD1B5_4A32_D192_ED03, 0x2545_F491_4F6C_DD1D))
}

/// One element of `items`.
func one<T: Sendable>(_ items: [T], _ r: inout Randomness) -> T {
    Gen<T?>.element(of: items).run(using: &r)!
}

/// True with probability `rate`.
func chance(_ rate: Float, _ r: inout Randomness) -> Bool { Float.random(in: 0..<1, using: &r) < rate }

/// An integer of `range`, each bound drawn one time in five: the bounds are where rules break.
func integer(in range: ClosedRange<Int64>, _ r: inout Randomness) -> Int64 {
    switch Gen.int(in: 0...9).run(using: &r) {
    case 0, 1: range.lowerBound
    case 2, 3: range.upperBound
    default: Gen.int64(in: range).run(using: &r)
    }
}

/// A length of `range`, the bounds drawn often.
func length(in range: ClosedRange<Int>, _ r: inout Randomness) -> Int {
    Int(integer(in: Int64(range.lowerBound)...Int64(range.upperBound), &r))
}

/// A date of `range`, the bounds drawn often.
func date(in range: ClosedRange<LocalDate>, _ r: inout Randomness) -> LocalDate {
    LocalDate(
        dayNumber: Int32(integer(in: Int64(range.lowerBound.dayNumber)...Int64(range.upperBound.dayNumber), &r)))
}

/// Letters of one or several code points (free text counts code points), and
/// the characters JSON escapes.
private let clusters: [Character] = [
    "👩‍💻", "👍🏽", "🇨🇳", "e\u{301}", "𠮷", "\n", "\t", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "\u{2028}",
    "\u{FEFF}", "嘉", "定",
]
private let textCharacter = Generator<Character, Shrink.None<Character>> { r in
    switch Gen.int(in: 0...9).run(using: &r) {
    case 0...2: Gen.character(in: " "..."~").run(using: &r)
    case 3...5: Gen.character(in: "\u{4E00}"..."\u{9FA5}").run(using: &r)
    case 6, 7: Gen.character(in: "\u{1F600}"..."\u{1F64F}").run(using: &r)
    default: one(clusters, &r)
    }
}

/// Free text of exactly `count` characters (code points): Latin, Chinese, emoji
/// (some of several code points), JSON's quote and backslash, and control characters.
func freeText(count: Int, _ r: inout Randomness) -> String {
    var text = ""
    var left = count
    while left > 0 {
        var next = textCharacter.run(using: &r)
        if next.unicodeScalars.count > left { next = Gen.character(in: " "..."~").run(using: &r) }
        text.append(next)
        left -= next.unicodeScalars.count
    }
    return text
}

/// Free text of 1–128 characters (events.md §5).
func freeText(_ r: inout Randomness) -> String { freeText(count: length(in: 1...128, &r), &r) }

/// A code of `shape`, of any length it allows.
func code(_ shape: CodeShape, _ r: inout Randomness) -> String {
    let count = length(in: 1...shape.maxLength, &r)
    var text = String(one(shape.first, &r))
    for _ in 1..<count { text.append(one(shape.rest, &r)) }
    return text
}

// MARK: ID numbers (GB 11643)

/// The check character of 17 digits: ISO 7064 MOD 11-2, as events.md §6 rule 6 states it.
func gb11643CheckCharacter(_ digits: String) -> Character {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    let sum = zip(digits, weights).reduce(0) { $0 + $1.0.wholeNumberValue! * $1.1 }
    return Array("10X98765432")[sum % 11]
}

/// `date` as the eight digits YYYYMMDD.
func compact(_ date: LocalDate) -> String { date.description.filter { $0 != "-" } }

/// A valid ID number of region 310114 for a person born on `birthDate` of sex
/// `sex` (`M` or `F`): the 17th digit odd for men, even for women.
func idNumber(born birthDate: LocalDate, sex: String, _ r: inout Randomness) -> String {
    let order = Gen.int(in: 0...99).run(using: &r)
    let last = one(sex == "M" ? [1, 3, 5, 7, 9] : [0, 2, 4, 6, 8], &r)
    let digits = "310114" + compact(birthDate) + (order < 10 ? "0" : "") + String(order) + String(last)
    return digits + String(gb11643CheckCharacter(digits))
}

// MARK: instants

/// An RFC 3339 instant in one of the forms events.md §1 allows, and the instant it
/// names once normalised to UTC milliseconds.
struct WrittenInstant: Sendable {
    let text: String
    let instant: Instant
}

/// An instant whose Shanghai date lies in 1900–2100, written with `Z`, `z` or an
/// offset, with no fraction or with 1–9 fraction digits.
func writtenInstant(_ r: inout Randomness) -> WrittenInstant {
    let earliest = Int64(Instant.startOfLocalDay(LocalDate(year: 1900, month: 1, day: 1)!).milliseconds / 1000)
    let latest = Int64(Instant.startOfLocalDay(LocalDate(year: 2101, month: 1, day: 1)!).milliseconds / 1000) - 1
    let seconds = integer(in: earliest...latest, &r)
    let fraction = String((0..<length(in: 0...9, &r)).map { _ in Gen<Character>.number.run(using: &r) })
    let millis = Int64((fraction + "000").prefix(3))!
    let offsetMinutes: Int
    var zone: String
    switch Gen.int(in: 0...3).run(using: &r) {
    case 0:
        offsetMinutes = 0
        zone = "Z"
    case 1:
        offsetMinutes = 0
        zone = "z"
    default:
        offsetMinutes = one([-720, -330, -60, 0, 60, 345, 480, 540, 840], &r)
        let size = abs(offsetMinutes)
        zone = (offsetMinutes < 0 ? "-" : "+") + twoDigits(size / 60) + ":" + twoDigits(size % 60)
        if offsetMinutes == 0 && chance(0.5, &r) { zone = "-00:00" }
    }
    let local = seconds + Int64(offsetMinutes) * 60
    let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    let within = Int(local - day * 86_400)
    var text = LocalDate(dayNumber: Int32(day)).description
    text += chance(0.8, &r) ? "T" : "t"
    text += twoDigits(within / 3600) + ":" + twoDigits(within / 60 % 60) + ":" + twoDigits(within % 60)
    if !fraction.isEmpty { text += "." + fraction }
    return WrittenInstant(text: text + zone, instant: Instant(milliseconds: seconds * 1000 + millis))
}

func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

// MARK: valid events

/// A valid interchange line of one type, as its parts.
struct SampleEvent: Sendable, CustomTestStringConvertible {
    let entry: CatalogueEntry
    var id: String
    var stream: String
    var occurredAt: LocalDate
    var recordedAt: WrittenInstant?
    var actor: String
    var orgUnit: String
    var expectedVersion: Int64?
    var data: JSONObject
    var pii: JSONObject?

    /// The line as a JSON object.
    var object: JSONObject {
        var object = JSONObject()
        object["id"] = .string(id)
        object["stream"] = .string(stream)
        object["type"] = .string(entry.type)
        object["occurredAt"] = .string(occurredAt.description)
        if let recordedAt { object["recordedAt"] = .string(recordedAt.text) }
        object["actor"] = .string(actor)
        object["orgUnit"] = .string(orgUnit)
        if let expectedVersion { object["expectedVersion"] = .integer(expectedVersion) }
        object["data"] = .object(data)
        if let pii { object["pii"] = .object(pii) }
        return object
    }

    var testDescription: String { String(decoding: canonicalBytes(.object(object)), as: UTF8.self) }
}

/// Random valid events of the catalogue row `entry`: every field drawn from its
/// kind and range, with personal data where the type carries it, the ID number
/// consistent with the birth date and sex.
func validEvents(of entry: CatalogueEntry) -> Generator<SampleEvent, Shrink.None<SampleEvent>> {
    Generator { r in
        let earliest =
            entry.fields.contains { if case .evaluatedYear = $0.kind { true } else { false } }
            ? LocalDate(year: 1990, month: 1, day: 1)! : LocalDate.earliest
        let occurredAt = date(in: earliest...LocalDate.latest, &r)
        var data = JSONObject()
        for field in entry.fields where !field.optional || chance(0.7, &r) {
            data[field.name] = validValue(field.kind, occurredAt: occurredAt, &r)
        }
        let unit = one(recordingUnits, &r)
        return SampleEvent(
            entry: entry,
            id: code(.id, &r),
            stream: entry.kind + "-" + (entry.kind == "org" ? unit : code(.streamKey, &r)),
            occurredAt: occurredAt,
            recordedAt: chance(0.7, &r) ? writtenInstant(&r) : nil,
            actor: code(.actor, &r),
            orgUnit: entry.kind == "org" ? unit : one(recordingUnits, &r),
            expectedVersion: chance(0.3, &r) ? integer(in: 0...Int64.max, &r) : nil,
            data: data,
            pii: validPII(entry, data: data, &r))
    }
}

/// A valid value of a field of kind `kind` in an event dated `occurredAt`.
func validValue(_ kind: FieldKind, occurredAt: LocalDate, _ r: inout Randomness) -> JSONValue {
    switch kind {
    case .text: .string(freeText(&r))
    case .code(let name): .string(one(codes(name), &r))
    case .codes(let name):
        .array(
            Gen<[String]>.shuffled(codes(name)).run(using: &r).prefix(length(in: 0...codes(name).count, &r)).map(
                JSONValue.string))
    case .integer(let range): .integer(integer(in: range, &r))
    case .evaluatedYear: .integer(integer(in: 1990...Int64(occurredAt.year), &r))
    case .flag: .bool(Gen.bool.run(using: &r))
    case .birthDate: .string(date(in: LocalDate.earliest...occurredAt, &r).description)
    case .unit: .string(one(streetsAndTowns, &r))
    case .shaped(let shape): .string(code(shape, &r))
    }
}

/// Valid personal data for `entry` (nil where it takes none, or where it may be left out and is).
func validPII(_ entry: CatalogueEntry, data: JSONObject, _ r: inout Randomness) -> JSONObject? {
    guard !entry.pii.allowed.isEmpty, entry.pii.mustBeGiven || chance(0.6, &r) else { return nil }
    var keys = entry.pii.required + entry.pii.optional.filter { _ in chance(0.5, &r) }
    if keys.isEmpty { keys = [one(entry.pii.optional, &r)] }
    var pii = JSONObject()
    for key in Gen<[String]>.shuffled(keys).run(using: &r) {
        if key == "idNumber", case .string(let born)? = data["birthDate"], case .string(let sex)? = data["sex"] {
            pii[key] = .string(idNumber(born: LocalDate(iso: born)!, sex: sex, &r))
        } else {
            pii[key] = .string(freeText(&r))
        }
    }
    return pii
}

// MARK: writing JSON

/// `value` as JSON text in one of the many ways it may be written: members in any
/// order, whitespace between tokens, characters escaped or not (non-BMP ones as
/// surrogate pairs). A `plain` text escapes only what JSON requires.
func jsonText(_ value: JSONValue, plain: Bool = false, _ r: inout Randomness) -> String {
    func space(_ r: inout Randomness) -> String { chance(0.2, &r) ? one([" ", "\t", "  ", " \r\n "], &r) : "" }
    switch value {
    case .string(let text): return stringLiteral(text, plain: plain, &r)
    case .integer(let number): return String(number)
    case .bool(let flag): return flag ? "true" : "false"
    case .null: return "null"
    case .number(let raw): return raw
    case .array(let elements):
        return "[" + space(&r)
            + elements.map { jsonText($0, plain: plain, &r) + space(&r) }.joined(separator: "," + space(&r))
            + "]"
    case .object(let object):
        let members = object.members.shuffled(using: &r)
        return "{" + space(&r)
            + members.map {
                stringLiteral($0.key, plain: plain, &r) + space(&r) + ":" + space(&r)
                    + jsonText($0.value, plain: plain, &r)
            }
            .joined(separator: space(&r) + "," + space(&r)) + space(&r) + "}"
    }
}

/// `text` as a JSON string literal, each character escaped or not at random
/// (those JSON requires escaped always); `plain`: only those, in their short forms.
func stringLiteral(_ text: String, plain: Bool = false, _ r: inout Randomness) -> String {
    let rate: Float = plain ? 0 : 1
    func hex(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: chance(0.5, &r))
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += chance(1 - 0.2 * rate, &r) ? "\\\"" : hex(0x22)
        case "\\": out += chance(1 - 0.2 * rate, &r) ? "\\\\" : hex(0x5C)
        case "\n": out += chance(1 - 0.2 * rate, &r) ? "\\n" : hex(0x0A)
        case "\t": out += chance(1 - 0.2 * rate, &r) ? "\\t" : hex(0x09)
        case "/": out += chance(0.5 * rate, &r) ? "\\/" : "/"
        case _ where scalar.value < 0x20: out += hex(UInt16(scalar.value))
        default:
            if chance(0.1 * rate, &r) {
                for unit in String(scalar).utf16 { out += hex(unit) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// The RFC 8785 (JCS) bytes of `value`, written here from the RFC rather than
/// taken from `CanonicalJSON`: keys sorted by UTF-16 code units, no whitespace,
/// only `"`, `\` and control characters escaped, integers in plain decimal.
func canonicalBytes(_ value: JSONValue) -> [UInt8] {
    switch value {
    case .string(let text):
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x08: out += "\\b"
            case 0x09: out += "\\t"
            case 0x0A: out += "\\n"
            case 0x0C: out += "\\f"
            case 0x0D: out += "\\r"
            case 0..<0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return Array((out + "\"").utf8)
    case .integer(let number): return Array(String(number).utf8)
    case .bool(let flag): return Array((flag ? "true" : "false").utf8)
    case .null: return Array("null".utf8)
    case .number(let raw): return Array(raw.utf8)
    case .array(let elements):
        return Array("[".utf8) + Array(elements.map(canonicalBytes).joined(separator: [UInt8(ascii: ",")]))
            + Array("]".utf8)
    case .object(let object):
        let sorted = object.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
        let members = sorted.map { canonicalBytes(.string($0.key)) + Array(":".utf8) + canonicalBytes($0.value) }
        return Array("{".utf8) + Array(members.joined(separator: [UInt8(ascii: ",")])) + Array("}".utf8)
    }
}

// MARK: the typed payload

/// The typed payload that `data` of type `type` stands for, built from the
/// payload structs and enumerations. Fails the test where a value has no typed
/// counterpart (a code the enumeration lacks).
func typedPayload(_ type: String, _ data: JSONObject) throws -> Payload {
    func text(_ key: String) throws -> String { try #require(data[key]?.stringValue, "\(type): data.\(key)") }
    func optionalText(_ key: String) -> String? { data[key]?.stringValue }
    func number(_ key: String) throws -> Int64 { try #require(data[key]?.integerValue, "\(type): data.\(key)") }
    func flag(_ key: String) throws -> Bool {
        guard case .bool(let value)? = data[key] else { throw MissingValue(type: type, key: key) }
        return value
    }
    func choice<E: CatalogueEnumeration>(_ key: String) throws -> E {
        try #require(E(rawValue: try text(key)), "\(type): data.\(key) \(data[key]!.quoted) is not a code of \(E.self)")
    }
    func grade(_ key: String) throws -> DisabilityGrade {
        try #require(DisabilityGrade(rawValue: Int(try number(key))), "\(type): data.\(key)")
    }
    func needs() throws -> [Need] {
        guard case .array(let elements)? = data["needs"] else { throw MissingValue(type: type, key: "needs") }
        return try elements.map { try #require($0.stringValue.flatMap(Need.init(rawValue:))) }
    }
    let eventType = try #require(EventType(rawValue: type), "\(type) is not an EventType")
    switch eventType {
    case .personRegistered:
        return .personRegistered(
            PersonRegistration(
                sex: try choice("sex"), birthDate: try #require(LocalDate(iso: try text("birthDate"))),
                category: try choice("category"), grade: try grade("grade"), residence: try text("residence")))
    case .personReassessed:
        return .personReassessed(Reassessment(category: try choice("category"), grade: try grade("grade")))
    case .personMoved: return .personMoved(Move(residence: try text("residence")))
    case .personPiiCorrected: return .personPiiCorrected
    case .personPiiErased: return .personPiiErased(Erasure(reason: try text("reason")))
    case .personDeregistered: return .personDeregistered(Deregistration(reason: try choice("reason")))
    case .needsAssessed:
        return .needsAssessed(
            NeedsAssessment(
                workCapacity: try choice("workCapacity"), inEducation: try flag("inEducation"), needs: try needs()))
    case .employmentStarted:
        return .employmentStarted(
            EmploymentStart(
                employmentID: try text("employmentId"), form: try choice("form"), employer: try text("employer")))
    case .employmentEnded:
        return .employmentEnded(EmploymentEnd(employmentID: try text("employmentId"), reason: try choice("reason")))
    case .trainingCompleted:
        return .trainingCompleted(Training(programme: try choice("programme"), hours: try number("hours")))
    case .rehabServiceDelivered: return .rehabServiceDelivered(RehabService(serviceKind: try choice("serviceKind")))
    case .assistiveDeviceFitted: return .assistiveDeviceFitted(DeviceFitting(deviceKind: try choice("deviceKind")))
    case .homeModificationCompleted:
        return .homeModificationCompleted(
            HomeModification(programme: try choice("programme"), costYuan: try number("costYuan")))
    case .healthCheckCompleted: return .healthCheckCompleted
    case .familyDoctorContracted: return .familyDoctorContracted
    case .familyDoctorContractEnded: return .familyDoctorContractEnded
    case .careEnrolled: return .careEnrolled(CareEnrolment(facility: try text("facility")))
    case .careEnded: return .careEnded
    case .caseOpened:
        return .caseOpened(
            CaseOpening(
                personID: try text("personId"), serviceType: try choice("serviceType"), worker: try text("worker")))
    case .caseReassigned: return .caseReassigned(CaseReassignment(worker: try text("worker"), unit: try text("unit")))
    case .caseClosed: return .caseClosed(CaseClosing(outcome: try choice("outcome")))
    case .callReceived:
        return .callReceived(
            CallReceipt(topic: try choice("topic"), channel: try choice("channel"), personID: optionalText("personId")))
    case .callResolved: return .callResolved(CallResolution(satisfied: try flag("satisfied")))
    case .projectLaunched:
        return .projectLaunched(
            ProjectLaunch(
                title: try text("title"), operator: try text("operator"), category: try choice("category"),
                budgetYuan: try number("budgetYuan")))
    case .projectEvaluated:
        return .projectEvaluated(ProjectEvaluation(year: try number("year"), score: try number("score")))
    case .projectAdopted:
        return .projectAdopted(Adoption(company: try text("company"), amountYuan: try number("amountYuan")))
    case .projectEliminated: return .projectEliminated(ProjectElimination(reason: try text("reason")))
    case .volunteerRegistered:
        return .volunteerRegistered(
            VolunteerRegistration(partyMember: try flag("partyMember"), alliance: try choice("alliance")))
    case .volunteerServiceLogged:
        return .volunteerServiceLogged(VolunteerService(minutes: try number("minutes"), activity: try text("activity")))
    case .rightsCaseOpened:
        return .rightsCaseOpened(RightsCaseOpening(kind: try choice("kind"), personID: optionalText("personId")))
    case .rightsCaseClosed: return .rightsCaseClosed(RightsCaseClosing(resolution: try choice("resolution")))
    case .legalEducationHeld:
        return .legalEducationHeld(LegalEducation(attendees: try number("attendees"), topic: try text("topic")))
    }
}

/// A sample whose `data` lacks a value of the kind its catalogue row says: a fault of the generator.
struct MissingValue: Error {
    let type: String
    let key: String
}

import LedgerValues

#if canImport(Glibc)
    import Glibc
#endif

/// A broken shape rule: the field (a path such as `data.grade` or `pii.name`)
/// and the rule in a clerk's words.
public struct FieldError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field at fault, as a path (`data.grade`, `pii.name`).
    public let field: String
    /// The rule, with the offending value where it helps.
    public let rule: String

    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}

/// Every broken shape rule of one event.
public struct FieldErrors: Error, Equatable, Sendable {
    /// The errors, in the order the fields were checked.
    public var all: [FieldError]

    public init(_ all: [FieldError]) {
        self.all = all
    }
}

/// The organisational units an event may name (events.md §4): the district
/// and its twelve streets and towns.
public struct UnitDirectory: Sendable {
    /// The district's code (`jiading`).
    public let district: String
    /// The twelve units, which residences and cases may name.
    public let units: Set<String>

    public init(district: String, units: Set<String>) {
        self.district = district
        self.units = units
    }

    /// Whether `code` may record an event (`orgUnit`).
    public func canRecord(_ code: String) -> Bool { code == district || units.contains(code) }
}

/// An event in the interchange form (events.md §1) that has passed the shape rules.
public struct InterchangeEvent: Sendable, Equatable {
    /// The idempotency key.
    public var id: String
    /// `<kind>-<key>`.
    public var stream: String
    /// The stream's kind.
    public var kind: StreamKind
    /// The event type.
    public var type: EventType
    /// When it happened (effective time).
    public var occurredAt: LocalDate
    /// When the federation learned it, normalised to UTC; nil: the store's clock.
    public var recordedAt: Instant?
    /// Who recorded it.
    public var actor: String
    /// The unit that recorded it.
    public var orgUnit: String
    /// The stream version this event expects to follow.
    public var expectedVersion: Int64?
    /// The type's payload as written.
    public var data: JSONObject
    /// The same payload, typed.
    public var payload: Payload
    /// Personal data, where the type carries it.
    public var pii: JSONObject?
    /// `data` in its RFC 8785 form, made once where the line is read.
    public var canonicalData: [UInt8]
    /// `pii` in its RFC 8785 form.
    public var canonicalPII: [UInt8]?

    /// Checks `value` against rule 1 of events.md §6 (the shape of every field)
    /// and returns the event, or every field that is wrong.
    ///
    /// - Parameter piiWithheld: the event is a stored record restored from an
    ///   export that did not carry its personal data (erased, or not exported), so
    ///   personal data the type requires may be missing.
    public static func validate(
        _ value: JSONValue, units: UnitDirectory, piiWithheld: Bool = false
    ) -> Result<InterchangeEvent, FieldErrors> {
        guard case .object(let object) = value else {
            return .failure(
                FieldErrors([FieldError(field: "line", rule: "must be a JSON object, not \(value.kindName)")]))
        }
        var errors: [FieldError] = []
        // One pass over the members, each value taken once into its own local.
        var idValue: JSONValue?
        var streamValue: JSONValue?
        var typeValue: JSONValue?
        var occurredValue: JSONValue?
        var recordedValue: JSONValue?
        var actorValue: JSONValue?
        var orgUnitValue: JSONValue?
        var expectedValue: JSONValue?
        var dataValue: JSONValue?
        var piiValue: JSONValue?
        for member in object {
            switch InterchangeEvent.slot(of: member.key) {
            case 0: idValue = member.value
            case 1: streamValue = member.value
            case 2: typeValue = member.value
            case 3: occurredValue = member.value
            case 4: recordedValue = member.value
            case 5: actorValue = member.value
            case 6: orgUnitValue = member.value
            case 7: expectedValue = member.value
            case 8: dataValue = member.value
            case 9: piiValue = member.value
            default:
                errors.append(FieldError(field: Echo.key(member.key), rule: "is not a key of the interchange form"))
            }
        }
        for (value, key) in [
            (idValue, "id"), (streamValue, "stream"), (typeValue, "type"), (occurredValue, "occurredAt"),
            (actorValue, "actor"), (orgUnitValue, "orgUnit"), (dataValue, "data"),
        ] where value == nil {
            errors.append(FieldError(field: key, rule: "is required"))
        }

        func text(_ value: JSONValue?, _ key: String) -> String? {
            guard let value else { return nil }
            guard case .string(let s) = value else {
                errors.append(FieldError(field: key, rule: "must be a string, not \(value.kindName)"))
                return nil
            }
            return s
        }

        let id = text(idValue, "id")
        if let id, !Pattern.identifier(id, first: .alphanumeric, rest: .idCharacter, maxLength: 64) {
            errors.append(
                FieldError(field: "id", rule: "must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$ (got \(Echo.quoted(id)))"))
        }

        let stream = text(streamValue, "stream")
        var kind: StreamKind?
        var streamKey: String?
        if let stream {
            if let (k, key) = StreamKind.parse(streamName: stream) {
                kind = k
                streamKey = key
            } else {
                errors.append(FieldError(field: "stream", rule: StreamKind.rule(refusing: stream)))
            }
        }

        var type: EventType?
        if let name = text(typeValue, "type") {
            if let t = EventType.named(name) {
                type = t
                if let kind, t.kind != kind {
                    errors.append(
                        FieldError(
                            field: "type", rule: "\(name) belongs to \(t.kind.rawValue) streams, not \(kind.rawValue)"))
                }
            } else {
                errors.append(
                    FieldError(field: "type", rule: "\(Echo.quoted(name)) is not an event type of the catalogue"))
            }
        }

        var occurredAt: LocalDate?
        if let raw = text(occurredValue, "occurredAt") {
            occurredAt = LocalDate(iso: raw)
            if occurredAt == nil {
                errors.append(
                    FieldError(field: "occurredAt", rule: "must be a real date YYYY-MM-DD (got \(Echo.quoted(raw)))"))
            } else if !(LocalDate.earliest...LocalDate.latest).contains(occurredAt!) {
                errors.append(FieldError(field: "occurredAt", rule: "must lie in 1900–2100 (got \(Echo.bare(raw)))"))
                occurredAt = nil
            }
        }

        var recordedAt: Instant?
        if let raw = text(recordedValue, "recordedAt") {
            recordedAt = Instant(rfc3339: raw)
            if recordedAt == nil {
                errors.append(
                    FieldError(
                        field: "recordedAt", rule: Instant.rule(refusing: raw, example: "2024-03-05T09:12:00+08:00")))
            } else if !(LocalDate.earliest...LocalDate.latest).contains(recordedAt!.localDate) {
                errors.append(FieldError(field: "recordedAt", rule: "must lie in 1900–2100 (got \(Echo.bare(raw)))"))
            }
        }

        let actor = text(actorValue, "actor")
        if let actor, !Pattern.identifier(actor, first: .actorCharacter, rest: .actorCharacter, maxLength: 64) {
            errors.append(
                FieldError(field: "actor", rule: "must match ^[A-Za-z0-9_.@-]{1,64}$ (got \(Echo.quoted(actor)))"))
        }

        let orgUnit = text(orgUnitValue, "orgUnit")
        if let orgUnit {
            if !units.canRecord(orgUnit) {
                errors.append(
                    FieldError(
                        field: "orgUnit",
                        rule:
                            "\(Echo.quoted(orgUnit)) is not a unit code (\(([units.district] + units.units.sorted()).joined(separator: " ")))"
                    ))
            } else if kind == .org, let streamKey, units.canRecord(streamKey), streamKey != orgUnit {
                errors.append(
                    FieldError(
                        field: "orgUnit",
                        rule: "an org-\(streamKey) stream takes only orgUnit \(streamKey), not \(orgUnit)"))
            }
        }
        if kind == .org, let streamKey, !units.canRecord(streamKey) {
            errors.append(
                FieldError(
                    field: "stream",
                    rule: "org streams are named org-<unit>; \(Echo.quoted(streamKey)) is not a unit code"))
        }

        var expectedVersion: Int64?
        if let value = expectedValue {
            if case .integer(let v) = value, v >= 0 {
                expectedVersion = v
            } else {
                errors.append(
                    FieldError(field: "expectedVersion", rule: "must be an integer ≥ 0 (got \(value.quoted))"))
            }
        }

        var data: JSONObject?
        var payload: Payload?
        if let value = dataValue {
            if case .object(let object) = value {
                data = object
                // The fields are judged only against a type that fits the stream.
                if let type, kind == nil || kind == type.kind {
                    let context = FieldReader.Context(
                        type: type, occurredAt: occurredAt ?? .latest, units: units)
                    switch Payload.read(object, context: context) {
                    case .success(let read): payload = read
                    case .failure(let fieldErrors): errors += fieldErrors.all
                    }
                }
            } else {
                errors.append(FieldError(field: "data", rule: "must be an object, not \(value.kindName)"))
            }
        }

        let pii = checkPII(piiValue, type: type, withheld: piiWithheld, into: &errors)
        if case .personRegistered(let registration)? = payload, case .string(let idNumber)? = pii?["idNumber"] {
            for problem in IDNumber.problems(idNumber, birthDate: registration.birthDate, sex: registration.sex) {
                errors.append(FieldError(field: "pii.idNumber", rule: problem))
            }
        }

        guard errors.isEmpty, let id, let stream, let kind, let type, let occurredAt, let actor, let orgUnit, let data,
            let payload
        else { return .failure(FieldErrors(errors)) }
        return .success(
            InterchangeEvent(
                id: id, stream: stream, kind: kind, type: type, occurredAt: occurredAt, recordedAt: recordedAt,
                actor: actor, orgUnit: orgUnit, expectedVersion: expectedVersion, data: data, payload: payload,
                pii: pii, canonicalData: CanonicalJSON.encode(.object(data)),
                canonicalPII: pii.map { CanonicalJSON.encode(.object($0)) }))
    }

    /// The slot of a top-level key (nil: not a key of the form).
    private static func slot(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { PlainLineScanner.slot(of: $0) }
    }

    /// `pii` only where the type lists it, with only its keys, each a non-empty string.
    static func checkPII(
        _ value: JSONValue?, type: EventType?, withheld: Bool, into errors: inout [FieldError]
    ) -> JSONObject? {
        guard let type else { return nil }
        let policy = type.pii
        guard let value else {
            if policy.mustBeGiven && !withheld {
                errors.append(
                    FieldError(field: "pii", rule: "\(type.rawValue) requires personal data (\(describe(policy)))"))
            }
            return nil
        }
        guard !policy.allowedKeys.isEmpty else {
            errors.append(FieldError(field: "pii", rule: "\(type.rawValue) carries no personal data"))
            return nil
        }
        guard case .object(let object) = value else {
            errors.append(FieldError(field: "pii", rule: "must be an object, not \(value.kindName)"))
            return nil
        }
        if object.count == 0 {
            errors.append(
                FieldError(
                    field: "pii", rule: "must hold at least one of \(policy.allowedKeys.joined(separator: ", "))"))
        }
        for key in policy.requiredKeys where object[key] == nil {
            errors.append(FieldError(field: "pii.\(key)", rule: "is required for \(type.rawValue)"))
        }
        for member in object {
            guard policy.allowedKeys.contains(member.key) else {
                errors.append(
                    FieldError(
                        field: "pii.\(Echo.key(member.key))",
                        rule:
                            "is not personal data \(type.rawValue) takes (\(policy.allowedKeys.joined(separator: ", ")))"
                    ))
                continue
            }
            guard case .string(let text) = member.value else {
                errors.append(
                    FieldError(
                        field: "pii.\(Echo.key(member.key))", rule: "must be a string, not \(member.value.kindName)"))
                continue
            }
            if let problem = FieldReader.freeTextProblem(text) {
                errors.append(FieldError(field: "pii.\(Echo.key(member.key))", rule: problem))
            }
        }
        return object
    }

    private static func describe(_ policy: PIIPolicy) -> String {
        var parts: [String] = []
        if !policy.required.isEmpty { parts.append("required: " + policy.required.sorted().joined(separator: ", ")) }
        if !policy.optional.isEmpty {
            parts.append(
                (policy.required.isEmpty ? "any of: " : "optional: ") + policy.optional.sorted().joined(separator: ", ")
            )
        }
        return parts.joined(separator: "; ")
    }
}

/// The character classes of the identifier patterns of events.md §1, checked
/// by hand through one table: they run on every field of every line.
enum Pattern {
    struct Class: OptionSet {
        let rawValue: UInt8
        /// `[A-Za-z0-9]`
        static let alphanumeric = Class(rawValue: 1)
        /// `[A-Za-z0-9._:-]`
        static let idCharacter = Class(rawValue: 2)
        /// `[A-Za-z0-9_.-]`
        static let streamKeyCharacter = Class(rawValue: 4)
        /// `[A-Za-z0-9_.@-]`
        static let actorCharacter = Class(rawValue: 8)
        /// `[A-Za-z0-9_-]`
        static let employmentIDCharacter = Class(rawValue: 16)
    }

    private static let table: [UInt8] = (0..<256).map { value in
        let byte = UInt8(value)
        let alnum =
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        var classes: Class = []
        if alnum {
            classes.formUnion([
                .alphanumeric, .idCharacter, .streamKeyCharacter, .actorCharacter, .employmentIDCharacter,
            ])
        }
        if byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") { classes.insert(.employmentIDCharacter) }
        if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
            classes.formUnion([.idCharacter, .streamKeyCharacter, .actorCharacter])
        }
        if byte == UInt8(ascii: ":") { classes.insert(.idCharacter) }
        if byte == UInt8(ascii: "@") { classes.insert(.actorCharacter) }
        return classes.rawValue
    }

    /// True when `text` is 1…`maxLength` ASCII characters, the first in `first`, the rest in `rest`.
    static func identifier(_ text: String, first: Class, rest: Class, maxLength: Int) -> Bool {
        var text = text
        return text.withUTF8 { identifier($0, first: first, rest: rest, maxLength: maxLength) }
    }

    /// True when `bytes` are 1…`maxLength` ASCII characters, the first in `first`, the rest in `rest`.
    static func identifier(
        _ bytes: UnsafeBufferPointer<UInt8>, first: Class, rest: Class, maxLength: Int
    ) -> Bool {
        guard let head = bytes.first, bytes.count <= maxLength else { return false }
        return table.withUnsafeBufferPointer { table in
            guard table[Int(head)] & first.rawValue != 0 else { return false }
            for byte in bytes.dropFirst() where table[Int(byte)] & rest.rawValue == 0 { return false }
            return true
        }
    }
}

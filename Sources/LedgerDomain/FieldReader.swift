import LedgerValues

/// Reads the fields of one event's `data` (or `pii`) object, checking each
/// against its kind and range (events.md §6 rule 1) and gathering every broken
/// rule rather than stopping at the first.
///
/// A payload type reads its fields through this, once, in its initialiser: that
/// initialiser is then both the payload's decoder and the statement of its
/// shape, so the two cannot drift apart. A field that is wrong reads as a
/// placeholder; callers look at `errors` before trusting the result.
public struct FieldReader {
    /// What the fields are read against.
    public struct Context: Sendable {
        /// The event's type, for messages.
        public var type: EventType
        /// The event's effective date, which some ranges depend on.
        public var occurredAt: LocalDate
        /// The units an event may name.
        public var units: UnitDirectory

        public init(type: EventType, occurredAt: LocalDate, units: UnitDirectory) {
            self.type = type
            self.occurredAt = occurredAt
            self.units = units
        }
    }

    private let object: JSONObject
    private let prefix: String
    /// The event being read. Its date is read through `eventDate()` only, so
    /// that a reading knows whether its outcome depends on the date.
    private let context: Context
    /// Whether a rule asked for the event's date (`eventDate()`). A reading
    /// that did not has the same outcome for the same type and object on any date.
    public private(set) var askedForEventDate = false
    /// Every broken rule found so far.
    public private(set) var errors: [FieldError] = []
    /// How many of the keys asked for were present.
    private var found = 0
    /// The keys asked for, kept only once a field is known to be unknown (see `finish`).
    private var asked: [String]?

    /// The longest free text, in characters (events.md §5).
    public static let freeTextLimit = 128

    /// The rule `text` breaks as free text, or nil when it is 1–128 characters.
    ///
    /// A character is a Unicode code point, as every JSON reader counts it:
    /// counted as user-perceived characters, one letter followed by ten
    /// thousand combining accents would pass as one, and the count would move
    /// with the Unicode version of whoever checks.
    public static func freeTextProblem(_ text: String) -> String? {
        // A code point takes at least one byte: short text needs no counting.
        guard text.isEmpty || text.utf8.count > freeTextLimit else { return nil }
        let count = text.unicodeScalars.count
        return count == 0 || count > freeTextLimit ? "must be 1–\(freeTextLimit) characters (got \(count))" : nil
    }

    /// Reads `object`, whose fields are named `prefix.key` in messages.
    public init(_ object: JSONObject, prefix: String, context: Context) {
        self.object = object
        self.prefix = prefix
        self.context = context
    }

    /// The type of the event being read.
    public var eventType: EventType { context.type }

    /// The event's effective date, for a rule that depends on it (noted in `askedForEventDate`).
    public mutating func eventDate() -> LocalDate {
        askedForEventDate = true
        return context.occurredAt
    }

    /// Records a broken rule on `key`.
    public mutating func fail(_ key: String, _ rule: String) {
        errors.append(FieldError(field: "\(prefix).\(key)", rule: rule))
    }

    /// The value of `key`, or nil (with an error unless `optional`) when absent.
    private mutating func value(_ key: String, optional: Bool) -> JSONValue? {
        asked?.append(key)
        guard let value = object[key] else {
            if !optional { fail(key, "is required for \(context.type.rawValue)") }
            return nil
        }
        found += 1
        return value
    }

    private mutating func string(_ key: String, optional: Bool) -> String? {
        guard let value = value(key, optional: optional) else { return nil }
        guard case .string(let text) = value else {
            fail(key, "must be a string, not \(value.kindName)")
            return nil
        }
        return text
    }

    /// Free text of 1–128 characters.
    public mutating func text(_ key: String) -> String { optionalText(key, required: true) ?? "" }

    /// Free text of 1–128 characters, which may be left out.
    public mutating func optionalText(_ key: String, required: Bool = false) -> String? {
        guard let text = string(key, optional: !required) else { return nil }
        if let problem = FieldReader.freeTextProblem(text) { fail(key, problem) }
        return text
    }

    /// A code such as an employment id or a worker, matching `pattern`.
    public mutating func code(_ key: String, _ pattern: CodePattern) -> String {
        guard let text = string(key, optional: false) else { return "" }
        if !pattern.matches(text) { fail(key, "must match \(pattern.expression) (got \(Echo.quoted(text)))") }
        return text
    }

    /// The key of a person stream (`P1` names `person-P1`).
    public mutating func personID(_ key: String) -> String { optionalPersonID(key, required: true) ?? "" }

    /// A person's key, which may be left out.
    public mutating func optionalPersonID(_ key: String, required: Bool = false) -> String? {
        guard let text = string(key, optional: !required) else { return nil }
        if !CodePattern.streamKey.matches(text) {
            fail(key, "must be a person's key matching \(CodePattern.streamKey.expression) (got \(Echo.quoted(text)))")
        }
        return text
    }

    /// One code of enumeration `E`.
    public mutating func choice<E: CatalogueEnumeration>(_ key: String, _: E.Type = E.self) -> E {
        guard let text = string(key, optional: false) else { return E.allCases[0] }
        guard let value = E(rawValue: text) else {
            fail(key, "must be one of \(E.codes.joined(separator: " ")) (got \(Echo.quoted(text)))")
            return E.allCases[0]
        }
        return value
    }

    /// An array of distinct codes of enumeration `E`, possibly empty.
    public mutating func choices<E: CatalogueEnumeration>(_ key: String, _: E.Type = E.self) -> [E] {
        guard let value = value(key, optional: false) else { return [] }
        guard case .array(let elements) = value else {
            fail(key, "must be an array of \(E.catalogueName) codes, not \(value.kindName)")
            return []
        }
        var chosen: [E] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element, let code = E(rawValue: text) else {
                fail("\(key)[\(index)]", "must be one of \(E.codes.joined(separator: " ")) (got \(element.quoted))")
                continue
            }
            if chosen.contains(code) {
                fail("\(key)[\(index)]", "repeats \"\(text)\"; each \(E.catalogueName) code appears at most once")
            }
            chosen.append(code)
        }
        return chosen
    }

    /// An integer within `range`.
    public mutating func integer(_ key: String, in range: ClosedRange<Int64>) -> Int64 {
        guard let value = value(key, optional: false) else { return range.lowerBound }
        guard case .integer(let number) = value else {
            if case .number(let raw) = value {
                fail(
                    key,
                    "must be an integer written without fraction or exponent, within 64 bits (got \(Echo.bare(raw)))")
            } else {
                fail(key, "must be an integer, not \(value.kindName)")
            }
            return range.lowerBound
        }
        if !range.contains(number) {
            fail(key, "must be an integer \(range.lowerBound.grouped)–\(range.upperBound.grouped) (got \(number))")
        }
        return number
    }

    /// A year from `earliest` to the year of the event's own date.
    public mutating func year(_ key: String, from earliest: Int64) -> Int64 {
        let latest = Int64(eventDate().year)
        guard let value = value(key, optional: false) else { return earliest }
        guard case .integer(let year) = value, year >= earliest, year <= latest else {
            fail(key, "must be a year from \(earliest) to the year of occurredAt, \(latest) (got \(value.quoted))")
            return earliest
        }
        return year
    }

    /// The grade of disability, an integer 1–4.
    public mutating func grade(_ key: String) -> DisabilityGrade {
        DisabilityGrade(rawValue: Int(integer(key, in: 1...4))) ?? .one
    }

    /// `true` or `false`.
    public mutating func flag(_ key: String) -> Bool {
        guard let value = value(key, optional: false) else { return false }
        guard case .bool(let flag) = value else {
            fail(key, "must be true or false, not \(value.kindName)")
            return false
        }
        return flag
    }

    /// A real calendar date `YYYY-MM-DD` in 1900–2100.
    public mutating func date(_ key: String) -> LocalDate {
        guard let text = string(key, optional: false) else { return .earliest }
        guard let date = LocalDate(iso: text) else {
            fail(key, "must be a real date YYYY-MM-DD (got \(Echo.quoted(text)))")
            return .earliest
        }
        guard (LocalDate.earliest...LocalDate.latest).contains(date) else {
            fail(key, "must lie in 1900–2100 (got \(Echo.bare(text)))")
            return .earliest
        }
        return date
    }

    /// One of the twelve streets and towns (not the district itself).
    public mutating func unit(_ key: String) -> String {
        guard let text = string(key, optional: false) else { return "" }
        if !context.units.units.contains(text) {
            fail(
                key,
                "must be one of the twelve units (\(context.units.units.sorted().joined(separator: " "))), not \(Echo.quoted(text))"
            )
        }
        return text
    }

    /// Whether the object holds fields that no read asked for. Their names are
    /// found by reading again with a reader that lists what it is asked
    /// (`listingFields()`), so that the common case keeps no list at all.
    public var hasUnaskedFields: Bool { found < object.count }

    /// A fresh reader of the same object that remembers every key asked for.
    public func listingFields() -> FieldReader {
        var reader = FieldReader(object, prefix: prefix, context: context)
        reader.asked = []
        return reader
    }

    /// Reports every field of the object that no read asked for; the reader
    /// must have been made by `listingFields()`.
    public mutating func reportUnaskedFields() {
        let asked = self.asked ?? []
        for member in object where !asked.contains(member.key) {
            let listed = asked.isEmpty ? "it has no fields" : "its fields are \(asked.joined(separator: ", "))"
            errors.append(
                FieldError(
                    field: "\(prefix).\(Echo.key(member.key))",
                    rule: "is not a field of \(context.type.rawValue) (\(listed))"))
        }
    }
}

/// Writes a payload's fields back to a JSON object: the inverse of `FieldReader`.
public struct FieldWriter {
    /// The object written so far.
    public private(set) var object = JSONObject()

    public init() {}

    /// Writes a string.
    public mutating func text(_ key: String, _ value: String) { object[key] = .string(value) }
    /// Writes a string, or nothing for an optional field left out.
    public mutating func text(_ key: String, _ value: String?) { if let value { text(key, value) } }
    /// Writes an enumeration's code.
    public mutating func choice<E: CatalogueEnumeration>(_ key: String, _ value: E) {
        object[key] = .string(value.rawValue)
    }
    /// Writes an array of an enumeration's codes.
    public mutating func choices<E: CatalogueEnumeration>(_ key: String, _ values: [E]) {
        object[key] = .array(values.map { .string($0.rawValue) })
    }
    /// Writes an integer.
    public mutating func integer(_ key: String, _ value: Int64) { object[key] = .integer(value) }
    /// Writes a grade as its integer.
    public mutating func grade(_ key: String, _ value: DisabilityGrade) { integer(key, Int64(value.rawValue)) }
    /// Writes a boolean.
    public mutating func flag(_ key: String, _ value: Bool) { object[key] = .bool(value) }
    /// Writes a date as `YYYY-MM-DD`.
    public mutating func date(_ key: String, _ value: LocalDate) { object[key] = .string(value.description) }
}

/// The code patterns of the catalogue, checked by hand (they run on every line).
public enum CodePattern: Sendable {
    /// `^[A-Za-z0-9_-]{1,32}$`: an employment id.
    case employmentID
    /// `^[A-Za-z0-9_.-]{1,32}$`: a case worker.
    case worker
    /// `^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`: a stream's key (a person's id).
    case streamKey

    /// The pattern as a regular expression, for messages.
    public var expression: String {
        switch self {
        case .employmentID: "^[A-Za-z0-9_-]{1,32}$"
        case .worker: "^[A-Za-z0-9_.-]{1,32}$"
        case .streamKey: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$"
        }
    }

    /// Whether `text` matches the pattern.
    public func matches(_ text: String) -> Bool {
        switch self {
        case .employmentID:
            Pattern.identifier(text, first: .employmentIDCharacter, rest: .employmentIDCharacter, maxLength: 32)
        case .worker:
            Pattern.identifier(text, first: .streamKeyCharacter, rest: .streamKeyCharacter, maxLength: 32)
        case .streamKey:
            Pattern.identifier(text, first: .alphanumeric, rest: .streamKeyCharacter, maxLength: 48)
        }
    }
}

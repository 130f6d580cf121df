import LedgerValues

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kinds of stream, the first part of a stream name (`person-P1`).
public enum StreamKind: String, CaseIterable, Sendable {
    case person, `case`, call, project, volunteer, rights, org

    /// The name of the stream of this kind with key `key` (`person-P1`).
    public func streamName(_ key: String) -> String { "\(rawValue)-\(key)" }

    /// The key of `stream`, its name without the kind (`person-P1` → `P1`);
    /// nil when `stream` is not of this kind.
    public func key(ofStream stream: String) -> String? {
        var name = stream
        var kind = rawValue
        // Compared as bytes where they lie (every fold of a record asks this).
        return name.withUTF8 { name in
            kind.withUTF8 { kind -> String? in
                guard name.count > kind.count + 1, name[kind.count] == UInt8(ascii: "-"),
                    memcmp(name.baseAddress!, kind.baseAddress!, kind.count) == 0
                else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: name[(kind.count + 1)...]), as: UTF8.self)
            }
        }
    }

    /// The type that must open a stream of this kind, if the kind has one.
    public var opener: EventType? { StreamKind.openers[self] ?? nil }

    private static let openers: [StreamKind: EventType?] = Dictionary(
        uniqueKeysWithValues: allCases.map { kind in
            (kind, EventType.allCases.first { $0.kind == kind && $0.role == .opener })
        })

    private static let names: [(bytes: [UInt8], kind: StreamKind)] = allCases.map { (Array($0.rawValue.utf8), $0) }

    /// The kind whose name is `name`'s bytes.
    public static func named(_ name: some Collection<UInt8>) -> StreamKind? {
        names.first { $0.bytes.count == name.count && $0.bytes.elementsEqual(name) }?.kind
    }

    /// The kind and key of the stream named `name`: `<kind>-<key>`, with a
    /// known kind and a key matching `^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`;
    /// nil for any other name.
    public static func parse(streamName name: String) -> (kind: StreamKind, key: String)? {
        guard let dash = name.utf8.firstIndex(of: UInt8(ascii: "-")), let kind = named(name.utf8[..<dash]) else {
            return nil
        }
        let key = String(name[name.index(after: dash)...])
        guard CodePattern.streamKey.matches(key) else { return nil }
        return (kind, key)
    }

    /// The stream of a person given by their personId (`P000123`) or by their
    /// stream's name (`person-P000123`).
    public static func personStream(_ given: String) -> String {
        given.hasPrefix("person-") ? given : person.streamName(given)
    }

    /// The rule `name` breaks as a stream name, for an error message that
    /// names the field first. A bare key (no `-`, no kind's name at its
    /// start), such as a person's number given without its kind, is shown as
    /// it would be named.
    public static func rule(refusing name: String) -> String {
        var rule =
            "must be <kind>-<key> with kind one of \(allCases.map(\.rawValue).joined(separator: " "))"
            + " and key matching \(CodePattern.streamKey.expression) (got \(Echo.quoted(name))"
        let lowered = name.lowercased()
        if !name.utf8.contains(UInt8(ascii: "-")), !allCases.contains(where: { lowered.hasPrefix($0.rawValue) }),
            CodePattern.streamKey.matches(name)
        {
            rule += "; a person's stream, for one, is named \(person.streamName(name))"
        }
        return rule + ")"
    }
}

/// The part a type plays in its stream.
public enum EventRole: Sendable {
    /// Must be the stream's first event and only ever first.
    case opener
    /// May occur once in a stream; nothing dated after it is accepted afterwards.
    case closer
    case ordinary
}

/// Which personal data a type carries (events.md §3, §5).
public struct PIIPolicy: Sendable, Equatable {
    /// Keys that must be present.
    public let required: Set<String>
    /// Keys that may be present besides the required ones.
    public let optional: Set<String>
    /// Whether the `pii` object itself must be given.
    public let mustBeGiven: Bool
    /// Every key allowed.
    public let allowed: Set<String>
    /// The required keys in order, for checking without hashing.
    public let requiredKeys: [String]
    /// The allowed keys in order.
    public let allowedKeys: [String]

    public init(required: Set<String>, optional: Set<String>, mustBeGiven: Bool) {
        self.required = required
        self.optional = optional
        self.mustBeGiven = mustBeGiven
        allowed = required.union(optional)
        requiredKeys = required.sorted()
        allowedKeys = allowed.sorted()
    }

    /// Types that carry no personal data.
    public static let none = PIIPolicy(required: [], optional: [], mustBeGiven: false)

    /// The only keys personal data ever has.
    public static let allKeys: Set<String> = ["name", "idNumber", "phone", "address"]
}

/// Every service action the federation records: the 32 types of events.md §5.
public enum EventType: String, CaseIterable, Sendable {
    case personRegistered = "PersonRegistered"
    case personReassessed = "PersonReassessed"
    case personMoved = "PersonMoved"
    case personPiiCorrected = "PersonPiiCorrected"
    case personPiiErased = "PersonPiiErased"
    case personDeregistered = "PersonDeregistered"
    case needsAssessed = "NeedsAssessed"
    case employmentStarted = "EmploymentStarted"
    case employmentEnded = "EmploymentEnded"
    case trainingCompleted = "TrainingCompleted"
    case rehabServiceDelivered = "RehabServiceDelivered"
    case assistiveDeviceFitted = "AssistiveDeviceFitted"
    case homeModificationCompleted = "HomeModificationCompleted"
    case healthCheckCompleted = "HealthCheckCompleted"
    case familyDoctorContracted = "FamilyDoctorContracted"
    case familyDoctorContractEnded = "FamilyDoctorContractEnded"
    case careEnrolled = "CareEnrolled"
    case careEnded = "CareEnded"
    case caseOpened = "CaseOpened"
    case caseReassigned = "CaseReassigned"
    case caseClosed = "CaseClosed"
    case callReceived = "CallReceived"
    case callResolved = "CallResolved"
    case projectLaunched = "ProjectLaunched"
    case projectEvaluated = "ProjectEvaluated"
    case projectAdopted = "ProjectAdopted"
    case projectEliminated = "ProjectEliminated"
    case volunteerRegistered = "VolunteerRegistered"
    case volunteerServiceLogged = "VolunteerServiceLogged"
    case rightsCaseOpened = "RightsCaseOpened"
    case rightsCaseClosed = "RightsCaseClosed"
    case legalEducationHeld = "LegalEducationHeld"

    /// The kind of stream the type belongs to.
    public var kind: StreamKind {
        switch self {
        case .personRegistered, .personReassessed, .personMoved, .personPiiCorrected, .personPiiErased,
            .personDeregistered, .needsAssessed, .employmentStarted, .employmentEnded, .trainingCompleted,
            .rehabServiceDelivered, .assistiveDeviceFitted, .homeModificationCompleted, .healthCheckCompleted,
            .familyDoctorContracted, .familyDoctorContractEnded, .careEnrolled, .careEnded:
            .person
        case .caseOpened, .caseReassigned, .caseClosed: .case
        case .callReceived, .callResolved: .call
        case .projectLaunched, .projectEvaluated, .projectAdopted, .projectEliminated: .project
        case .volunteerRegistered, .volunteerServiceLogged: .volunteer
        case .rightsCaseOpened, .rightsCaseClosed: .rights
        case .legalEducationHeld: .org
        }
    }

    /// Its role in the stream: opener, closer or neither (events.md §5).
    public var role: EventRole {
        switch self {
        case .personRegistered, .caseOpened, .callReceived, .projectLaunched, .volunteerRegistered,
            .rightsCaseOpened:
            .opener
        case .personDeregistered, .caseClosed, .callResolved, .projectEliminated, .rightsCaseClosed:
            .closer
        default:
            .ordinary
        }
    }

    /// The personal data it carries.
    public var pii: PIIPolicy { EventType.policies[self]! }

    private static let policies: [EventType: PIIPolicy] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0, $0.piiPolicy) })

    private var piiPolicy: PIIPolicy {
        switch self {
        case .personRegistered:
            PIIPolicy(required: ["name", "idNumber"], optional: ["phone", "address"], mustBeGiven: true)
        case .personPiiCorrected:
            PIIPolicy(required: [], optional: ["name", "phone", "address"], mustBeGiven: true)
        case .volunteerRegistered:
            PIIPolicy(required: [], optional: ["name", "phone"], mustBeGiven: false)
        default:
            .none
        }
    }

    /// Appending it erases the stream's personal data from the vault.
    public var erasesPersonalData: Bool { self == .personPiiErased }

    private static let byName: [String: EventType] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// The type named `name`, found by hashing rather than by comparing every name.
    public static func named(_ name: String) -> EventType? { byName[name] }

    /// A type's name as a search compares it: its length, its first and last
    /// eight bytes as words, and all of its bytes.
    private struct NameKey {
        let count: Int
        let ends: (head: UInt64, tail: UInt64)
        let bytes: [UInt8]
        let type: EventType
    }

    private static let nameKeys: [NameKey] = allCases.map { type in
        let bytes = Array(type.rawValue.utf8)
        return NameKey(count: bytes.count, ends: bytes.withUnsafeBufferPointer(ends), bytes: bytes, type: type)
    }

    /// The first and the last eight bytes of `bytes` as words (overlapping when
    /// there are fewer than sixteen); a name shorter than eight bytes is zero-padded.
    private static func ends(_ bytes: UnsafeBufferPointer<UInt8>) -> (head: UInt64, tail: UInt64) {
        guard bytes.count >= 8, let base = UnsafeRawPointer(bytes.baseAddress) else {
            let word = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return (word, word)
        }
        return (
            base.loadUnaligned(as: UInt64.self), base.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
        )
    }

    /// The type whose name is `bytes`: only a name of the same length and ends
    /// is compared byte for byte, and only when it is longer than its ends.
    public static func named(_ bytes: UnsafeBufferPointer<UInt8>) -> EventType? {
        let ends = ends(bytes)
        for key in nameKeys where key.count == bytes.count && key.ends == ends {
            // The ends hold every byte of a name up to sixteen long.
            let same =
                key.count <= 16
                || key.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, bytes.baseAddress!, key.count) == 0 }
            if same { return key.type }
        }
        return nil
    }

    /// The payload version of the type; 1 for every type today.
    public var schema: Int64 { 1 }
}

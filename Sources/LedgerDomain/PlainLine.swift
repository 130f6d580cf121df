import LedgerValues

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension InterchangeEvent {
    /// The same judgement as `validate(_:units:)` for the plain lines that make
    /// up nearly every file, read straight from the line's bytes: an object
    /// whose top-level strings hold no escapes, with each key at most once.
    ///
    /// Returns the event when the line is plain and passes every shape rule, and
    /// nil otherwise, leaving every other line (and every error message) to
    /// the general path: parse the line, then `validate`. The two always agree
    /// on the lines this one accepts; tests hold them to it.
    public static func decodePlain(_ line: UnsafeBufferPointer<UInt8>, units: UnitDirectory) -> InterchangeEvent? {
        var scanner = PlainLineScanner(line)
        guard let slots = scanner.topLevelSlots() else { return nil }
        func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: line[range]) }
        func text(_ range: Range<Int>) -> String { String(decoding: bytes(range), as: UTF8.self) }

        guard let idRange = slots.id, let streamRange = slots.stream, let typeRange = slots.type,
            let occurredRange = slots.occurredAt, let actorRange = slots.actor, let orgUnitRange = slots.orgUnit,
            let dataRange = slots.data
        else { return nil }

        guard Pattern.identifier(bytes(idRange), first: .alphanumeric, rest: .idCharacter, maxLength: 64) else {
            return nil
        }
        let streamBytes = bytes(streamRange)
        guard let dash = streamBytes.firstIndex(of: UInt8(ascii: "-")),
            let kind = StreamKind.named(UnsafeBufferPointer(rebasing: streamBytes[..<dash])),
            case let keyBytes = UnsafeBufferPointer(rebasing: streamBytes[(dash + 1)...]),
            Pattern.identifier(keyBytes, first: .alphanumeric, rest: .streamKeyCharacter, maxLength: 48)
        else { return nil }
        guard let type = EventType.named(bytes(typeRange)), type.kind == kind else { return nil }
        guard let occurredAt = LocalDate.parse(bytes(occurredRange)),
            (LocalDate.earliest...LocalDate.latest).contains(occurredAt)
        else { return nil }
        var recordedAt: Instant?
        if let range = slots.recordedAt {
            guard let instant = Instant.parse(bytes(range)),
                (LocalDate.earliest...LocalDate.latest).contains(instant.localDate)
            else { return nil }
            recordedAt = instant
        }
        guard Pattern.identifier(bytes(actorRange), first: .actorCharacter, rest: .actorCharacter, maxLength: 64)
        else { return nil }
        let orgUnit = text(orgUnitRange)
        guard units.canRecord(orgUnit) else { return nil }
        if kind == .org {
            guard keyBytes.elementsEqual(orgUnit.utf8) else { return nil }
        }

        guard case .object(let data)? = try? JSONParser.parse(bytes(dataRange)),
            case .success(let payload) = Payload.read(
                data, context: FieldReader.Context(type: type, occurredAt: occurredAt, units: units))
        else { return nil }

        var piiValue: JSONValue?
        if let range = slots.pii {
            guard let value = try? JSONParser.parse(bytes(range)) else { return nil }
            piiValue = value
        }
        var errors: [FieldError] = []
        let pii = checkPII(piiValue, type: type, withheld: false, into: &errors)
        guard errors.isEmpty else { return nil }
        if case .personRegistered(let registration) = payload, case .string(let idNumber)? = pii?["idNumber"] {
            guard IDNumber.problems(idNumber, birthDate: registration.birthDate, sex: registration.sex).isEmpty
            else { return nil }
        }

        return InterchangeEvent(
            id: text(idRange), stream: text(streamRange), kind: kind, type: type, occurredAt: occurredAt,
            recordedAt: recordedAt, actor: text(actorRange), orgUnit: orgUnit, expectedVersion: slots.expectedVersion,
            data: data, payload: payload, pii: pii,
            canonicalData: PlainLineScanner.canonicalFlatObject(bytes(dataRange))
                ?? CanonicalJSON.encode(.object(data)),
            canonicalPII: slots.pii.map { range in
                PlainLineScanner.canonicalFlatObject(bytes(range)) ?? CanonicalJSON.encode(.object(pii!))
            })
    }
}

/// Where each top-level value of a plain line lies.
struct PlainLineSlots {
    var id: Range<Int>?
    var stream: Range<Int>?
    var type: Range<Int>?
    var occurredAt: Range<Int>?
    var recordedAt: Range<Int>?
    var actor: Range<Int>?
    var orgUnit: Range<Int>?
    var expectedVersion: Int64?
    var data: Range<Int>?
    var pii: Range<Int>?
}

/// Finds the top-level values of a line without building them, giving up
/// (nil) at the first thing that is not plain: an escape or control character
/// in a top-level string, a key repeated or unknown, a value of the wrong kind.
/// `data` and `pii` are only delimited here; `JSONParser` reads them in full.
struct PlainLineScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// The contents of a string without escapes or control characters.
    private mutating func plainString() -> Range<Int>? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = position
        let base = bytes.baseAddress!
        var index = position
        let end = bytes.count
        while index < end {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return start..<index
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// A non-negative integer without leading zeros that fits in 64 bits.
    private mutating func plainInteger() -> Int64? {
        let start = position
        var value: Int64 = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
            position += 1
        }
        let count = position - start
        guard count > 0, count == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        return value
    }

    /// The extent of an object, strings and nesting respected.
    private mutating func object() -> Range<Int>? {
        guard current == UInt8(ascii: "{") else { return nil }
        let start = position
        let base = bytes.baseAddress!
        let end = bytes.count
        var index = position
        var depth = 0
        var inString = false
        while index < end {
            let byte = base[index]
            index += 1
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    position = index
                    return start..<index
                }
            default: break
            }
        }
        return nil
    }

    mutating func topLevelSlots() -> PlainLineSlots? {
        var slots = PlainLineSlots()
        skipWhitespace()
        guard expect(UInt8(ascii: "{")) else { return nil }
        skipWhitespace()
        while true {
            guard let key = plainString() else { return nil }
            skipWhitespace()
            guard expect(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            switch PlainLineScanner.slot(of: UnsafeBufferPointer(rebasing: bytes[key])) {
            case 0:
                guard slots.id == nil, let range = plainString() else { return nil }
                slots.id = range
            case 1:
                guard slots.stream == nil, let range = plainString() else { return nil }
                slots.stream = range
            case 2:
                guard slots.type == nil, let range = plainString() else { return nil }
                slots.type = range
            case 3:
                guard slots.occurredAt == nil, let range = plainString() else { return nil }
                slots.occurredAt = range
            case 4:
                guard slots.recordedAt == nil, let range = plainString() else { return nil }
                slots.recordedAt = range
            case 5:
                guard slots.actor == nil, let range = plainString() else { return nil }
                slots.actor = range
            case 6:
                guard slots.orgUnit == nil, let range = plainString() else { return nil }
                slots.orgUnit = range
            case 7:
                guard slots.expectedVersion == nil, let version = plainInteger() else { return nil }
                slots.expectedVersion = version
            case 8:
                guard slots.data == nil, let range = object() else { return nil }
                slots.data = range
            case 9:
                guard slots.pii == nil, let range = object() else { return nil }
                slots.pii = range
            default: return nil
            }
            skipWhitespace()
            if expect(UInt8(ascii: ",")) {
                skipWhitespace()
                continue
            }
            guard expect(UInt8(ascii: "}")) else { return nil }
            skipWhitespace()
            return position == bytes.count ? slots : nil
        }
    }

    private static let keys: [StaticString] = [
        "id", "stream", "type", "occurredAt", "recordedAt", "actor", "orgUnit", "expectedVersion", "data", "pii",
    ]

    /// The slot of a top-level key, or nil when it is not a key of the form.
    static func slot(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = key.first else { return nil }
        let slot: Int
        switch (key.count, first) {
        case (2, UInt8(ascii: "i")): slot = 0
        case (6, UInt8(ascii: "s")): slot = 1
        case (4, UInt8(ascii: "t")): slot = 2
        case (10, UInt8(ascii: "o")): slot = 3
        case (10, UInt8(ascii: "r")): slot = 4
        case (5, UInt8(ascii: "a")): slot = 5
        case (7, UInt8(ascii: "o")): slot = 6
        case (15, UInt8(ascii: "e")): slot = 7
        case (4, UInt8(ascii: "d")): slot = 8
        case (3, UInt8(ascii: "p")): slot = 9
        default: return nil
        }
        return memcmp(keys[slot].utf8Start, key.baseAddress!, key.count) == 0 ? slot : nil
    }
}

extension PlainLineScanner {
    /// The RFC 8785 form of a flat object already known to be valid JSON (as
    /// `data` and `pii` are once parsed): ASCII keys, and values that are
    /// strings without escapes, integers, booleans or arrays of such strings.
    /// Its members are put in key order and copied as written, whitespace
    /// dropped, which is their canonical form; nil for anything else (an escape,
    /// `-0`, a nested object), which `CanonicalJSON` then writes from the parsed value.
    static func canonicalFlatObject(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var scanner = PlainLineScanner(bytes)
        return scanner.canonicalFlatObject()
    }

    /// One member of a flat object: where its key and its value lie.
    private struct FlatMember {
        var key: Range<Int>
        var value: Range<Int>
        /// Arrays may hold whitespace between their elements, which is dropped.
        var isArray: Bool
    }

    /// Members beyond this many are left to `CanonicalJSON` (no type has so many fields).
    private static let flatMemberLimit = 16

    private mutating func canonicalFlatObject() -> [UInt8]? {
        withUnsafeTemporaryAllocation(of: FlatMember.self, capacity: PlainLineScanner.flatMemberLimit) { members in
            canonicalFlatObject(into: members)
        }
    }

    private mutating func canonicalFlatObject(into members: UnsafeMutableBufferPointer<FlatMember>) -> [UInt8]? {
        skipWhitespace()
        guard expect(UInt8(ascii: "{")) else { return nil }
        skipWhitespace()
        var count = 0
        if !expect(UInt8(ascii: "}")) {
            while true {
                guard count < members.count, let key = plainString() else { return nil }
                for index in key where bytes[index] >= 0x80 { return nil }
                skipWhitespace()
                guard expect(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                guard let member = flatValue(key: key) else { return nil }
                members.initializeElement(at: count, to: member)
                count += 1
                skipWhitespace()
                if expect(UInt8(ascii: ",")) {
                    skipWhitespace()
                    continue
                }
                guard expect(UInt8(ascii: "}")) else { return nil }
                break
            }
        }
        skipWhitespace()
        guard position == bytes.count else { return nil }
        let base = bytes.baseAddress!
        func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
            let order = memcmp(base + a.lowerBound, base + b.lowerBound, min(a.count, b.count))
            return order != 0 ? order < 0 : a.count < b.count
        }
        // A handful of members: insertion sort.
        var index = 1
        while index < count {
            var back = index
            while back > 0, precedes(members[back].key, members[back - 1].key) {
                members.swapAt(back, back - 1)
                back -= 1
            }
            index += 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        func copy(_ range: Range<Int>) {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        }
        out.append(UInt8(ascii: "{"))
        for number in 0..<count {
            let member = members[number]
            if number > 0 { out.append(UInt8(ascii: ",")) }
            copy((member.key.lowerBound - 1)..<(member.key.upperBound + 1))
            out.append(UInt8(ascii: ":"))
            if member.isArray {
                // Elements are strings without escapes: whitespace outside them goes.
                var inString = false
                for index in member.value {
                    let byte = base[index]
                    if byte == UInt8(ascii: "\"") { inString.toggle() }
                    if !inString && (byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { continue }
                    out.append(byte)
                }
            } else {
                copy(member.value)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// One value of a flat object, or nil when it is not of the plain kinds.
    private mutating func flatValue(key: Range<Int>) -> FlatMember? {
        guard let first = current else { return nil }
        let start = position
        switch first {
        case UInt8(ascii: "\""):
            guard plainString() != nil else { return nil }
            return FlatMember(key: key, value: start..<position, isArray: false)
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            let literal: StaticString = first == UInt8(ascii: "t") ? "true" : "false"
            let length = literal.utf8CodeUnitCount
            guard position + length <= bytes.count,
                memcmp(bytes.baseAddress! + position, literal.utf8Start, length) == 0
            else { return nil }
            position += length
            return FlatMember(key: key, value: start..<position, isArray: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if first == UInt8(ascii: "-") { position += 1 }
            let digits = position
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
            // Integers only, and never a negative zero (its canonical form drops the sign).
            guard position > digits, !(first == UInt8(ascii: "-") && bytes[digits] == UInt8(ascii: "0")) else {
                return nil
            }
            if let byte = current, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                return nil
            }
            return FlatMember(key: key, value: start..<position, isArray: false)
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if !expect(UInt8(ascii: "]")) {
                while true {
                    guard plainString() != nil else { return nil }
                    skipWhitespace()
                    if expect(UInt8(ascii: ",")) {
                        skipWhitespace()
                        continue
                    }
                    guard expect(UInt8(ascii: "]")) else { return nil }
                    break
                }
            }
            return FlatMember(key: key, value: start..<position, isArray: true)
        default:
            return nil
        }
    }
}

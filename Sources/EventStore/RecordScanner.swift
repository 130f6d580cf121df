import LedgerValues

/// The top-level fields of a stored record, read without building the whole
/// JSON tree: what verification and replay need at millions of records a second.
///
/// It walks the canonical bytes once, skipping `data` by matching brackets. A
/// record that is not well-formed JSON of the expected shape yields nil, and the
/// caller reports that seq as damaged.
struct RecordFields {
    var seq: Int64 = 0
    var version: Int64 = 0
    var id: String = ""
    var stream: String = ""
    var type: String = ""
    var occurredAt: LocalDate = LocalDate(dayNumber: 0)
    var recordedAt: Instant = Instant(milliseconds: 0)
    var prevHash: [UInt8] = []
    var piiCommitment: [UInt8]?

    init?(canonical bytes: UnsafeRawBufferPointer) {
        let b = bytes.bindMemory(to: UInt8.self)
        var i = 0
        guard b.count > 2, b[0] == UInt8(ascii: "{") else { return nil }
        i = 1
        var seen = 0
        while i < b.count {
            // Key: canonical keys are plain ASCII without escapes.
            guard b[i] == UInt8(ascii: "\"") else { return nil }
            let keyStart = i + 1
            i = keyStart
            while i < b.count && b[i] != UInt8(ascii: "\"") { i += 1 }
            guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ":") else { return nil }
            let key = UnsafeBufferPointer(rebasing: b[keyStart..<i])
            i += 2
            let valueStart = i
            guard let valueEnd = RecordFields.skipValue(b, from: i) else { return nil }
            i = valueEnd
            let value = UnsafeBufferPointer(rebasing: b[valueStart..<valueEnd])
            switch key.count {
            case 2 where key.elementsEqual("id".utf8):
                guard let s = RecordFields.string(value) else { return nil }
                id = s
                seen |= 1
            case 3 where key.elementsEqual("seq".utf8):
                guard let n = RecordFields.integer(value) else { return nil }
                seq = n
                seen |= 2
            case 4 where key.elementsEqual("type".utf8):
                guard let s = RecordFields.string(value) else { return nil }
                type = s
                seen |= 4
            case 6 where key.elementsEqual("stream".utf8):
                guard let s = RecordFields.string(value) else { return nil }
                stream = s
                seen |= 8
            case 7 where key.elementsEqual("version".utf8):
                guard let n = RecordFields.integer(value) else { return nil }
                version = n
                seen |= 16
            case 8 where key.elementsEqual("prevHash".utf8):
                guard let h = RecordFields.hash(value) else { return nil }
                prevHash = h
                seen |= 32
            case 10 where key.elementsEqual("occurredAt".utf8):
                guard value.count == 12, let d = LocalDate.parse(UnsafeBufferPointer(rebasing: value[1..<11]))
                else { return nil }
                occurredAt = d
                seen |= 64
            case 10 where key.elementsEqual("recordedAt".utf8):
                guard value.count == 26, let t = Instant.parse(UnsafeBufferPointer(rebasing: value[1..<25]))
                else { return nil }
                recordedAt = t
                seen |= 128
            case 13 where key.elementsEqual("piiCommitment".utf8):
                guard let h = RecordFields.hash(value) else { return nil }
                piiCommitment = h
            default:
                break
            }
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "}") {
                guard seen == 255, i == b.count - 1 else { return nil }
                return
            }
            guard b[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
        return nil
    }

    /// The index just past the JSON value starting at `start`.
    private static func skipValue(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var i = start
        var depth = 0
        var inString = false
        while i < b.count {
            let byte = b[i]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    i += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return i + 1 }
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return i }
                    depth -= 1
                    if depth == 0 { return i + 1 }
                case UInt8(ascii: ","):
                    if depth == 0 { return i }
                default: break
                }
            }
            i += 1
        }
        return nil
    }

    private static func string(_ value: UnsafeBufferPointer<UInt8>) -> String? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else {
            return nil
        }
        let inner = UnsafeBufferPointer(rebasing: value[1..<(value.count - 1)])
        if inner.contains(UInt8(ascii: "\\")) {
            return (try? JSONParser.parse(value))?.stringValue
        }
        return String(validating: inner, as: UTF8.self)
    }

    private static func integer(_ value: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !value.isEmpty, value.count <= 19 else { return nil }
        var n: Int64 = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return n
    }

    private static func hash(_ value: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard value.count == 66 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let high = nibble(value[1 + 2 * index]), let low = nibble(value[2 + 2 * index]) else { return nil }
            out[index] = high << 4 | low
        }
        return out
    }

    @inline(__always) private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

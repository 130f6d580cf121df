/// The JSON Canonicalization Scheme (RFC 8785) for the values a ledger holds:
/// keys sorted by their UTF-16 code units, no whitespace, strings escaped only
/// where JSON requires it, integers in plain decimal.
///
/// The ledger stores no floating-point numbers, so the one part of RFC 8785 that
/// needs care (ECMAScript number formatting) reduces to plain decimal integers;
/// integers keep all their digits even beyond 2^53, as the ledger's contract says.
/// `.number` and `.null` never occur in a stored record; they are written as
/// given (null as `null`) so that canonical bytes exist for any parsed value.
public enum CanonicalJSON {
    /// The canonical UTF-8 bytes of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(value, into: &out)
        return out
    }

    /// Appends the canonical form of `value` to `out`.
    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .string(let s): writeString(s, into: &out)
        case .integer(let i): writeInteger(i, into: &out)
        case .bool(let b): out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        case .null: out.append(contentsOf: Self.nullBytes)
        case .number(let raw): out.append(contentsOf: raw.utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let members = object.members
            // Sort positions rather than members: no member is copied.
            var order = Array(members.indices)
            if !isSorted(members) { order.sort { precedes(members[$0].key, members[$1].key) } }
            for (index, position) in order.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(members[position].key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(members[position].value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func isSorted(_ members: [(key: String, value: JSONValue)]) -> Bool {
        var index = 1
        while index < members.count {
            if !precedes(members[index - 1].key, members[index].key) { return false }
            index += 1
        }
        return true
    }

    /// RFC 8785 key order: compare the UTF-16 code units of the two keys.
    ///
    /// UTF-8 byte order is the same as UTF-16 order except between characters
    /// from U+E000 to U+FFFF and those above U+FFFF, whose UTF-8 lead bytes are
    /// 0xEE and up; so keys without such bytes are compared as bytes.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        let bytewise: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                var index = 0
                while index < common {
                    let p = x[index]
                    let q = y[index]
                    if p != q {
                        if p >= 0xEE || q >= 0xEE { return nil }
                        return p < q
                    }
                    index += 1
                }
                return x.count < y.count
            }
        }
        return bytewise ?? a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string: `"` and `\` escaped, the control characters
    /// with their short escapes or `\u00xx` (lowercase hex), all else as itself.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `value` in plain decimal.
    public static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        // Work with the magnitude as UInt64 so that Int64.min is exact.
        var magnitude = value.magnitude
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
        }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { buffer in
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }
}

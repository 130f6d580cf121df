/// Input shown back inside a message: what an error quotes of the line, the
/// argument or the request it refuses.
///
/// A report of rejected lines is one line per error, `FILE:LINE: field: rule`,
/// read in a terminal and by scripts. Whatever the input holds, its echo keeps
/// that form: quotes, backslashes and control characters are escaped as in
/// JSON, and so are the characters that break or reorder a line on screen
/// (U+0080–U+009F, the line and paragraph separators, the bidirectional
/// controls), so nothing reaches a terminal as a control sequence; and a value
/// longer than `limit` characters is cut there, with its length, so that one
/// runaway value cannot flood the report.
public enum Echo {
    /// The characters of a value shown before it is cut.
    public static let limit = 64

    /// `text` as a quoted string: `"agent-08"`, `"a\nb"`,
    /// `"xxxx…" (50,000,000 characters)`.
    public static func quoted(_ text: String) -> String {
        var shown = "\""
        let length = append(text, to: &shown, quoting: true)
        shown += "\""
        if let length { shown += " (\(Int64(length).grouped) characters)" }
        return shown
    }

    /// `text` cut like a quoted value and shown without quotes, as written:
    /// for a number, or a value already written as JSON. Only what could
    /// break or reorder the line is escaped; quotes and backslashes stay.
    public static func bare(_ text: String) -> String {
        var shown = ""
        if let length = append(text, to: &shown, quoting: false) { shown += " (\(Int64(length).grouped) characters)" }
        return shown
    }

    /// `text` whole, with only what could break or reorder a line on screen
    /// escaped: for values shown in full in a table, such as `history`'s data.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { escapedScalar($0.value) }) else { return text }
        var shown = ""
        for scalar in text.unicodeScalars { appendEscaped(scalar, to: &shown, quoting: false) }
        return shown
    }

    /// An object's key as a step of a field's path (`data.grade`, `data.备注`):
    /// as written when nothing in it needs escaping or could blur the path
    /// (no space, quote, `.`, `[` or `]`) and it is no longer than the limit,
    /// else quoted (`data."a b"`).
    public static func key(_ key: String) -> String {
        let plain =
            !key.isEmpty && key.count <= limit
            && key.unicodeScalars.allSatisfy { scalar in
                !escapedScalar(scalar.value) && !" \"\\.[]".unicodeScalars.contains(scalar)
            }
        return plain ? key : quoted(key)
    }

    /// Appends the first `limit` characters of `text`, escaped (quotes and
    /// backslashes too when `quoting`), and "…" when there are more; returns
    /// the whole length when it was cut.
    private static func append(_ text: String, to shown: inout String, quoting: Bool) -> Int? {
        var taken = 0
        for character in text {
            if taken == limit {
                shown += "…"
                return text.count
            }
            taken += 1
            for scalar in character.unicodeScalars { appendEscaped(scalar, to: &shown, quoting: quoting) }
        }
        return nil
    }

    private static func appendEscaped(_ scalar: Unicode.Scalar, to shown: inout String, quoting: Bool) {
        switch scalar {
        case "\"" where quoting: shown += "\\\""
        case "\\" where quoting: shown += "\\\\"
        case "\n": shown += "\\n"
        case "\r": shown += "\\r"
        case "\t": shown += "\\t"
        case "\u{08}": shown += "\\b"
        case "\u{0C}": shown += "\\f"
        default:
            if escapedScalar(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                shown += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
    }

    /// C0 and C1 controls, DEL, the line and paragraph separators, and the
    /// bidirectional marks, embeddings, overrides and isolates.
    private static func escapedScalar(_ value: UInt32) -> Bool {
        value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x061C || value == 0x200E || value == 0x200F
            || (0x2028...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }
}

extension Int64 {
    /// The number with thousands separated by commas, as ranges are written in events.md.
    public var grouped: String {
        let digits = String(magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return self < 0 ? "-" + out : out
    }
}

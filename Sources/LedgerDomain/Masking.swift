import LedgerValues

/// How personal data is shown to someone who may not see it in full (events.md §3).
public enum Masking {
    /// `idNumber` keeps its first 6 and last 4 characters (`310114********123X`),
    /// `name` its first character (`张**`), `phone` its last 4; `address` is dropped.
    public static func mask(_ pii: JSONObject) -> JSONObject {
        var masked = JSONObject()
        for member in pii {
            guard case .string(let text) = member.value else { continue }
            switch member.key {
            case "idNumber": masked["idNumber"] = .string(keep(text, first: 6, last: 4))
            case "name": masked["name"] = .string(text.isEmpty ? "" : String(text.first!) + "**")
            case "phone": masked["phone"] = .string(keep(text, first: 0, last: 4))
            default: continue
            }
        }
        return masked
    }

    /// `text` with every character but the first `first` and the last `last` replaced by `*`.
    static func keep(_ text: String, first: Int, last: Int) -> String {
        let characters = Array(text)
        guard characters.count > first + last else { return String(repeating: "*", count: characters.count) }
        return String(characters[..<first]) + String(repeating: "*", count: characters.count - first - last)
            + String(characters[(characters.count - last)...])
    }
}

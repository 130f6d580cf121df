/// A JSON value as the ledger reads it: strict, lossless for integers, and
/// keeping what it cannot accept (fractions, nulls) so that validation can name
/// the field instead of failing on the whole line.
public enum JSONValue: Equatable, Sendable {
    case string(String)
    /// A number written as an integer that fits in a signed 64-bit integer.
    case integer(Int64)
    case bool(Bool)
    case null
    /// A number that is not a 64-bit integer (a fraction, an exponent, or out of
    /// range), kept as written so that an error can quote it.
    case number(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The kind of value, in words a clerk reads in an error message.
    public var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .bool: "a boolean"
        case .null: "null"
        case .number: "a number that is not a 64-bit integer"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, when this is one.
    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    /// The object, when this is one.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The value as it would be quoted in a message: short, on one line.
    public var quoted: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .number(let raw): raw
        case .array, .object: String(decoding: CanonicalJSON.encode(self), as: UTF8.self)
        }
    }
}

/// A JSON object's members in the order they were written. Keys are unique:
/// the parser refuses an object that repeats one.
public struct JSONObject: Equatable, Sendable, Sequence {
    /// The members, in input order.
    public private(set) var members: [(key: String, value: JSONValue)]

    public init() { members = [] }

    public init(_ members: [(key: String, value: JSONValue)]) {
        self.members = members
    }

    /// The value under `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// The keys, in input order.
    public var keys: [String] { members.map(\.key) }

    public var count: Int { members.count }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// Objects are equal when they hold the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for member in lhs.members where rhs[member.key] != member.value { return false }
        return true
    }
}

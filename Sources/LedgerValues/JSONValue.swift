#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A JSON value as the ledger reads it: strict, lossless for integers, and
/// keeping what it cannot accept (fractions, nulls) so that validation can name
/// the field instead of failing on the whole line.
///
/// Equality and hashing compare strings by their UTF-8 bytes, as the canonical
/// form does, not by Swift's canonical equivalence: `"é"` written as one scalar
/// and as `e` plus a combining accent are different values in a ledger.
public enum JSONValue: Hashable, Sendable {
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

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): sameBytes(a, b)
        case (.integer(let a), .integer(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.number(let a), .number(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .string(let s):
            hasher.combine(0 as UInt8)
            hashBytes(s, into: &hasher)
        case .integer(let i):
            hasher.combine(1 as UInt8)
            hasher.combine(i)
        case .bool(let b):
            hasher.combine(2 as UInt8)
            hasher.combine(b)
        case .null:
            hasher.combine(3 as UInt8)
        case .number(let raw):
            hasher.combine(4 as UInt8)
            hashBytes(raw, into: &hasher)
        case .array(let elements):
            hasher.combine(5 as UInt8)
            hasher.combine(elements.count)
            for element in elements { element.hash(into: &hasher) }
        case .object(let object):
            hasher.combine(6 as UInt8)
            object.hash(into: &hasher)
        }
    }

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

    /// The value as a message quotes it: short and on one line (`Echo`).
    public var quoted: String {
        switch self {
        case .string(let s): Echo.quoted(s)
        case .integer(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .number(let raw): Echo.bare(raw)
        case .array, .object: Echo.bare(String(decoding: CanonicalJSON.encode(self), as: UTF8.self))
        }
    }
}

/// A JSON object's members in the order they were written. Keys are unique:
/// the parser refuses an object that repeats one.
public struct JSONObject: Hashable, Sendable, Sequence {
    /// The members, in input order.
    public private(set) var members: [(key: String, value: JSONValue)]

    public init() { members = [] }

    public init(_ members: [(key: String, value: JSONValue)]) {
        self.members = members
    }

    /// The value under `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where sameBytes(member.key, key) { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { sameBytes($0.key, key) }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// The keys, in input order.
    public var keys: [String] { members.map(\.key) }

    /// The number of members.
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

    /// Order-independent, like equality: the members' hashes are summed.
    public func hash(into hasher: inout Hasher) {
        var sum: UInt64 = 0
        for member in members {
            var inner = Hasher()
            hashBytes(member.key, into: &inner)
            member.value.hash(into: &inner)
            sum &+= UInt64(bitPattern: Int64(inner.finalize()))
        }
        hasher.combine(members.count)
        hasher.combine(sum)
    }
}

/// Whether two strings have the same UTF-8 bytes (Swift's `==` would also
/// equate canonically equivalent spellings). Lengths are compared first, which
/// settles most comparisons of different keys.
@inline(__always)
func sameBytes(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
    }
}

@inline(__always)
func hashBytes(_ s: String, into hasher: inout Hasher) {
    var s = s
    s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    hasher.combine(0xFF as UInt8)
}

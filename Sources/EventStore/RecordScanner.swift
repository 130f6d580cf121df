import LedgerValues

#if canImport(Glibc)
    import Glibc
#endif

/// The top-level fields of a stored record, read without building the whole
/// JSON tree: what verification and replay need at millions of records a second.
///
/// It walks the canonical bytes once, skipping `data` by matching brackets, and
/// keeps `id`, `stream` and `type` as the bytes inside the record (valid while
/// its transaction is open) rather than copying them. A record that is not
/// well-formed JSON of the expected shape yields nil, and the caller reports
/// that seq as damaged; so does an escape in `id`, `stream` or `type`, which
/// their patterns never allow.
struct RecordFields: Equatable {
    var seq: Int64 = 0
    var version: Int64 = 0
    var id = FieldBytes.empty
    var stream = FieldBytes.empty
    var type = FieldBytes.empty
    var orgUnit = FieldBytes.empty
    /// The whole `data` object, braces included.
    var data = FieldBytes.empty
    var occurredAt: LocalDate = LocalDate(dayNumber: 0)
    var recordedAt: Instant = Instant(milliseconds: 0)
    var prevHash = HashValue.zero
    var piiCommitment: HashValue?

    /// Reads the fields of the canonical bytes of a record. Without
    /// `readingHashes`, `prevHash` and `piiCommitment` are only checked to be
    /// 64 characters in quotes, and left zero and nil: what a replay, which
    /// reads neither, spends on decoding them is its own.
    ///
    /// A record laid out as the ledger writes it is read by matching each key
    /// where it must be (`init(ledgerLayout:)`); any other is read key by key,
    /// which gives the same fields for the records the first reads.
    init?(canonical bytes: UnsafeRawBufferPointer, readingHashes: Bool = true) {
        if let fields = RecordFields(ledgerLayout: bytes, readingHashes: readingHashes) {
            self = fields
        } else if let fields = RecordFields(keyByKey: bytes, readingHashes: readingHashes) {
            self = fields
        } else {
            return nil
        }
    }

    private init() {}

    /// Reads a record whose keys are those `LedgerRecord.canonicalBytes`
    /// writes, in its order, each matched as a whole where it must start;
    /// strings hold no escape, dates and hashes are of their fixed lengths,
    /// numbers are digits. Nil for anything else, which need not be damaged:
    /// `init(keyByKey:)` decides.
    init?(ledgerLayout bytes: UnsafeRawBufferPointer, readingHashes: Bool) {
        var layout = LayoutReading(bytes.bindMemory(to: UInt8.self))
        guard layout.key("{\"actor\":\""), layout.string() != nil,
            layout.key(",\"data\":"), let data = layout.object(),
            layout.key(",\"id\":\""), let id = layout.string(),
            layout.key(",\"occurredAt\":\""), let occurredAt = layout.date(),
            layout.key(",\"orgUnit\":\""), let orgUnit = layout.string()
        else { return nil }
        var piiCommitment: HashValue?
        if layout.key(",\"piiCommitment\":\"") {
            guard let commitment = layout.hash(reading: readingHashes) else { return nil }
            if readingHashes { piiCommitment = commitment }
        }
        guard layout.key(",\"prevHash\":\""), let prevHash = layout.hash(reading: readingHashes),
            layout.key(",\"recordedAt\":\""), let recordedAt = layout.instant(),
            layout.key(",\"schema\":"), layout.integer() != nil,
            layout.key(",\"seq\":"), let seq = layout.integer(),
            layout.key(",\"stream\":\""), let stream = layout.string(),
            layout.key(",\"type\":\""), let type = layout.string(),
            layout.key(",\"version\":"), let version = layout.integer(),
            layout.key("}"), layout.atEnd
        else { return nil }
        self.init()
        self.seq = seq
        self.version = version
        self.id = id
        self.stream = stream
        self.type = type
        self.orgUnit = orgUnit
        self.data = data
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.prevHash = prevHash
        self.piiCommitment = piiCommitment
    }

    /// Reads the fields of a record key by key, in whatever order and among
    /// whatever other keys: the reading for any layout.
    init?(keyByKey bytes: UnsafeRawBufferPointer, readingHashes: Bool) {
        let b = bytes.bindMemory(to: UInt8.self)
        // A hash's value: decoded, or (not reading hashes) zero once it is 64 characters in quotes.
        func hashField(_ value: UnsafeBufferPointer<UInt8>) -> HashValue? {
            readingHashes ? RecordFields.hash(value) : value.count == 66 ? .zero : nil
        }
        var i = 0
        guard b.count > 2, b[0] == UInt8(ascii: "{") else { return nil }
        i = 1
        var seen = 0
        while i < b.count {
            // Key: canonical keys are plain ASCII without escapes.
            guard b[i] == UInt8(ascii: "\"") else { return nil }
            let keyStart = i + 1
            guard let keyEnd = RecordFields.firstByte(of: .quotes, in: b, from: keyStart),
                keyEnd + 1 < b.count, b[keyEnd + 1] == UInt8(ascii: ":")
            else { return nil }
            let key = UnsafeBufferPointer(rebasing: b[keyStart..<keyEnd])
            i = keyEnd + 2
            let valueStart = i
            var escaped = false
            guard let valueEnd = RecordFields.skipValue(b, from: i, escaped: &escaped) else { return nil }
            i = valueEnd
            let value = UnsafeBufferPointer(rebasing: b[valueStart..<valueEnd])
            switch key.count {
            case 2 where key[0] == UInt8(ascii: "i") && key[1] == UInt8(ascii: "d"):
                guard let s = RecordFields.string(value, escaped: escaped) else { return nil }
                id = s
                seen |= 1
            case 3 where key[0] == UInt8(ascii: "s") && key[2] == UInt8(ascii: "q"):
                guard let n = RecordFields.integer(value) else { return nil }
                seq = n
                seen |= 2
            case 4 where key[0] == UInt8(ascii: "t"):
                guard let s = RecordFields.string(value, escaped: escaped) else { return nil }
                type = s
                seen |= 4
            case 6 where key[0] == UInt8(ascii: "s") && key[1] == UInt8(ascii: "t"):
                guard let s = RecordFields.string(value, escaped: escaped) else { return nil }
                stream = s
                seen |= 8
            case 4 where key[0] == UInt8(ascii: "d"):
                guard value.count >= 2, value[0] == UInt8(ascii: "{") else { return nil }
                data = FieldBytes(UnsafeRawBufferPointer(value))
            case 7 where key[0] == UInt8(ascii: "o"):
                guard let s = RecordFields.string(value, escaped: escaped) else { return nil }
                orgUnit = s
            case 7 where key[0] == UInt8(ascii: "v"):
                guard let n = RecordFields.integer(value) else { return nil }
                version = n
                seen |= 16
            case 8 where key[0] == UInt8(ascii: "p") && key[1] == UInt8(ascii: "r"):
                guard let h = hashField(value) else { return nil }
                prevHash = h
                seen |= 32
            case 10 where key[0] == UInt8(ascii: "o"):
                guard value.count == 12, let d = LocalDate.parse(UnsafeBufferPointer(rebasing: value[1..<11]))
                else { return nil }
                occurredAt = d
                seen |= 64
            case 10 where key[0] == UInt8(ascii: "r"):
                guard value.count == 26, let t = Instant.parse(UnsafeBufferPointer(rebasing: value[1..<25]))
                else { return nil }
                recordedAt = t
                seen |= 128
            case 13 where key[0] == UInt8(ascii: "p") && key[1] == UInt8(ascii: "i"):
                guard let h = hashField(value) else { return nil }
                if readingHashes { piiCommitment = h }
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

    /// The index just past the JSON value starting at `start`; `escaped` is set
    /// when a string in it holds an escape.
    fileprivate static func skipValue(_ b: UnsafeBufferPointer<UInt8>, from start: Int, escaped: inout Bool) -> Int? {
        var i = start
        var depth = 0
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "\""):
                // Inside a string only a quote or a backslash matters: jump from one to the next.
                var at = i + 1
                while true {
                    guard let found = firstByte(of: .quotesAndBackslashes, in: b, from: at) else { return nil }
                    if b[found] == UInt8(ascii: "\"") {
                        i = found
                        break
                    }
                    escaped = true
                    at = found + 2  // the backslash and the character it escapes
                }
                if depth == 0 { return i + 1 }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return i }
                depth -= 1
                if depth == 0 { return i + 1 }
            case UInt8(ascii: ","):
                if depth == 0 { return i }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// Bytes searched for eight at a time: each pattern repeats its byte in every lane.
    enum SearchedBytes {
        /// `"`.
        case quotes
        /// `"` or `\`.
        case quotesAndBackslashes
    }

    /// The index of the first byte at or after `start` that `searched` names, or
    /// nil. Reads eight bytes a word while eight are left (a lane is zero after
    /// the XOR exactly where the byte is found; the lowest flagged lane is the
    /// first such byte, as a borrow only flags lanes above a zero one).
    @inline(__always)
    static func firstByte(of searched: SearchedBytes, in b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let lanes: UInt64 = 0x0101_0101_0101_0101
        let quote = lanes &* UInt64(UInt8(ascii: "\""))
        let backslash = lanes &* UInt64(UInt8(ascii: "\\"))
        func zeroLanes(_ x: UInt64) -> UInt64 { (x &- lanes) & ~x & (lanes &* 0x80) }
        var i = start
        if let base = UnsafeRawPointer(b.baseAddress) {
            while i + 8 <= b.count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                var found = zeroLanes(word ^ quote)
                if case .quotesAndBackslashes = searched { found |= zeroLanes(word ^ backslash) }
                if found != 0 { return i + found.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < b.count {
            let byte = b[i]
            if byte == UInt8(ascii: "\"") { return i }
            if case .quotesAndBackslashes = searched, byte == UInt8(ascii: "\\") { return i }
            i += 1
        }
        return nil
    }

    /// The text of a string value, which must hold no escape.
    private static func string(_ value: UnsafeBufferPointer<UInt8>, escaped: Bool) -> FieldBytes? {
        guard !escaped, value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") else {
            return nil
        }
        return FieldBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: value[1..<(value.count - 1)])))
    }

    /// The number the digits of `value` write: nil for anything but 1 to 19
    /// digits, or for a number past Int64's largest.
    fileprivate static func integer(_ value: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !value.isEmpty, value.count <= 19 else { return nil }
        var n: Int64 = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (tens, overflow) = n.multipliedReportingOverflow(by: 10)
            let (sum, past) = tens.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !past else { return nil }
            n = sum
        }
        return n
    }

    /// The hash whose value (64 characters in quotes) is `value`.
    fileprivate static func hash(_ value: UnsafeBufferPointer<UInt8>) -> HashValue? {
        guard value.count == 66 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let ok = nibbles.withUnsafeBufferPointer { table in
            withUnsafeMutableBytes(of: &words) { out -> Bool in
                for index in 0..<32 {
                    guard let high = nibble(value[1 + 2 * index], in: table),
                        let low = nibble(value[2 + 2 * index], in: table)
                    else { return false }
                    out[index] = high << 4 | low
                }
                return true
            }
        }
        return ok ? HashValue(words: words) : nil
    }

    /// Lowercase hex digit values; 0xFF for every other byte.
    private static let nibbles: [UInt8] = (0...255).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        default: 0xFF
        }
    }

    @inline(__always) private static func nibble(_ byte: UInt8, in table: UnsafeBufferPointer<UInt8>) -> UInt8? {
        let value = table[Int(byte)]
        return value == 0xFF ? nil : value
    }
}

/// A record's bytes read in the order the ledger writes its keys
/// (`RecordFields.init(ledgerLayout:)`): each step reads what must come next,
/// or gives nil (or false) and the reading is abandoned.
private struct LayoutReading {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0

    init(_ b: UnsafeBufferPointer<UInt8>) {
        self.b = b
    }

    var atEnd: Bool { i == b.count }

    /// Whether `text` comes next (and steps past it).
    @inline(__always)
    mutating func key(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard b.count - i >= count, memcmp(b.baseAddress! + i, text.utf8Start, count) == 0 else { return false }
        i += count
        return true
    }

    /// The rest of a string whose opening quote is read: the bytes up to its
    /// closing quote, which must come before any backslash.
    @inline(__always)
    mutating func string() -> FieldBytes? {
        guard let end = RecordFields.firstByte(of: .quotesAndBackslashes, in: b, from: i),
            b[end] == UInt8(ascii: "\"")
        else { return nil }
        defer { i = end + 1 }
        return FieldBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[i..<end])))
    }

    /// An object, braces included.
    mutating func object() -> FieldBytes? {
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        var escaped = false
        guard let end = RecordFields.skipValue(b, from: i, escaped: &escaped) else { return nil }
        defer { i = end }
        return FieldBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[i..<end])))
    }

    /// The rest of a date's string: ten characters and the closing quote.
    mutating func date() -> LocalDate? { fixedLength(10, LocalDate.parse) }

    /// The rest of an instant's string: 24 characters and the closing quote.
    mutating func instant() -> Instant? { fixedLength(24, Instant.parse) }

    /// The rest of a string of `length` characters, as `parse` reads them, and its closing quote.
    private mutating func fixedLength<Value>(
        _ length: Int, _ parse: (UnsafeBufferPointer<UInt8>) -> Value?
    ) -> Value? {
        guard b.count - i > length, b[i + length] == UInt8(ascii: "\""),
            let value = parse(UnsafeBufferPointer(rebasing: b[i..<(i + length)]))
        else { return nil }
        i += length + 1
        return value
    }

    /// The rest of a hash's string: 64 characters and the closing quote,
    /// decoded when `reading` (else zero, once no quote or backslash is among them).
    mutating func hash(reading: Bool) -> HashValue? {
        guard b.count - i >= 65, b[i + 64] == UInt8(ascii: "\"") else { return nil }
        let hash: HashValue?
        if reading {
            hash = RecordFields.hash(UnsafeBufferPointer(rebasing: b[(i - 1)..<(i + 65)]))
        } else {
            hash = RecordFields.firstByte(of: .quotesAndBackslashes, in: b, from: i) == i + 64 ? .zero : nil
        }
        i += 65
        return hash
    }

    /// A number's digits, up to the byte that ends them.
    mutating func integer() -> Int64? {
        let start = i
        while i < b.count, b[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        return RecordFields.integer(UnsafeBufferPointer(rebasing: b[start..<i]))
    }
}

/// A SHA-256 value held in four words: compared and copied without allocating.
struct HashValue: Equatable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    static let zero = HashValue(words: (0, 0, 0, 0))

    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// The first 32 bytes of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<32])) }
        self.words = words
    }

    /// SHA-256 of `bytes`.
    init(hashing bytes: UnsafeRawBufferPointer) {
        self = .zero
        withUnsafeMutableBytes(of: &words) { SHA256.hash(bytes, into: $0.baseAddress!) }
    }

    var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }

    static func == (a: HashValue, b: HashValue) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
}

/// The bytes of a field inside a stored record: hashed and compared as bytes,
/// valid only while the transaction that read the record is open.
struct FieldBytes: Hashable, @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    static let empty = FieldBytes(UnsafeRawBufferPointer(start: nil, count: 0))

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// A copy as a string, for messages and for keys that outlive the transaction.
    var string: String { String(decoding: bytes, as: UTF8.self) }

    static func == (a: FieldBytes, b: FieldBytes) -> Bool {
        a.bytes.count == b.bytes.count
            && (a.bytes.count == 0 || memcmp(a.bytes.baseAddress!, b.bytes.baseAddress!, a.bytes.count) == 0)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(bytes: bytes)
    }

    /// Whether the field holds exactly `text`'s bytes.
    func equals(_ text: [UInt8]) -> Bool {
        text.withUnsafeBytes { FieldBytes($0) == self }
    }
}

/// The fields of a stored record that projections read, straight from its
/// canonical bytes: valid only during the call that hands it out.
public struct RecordView {
    /// Its seq.
    public let seq: Int64
    /// `stream` as UTF-8 bytes (its pattern allows no escapes).
    public let stream: UnsafeRawBufferPointer
    /// `type` as UTF-8 bytes.
    public let type: UnsafeRawBufferPointer
    /// `orgUnit` as UTF-8 bytes.
    public let orgUnit: UnsafeRawBufferPointer
    /// The `data` object's canonical JSON.
    public let data: UnsafeRawBufferPointer
    /// Its effective date.
    public let occurredAt: LocalDate
    /// When it was recorded.
    public let recordedAt: Instant

    /// Reads the record at `seq` from its canonical bytes; nil when they are not
    /// a well-formed record of the ledger's shape.
    public init?(seq: Int64, canonical: UnsafeRawBufferPointer) {
        guard let fields = RecordFields(canonical: canonical, readingHashes: false), fields.seq == seq,
            fields.orgUnit.bytes.count > 0,
            fields.data.bytes.count > 0
        else { return nil }
        self.seq = seq
        stream = fields.stream.bytes
        type = fields.type.bytes
        orgUnit = fields.orgUnit.bytes
        data = fields.data.bytes
        occurredAt = fields.occurredAt
        recordedAt = fields.recordedAt
    }
}

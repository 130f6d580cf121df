import LMDBKit

#if canImport(Glibc)
    import Glibc
#endif

/// Lowercase hexadecimal, the one way the ledger writes hashes and salts.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `bytes` as lowercase hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `bytes` as lowercase hex to `out`.
    public static func write(_ bytes: [UInt8], into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bytes.count * 2))
        out.withUnsafeMutableBufferPointer { buffer in
            digits.withUnsafeBufferPointer { digits in
                var index = start
                for byte in bytes {
                    buffer[index] = digits[Int(byte >> 4)]
                    buffer[index + 1] = digits[Int(byte & 0x0F)]
                    index += 2
                }
            }
        }
    }

    /// The bytes of a lowercase hex string, or nil when it is not exactly that.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// SHA-256 of `bytes`, as 32 raw bytes.
@inline(__always)
public func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    SHA256.hash(bytes)
}

/// SHA-256 of `bytes`, as 32 raw bytes.
@inline(__always)
public func sha256(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { sha256($0) }
}

/// SHA-256 of `pieces` one after another: the hash of their concatenation,
/// without making it.
public func sha256(pieces: [[UInt8]]) -> [UInt8] {
    var hasher = SHA256()
    for piece in pieces { piece.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
    return hasher.finalize()
}

/// Fresh 16-byte salts from the operating system's random source, read 4 KiB
/// at a time from `/dev/urandom`: one read serves 256 salts.
public struct SaltSource {
    private var pool = [UInt8](repeating: 0, count: 4096)
    private var used = 4096

    public init() {}

    /// A fresh salt.
    public mutating func next() -> [UInt8] {
        if used == pool.count {
            refill()
            used = 0
        }
        defer { used += 16 }
        return Array(pool[used..<(used + 16)])
    }

    private mutating func refill() {
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var filled = 0
        if fd >= 0 {
            defer { close(fd) }
            pool.withUnsafeMutableBytes { buffer in
                while filled < buffer.count {
                    let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                    if n > 0 { filled += n } else if n == 0 || errno != EINTR { break }
                }
            }
        }
        // Without /dev/urandom the standard generator reads the same source, 8 bytes a call.
        var generator = SystemRandomNumberGenerator()
        while filled < pool.count {
            pool[filled] = UInt8.random(in: .min ... .max, using: &generator)
            filled += 1
        }
    }
}

/// Whether `a` sorts after `b` in byte order, as LMDB sorts keys.
@inline(__always)
func sortsAfter(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    LMDBKeyOrder.precedes(b, a)
}

/// Keys gathered in one buffer, with a value each, to be put in key order:
/// no allocation per key.
struct KeyRun {
    private var bytes: [UInt8] = []
    private var entries: [(offset: Int32, length: Int32, seq: Int64)] = []

    var count: Int { entries.count }

    mutating func append(_ key: some Collection<UInt8>, seq: Int64) {
        entries.append((Int32(bytes.count), Int32(key.count), seq))
        bytes.append(contentsOf: key)
    }

    /// Appends `stream ‖ 0x00 ‖ version (4 bytes big-endian)`.
    mutating func appendStreamKey(_ stream: String, version: Int64, seq: Int64) {
        let start = bytes.count
        bytes.append(contentsOf: stream.utf8)
        bytes.append(0)
        appendBigEndian(UInt64(version), count: 4, to: &bytes)
        entries.append((Int32(start), Int32(bytes.count - start), seq))
    }

    /// Calls `body` with each key and its seq, in key order.
    func forEachInKeyOrder(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            func key(_ entry: (offset: Int32, length: Int32, seq: Int64)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: all[Int(entry.offset)..<Int(entry.offset + entry.length)])
            }
            func less(
                _ a: (offset: Int32, length: Int32, seq: Int64), _ b: (offset: Int32, length: Int32, seq: Int64)
            ) -> Bool {
                sortsAfter(key(b), key(a))
            }
            var ordered = true
            var index = 1
            while ordered && index < entries.count {
                ordered = less(entries[index - 1], entries[index])
                index += 1
            }
            if ordered {
                for entry in entries { try body(key(entry), entry.seq) }
                return
            }
            // Sorted by the first 24 bytes of each key read as three big-endian
            // integers (zero-padded, which orders no two keys wrongly, only
            // ties them), the whole keys compared only on a tie: stream keys
            // share their kind's name and tell apart in the bytes after it,
            // and a stream's keys in their last four (the version), which
            // the synthetic district's names (up to 18 bytes) leave within the first 24.
            var order = entries.indices.map { index in
                let whole = key(entries[index])
                return (
                    first: KeyRun.word(whole, at: 0), second: KeyRun.word(whole, at: 8),
                    third: KeyRun.word(whole, at: 16), index: index
                )
            }
            order.sort { a, b in
                if a.first != b.first { return a.first < b.first }
                if a.second != b.second { return a.second < b.second }
                if a.third != b.third { return a.third < b.third }
                return less(entries[a.index], entries[b.index])
            }
            for position in order { try body(key(entries[position.index]), entries[position.index].seq) }
        }
    }

    /// The 8 bytes of `key` from `offset` as a big-endian integer, zeros past its end.
    @inline(__always)
    private static func word(_ key: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for index in offset..<offset + 8 { word = word << 8 | UInt64(index < key.count ? key[index] : 0) }
        return word
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }
}

/// The 8-byte big-endian form of a sequence number: keys in seq order sort as bytes.
@inline(__always)
public func bigEndianKey(_ value: Int64) -> [UInt8] {
    withUnsafeBytes(of: UInt64(bitPattern: value).bigEndian) { Array($0) }
}

/// Reads a big-endian unsigned integer of `count` bytes at `offset`.
@inline(__always)
public func readBigEndian(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0, count: Int = 8) -> UInt64 {
    var value: UInt64 = 0
    for index in offset..<(offset + count) { value = value << 8 | UInt64(buffer[index]) }
    return value
}

/// Appends `value` as `count` big-endian bytes.
@inline(__always)
public func appendBigEndian(_ value: UInt64, count: Int = 8, to out: inout [UInt8]) {
    for shift in stride(from: (count - 1) * 8, through: 0, by: -8) {
        out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
}

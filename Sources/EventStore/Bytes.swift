import Crypto

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
    public static func write(_ bytes: some Sequence<UInt8>, into out: inout [UInt8]) {
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
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
func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var hasher = SHA256()
    hasher.update(bufferPointer: bytes)
    return hasher.finalize().withUnsafeBytes { Array($0) }
}

/// SHA-256 of `bytes`, as 32 raw bytes.
@inline(__always)
func sha256(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { sha256($0) }
}

/// Sixteen random bytes from the operating system, in one call.
func randomSalt() -> [UInt8] {
    var salt = [UInt8](repeating: 0, count: 16)
    var generator = SystemRandomNumberGenerator()
    salt.withUnsafeMutableBytes { buffer in
        buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: 8, as: UInt64.self)
    }
    return salt
}

/// Byte order, as LMDB sorts keys.
@inline(__always)
func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let common = min(a.count, b.count)
    let order = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in memcmp(pa.baseAddress!, pb.baseAddress!, common) } }
    return order != 0 ? order < 0 : a.count < b.count
}

/// The 8-byte big-endian form of a sequence number: keys in seq order sort as bytes.
@inline(__always)
func bigEndianKey(_ value: Int64) -> [UInt8] {
    withUnsafeBytes(of: UInt64(bitPattern: value).bigEndian) { Array($0) }
}

/// Reads a big-endian unsigned integer of `count` bytes at `offset`.
@inline(__always)
func readBigEndian(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0, count: Int = 8) -> UInt64 {
    var value: UInt64 = 0
    for index in offset..<(offset + count) { value = value << 8 | UInt64(buffer[index]) }
    return value
}

/// Appends `value` as `count` big-endian bytes.
@inline(__always)
func appendBigEndian(_ value: UInt64, count: Int = 8, to out: inout [UInt8]) {
    for shift in stride(from: (count - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

/// SipHash (Aumasson and Bernstein, 2012) of short byte strings, under a key
/// drawn at random once per process: what verification's index sums and
/// tables of streams, and the ledger's in-memory tables of payloads and
/// vault keys, place and sum entries by.
///
/// Keyed as Swift's `Hasher` is, so that nobody outside the process can
/// choose inputs that collide; but a plain function of the bytes, with no
/// hasher to set up, feed through its buffer and finish around each hash,
/// which for the 10 to 40 bytes of a stream name or an index key cost more
/// than the hashing. The variant is SipHash-1-3 (one compression round a
/// word, three to finish), as `Hasher`'s.
public enum KeyedHash {
    /// The process's key, drawn from the system's random generator on first use.
    static let processKey: Key = {
        var random = SystemRandomNumberGenerator()
        return Key(random.next(), random.next())
    }()

    /// A 128-bit SipHash key, as two little-endian words.
    public struct Key: Sendable {
        let k0: UInt64
        let k1: UInt64

        public init(_ k0: UInt64, _ k1: UInt64) {
            self.k0 = k0
            self.k1 = k1
        }
    }

    /// The hash of `bytes` under the process's key.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        let key = processKey
        return Int(truncatingIfNeeded: sipHash(bytes, key: key, compressionRounds: 1, finalizationRounds: 3))
    }

    /// The hash of `word`'s eight little-endian bytes followed by `bytes`,
    /// under the process's key (an index entry's seq and key, in one).
    public static func hash(_ word: UInt64, _ bytes: UnsafeRawBufferPointer) -> Int {
        let key = processKey
        return Int(
            truncatingIfNeeded: sipHash(bytes, key: key, first: word, compressionRounds: 1, finalizationRounds: 3))
    }

    /// SipHash-c-d of (`first`'s eight little-endian bytes, when given, then) `bytes` under `key`.
    @inline(__always)
    static func sipHash(
        _ bytes: UnsafeRawBufferPointer, key: Key, first: UInt64? = nil, compressionRounds: Int,
        finalizationRounds: Int
    ) -> UInt64 {
        var state = State(key)
        if let first { state.compress(first, rounds: compressionRounds) }
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count {
            state.compress(
                UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                rounds: compressionRounds)
            offset += 8
        }
        // The last word: the bytes left, little-endian, and the whole length's low byte on top.
        let length = count + (first == nil ? 0 : 8)
        var last = UInt64(truncatingIfNeeded: length) << 56
        var shift: UInt64 = 0
        while offset < count {
            last |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        state.compress(last, rounds: compressionRounds)
        return state.finish(rounds: finalizationRounds)
    }

    /// SipHash's four words of state.
    struct State {
        var v0, v1, v2, v3: UInt64

        @inline(__always)
        init(_ key: Key) {
            v0 = key.k0 ^ 0x736f_6d65_7073_6575
            v1 = key.k1 ^ 0x646f_7261_6e64_6f6d
            v2 = key.k0 ^ 0x6c79_6765_6e65_7261
            v3 = key.k1 ^ 0x7465_6462_7974_6573
        }

        @inline(__always)
        mutating func round() {
            v0 &+= v1
            v1 = v1.rotatedLeft(13) ^ v0
            v0 = v0.rotatedLeft(32)
            v2 &+= v3
            v3 = v3.rotatedLeft(16) ^ v2
            v0 &+= v3
            v3 = v3.rotatedLeft(21) ^ v0
            v2 &+= v1
            v1 = v1.rotatedLeft(17) ^ v2
            v2 = v2.rotatedLeft(32)
        }

        @inline(__always)
        mutating func compress(_ word: UInt64, rounds: Int) {
            v3 ^= word
            for _ in 0..<rounds { round() }
            v0 ^= word
        }

        @inline(__always)
        mutating func finish(rounds: Int) -> UInt64 {
            v2 ^= 0xff
            for _ in 0..<rounds { round() }
            return v0 ^ v1 ^ v2 ^ v3
        }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 { self << count | self >> (64 - count) }
}

import Testing

@testable import EventStore

/// Index keys are put in the order LMDB keeps them: plain byte order, a key
/// that is a prefix of another sorting first.
@Suite("Byte order of index keys")
struct KeyOrderTests {
    /// The reference order: byte by byte, then the shorter first.
    private func after(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b) ? false : a != b
    }

    private func sortsAfter(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { a in b.withUnsafeBytes { b in EventStore.sortsAfter(a, b) } }
    }

    /// Keys of 0 to 40 bytes from a fixed sequence, drawn from few byte values
    /// so that long shared prefixes, and keys that differ only past the eighth
    /// byte or only in length, are common.
    private func keys(count: Int) -> [[UInt8]] {
        var state: UInt64 = 0x5EED_0F_4DE2
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet: [UInt8] = [0, 1, 0x7F, 0x80, 0xFE, 0xFF]
        var keys: [[UInt8]] = []
        for _ in 0..<count {
            let base = keys.isEmpty || next() % 2 == 0 ? [] : keys[Int(next() % UInt64(keys.count))]
            var key = Array(base.prefix(Int(next() % 41)))
            while key.count < Int(next() % 41) { key.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            keys.append(key)
        }
        return keys
    }

    @Test("agrees with byte-by-byte order on 400 × 400 keys, prefixes and equal keys included")
    func agreesWithByteOrder() {
        let keys = keys(count: 400)
        var disagreements = 0
        for a in keys {
            for b in keys where sortsAfter(a, b) != after(a, b) { disagreements += 1 }
        }
        #expect(disagreements == 0)
        #expect(!sortsAfter([], []))
        #expect(sortsAfter([1], []))
        #expect(!sortsAfter([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, 0]))
        #expect(sortsAfter([1, 2, 3, 4, 5, 6, 7, 8, 0x80], [1, 2, 3, 4, 5, 6, 7, 8, 0x7F, 0xFF]))
        #expect(sortsAfter([0xFF, 0, 0, 0, 0, 0, 0, 0], [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))
    }

    @Test("a run of keys is given back in byte order, each with its own seq")
    func keyRunOrder() {
        let keys = keys(count: 2_000)
        var run = KeyRun()
        for (seq, key) in keys.enumerated() { run.append(key, seq: Int64(seq)) }
        var given: [(key: [UInt8], seq: Int64)] = []
        run.forEachInKeyOrder { key, seq in given.append((Array(key), seq)) }
        #expect(given.count == keys.count)
        #expect(given.allSatisfy { keys[Int($0.seq)] == $0.key })
        #expect(zip(given, given.dropFirst()).allSatisfy { !after($0.key, $1.key) })
    }
}

import Testing

@testable import LedgerValues

@Suite("Keyed hash (SipHash)")
struct KeyedHashTests {
    /// The key of the SipHash paper's test vectors: the bytes 0, 1, …, 15.
    let paperKey = KeyedHash.Key(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)

    @Test("SipHash-2-4 gives the reference outputs for the messages 0, 1, …, n − 1 under the paper's key")
    func referenceVectors() {
        let expected: [Int: UInt64] = [
            0: 0x726f_db47_dd0e_0e31, 1: 0x74f8_39c5_93dc_67fd, 2: 0x0d6c_8009_d9a9_4f5a,
            15: 0xa129_ca61_49be_45e5, 32: 0x7127_512f_72f2_7cce,
        ]
        for (length, output) in expected {
            let message = (0..<length).map { UInt8($0) }
            let hash = message.withUnsafeBytes {
                KeyedHash.sipHash($0, key: paperKey, compressionRounds: 2, finalizationRounds: 4)
            }
            #expect(hash == output, "length \(length)")
        }
    }

    @Test("a word hashed first is the same as its eight little-endian bytes before the rest, at every length")
    func wordFirst() {
        let word: UInt64 = 0x1122_3344_5566_7788
        let wordBytes = withUnsafeBytes(of: word.littleEndian) { Array($0) }
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let together = (wordBytes + bytes).withUnsafeBytes {
                KeyedHash.sipHash($0, key: paperKey, compressionRounds: 1, finalizationRounds: 3)
            }
            let apart = bytes.withUnsafeBytes {
                KeyedHash.sipHash($0, key: paperKey, first: word, compressionRounds: 1, finalizationRounds: 3)
            }
            #expect(together == apart, "length \(length)")
            let processTogether = (wordBytes + bytes).withUnsafeBytes { KeyedHash.hash($0) }
            #expect(processTogether == bytes.withUnsafeBytes { KeyedHash.hash(word, $0) })
        }
    }

    @Test("every byte and the length count: distinct short strings, zeros of every length among them, hash apart")
    func distinct() {
        var strings = Set<[UInt8]>()
        for length in 0...12 {
            for value in 0..<200 {
                var bytes = [UInt8](repeating: 0, count: length)
                if length > 0 { bytes[value % length] = UInt8(value) }
                if length > 1 { bytes[(value / 7) % length] ^= 0x5a }
                strings.insert(bytes)
            }
        }
        let hashes = Set(strings.map { $0.withUnsafeBytes { KeyedHash.hash($0) } })
        #expect(strings.count > 2000)
        #expect(hashes.count == strings.count)
    }
}

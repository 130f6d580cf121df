import Crypto
import Testing

@testable import EventStore

/// The ledger's SHA-256 (the system's libcrypto) against the published test
/// vectors of FIPS 180-4 and against swift-crypto, an independent implementation.
@Suite("SHA-256 of the chain")
struct HashTests {
    private func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    private func digest(_ text: String) -> String {
        hex(Array(text.utf8).withUnsafeBytes { EventStore.SHA256.hash($0) })
    }

    @Test("the FIPS 180-4 examples")
    func publishedVectors() {
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000).withUnsafeBytes { EventStore.SHA256.hash($0) })
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("every length from 0 to 2,100 bytes, hashed whole and in two parts, as swift-crypto hashes it")
    func agreesWithSwiftCrypto() {
        // A fixed linear congruential sequence: the same bytes on every run.
        var state: UInt64 = 0x5EED_5A25_6000_0001
        let bytes = (0..<2_100).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for length in 0...bytes.count {
            let message = Array(bytes.prefix(length))
            let expected = Array(Crypto.SHA256.hash(data: message))
            #expect(message.withUnsafeBytes { EventStore.SHA256.hash($0) } == expected, "length \(length)")
            // A state copied after a prefix resumes as the whole would: what a prepared record relies on.
            let cut = length / 3
            var prefix = EventStore.SHA256()
            message.withUnsafeBytes { prefix.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<cut])) }
            var resumed = prefix
            message.withUnsafeBytes { resumed.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[cut...])) }
            #expect(resumed.finalize() == expected, "length \(length), resumed after \(cut)")
            #expect(resumed.finalize() == expected, "finalize leaves the state as it was")
            #expect(prefix.finalize() == Array(Crypto.SHA256.hash(data: message.prefix(cut))))
        }
    }
}

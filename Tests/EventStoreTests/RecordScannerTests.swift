import Foundation
import Testing

@testable import EventStore

/// The reading of a stored record's top-level fields without a JSON tree: the
/// search that jumps eight bytes at a time, and strings with escapes wherever
/// they fall against those eight-byte words.
@Suite("Stored record fields")
struct RecordScannerTests {
    /// A fixed linear congruential sequence: the same cases on every run.
    private struct Sequence {
        var state: UInt64
        mutating func next(below bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
    }

    private let hash = String(repeating: "0123456789abcdef", count: 4)

    /// A stored record's canonical JSON with `data` as given.
    private func record(data: String, stream: String = "person-P000001") -> [UInt8] {
        Array(
            (#"{"actor":"clerk-1","data":"# + data + #","id":"e000000007","occurredAt":"2024-02-29","#
                + #""orgUnit":"anting","prevHash":""# + hash + #"","recordedAt":"2024-03-01T08:00:00.125Z","#
                + #""schema":1,"seq":7,"stream":""# + stream + #"","type":"PersonMoved","version":3}"#).utf8)
    }

    private func fields(_ bytes: [UInt8]) -> (data: String, stream: String, type: String, seq: Int64)? {
        bytes.withUnsafeBytes { buffer in
            RecordFields(canonical: buffer).map { ($0.data.string, $0.stream.string, $0.type.string, $0.seq) }
        }
    }

    @Test(
        "the first quote, or quote or backslash, at every start in random bytes is the one a byte-by-byte search finds")
    func searchAgreesWithBytes() {
        var random = Sequence(state: 0x5CA7_7E12)
        for _ in 0..<300 {
            let count = random.next(below: 40)
            // Mostly letters, with quotes and backslashes, and bytes of 0x80 and up.
            let alphabet: [UInt8] = [0x22, 0x5C, 0x61, 0x62, 0x00, 0x80, 0xA2, 0xDC, 0xFF, 0x21, 0x23, 0x5B, 0x5D]
            let bytes = (0..<count).map { _ in alphabet[random.next(below: alphabet.count)] }
            bytes.withUnsafeBufferPointer { buffer in
                for start in 0...count {
                    let quote = bytes[start...].firstIndex(of: 0x22)
                    let either = bytes[start...].firstIndex { $0 == 0x22 || $0 == 0x5C }
                    #expect(
                        RecordFields.firstByte(of: .quotes, in: buffer, from: start) == quote, "\(bytes) from \(start)")
                    #expect(
                        RecordFields.firstByte(of: .quotesAndBackslashes, in: buffer, from: start) == either,
                        "\(bytes) from \(start)")
                }
            }
        }
    }

    @Test("a data object whose strings hold escaped quotes and backslashes at every offset is read whole")
    func escapesAtEveryOffset() throws {
        for padding in 0..<17 {
            for escape in [#"\""#, #"\\"#, #"\\\""#, #"\u0022"#, #"\\\\"#] {
                let text = String(repeating: "x", count: padding) + escape + "y"
                let data = #"{"note":""# + text + #"","items":["a\\",{"b":"}\""}],"n":1}"#
                let read = try #require(fields(record(data: data)), "padding \(padding), escape \(escape)")
                #expect(read.data == data)
                #expect(read.stream == "person-P000001")
                #expect(read.type == "PersonMoved")
                #expect(read.seq == 7)
            }
        }
    }

    @Test(
        "a replay's reading leaves the hashes undecoded but still refuses one of the wrong length; a full reading decodes them"
    )
    func hashesReadOrSkipped() {
        func read(_ bytes: [UInt8], hashes: Bool) -> RecordFields? {
            bytes.withUnsafeBytes { RecordFields(canonical: $0, readingHashes: hashes) }
        }
        let sound = record(data: "{}")
        let full = read(sound, hashes: true)
        #expect(
            full?.prevHash.bytes
                == Array(repeating: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], count: 4).flatMap { $0 })
        let skipped = read(sound, hashes: false)
        #expect(skipped?.prevHash == .zero && skipped?.seq == 7 && skipped?.stream.string == "person-P000001")
        // Not hex: a full reading refuses it, a replay's does not look.
        let notHex = Array(String(decoding: sound, as: UTF8.self).replacingOccurrences(of: "0123", with: "x123").utf8)
        #expect(read(notHex, hashes: true) == nil && read(notHex, hashes: false) != nil)
        // A character short: both refuse it.
        let short = Array(String(decoding: sound, as: UTF8.self).replacingOccurrences(of: "cdef\"", with: "cde\"").utf8)
        #expect(read(short, hashes: true) == nil && read(short, hashes: false) == nil)
        let commitment = Array(
            String(decoding: sound, as: UTF8.self)
                .replacingOccurrences(of: #""prevHash""#, with: #""piiCommitment":""# + hash + #"","prevHash""#).utf8)
        #expect(
            read(commitment, hashes: true)?.piiCommitment != nil
                && read(commitment, hashes: false)?.piiCommitment == nil)
        #expect(read(commitment, hashes: false) != nil)
    }

    @Test("an escape in the stream's name, or a string left open, makes the record unreadable")
    func escapesWhereNoneBelong() {
        #expect(fields(record(data: "{}")) != nil)
        #expect(fields(record(data: "{}", stream: #"person-\"P1"#)) == nil)
        #expect(fields(record(data: "{}", stream: #"person-P1\\"#)) == nil)
        #expect(fields(record(data: #"{"note":"open}"#)) == nil)
        #expect(fields(record(data: #"{"note":"ends in a backslash\"}"#)) == nil)
    }

    @Test(
        "a record in the ledger's layout is read by matching its keys in place, to the same fields as key by key, and bytes changed anywhere are read the same by both or left to the second"
    )
    func ledgerLayoutAgreesWithKeyByKey() {
        let commitment = #""piiCommitment":""# + hash + #"","#
        let samples: [[UInt8]] = [
            record(data: "{}"), record(data: #"{"serviceKind":"physical_therapy"}"#),
            record(data: #"{"note":"a \"quoted\" word","items":[1,{"b":[]}],"n":-1.5}"#, stream: "call-20160101-0001"),
            Array(
                String(decoding: record(data: #"{"residence":"anting"}"#), as: UTF8.self)
                    .replacingOccurrences(of: #""prevHash""#, with: commitment + #""prevHash""#).utf8),
        ]
        func read(
            _ bytes: [UInt8], hashes: Bool
        ) -> (layout: RecordFields?, keyed: RecordFields?, either: RecordFields?) {
            bytes.withUnsafeBytes {
                (
                    RecordFields(ledgerLayout: $0, readingHashes: hashes),
                    RecordFields(keyByKey: $0, readingHashes: hashes),
                    RecordFields(canonical: $0, readingHashes: hashes)
                )
            }
        }
        for sample in samples {
            for hashes in [true, false] {
                let (layout, keyed, either) = read(sample, hashes: hashes)
                #expect(
                    layout != nil && layout == keyed && either == keyed, "\(String(decoding: sample, as: UTF8.self))")
            }
        }
        // Bytes changed, dropped or put in at random places: where the layout
        // reading reads a record, it reads what key by key does.
        var random = Sequence(state: 0x1A70_0C75)
        let alphabet = Array(#"0123456789abcdef"{}[],:\-TZ.x "#.utf8)
        var readByLayout = 0
        for round in 0..<4_000 {
            var bytes = samples[round % samples.count]
            for _ in 0...random.next(below: 2) {
                let at = random.next(below: bytes.count)
                switch random.next(below: 3) {
                case 0: bytes[at] = alphabet[random.next(below: alphabet.count)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[random.next(below: alphabet.count)], at: at)
                }
            }
            let hashes = round % 2 == 0
            let (layout, keyed, either) = read(bytes, hashes: hashes)
            if layout != nil {
                readByLayout += 1
                #expect(layout == keyed, "\(String(decoding: bytes, as: UTF8.self))")
            }
            #expect(either == (layout ?? keyed))
        }
        // Some changes leave a readable record (a digit of the seq, a letter of the actor).
        #expect(readByLayout > 100)
    }

    @Test(
        "keys in another order, or one the ledger does not write, are read key by key; a number past Int64 is refused")
    func otherLayoutsReadKeyByKey() {
        let text = String(decoding: record(data: "{}"), as: UTF8.self)
        let reordered = Array(
            text.replacingOccurrences(of: #"{"actor":"clerk-1","#, with: "{")
                .replacingOccurrences(of: #","version":3}"#, with: #","version":3,"actor":"clerk-1"}"#).utf8)
        let extra = Array(text.replacingOccurrences(of: #""schema":1,"#, with: #""schema":1,"note":[true],"#).utf8)
        for bytes in [reordered, extra] {
            bytes.withUnsafeBytes { buffer in
                #expect(RecordFields(ledgerLayout: buffer, readingHashes: true) == nil)
                #expect(RecordFields(canonical: buffer)?.seq == 7)
            }
        }
        for seq in ["9223372036854775807", "9223372036854775808", "9999999999999999999", "12345678901234567890"] {
            let bytes = Array(text.replacingOccurrences(of: #""seq":7"#, with: #""seq":"# + seq).utf8)
            bytes.withUnsafeBytes { #expect(RecordFields(canonical: $0)?.seq == Int64(seq), "\(seq)") }
        }
    }
}

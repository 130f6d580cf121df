import Crypto
import EventStore
import LMDBKit
import LedgerValues
import Testing

@Suite("the chained record (events.md §2)")
struct ChainTests {
    @Test("the record's canonical bytes are exactly RFC 8785 of its fields")
    func canonicalForm() throws {
        var data = JSONObject()
        data["z"] = .array([.string("b\"\n"), .string("张")])
        data["a"] = .integer(-3)
        data["m"] = .bool(true)
        for commitment in [nil, String(repeating: "ab", count: 32)] {
            let record = LedgerRecord(
                seq: 12, id: "ev:1", stream: "person-P1", version: 3, type: "PersonMoved", schema: 1,
                occurredAt: date("2024-02-29"), recordedAt: instant("2024-03-01T01:02:03.004Z"), actor: "a@b",
                orgUnit: "malu", data: data, piiCommitment: commitment, prevHash: Array(repeating: 0xEE, count: 32))
            #expect(record.canonicalBytes() == CanonicalJSON.encode(.object(record.jsonObject)))
            #expect(try LedgerRecord(json: record.jsonObject) == record)
        }
    }

    @Test("a record read back names an unknown key or a wrong seq quoted safely: escaped, cut, on one line")
    func readBackErrorsQuoteSafely() throws {
        let record = LedgerRecord(
            seq: 1, id: "e1", stream: "person-P1", version: 1, type: "PersonMoved", schema: 1,
            occurredAt: date("2024-02-29"), recordedAt: instant("2024-03-01T01:02:03.004Z"), actor: "a",
            orgUnit: "malu", data: JSONObject(), piiCommitment: nil, prevHash: Array(repeating: 0, count: 32))
        func refusal(_ object: JSONObject) -> String? {
            do throws(RecordFormatError) {
                let read = try LedgerRecord(json: object)
                return "read as seq \(read.seq)"
            } catch {
                return error.description
            }
        }
        var extraKey = record.jsonObject
        extraKey["x\n\u{1B}[2J"] = .integer(1)
        #expect(refusal(extraKey) == #""x\n\u001b[2J": is not a key of a chained record"#)
        var longSeq = record.jsonObject
        longSeq["seq"] = .number("1" + String(repeating: "0", count: 1_000))
        #expect(
            refusal(longSeq)
                == "seq: must be an integer ≥ 1, not 1\(String(repeating: "0", count: 63))… (1,001 characters)")
    }

    @Test(
        "seq 1 links to 64 zeros, every later record to the hash of the one before, and hash = SHA-256 of the canonical bytes"
    )
    func links() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [
                    registration("e1"), personEvent("e2"),
                    personEvent("e3", on: "2024-01-11", recorded: "2024-01-11T00:00:00Z"),
                ], clock: laterClock)
            var previous = [UInt8](repeating: 0, count: 32)
            var seqs: [Int64] = []
            try log.forEachRecord { seq, hash, canonical, _ in
                let record = try #require(try? JSONParser.parse(Array(canonical)).objectValue)
                #expect(record["prevHash"] == .string(Hex.encode(previous)))
                #expect(Array(SHA256.hash(data: Array(canonical))) == Array(hash))
                previous = Array(hash)
                seqs.append(seq)
            }
            #expect(seqs == [1, 2, 3])
            #expect(try log.head().hash == previous)
        }
    }

    @Test("seq and version are assigned without gaps, per ledger and per stream")
    func numbering() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let outcomes = try log.append(
                [
                    registration("a1"), registration("b1", stream: "person-P2"), personEvent("a2"),
                    personEvent("b2", stream: "person-P2"),
                ],
                clock: laterClock)
            let numbers: [[Int64]] = outcomes.map { if case .append(let s, let v, _) = $0 { [s, v] } else { [] } }
            #expect(numbers == [[1, 1], [2, 1], [3, 2], [4, 2]])
        }
    }

    @Test("a batch with one bad event stores nothing at all")
    func batchAtomicity() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            #expect(throws: LedgerError.self) {
                try log.append(
                    [registration("e1"), personEvent("e2"), personEvent("e3", stream: "person-P9")], clock: laterClock)
            }
            #expect(try log.head() == .empty)
            try log.append([registration("e1")], clock: laterClock)
            #expect(try log.head().seq == 1)
        }
    }

    @Test("a missing recordedAt takes the store's clock, or the last recordedAt when the clock is behind it")
    func clockAssigned() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let clock = instant("2025-06-01T00:00:00.123Z")
            guard case .append(_, _, let first) = try log.append([registration("e1", recorded: nil)], clock: clock)[0]
            else {
                Issue.record("not appended")
                return
            }
            #expect(first == clock)
            let behind = instant("2025-05-01T00:00:00Z")
            guard case .append(_, _, let second) = try log.append([personEvent("e2", recorded: nil)], clock: behind)[0]
            else {
                Issue.record("not appended")
                return
            }
            #expect(second == clock)
        }
    }

    @Test("the map grows by itself: a ledger opened with a tiny map takes thousands of events")
    func mapGrowth() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, options: .init(initialMapSize: 128 << 10))
            let start = log.mapSize
            var events = [registration("r")]
            for i in 0..<3000 { events.append(personEvent("e\(i)")) }
            try log.append(events, clock: laterClock)
            #expect(log.mapSize > start)
            #expect(try log.verify(closerTypes: closers, openerTypes: openers).records == 3001)
        }
    }
}

import Crypto
import EventStore
import LedgerValues
import Testing

@Suite("personal data (events.md §3)")
struct PersonalDataTests {
    @Test("the chain holds only a commitment: SHA-256(salt ‖ JCS(pii)) with a fresh 16-byte salt")
    func commitment() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1"), registration("e2", stream: "person-P2")], clock: laterClock)
            var commitments: [String] = []
            try log.forEachRecord(withVault: true) { _, _, canonical, vault in
                let text = String(decoding: canonical, as: UTF8.self)
                #expect(!text.contains("王芳"))
                #expect(!text.contains("310114198002290025"))
                let vault = try #require(vault)
                #expect(vault.salt.count == 16)
                #expect(vault.canonicalPII == Array(#"{"idNumber":"310114198002290025","name":"王芳"}"#.utf8))
                let record = try #require(try JSONParser.parse(Array(canonical)).objectValue)
                let expected = Hex.encode(SHA256.hash(data: vault.salt + vault.canonicalPII))
                #expect(record["piiCommitment"] == .string(expected))
                commitments.append(expected)
            }
            // The same personal data under a fresh salt gives another commitment.
            #expect(commitments.count == 2 && commitments[0] != commitments[1])
        }
    }

    @Test("an erasure removes every vault entry of that stream and nothing else; the chain still verifies")
    func erasure() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var pii = JSONObject()
            pii["phone"] = .string("13800000000")
            try log.append(
                [
                    registration("a1"), registration("b1", stream: "person-P2"),
                    personEvent("a2", type: "PersonPiiCorrected", pii: pii),
                ],
                clock: laterClock)
            let headBefore = try log.head()
            var reason = JSONObject()
            reason["reason"] = .string("request of the person")
            try log.append(
                [
                    personEvent(
                        "a3", type: "PersonPiiErased", on: "2024-01-11", recorded: "2024-01-11T00:00:00Z", data: reason)
                ], clock: laterClock)
            var held: [Int64] = []
            try log.forEachRecord(withVault: true) { seq, _, _, vault in if vault != nil { held.append(seq) } }
            #expect(held == [2])
            #expect(try log.hash(at: 3) == headBefore.hash)
            let report = try log.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.records == 4)
            #expect(report.piiCommitments == 1)
            // Later corrections add personal data again.
            try log.append(
                [
                    personEvent(
                        "a4", type: "PersonPiiCorrected", on: "2024-01-12", recorded: "2024-01-12T00:00:00Z", pii: pii)
                ], clock: laterClock)
            held = []
            try log.forEachRecord(withVault: true) { seq, _, _, vault in if vault != nil { held.append(seq) } }
            #expect(held == [2, 5])
        }
    }

    @Test("an erasure in the same append as the stream's own events removes their vault entries too")
    func erasureInTheSameAppend() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            var pii = JSONObject()
            pii["phone"] = .string("13800000000")
            var reason = JSONObject()
            reason["reason"] = .string("request of the person")
            // a1 is in the stream index before this append; a2, b2 and the
            // erasure are gathered in it, and their index entries not yet put.
            try log.append(
                [
                    personEvent("a2", type: "PersonPiiCorrected", pii: pii),
                    personEvent("b2", stream: "person-P2", type: "PersonPiiCorrected", pii: pii),
                    personEvent(
                        "a3", type: "PersonPiiErased", on: "2024-01-11", recorded: "2024-01-11T00:00:00Z", data: reason),
                ],
                clock: laterClock)
            var held: [Int64] = []
            try log.forEachRecord(withVault: true) { seq, _, _, vault in if vault != nil { held.append(seq) } }
            #expect(held == [2, 4])
            let report = try log.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.records == 5)
            #expect(report.piiCommitments == 2)
        }
    }

    @Test(
        "an erasure finds the stream's vault entries whether their index entries are put or still held in the session"
    )
    func erasureAcrossIndexPasses() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var pii = JSONObject()
            pii["phone"] = .string("13800000000")
            var reason = JSONObject()
            reason["reason"] = .string("request of the person")
            let events = [
                registration("a1"), registration("b1", stream: "person-P2"),
                personEvent("a2", type: "PersonPiiCorrected", pii: pii), personEvent("h1"),
                personEvent("b2", stream: "person-P2", type: "PersonPiiCorrected", pii: pii),
                personEvent("a5", type: "PersonPiiCorrected", pii: pii),
                personEvent(
                    "a3", type: "PersonPiiErased", on: "2024-01-11", recorded: "2024-01-11T00:00:00Z", data: reason),
                personEvent(
                    "a4", type: "PersonPiiCorrected", on: "2024-01-12", recorded: "2024-01-12T00:00:00Z", pii: pii),
            ]
            // Ids are put every 2 events and stream entries once 3 are held:
            // at the erasure (seq 7), seqs 1–4 are in the stream index, 5 and 6 only in the session.
            try log.appending(clock: laterClock, flushEvery: 2, streamEntriesHeld: 3) { session in
                for event in events { _ = try session.offer(event) }
            }
            var held: [Int64] = []
            try log.forEachRecord(withVault: true) { seq, _, _, vault in if vault != nil { held.append(seq) } }
            #expect(held == [2, 5, 8])
            let report = try log.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.records == 8)
            #expect(report.piiCommitments == 3)
        }
    }
}

@Suite("an append that puts its streams' states before it ends")
struct StreamStatePassTests {
    @Test(
        "states put halfway through an append are judged from the store, as those held are: versions, openers, closers")
    func statesPutMidway() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var admissions: [Admission] = []
            // States are put once 2 streams are touched: P1's is put after P2's first event, and so on.
            try log.appending(clock: laterClock, flushEvery: 1, streamStatesHeld: 2) { session in
                let events = [
                    registration("a1"), registration("b1", stream: "person-P2"), personEvent("a2"),
                    registration("c1", stream: "person-P3", recorded: "2024-01-10T09:00:00Z"),
                    // P1 was registered (its state is put): registering it again breaks rule 5.
                    registration("a3", recorded: "2024-01-10T10:00:00Z"),
                    personEvent("b2", stream: "person-P2", on: "2024-01-12", recorded: "2024-01-12T00:00:00Z"),
                    personEvent(
                        "a4", type: "PersonDeregistered", on: "2024-01-13", recorded: "2024-01-13T00:00:00Z"),
                    personEvent("c2", stream: "person-P3", on: "2024-01-13", recorded: "2024-01-13T00:00:00Z"),
                    // P1 is closed (its closed state put since): nothing after its closing date.
                    personEvent("a5", on: "2024-01-14", recorded: "2024-01-14T00:00:00Z"),
                    personEvent("b3", stream: "person-P2", on: "2024-01-14", recorded: "2024-01-14T00:00:00Z"),
                ]
                for event in events { admissions.append(try session.offer(event)) }
            }
            let versions = admissions.map { admission -> Int64? in
                if case .append(_, let version, _) = admission { return version }
                return nil
            }
            #expect(versions == [1, 1, 2, 1, nil, 2, 3, 2, nil, 3])
            guard case .rejected(let opened) = admissions[4], case .rejected(let closed) = admissions[8] else {
                Issue.record("the second registration and the event after the closing were admitted")
                return
            }
            #expect(opened.map(\.field) == ["type"])
            #expect(closed.map(\.field) == ["occurredAt"])
            let report = try log.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.records == 8)
            #expect(report.streams == 3)
        }
    }
}

import EventStore
import LMDBKit
import LedgerValues
import Testing

/// An employment event of person P1 that starts or ends `employment`.
func employment(
    _ id: String, _ change: StreamItem.Change, _ employment: String, on occurred: String,
    recorded: String = "2024-03-01T01:00:00Z"
) -> NewEvent {
    var event = personEvent(
        id, type: change == .starts ? "EmploymentStarted" : "EmploymentEnded", on: occurred, recorded: recorded)
    event.item = StreamItem(change, key: employment, field: "data.employmentId", noun: "employment")
    return event
}

@Suite("rule 6: employments are started once, and end once, after they start")
struct EmploymentRuleTests {
    @Test("an employment id is new to its stream, even after that employment ended")
    func startedOnce() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [registration("e1"), employment("e2", .starts, "E1", on: "2024-02-01")], clock: laterClock)
            let again = try violations(log, employment("e3", .starts, "E1", on: "2024-02-05"))
            #expect(again.map(\.field) == ["data.employmentId"])
            #expect(again.first?.rule.contains("already started") == true)
            try log.append([employment("e4", .ends, "E1", on: "2024-02-10")], clock: laterClock)
            #expect(try violations(log, employment("e5", .starts, "E1", on: "2024-02-11")).count == 1)
            // The same id in another person's stream is another employment.
            try log.append(
                [
                    registration("e6", stream: "person-P2", recorded: "2024-03-01T01:00:00Z"),
                    {
                        var event = employment("e7", .starts, "E1", on: "2024-02-01")
                        event.stream = "person-P2"
                        return event
                    }(),
                ], clock: laterClock)
        }
    }

    @Test("an employment that ends was started, has not ended, and ends on or after its start")
    func endsOnce() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [registration("e1"), employment("e2", .starts, "E1", on: "2024-02-01")], clock: laterClock)
            #expect(
                try violations(log, employment("e3", .ends, "E9", on: "2024-02-05")).first?.rule.contains(
                    "no employment") == true)
            let early = try violations(log, employment("e3", .ends, "E1", on: "2024-01-31"))
            #expect(early.map(\.field) == ["occurredAt"])
            try log.append([employment("e3", .ends, "E1", on: "2024-02-01")], clock: laterClock)
            #expect(
                try violations(log, employment("e4", .ends, "E1", on: "2024-02-05")).first?.rule.contains(
                    "already ended") == true)
        }
    }

    @Test("within one batch, a start is seen by the end that follows it, and a rejected batch leaves no trace")
    func withinBatch() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [
                    registration("e1"), employment("e2", .starts, "E1", on: "2024-02-01"),
                    employment("e3", .ends, "E1", on: "2024-02-03"),
                ], clock: laterClock)
            #expect(throws: LedgerError.self) {
                try log.append(
                    [
                        employment("e4", .starts, "E2", on: "2024-02-04"),
                        employment("e5", .starts, "E2", on: "2024-02-05"),
                    ], clock: laterClock)
            }
            // E2 was never stored, so it can start now.
            try log.append([employment("e4", .starts, "E2", on: "2024-02-04")], clock: laterClock)
        }
    }
}

@Suite("rule 7: references name persons already stored")
struct ReferenceRuleTests {
    func caseOpening(_ id: String, person: String) -> NewEvent {
        var event = NewEvent(
            id: id, stream: "case-C\(id)", type: "CaseOpened", occurredAt: date("2024-02-01"),
            recordedAt: instant("2024-02-01T02:00:00Z"), actor: "staff-001", orgUnit: "anting", data: JSONObject(),
            role: .opener, streamOpener: "CaseOpened")
        event.references = [StreamReference(field: "data.personId", stream: "person-\(person)")]
        return event
    }

    @Test("a case for a person not in the ledger is refused, naming the field")
    func unknownPerson() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let refused = try violations(log, caseOpening("c1", person: "P1"))
            #expect(refused.map(\.field) == ["data.personId"])
            #expect(refused.first?.kind == .reference)
            #expect(try log.head().seq == 0)
        }
    }

    @Test("a person registered earlier in the same batch may be referred to")
    func sameBatch() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1"), caseOpening("c1", person: "P1")], clock: laterClock)
            #expect(try log.head().seq == 2)
        }
    }
}

@Suite("records prepared ahead of time")
struct PreparedRecordTests {
    @Test("a record prepared on the parsing side hashes exactly as one built at append time")
    func sameHash() throws {
        let plain = [personEvent("e0", type: "PersonRegistered"), personEvent("e1"), personEvent("e2")]
        var prepared = plain
        var salts = SaltSource()
        for index in prepared.indices { prepared[index].prepareRecord(salts: &salts) }
        let hashes = try [plain, prepared].map { events in
            try withLedgerDirectory { path in
                let log = try EventLog(path: path, create: true)
                try log.append(events, clock: laterClock)
                return try (1...3).map { try log.hash(at: $0) }
            }
        }
        #expect(hashes[0] == hashes[1])
    }

    @Test("a prepared record's personal data opens its commitment, and changing the event drops the preparation")
    func commitmentAndChange() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var salts = SaltSource()
            var first = registration("e1")
            first.prepareRecord(salts: &salts)
            var second = personEvent("e2")
            second.prepareRecord(salts: &salts)
            second.occurredAt = date("2024-01-09")
            #expect(second.preparation == nil)
            try log.append([first, second], clock: laterClock)
            let report = try log.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.piiCommitments == 1)
            #expect(try log.record(at: 2)?.record.occurredAt == date("2024-01-09"))
        }
    }
}

@Suite("verify rebuilds the item index from the records")
struct ItemIndexVerificationTests {
    /// Every employment event of these tests concerns employment E1.
    let items: (types: Set<String>, item: (LedgerRecord) -> StreamItem?) = (
        ["EmploymentStarted", "EmploymentEnded"],
        { record in
            StreamItem(
                record.type == "EmploymentStarted" ? .starts : .ends, key: "E1", field: "data.employmentId",
                noun: "employment")
        }
    )

    func verify(after tamper: (LMDBTransaction, LMDBDatabase) throws -> Void) throws -> VerificationFailure? {
        try withLedgerDirectory { path in
            do {
                let log = try EventLog(path: path, create: true)
                try log.append(
                    [
                        registration("e1"), employment("e2", .starts, "E1", on: "2024-02-01"),
                        employment("e3", .ends, "E1", on: "2024-02-03"),
                    ], clock: laterClock)
            }
            do {
                let env = try LMDBEnvironment(path: path)
                let items = try env.openDatabases(named: ["items"])[0]
                try env.write { try tamper($0, items) }
            }
            do {
                _ = try EventLog(path: path, create: false).verify(
                    closerTypes: closers, openerTypes: openers, items: items)
                return nil
            } catch let failure as VerificationFailure {
                return failure
            }
        }
    }

    @Test("an untouched item index verifies")
    func clean() throws {
        #expect(try verify { _, _ in } == nil)
    }

    @Test("an item entry removed or changed is found, naming the record that started it")
    func tampered() throws {
        let itemKey = Array("person-P1".utf8) + [0] + Array("E1".utf8)
        let removed = try verify { txn, items in _ = try txn.delete(itemKey, in: items) }
        #expect(removed?.seq == 2)
        let reopened = try verify { txn, items in
            var value = try #require(try txn.value(in: items, forKey: itemKey))
            value[4] = 0
            try txn.put(value, forKey: itemKey, in: items)
        }
        #expect(reopened?.seq == 2)
        #expect(reopened?.reason.contains("item index") == true)
    }
}

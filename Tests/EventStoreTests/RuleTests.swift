import EventStore
import LedgerValues
import Testing

@Suite("rule 2: identity")
struct IdentityRuleTests {
    @Test("an id stored with identical content is a duplicate: skipped, not an error")
    func duplicate() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1"), personEvent("e2")], clock: laterClock)
            let outcomes = try log.append(
                [registration("e1"), personEvent("e2"), personEvent("e3")], clock: laterClock)
            #expect(outcomes[0] == .duplicate(seq: 1))
            #expect(outcomes[1] == .duplicate(seq: 2))
            #expect(try log.head().seq == 3)
        }
    }

    @Test("the same id with other content is an error naming the differing field")
    func conflict() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1"), personEvent("e2")], clock: laterClock)
            let changedDate = try violations(log, personEvent("e2", on: "2024-01-09"))
            #expect(changedDate.map(\.field) == ["id"])
            #expect(changedDate.first?.rule.contains("different occurredAt") == true)
            var other = registration("e1")
            other.pii?["name"] = .string("李强")
            #expect(try violations(log, other).first?.rule.contains("with other pii") == true)
            #expect(
                try violations(log, personEvent("e2", recorded: "2024-01-10T08:00:01Z")).first?.rule.contains(
                    "recordedAt") == true)
        }
    }

    @Test("an input without recordedAt is compared without it")
    func withoutRecordedAt() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1")], clock: laterClock)
            #expect(try log.append([registration("e1", recorded: nil)], clock: laterClock) == [.duplicate(seq: 1)])
        }
    }

    @Test("a repeated id within one batch is a duplicate when identical and an error otherwise")
    func withinBatch() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let outcomes = try log.append(
                [registration("e1"), personEvent("e2"), personEvent("e2")], clock: laterClock)
            #expect(outcomes[2] == .duplicate(seq: 2))
            #expect(throws: LedgerError.self) {
                try log.append([personEvent("e3"), personEvent("e3", on: "2024-01-05")], clock: laterClock)
            }
        }
    }

    @Test("after erasure, a re-sent registration with its personal data is still a duplicate")
    func afterErasure() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var reason = JSONObject()
            reason["reason"] = .string("request of the person")
            try log.append(
                [registration("e1"), personEvent("x", type: "PersonPiiErased", data: reason)], clock: laterClock)
            #expect(try log.append([registration("e1")], clock: laterClock) == [.duplicate(seq: 1)])
        }
    }
}

@Suite("rule 3: time")
struct TimeRuleTests {
    @Test("occurredAt may not be after the local (UTC+8) date of recordedAt")
    func occurredAfterRecorded() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            // 16:00Z is already the next day in Shanghai.
            #expect(
                try violations(log, registration("e1", on: "2025-01-01", recorded: "2024-12-31T15:59:59Z")).map(\.field)
                    == ["occurredAt"])
            #expect(try violations(log, registration("e1", on: "2025-01-01", recorded: "2024-12-31T16:00:00Z")).isEmpty)
        }
    }

    @Test("recordedAt never goes backwards")
    func monotonic() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1", recorded: "2024-01-02T01:00:00Z")], clock: laterClock)
            let found = try violations(log, personEvent("e2", on: "2024-01-01", recorded: "2024-01-02T00:59:59.999Z"))
            #expect(found.map(\.field) == ["recordedAt"])
            #expect(found.first?.kind == .time)
            #expect(try violations(log, personEvent("e2", on: "2024-01-01", recorded: "2024-01-02T01:00:00Z")).isEmpty)
        }
    }

    @Test("recordedAt may be at most five minutes after the store's clock")
    func future() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let clock = instant("2024-01-02T01:00:00Z")
            #expect(
                try violations(log, registration("e1", recorded: "2024-01-02T01:05:00.001Z"), clock: clock).map(\.field)
                    == ["recordedAt"])
            #expect(try violations(log, registration("e1", recorded: "2024-01-02T01:05:00Z"), clock: clock).isEmpty)
        }
    }
}

@Suite("rule 4: stream order")
struct StreamOrderRuleTests {
    @Test("the first event of a stream must be its opener")
    func openerFirst() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let found = try violations(log, personEvent("e1"))
            #expect(found.map(\.field) == ["type"])
            #expect(found.first?.rule.contains("must be PersonRegistered") == true)
        }
    }

    @Test("a kind without an opener takes any first event")
    func noOpenerKind() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            let event = NewEvent(
                id: "l1", stream: "org-anting", type: "LegalEducationHeld", occurredAt: date("2024-05-01"),
                recordedAt: instant("2024-05-01T02:00:00Z"), actor: "s", orgUnit: "anting", data: JSONObject())
            #expect(try violations(log, event).isEmpty)
        }
    }

    @Test("an opener is only ever first")
    func openerOnlyFirst() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1")], clock: laterClock)
            #expect(try violations(log, registration("e2")).first?.kind == .streamOrder)
        }
    }

    @Test("a closer occurs at most once")
    func closerOnce() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [
                    registration("e1"),
                    personEvent("d1", type: "PersonDeregistered", on: "2024-02-01", recorded: "2024-02-01T01:00:00Z"),
                ], clock: laterClock)
            let found = try violations(
                log, personEvent("d2", type: "PersonDeregistered", on: "2024-02-01", recorded: "2024-02-01T02:00:00Z"))
            #expect(found.map(\.kind) == [.streamOrder])
        }
    }

    @Test("expectedVersion must equal the stream's current version; 0 means a new stream")
    func expectedVersion() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var first = registration("e1")
            first.expectedVersion = 1
            #expect(try violations(log, first).map(\.kind) == [.versionConflict])
            first.expectedVersion = 0
            #expect(try violations(log, first).isEmpty)
            #expect(try violations(log, personEvent("e2", expectedVersion: 0)).map(\.kind) == [.versionConflict])
            #expect(try violations(log, personEvent("e2", expectedVersion: 1)).isEmpty)
        }
    }
}

@Suite("rule 5: effective dates")
struct EffectiveDateRuleTests {
    @Test("no event is dated before its stream's opener")
    func beforeOpener() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1", on: "2024-01-01")], clock: laterClock)
            #expect(try violations(log, personEvent("e2", on: "2023-12-31")).map(\.kind) == [.effectiveDate])
            #expect(try violations(log, personEvent("e2", on: "2024-01-01")).isEmpty)
        }
    }

    @Test("a closer is not dated before an event already in its stream")
    func closerAfterEvents() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("e1"), personEvent("e2", on: "2024-01-10")], clock: laterClock)
            #expect(
                try violations(log, personEvent("d", type: "PersonDeregistered", on: "2024-01-09")).map(\.kind) == [
                    .effectiveDate
                ])
            #expect(try violations(log, personEvent("d", type: "PersonDeregistered", on: "2024-01-10")).isEmpty)
        }
    }

    @Test("after a closer, later-dated events are refused and late reports dated on or before it accepted")
    func afterCloser() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            try log.append(
                [
                    registration("e1"),
                    personEvent("d", type: "PersonDeregistered", on: "2024-03-01", recorded: "2024-03-02T00:00:00Z"),
                ], clock: laterClock)
            #expect(
                try violations(log, personEvent("e3", on: "2024-03-02", recorded: "2024-03-05T00:00:00Z")).map(\.kind)
                    == [.effectiveDate])
            #expect(try violations(log, personEvent("e3", on: "2024-03-01", recorded: "2024-03-05T00:00:00Z")).isEmpty)
            #expect(try violations(log, personEvent("e4", on: "2024-02-01", recorded: "2024-03-05T00:00:00Z")).isEmpty)
        }
    }
}

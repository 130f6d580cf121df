import EventStore
import Foundation
import LMDBKit
import LedgerValues
import Testing

/// A fresh ledger directory, removed afterwards.
func withLedgerDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "eventstore-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

func date(_ text: String) -> LocalDate { LocalDate(iso: text)! }
func instant(_ text: String) -> Instant { Instant(rfc3339: text)! }

/// A clock well after every recordedAt the tests use.
let laterClock = instant("2026-01-01T00:00:00Z")

/// An event in a `person-` stream with the catalogue's roles, built for tests.
func personEvent(
    _ id: String, stream: String = "person-P1", type: String = "HealthCheckCompleted",
    on occurred: String = "2024-01-10",
    recorded: String? = "2024-01-10T08:00:00Z", data: JSONObject = JSONObject(), pii: JSONObject? = nil,
    expectedVersion: Int64? = nil
) -> NewEvent {
    let role: StreamRole =
        type == "PersonRegistered" ? .opener : type == "PersonDeregistered" ? .closer : .ordinary
    return NewEvent(
        id: id, stream: stream, type: type, occurredAt: date(occurred), recordedAt: recorded.map(instant),
        actor: "staff-001", orgUnit: "anting", expectedVersion: expectedVersion, data: data, pii: pii, role: role,
        streamOpener: "PersonRegistered", erasesStreamPII: type == "PersonPiiErased")
}

func registration(
    _ id: String, stream: String = "person-P1", on occurred: String = "2024-01-01",
    recorded: String? = "2024-01-02T01:00:00Z"
) -> NewEvent {
    var pii = JSONObject()
    pii["name"] = .string("王芳")
    pii["idNumber"] = .string("310114198002290025")
    var data = JSONObject()
    data["sex"] = .string("F")
    return personEvent(
        id, stream: stream, type: "PersonRegistered", on: occurred, recorded: recorded, data: data, pii: pii)
}

/// The violations of the single event `event` appended to `log`, or [] if it was stored.
func violations(_ log: EventLog, _ event: NewEvent, clock: Instant = laterClock) throws -> [RuleViolation] {
    do {
        try log.append([event], clock: clock)
        return []
    } catch LedgerError.rejected(_, let violations) {
        return violations
    }
}

let closers: Set<String> = ["PersonDeregistered"]
let openers: Set<String> = ["PersonRegistered"]

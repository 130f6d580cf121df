import EventStore
import LedgerDomain
import LedgerValues

/// A request to erase a person's personal data (events.md §3): the
/// `PersonPiiErased` event that does it, judged by the same rules as any
/// imported line. The command line and the HTTP API both erase through it.
public struct Erasure: Sendable {
    /// The person's stream (`person-P000123`).
    public let stream: String
    /// Why the data is erased, kept in the record.
    public let reason: String
    /// Who erases it: the recording member of staff.
    public let actor: String
    /// The (sub-)centre recording the erasure; nil: the district.
    public let orgUnit: String?
    /// The date it took effect (`YYYY-MM-DD`); nil: today in Shanghai.
    public let on: String?

    /// The person as given: a personId or a stream name.
    public let person: String

    /// An erasure of `person`, given as a personId (`P000123`) or a stream (`person-P000123`).
    public init(person: String, reason: String, actor: String, orgUnit: String? = nil, on: String? = nil) {
        self.person = person
        stream = StreamKind.personStream(person)
        self.reason = reason
        self.actor = actor
        self.orgUnit = orgUnit
        self.on = on
    }

    /// The interchange line of the erasure, made at `now` (which names its id).
    public func line(district: String, now: Instant = .now()) -> [UInt8] {
        var event = JSONObject()
        event["id"] = .string(String("erase-\(now.milliseconds)-\(stream.dropFirst("person-".count))".prefix(64)))
        event["stream"] = .string(stream)
        event["type"] = .string(EventType.personPiiErased.rawValue)
        event["occurredAt"] = .string(on ?? now.localDate.description)
        event["actor"] = .string(actor)
        event["orgUnit"] = .string(orgUnit ?? district)
        var data = JSONObject()
        data["reason"] = .string(reason)
        event["data"] = .object(data)
        return CanonicalJSON.encode(.object(event)) + [0x0A]
    }

    /// What the erasure appended by `report` did, for the person who asked:
    /// its seq, and the records whose personal data it removed, or that the
    /// vault held none (erased before, or never given), the erasure being on
    /// the record all the same.
    public func summary(of report: ImportReport) -> String {
        let seq = report.lastSeq ?? 0
        switch report.personalDataErased {
        case 0:
            return "\(stream): erasure recorded (seq \(seq)); the vault held no personal data of theirs "
                + "(erased before, or never given)"
        case let records:
            return "\(stream): personal data of \(records) record\(records == 1 ? "" : "s") erased (seq \(seq))"
        }
    }

    /// Appends the erasure to `ledger`; throws `AppError.usage` when `person`
    /// cannot name a person, `ImportRejected` when no such person is in the
    /// ledger or a rule refuses the erasure.
    public func append(to ledger: Ledger, waiting: (String) -> Void = { _ in }) throws -> ImportReport {
        guard StreamKind.parse(streamName: stream)?.kind == .person else {
            throw AppError.usage(
                "the person must be given by their personId, such as P000123, or their stream, such as"
                    + " person-P000123, the id matching \(CodePattern.streamKey.expression) (got \(Echo.quoted(person)))"
            )
        }
        // Streams are never removed: a person not in the ledger now was not a moment ago either.
        if try ledger.log.history(of: stream).isEmpty {
            var rule = "names no one in the ledger (\(stream) has no events), so there is nothing to erase"
            if let (other, _) = StreamKind.parse(streamName: person), other != .person {
                rule += "; \(person) is the name of a \(other.rawValue) stream, not a person's"
            }
            throw ImportRejected(
                file: "erase", errors: [LineError(file: "erase", line: 1, field: "person", rule: rule)],
                rejectedLines: 1)
        }
        do {
            return try Importer(ledger: ledger).importLines(
                line(district: ledger.units.district), name: "erase", waiting: waiting)
        } catch let rejected as ImportRejected where on == nil {
            // Dated today, the erasure of a person whose record was closed (deregistered) breaks
            // events.md §6 rule 5; the way out is to date it at or before the closing.
            let errors = rejected.errors.map { error in
                guard error.field == "occurredAt", error.rule.contains("was closed on") else { return error }
                return LineError(
                    file: error.file, line: error.line, field: error.field,
                    rule: error.rule
                        + "; date the erasure on or before that day (--on YYYY-MM-DD, or \"on\" over HTTP)",
                    isVersionConflict: error.isVersionConflict)
            }
            throw ImportRejected(file: rejected.file, errors: errors, rejectedLines: rejected.rejectedLines)
        }
    }
}

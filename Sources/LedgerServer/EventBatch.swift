import EventStore
import LedgerApp
import LedgerValues

/// The events of one `POST /events` body, as interchange lines: a JSON
/// object is one event, a JSON array a batch of them. Each event's line
/// number in messages is its place in the batch, from 1.
struct EventBatch {
    /// The events as given.
    let events: [JSONValue]
    /// One line of canonical JSON per event, for the importer.
    let lines: [UInt8]

    init(body: [UInt8]) throws {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch {
            throw APIProblem.badRequest("the body is not JSON: \(error)")
        }
        switch value {
        case .object: events = [value]
        case .array(let elements): events = elements
        default: throw APIProblem.badRequest("the body must be one event (a JSON object) or a batch (a JSON array)")
        }
        guard !events.isEmpty else { throw APIProblem.badRequest("the batch holds no events") }
        var lines: [UInt8] = []
        for event in events {
            CanonicalJSON.write(event, into: &lines)
            lines.append(0x0A)
        }
        self.lines = lines
    }

    /// The answer to a stored batch: counts, then each event's id, seq and hash,
    /// and whether it was a duplicate of one already stored.
    func answer(_ result: AppendResult) -> String {
        var answer = JSONObject()
        answer["stored"] = .integer(Int64(result.stored))
        answer["duplicates"] = .integer(Int64(result.duplicates))
        answer["events"] = .array(
            result.events.map { outcome in
                var event = JSONObject()
                event["id"] = events[outcome.line - 1].objectValue?["id"] ?? .null
                event["seq"] = .integer(outcome.seq)
                event["hash"] = .string(Hex.encode(outcome.hash))
                event["duplicate"] = .bool(outcome.duplicate)
                return .object(event)
            })
        return String(decoding: CanonicalJSON.encode(.object(answer)), as: UTF8.self)
    }
}

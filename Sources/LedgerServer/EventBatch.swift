import EventStore
import LedgerApp
import LedgerValues

/// The events of one `POST /events` body, as interchange lines: a JSON
/// object is one event, a JSON array a batch of them. Each event's line
/// number in messages is its place in the batch, from 1.
///
/// The body is only split here, by one pass over its bytes that finds where
/// each element of the array begins and ends; each element is then parsed
/// and checked once, by the importer, like a line of a file. Line breaks
/// between an element's tokens become spaces, so that each element is one line.
struct EventBatch {
    /// How many events the batch holds.
    let count: Int
    /// One line per event, for the importer.
    let lines: [UInt8]

    init(body: [UInt8]) throws {
        var lines: [UInt8] = []
        lines.reserveCapacity(body.count + 16)
        var count = 0
        var index = EventBatch.skipSpace(body, from: 0)
        guard index < body.count else {
            throw APIProblem.badRequest("the body is empty: send one event (a JSON object) or a batch (a JSON array)")
        }
        switch body[index] {
        case UInt8(ascii: "{"):
            index = try EventBatch.element(body, from: index, into: &lines)
            count = 1
        case UInt8(ascii: "["):
            index = EventBatch.skipSpace(body, from: index + 1)
            if index < body.count, body[index] == UInt8(ascii: "]") {
                throw APIProblem.badRequest("the batch holds no events")
            }
            while true {
                index = EventBatch.skipSpace(body, from: index)
                guard index < body.count, body[index] != UInt8(ascii: ","), body[index] != UInt8(ascii: "]") else {
                    throw EventBatch.notJSON("event \(count + 1) of the batch is missing")
                }
                index = try EventBatch.element(body, from: index, into: &lines)
                count += 1
                index = EventBatch.skipSpace(body, from: index)
                guard index < body.count else { throw EventBatch.notJSON("the array is not closed") }
                if body[index] == UInt8(ascii: "]") {
                    index += 1
                    break
                }
                guard body[index] == UInt8(ascii: ",") else {
                    throw EventBatch.notJSON("events of the batch must be separated by commas")
                }
                index += 1
            }
        default:
            throw APIProblem.badRequest("the body must be one event (a JSON object) or a batch (a JSON array)")
        }
        guard EventBatch.skipSpace(body, from: index) == body.count else {
            throw EventBatch.notJSON("there is more after the end of the \(count == 1 ? "event" : "batch")")
        }
        self.count = count
        self.lines = lines
    }

    static func notJSON(_ why: String) -> APIProblem { .badRequest("the body is not JSON: \(why)") }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    static func skipSpace(_ body: [UInt8], from start: Int) -> Int {
        var index = start
        while index < body.count, isSpace(body[index]) { index += 1 }
        return index
    }

    /// Copies the JSON value that starts at `start` into `lines` as one line;
    /// returns the index after it. Strings are skipped whole (with their escapes);
    /// brackets and braces are counted, so the value ends where they balance, or
    /// at the first comma or closing bracket of the array when it is a scalar.
    static func element(_ body: [UInt8], from start: Int, into lines: inout [UInt8]) throws -> Int {
        var index = start
        var depth = 0
        var inString = false
        var escaped = false
        while index < body.count {
            let byte = body[index]
            if inString {
                if byte == 0x0A || byte == 0x0D {
                    throw notJSON("a string holds a raw line break (write it as \\n)")
                }
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                lines.append(byte)
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 {
                    lines.append(0x0A)
                    return index
                }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 {
                    lines.append(0x0A)
                    return index
                }
            default:
                break
            }
            lines.append(isSpace(byte) ? 0x20 : byte)
            index += 1
            if depth == 0 && (byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")) {
                lines.append(0x0A)
                return index
            }
        }
        if inString || depth > 0 { throw notJSON("it ends inside an event") }
        lines.append(0x0A)
        return index
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
                event["id"] = .string(outcome.id)
                event["seq"] = .integer(outcome.seq)
                event["hash"] = .string(Hex.encode(outcome.hash))
                event["duplicate"] = .bool(outcome.duplicate)
                return .object(event)
            })
        return String(decoding: CanonicalJSON.encode(.object(answer)), as: UTF8.self)
    }
}

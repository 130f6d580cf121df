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

    /// Whether an event of the batch has type `type`.
    func holds(type: String) -> Bool {
        events(mentioning: type).contains { $0["type"]?.stringValue == type }
    }

    /// The ids of the events of the batch that carry personal data (`pii`).
    var idsWithPersonalData: [String] {
        events(mentioning: "pii").compactMap { $0["pii"] != nil ? $0["id"]?.stringValue : nil }
    }

    /// The events (parsed) of a batch whose bytes hold `word` or any escape
    /// (`\u`) that could spell it; none when they hold neither, as then no key
    /// or value of any event can be `word`.
    private func events(mentioning word: String) -> [JSONObject] {
        guard lines.firstRange(of: Array(word.utf8)) != nil || lines.firstRange(of: Array(#"\u"#.utf8)) != nil else {
            return []
        }
        return lines.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard case .object(let event)? = try? JSONParser.parse(Array(line)) else { return nil }
            return event
        }
    }

    init(body: [UInt8]) throws {
        var lines: [UInt8] = []
        lines.reserveCapacity(body.count + 16)
        var count = 0
        // A byte-order mark at the start is skipped, as `import` skips one at the start of a file.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var index = EventBatch.skipSpace(body, from: body.starts(with: bom) ? bom.count : 0)
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
        // One pass finds the end and the line breaks and tabs between tokens;
        // the value is then copied whole and those few bytes made spaces.
        var breaks: [Int] = []
        let end = try body.withUnsafeBufferPointer { body throws -> Int in
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
                    index += 1
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""):
                    inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return index }
                    depth -= 1
                    if depth == 0 { return index + 1 }
                case UInt8(ascii: ","):
                    if depth == 0 { return index }
                case 0x0A, 0x0D, 0x09:
                    breaks.append(index)
                default:
                    break
                }
                index += 1
            }
            if inString || depth > 0 { throw notJSON("it ends inside an event") }
            return index
        }
        let first = lines.count
        lines.append(contentsOf: body[start..<end])
        for index in breaks { lines[first + index - start] = 0x20 }
        lines.append(0x0A)
        return end
    }

    /// The answer to a stored batch: counts, then each event's id, seq and hash,
    /// and whether it was a duplicate of one already stored.
    func answer(_ result: AppendResult) -> String {
        // Canonical JSON (keys in order), written straight out: a batch's
        // answer is most of what a busy server writes.
        var out: [UInt8] = []
        out.reserveCapacity(64 + result.events.count * 140)
        out.append(contentsOf: #"{"duplicates":"#.utf8)
        CanonicalJSON.writeInteger(Int64(result.duplicates), into: &out)
        out.append(contentsOf: #","events":["#.utf8)
        for (index, outcome) in result.events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"duplicate":"#.utf8)
            out.append(contentsOf: (outcome.duplicate ? "true" : "false").utf8)
            out.append(contentsOf: #","hash":""#.utf8)
            Hex.write(outcome.hash, into: &out)
            out.append(contentsOf: #"","id":"#.utf8)
            CanonicalJSON.writeString(outcome.id, into: &out)
            out.append(contentsOf: #","seq":"#.utf8)
            CanonicalJSON.writeInteger(outcome.seq, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"stored":"#.utf8)
        CanonicalJSON.writeInteger(Int64(result.stored), into: &out)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

import LedgerDomain
import LedgerValues
import PropertyBased
import Testing

// An error names the line, the field and the rule, one error to a line of the
// report. Whatever a line holds, what an error quotes of it keeps that form:
// no control character, line break or bidirectional control gets through, and
// no quoted value runs past `Echo.limit` characters.

/// Values a careless or hostile file may hold: a forged report line with a
/// terminal escape and a right-to-left override, and runaway lengths.
private let forged = "a\nforged.jsonl:9: id: made up\u{1B}[31m\u{202E}\r\u{85}\u{2028}"
private let runaway = String(repeating: "x", count: 10_000)
private let hostileValues: [JSONValue] = [
    .string(forged),
    .string(runaway),
    .number("1" + String(repeating: "0", count: 10_000)),
    .array([.string(forged), .string(runaway)]),
    .object(JSONObject([(forged, .string(runaway))])),
]

/// The scalars an error may not carry as they are.
private func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return value < 0x20 || (0x7F...0x9F).contains(value) || (0x2028...0x202E).contains(value)
        || (0x2066...0x2069).contains(value)
}

/// What is wrong with `message` as a line of a report, if anything.
private func fault(of message: String) -> String? {
    if let scalar = message.unicodeScalars.first(where: isUnsafe) {
        return "carries U+\(String(scalar.value, radix: 16, uppercase: true)) as it is"
    }
    for run in ["x", "0"] where message.contains(String(repeating: run, count: Echo.limit + 1)) {
        return "quotes more than \(Echo.limit) characters of a value"
    }
    return nil
}

@Suite("errors quote the input safely: one line each, values cut at Echo.limit")
struct ErrorEchoTests {
    @Test("a value is quoted as JSON would write it, with line-breaking and bidirectional controls escaped")
    func escaping() {
        #expect(Echo.quoted("agent-08") == "\"agent-08\"")
        #expect(Echo.quoted("新成路街道") == "\"新成路街道\"")
        #expect(Echo.quoted("a\"b\\c") == "\"a\\\"b\\\\c\"")
        #expect(Echo.quoted("a\nb\r\t\u{1B}") == "\"a\\nb\\r\\t\\u001b\"")
        #expect(Echo.quoted("\u{85}\u{2028}\u{202E}\u{2066}\u{7F}") == "\"\\u0085\\u2028\\u202e\\u2066\\u007f\"")
        #expect(Echo.bare("1e400") == "1e400")
        #expect(Echo.bare(#"{"need":"a\\b"}"#) == #"{"need":"a\\b"}"#)
        #expect(Echo.bare("[\u{1B}]") == "[\\u001b]")
    }

    @Test("a value shown whole keeps everything but what could break or reorder the line")
    func escapedWhole() {
        let long = String(repeating: "z", count: 1_000)
        #expect(Echo.escaped(long) == long)
        #expect(Echo.escaped(#"{"a":"b\\c"}"#) == #"{"a":"b\\c"}"#)
        #expect(Echo.escaped("ACME\u{2028}\u{202E}名") == "ACME\\u2028\\u202e名")
    }

    @Test("a value longer than the limit is cut there, with its length in characters")
    func cutting() {
        let cut = Echo.quoted(String(repeating: "字", count: 1_000))
        #expect(cut == "\"" + String(repeating: "字", count: Echo.limit) + "…\" (1,000 characters)")
        #expect(Echo.quoted(String(repeating: "y", count: Echo.limit)) == "\"\(String(repeating: "y", count: 64))\"")
        #expect(Echo.bare(String(repeating: "9", count: 65)) == String(repeating: "9", count: 64) + "… (65 characters)")
    }

    @Test("a key is shown as written unless it needs escaping or could blur the path; then it is quoted")
    func keys() {
        #expect(Echo.key("grade") == "grade")
        #expect(Echo.key("person_id2") == "person_id2")
        #expect(Echo.key("备注") == "备注")
        #expect(Echo.key("a b") == "\"a b\"")
        #expect(Echo.key("a.b") == "\"a.b\"")
        #expect(Echo.key("a[0]") == "\"a[0]\"")
        #expect(Echo.key("") == "\"\"")
        #expect(Echo.key("k\n") == "\"k\\n\"")
        #expect(Echo.key(String(repeating: "k", count: 65)).hasPrefix("\"kkk"))
    }

    @Test("every field of every type, given a forged or runaway value or key, gets errors that keep to one line")
    func everyFieldOfEveryType() {
        var r = randomness(seed: 0x5EED_0E40)
        var failures = Failures()
        var refused = 0
        for entry in catalogue {
            let sample = validEvents(of: entry).run(using: &r)
            var paths: [[String]] = sample.object.keys.map { [$0] } + sample.data.keys.map { ["data", $0] }
            paths += (sample.pii?.keys ?? []).map { ["pii", $0] }
            paths += [[forged], ["data", forged], ["pii", forged], [runaway], ["data", runaway]]
            for path in paths {
                for value in hostileValues {
                    var object = sample.object
                    set(value, at: path, in: &object)
                    guard case .failure(let errors) = InterchangeEvent.validate(.object(object), units: district)
                    else { continue }
                    refused += 1
                    for error in errors.all {
                        if let fault = fault(of: error.description) {
                            failures.add(
                                "\(entry.type): \(path.joined(separator: ".")) set to \(value.kindName): the error \(fault)",
                                example: error.description.debugDescription)
                        }
                    }
                }
            }
        }
        // Most hostile values are refused: a test that refused none would prove nothing.
        #expect(refused > catalogue.count * 8 * hostileValues.count)
        failures.record()
    }

    @Test("a line that is not JSON gets a syntax error that quotes it safely")
    func syntaxErrors() {
        let lines = [
            "{\"\(runaway)\":1,\"\(runaway)\":2}",
            "{\"a\\nforged.jsonl:9: id: x\\u001b[31m\":1,\"a\\nforged.jsonl:9: id: x\\u001b[31m\":2}",
            "{\"id\":\u{1B}}",
            "{\"id\" \u{7F}}",
        ]
        for line in lines {
            do {
                _ = try JSONParser.parse(line)
                Issue.record("\(line.debugDescription) parsed")
            } catch {
                #expect(fault(of: error.description) == nil, "\(error.description.debugDescription)")
            }
        }
    }
}

/// `object` with `value` at `path` (a top-level key, or `data`/`pii` and a key in it).
private func set(_ value: JSONValue, at path: [String], in object: inout JSONObject) {
    guard path.count == 2 else { return object[path[0]] = value }
    var inner = object[path[0]]?.objectValue ?? JSONObject()
    inner[path[1]] = value
    object[path[0]] = .object(inner)
}

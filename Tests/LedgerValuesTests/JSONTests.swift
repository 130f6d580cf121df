import LedgerValues
import Testing

@Suite("strict JSON parsing")
struct JSONParsingTests {
    @Test("an object keeps its members in input order")
    func objectOrder() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":"x","c":[true,false]}"#)
        #expect(value.objectValue?.keys == ["b", "a", "c"])
        #expect(value.objectValue?["c"] == .array([.bool(true), .bool(false)]))
    }

    @Test("a repeated key is refused, naming the key")
    func duplicateKey() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
        do {
            _ = try JSONParser.parse(#"{"a":1,"a":2}"#)
        } catch {
            #expect(error.reason.contains("\"a\" appears twice"))
        }
    }

    @Test("a repeated key is found among thousands, and keys equal only as Unicode are not repeats")
    func repeatedKeyAmongMany() throws {
        let members = (0..<20_000).map { #""k\#($0)":\#($0)"# }
        let many = "{" + members.joined(separator: ",") + "}"
        #expect(try JSONParser.parse(many).objectValue?.count == 20_000)
        for repeated in [5, 31, 32, 19_999] {
            let text = "{" + (members + [#""k\#(repeated)":0"#]).joined(separator: ",") + "}"
            #expect {
                try JSONParser.parse(text)
            } throws: { error in
                (error as? JSONSyntaxError)?.reason.contains("\"k\(repeated)\" appears twice") == true
            }
        }
        // "é" precomposed and as e + combining accent: two keys, in a small object and a large one.
        let accents = #""\u00e9":1,"e\u0301":2"#
        #expect(try JSONParser.parse("{" + accents + "}").objectValue?.count == 2)
        #expect(
            try JSONParser.parse("{" + (members + [accents]).joined(separator: ",") + "}").objectValue?.count == 20_002)
    }

    @Test("integers are exact across the whole signed 64-bit range")
    func integers() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .integer(.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONParser.parse("-0") == .integer(0))
        #expect(try JSONParser.parse("9223372036854775808") == .number("9223372036854775808"))
        #expect(try JSONParser.parse("-9223372036854775809") == .number("-9223372036854775809"))
    }

    @Test("fractions and exponents are kept as written, never rounded")
    func nonIntegers() throws {
        #expect(try JSONParser.parse("1.0") == .number("1.0"))
        #expect(try JSONParser.parse("1e3") == .number("1e3"))
        #expect(try JSONParser.parse("-2.5E-3") == .number("-2.5E-3"))
    }

    @Test(
        "malformed numbers, literals and trailing text are refused",
        arguments: [
            "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "{} x", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "\"open",
        ])
    func malformed(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test("escapes decode, surrogate pairs join, lone surrogates are refused")
    func strings() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\/d\n\t\u00e9\u5f20""#) == .string("a\"b\\c/d\n\té张"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#""\ud83d""#) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#""\ude00""#) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#""\ud83dx""#) }
    }

    @Test("a raw control character or invalid UTF-8 inside a string is refused")
    func rawBytes() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0x61, 0x0A, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0x5C, 0x75, 0x30, 0x30, 0x22]) }
    }

    @Test("what cannot start a value is named as a character, as a byte that is not UTF-8, or as a UTF-16 mark")
    func unexpectedStart() {
        func reason(_ bytes: [UInt8]) -> String? {
            do { _ = try JSONParser.parse(bytes) } catch { return error.description }
            return nil
        }
        #expect(reason(Array("中".utf8)) == #"not valid JSON at column 1: unexpected character "中""#)
        #expect(reason([0x1B]) == #"not valid JSON at column 1: unexpected character "\u001b""#)
        #expect(reason([0xFF, 0x41]) == "not valid JSON at column 1: the byte 0xFF begins no UTF-8 character")
        #expect(reason([0x5B, 0x80]) == "not valid JSON at column 2: the byte 0x80 begins no UTF-8 character")
        let utf16: [UInt8] = [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00]  // "{}" in UTF-16LE, with its mark
        #expect(reason(utf16)?.hasSuffix("the file is UTF-16, and interchange lines are UTF-8") == true)
        #expect(reason([0xFE, 0xFF, 0x00, 0x7B])?.contains("UTF-16 byte-order mark") == true)
    }

    @Test("nesting deeper than 64 levels is refused")
    func depth() throws {
        _ = try JSONParser.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        #expect(throws: JSONSyntaxError.self) {
            try JSONParser.parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        }
    }

    @Test("objects compare equal whatever their member order")
    func objectEquality() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":2}"#) == JSONParser.parse(#"{"b":2,"a":1}"#))
        #expect(try JSONParser.parse(#"{"a":1,"b":2}"#) != JSONParser.parse(#"{"a":1,"b":3}"#))
    }
}

@Suite("RFC 8785 canonical form")
struct CanonicalJSONTests {
    func canonical(_ text: String) throws -> String {
        String(decoding: CanonicalJSON.encode(try JSONParser.parse(text)), as: UTF8.self)
    }

    @Test("keys are sorted, whitespace removed, nested objects too")
    func sorting() throws {
        #expect(
            try canonical(#" { "b" : [ 1 , { "z":1, "a":2 } ], "a" : true } "#) == #"{"a":true,"b":[1,{"a":2,"z":1}]}"#)
    }

    @Test("keys sort by UTF-16 code units, not by code points or UTF-8")
    func utf16Order() throws {
        // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB33; by code point it would sort after.
        #expect(try canonical(#"{"\ufb33":1,"\ud83d\ude00":2}"#) == "{\"😀\":2,\"\u{fb33}\":1}")
        #expect(CanonicalJSON.precedes("😀", "\u{fb33}"))
        #expect(CanonicalJSON.precedes("a", "b"))
        #expect(!CanonicalJSON.precedes("b", "a"))
    }

    @Test("only quote, backslash and control characters are escaped; the rest is itself")
    func escaping() throws {
        #expect(
            try canonical(#""\u0000\u0008\u0009\u000a\u000c\u000d\u001f\"\\/\u007f\u2028é张""#)
                == "\"\\u0000\\b\\t\\n\\f\\r\\u001f\\\"\\\\/\u{7f}\u{2028}é张\"")
    }

    @Test("integers are written in plain decimal, all digits kept")
    func integers() throws {
        #expect(
            try canonical("[0,-0,1,-1,9223372036854775807,-9223372036854775808,9007199254740993]")
                == "[0,0,1,-1,9223372036854775807,-9223372036854775808,9007199254740993]")
    }

    @Test("canonical bytes are a fixed point: parse and re-encode gives the same bytes")
    func fixedPoint() throws {
        let once = try canonical(#"{"data":{"needs":["rehab","care"],"x":"\u001b"},"id":"e1","n":-5}"#)
        #expect(try canonical(once) == once)
    }
}

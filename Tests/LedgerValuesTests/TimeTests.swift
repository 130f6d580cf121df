import LedgerValues
import Testing

@Suite("calendar dates")
struct LocalDateTests {
    @Test(
        "real dates parse, impossible ones do not",
        arguments: [
            ("2024-02-29", true), ("2023-02-29", false), ("2000-02-29", true), ("1900-02-29", false),
            ("2024-04-31", false), ("2024-13-01", false), ("2024-00-10", false), ("2024-1-01", false),
            ("2024-01-01T00:00", false), ("20240101", false), ("1899-12-31", true),
        ])
    func parsing(_ text: String, _ valid: Bool) {
        #expect((LocalDate(iso: text) != nil) == valid)
    }

    @Test("day numbers round-trip across eras, before 1970 too")
    func roundTrip() {
        for text in ["1900-01-01", "1969-12-31", "1970-01-01", "2000-03-01", "2024-02-29", "2100-12-31"] {
            #expect(LocalDate(iso: text)?.description == text)
        }
        #expect(LocalDate(iso: "1970-01-01")?.dayNumber == 0)
        #expect(LocalDate(iso: "1969-12-31")?.dayNumber == -1)
        var date = LocalDate(iso: "1899-12-25")!
        var previous = date.dayNumber - 1
        while date <= LocalDate.latest {
            #expect(date.dayNumber == previous + 1)
            #expect(LocalDate(iso: date.description) == date)
            previous = date.dayNumber
            date = date.adding(days: 1)
        }
    }
}

@Suite("recorded instants")
struct InstantTests {
    @Test(
        "RFC 3339 forms normalise to UTC milliseconds, finer fractions truncated",
        arguments: [
            ("2024-03-05T09:12:00+08:00", "2024-03-05T01:12:00.000Z"),
            ("2024-03-05T01:12:00Z", "2024-03-05T01:12:00.000Z"),
            ("2024-03-05t01:12:00z", "2024-03-05T01:12:00.000Z"),
            ("2024-03-05T01:12:00.1Z", "2024-03-05T01:12:00.100Z"),
            ("2024-03-05T01:12:00.123999Z", "2024-03-05T01:12:00.123Z"),
            ("2024-03-05T01:12:00.999999999-05:30", "2024-03-05T06:42:00.999Z"),
            ("2024-01-01T07:59:59+08:00", "2023-12-31T23:59:59.000Z"),
            ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z"),
        ])
    func normalised(_ input: String, _ expected: String) {
        #expect(Instant(rfc3339: input)?.description == expected)
    }

    @Test(
        "malformed instants and leap seconds are refused",
        arguments: [
            "2024-03-05", "2024-03-05T01:12Z", "2024-03-05T01:12:00", "2024-03-05T24:00:00Z", "2024-03-05T01:60:00Z",
            "2024-12-31T23:59:60Z", "2024-03-05T01:12:00.Z", "2024-03-05T01:12:00+0800", "2024-03-05T01:12:00+08",
            "2024-02-30T00:00:00Z", "2024-03-05 01:12:00Z",
        ])
    func refused(_ input: String) {
        #expect(Instant(rfc3339: input) == nil)
    }

    @Test("a refusal says why: a leap second in its own words, anything else by example")
    func refusalWords() {
        let leap = Instant.rule(refusing: "2016-12-31T23:59:60Z")
        #expect(leap.hasPrefix("must not be a leap second (:60)"))
        #expect(leap.hasSuffix(#"(got "2016-12-31T23:59:60Z")"#))
        #expect(Instant.rule(refusing: "2016-12-31T23:59:60.5+08:00").hasPrefix("must not be a leap second"))
        for malformed in [
            "2016-12-31T23:60:60Z", "2016-12-31T24:59:60Z", "2016-12-32T23:59:60Z", "2016-12-31T23:59:61Z",
        ] {
            #expect(
                Instant.rule(refusing: malformed, example: "2025-01-15T00:00:00Z")
                    == "must be an RFC 3339 instant such as 2025-01-15T00:00:00Z (got \"\(malformed)\")")
        }
    }

    @Test("the local date is Shanghai's (UTC+8)")
    func localDate() {
        #expect(Instant(rfc3339: "2024-12-31T15:59:59.999Z")?.localDate.description == "2024-12-31")
        #expect(Instant(rfc3339: "2024-12-31T16:00:00Z")?.localDate.description == "2025-01-01")
        #expect(Instant.startOfLocalDay(LocalDate(iso: "2025-01-01")!).description == "2024-12-31T16:00:00.000Z")
    }
}

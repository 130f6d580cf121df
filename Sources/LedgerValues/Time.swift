/// A calendar date with no time of day: when something happened in the world
/// (`occurredAt`, `birthDate`), in the proleptic Gregorian calendar.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01 (negative before it).
    public let dayNumber: Int32

    /// The earliest date the ledger accepts.
    public static let earliest = LocalDate(year: 1900, month: 1, day: 1)!
    /// The latest date the ledger accepts.
    public static let latest = LocalDate(year: 2100, month: 12, day: 31)!

    public init(dayNumber: Int32) {
        self.dayNumber = dayNumber
    }

    /// The date, or nil when it is not a real calendar date.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else {
            return nil
        }
        dayNumber = Int32(LocalDate.days(year: year, month: month, day: day))
    }

    /// Parses `YYYY-MM-DD`; nil unless it is exactly that form and a real date.
    public init?(iso text: String) {
        var text = text
        guard let parsed = text.withUTF8({ LocalDate.parse($0) }) else { return nil }
        self = parsed
    }

    /// Parses `YYYY-MM-DD` at the start of `bytes`, which must hold exactly that.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2)
        else { return nil }
        return LocalDate(year: year, month: month, day: day)
    }

    /// Year, month (1–12) and day (1–31).
    public var components: (year: Int, month: Int, day: Int) {
        // Civil date from a day count, by 400-year eras of 146,097 days starting
        // on 1 March so that the leap day falls at the end of each year.
        let z = Int(dayNumber) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The year.
    public var year: Int { components.year }

    /// `YYYY-MM-DD`.
    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD` to `out`.
    public func write(into out: inout [UInt8]) {
        let (y, m, d) = components
        appendDigits(y, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(m, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(d, 2, &out)
    }

    /// The date `days` later (earlier when negative).
    public func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + Int32(days)) }

    /// Whole days from `self` to `other`.
    public func days(until other: LocalDate) -> Int { Int(other.dayNumber - dayNumber) }

    /// Earlier dates sort first.
    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    /// Whether `year` has a 29 February.
    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    /// The number of days of `month` (1–12) in `year`.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a valid civil date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// A moment on the UTC time line with millisecond precision: when the
/// federation learned of something (`recordedAt`).
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Shanghai's offset from UTC, in which the federation's dates are kept.
    public static let localOffsetMinutes = 8 * 60

    /// Parses an RFC 3339 date-time (`Z` or a numeric offset, `T`/`t` and `Z`/`z`,
    /// any number of fraction digits), normalised to UTC and truncated to
    /// milliseconds. Leap seconds (`:60`) are refused. Nil when malformed.
    public init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Instant.parse($0) }) else { return nil }
        self = parsed
    }

    /// Parses an RFC 3339 date-time from bytes (see `init?(rfc3339:)`).
    public static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Instant? {
        guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let date = LocalDate.parse(UnsafeBufferPointer(rebasing: b[0..<10])),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let hour = digits(b, 11, 2), let minute = digits(b, 14, 2), let second = digits(b, 17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var millis = 0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            var fractionDigits = 0
            while index < b.count, let digit = digits(b, index, 1) {
                if fractionDigits < 3 { millis = millis * 10 + digit }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return nil }
            if fractionDigits < 3 {
                for _ in fractionDigits..<3 { millis *= 10 }
            }
        }
        guard index < b.count else { return nil }
        var offsetMinutes = 0
        switch b[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.count == index + 6, b[index + 3] == UInt8(ascii: ":"),
                let oh = digits(b, index + 1, 2), let om = digits(b, index + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == b.count else { return nil }
        let seconds =
            Int64(date.dayNumber) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
            - Int64(offsetMinutes * 60)
        return Instant(milliseconds: seconds * 1000 + Int64(millis))
    }

    /// The date in Shanghai (UTC+8) at this instant.
    public var localDate: LocalDate {
        let localMillis = milliseconds + Int64(Instant.localOffsetMinutes) * 60_000
        let day = localMillis >= 0 ? localMillis / 86_400_000 : (localMillis - 86_399_999) / 86_400_000
        return LocalDate(dayNumber: Int32(day))
    }

    /// The first instant of `date` in Shanghai.
    public static func startOfLocalDay(_ date: LocalDate) -> Instant {
        Instant(milliseconds: Int64(date.dayNumber) * 86_400_000 - Int64(localOffsetMinutes) * 60_000)
    }

    /// The instant `ms` milliseconds later.
    public func adding(milliseconds ms: Int64) -> Instant { Instant(milliseconds: milliseconds + ms) }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the ledger's one written form.
    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ` to `out`.
    public func write(into out: inout [UInt8]) {
        let day = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let within = Int(milliseconds - day * 86_400_000)
        LocalDate(dayNumber: Int32(day)).write(into: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(within / 3_600_000, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(within / 60_000 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(within / 1000 % 60, 2, &out)
        out.append(UInt8(ascii: "."))
        appendDigits(within % 1000, 3, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// Earlier instants sort first.
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The rule `text` breaks, for an error message that names the field
    /// first: why `init?(rfc3339:)` refused it. A leap second is told apart,
    /// since it is well-formed RFC 3339 that the ledger's time line cannot hold.
    public static func rule(refusing text: String, example: String = "2025-01-15T08:00:00+08:00") -> String {
        let bytes = Array(text.utf8)
        if bytes.count >= 20, bytes[17] == UInt8(ascii: "6"), bytes[18] == UInt8(ascii: "0") {
            var asLastSecond = bytes
            asLastSecond[17] = UInt8(ascii: "5")
            asLastSecond[18] = UInt8(ascii: "9")
            if asLastSecond.withUnsafeBufferPointer({ Instant.parse($0) }) != nil {
                return "must not be a leap second (:60), which the ledger's UTC time line does not hold;"
                    + " give :59.999 or the next second (got \(Echo.quoted(text)))"
            }
        }
        return "must be an RFC 3339 instant such as \(example) (got \(Echo.quoted(text)))"
    }
}

/// Reads `count` ASCII digits at `offset`; nil if any is not a digit.
@inline(__always)
func digits(_ b: UnsafeBufferPointer<UInt8>, _ offset: Int, _ count: Int) -> Int? {
    guard offset + count <= b.count else { return nil }
    var value = 0
    for i in offset..<(offset + count) {
        let byte = b[i]
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return value
}

/// Appends the last `width` decimal digits of a non-negative `value`, zero-padded.
@inline(__always)
func appendDigits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    var rest = value
    while divisor > 0 {
        out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
        rest %= divisor
        divisor /= 10
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Instant {
    /// The seconds from this instant until now, to the millisecond: how long something took.
    public var secondsUntilNow: Double { Double(Instant.now().milliseconds - milliseconds) / 1000 }

    /// The system clock now, to the millisecond.
    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

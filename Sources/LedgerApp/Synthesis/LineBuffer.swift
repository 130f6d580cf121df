import LedgerDomain
import LedgerValues

/// One event as the simulation plans it, before it is written: plain numbers
/// only (no strings, no references), so that thousands wait cheaply to be
/// written in recorded order. `key` names the stream within the type's kind,
/// `a` and `b` carry the payload, packed as the type's writer reads them.
struct PlannedEvent {
    var recordedAt: Int64
    /// Order of planning: breaks ties of `recordedAt`, so that an event planned
    /// after the one it depends on is also written after it.
    var serial: Int64
    var key: Int64
    var a: Int64
    var b: Int64
    var occurredAt: Int32
    var actor: Int32
    /// Position of the type in `EventType.allCases`.
    var type: UInt8
    var orgUnit: UInt8

    /// Earlier recorded first; planned first among equals.
    static func recordedBefore(_ lhs: PlannedEvent, _ rhs: PlannedEvent) -> Bool {
        lhs.recordedAt != rhs.recordedAt ? lhs.recordedAt < rhs.recordedAt : lhs.serial < rhs.serial
    }
}

/// Output bytes gathered into one large block and handed on when nearly full,
/// so that lines are written with a few large writes. Lines are built by
/// appending bytes: no JSON encoder, no intermediate strings.
struct LineBuffer {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Bytes held.
    private(set) var count = 0
    /// Room kept free for one more line (the longest line is far shorter).
    private static let lineRoom = 16_384

    init(capacity: Int) {
        self.capacity = max(capacity, 4 * LineBuffer.lineRoom)
        base = .allocate(capacity: self.capacity)
    }

    /// Frees the block; the buffer is not used afterwards.
    func release() { base.deallocate() }

    /// Whether the block should be handed on before another line is added.
    var isNearlyFull: Bool { count > capacity - LineBuffer.lineRoom }

    /// Hands the bytes held to `deliver` and empties the buffer.
    mutating func drain(into deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard count > 0 else { return }
        try deliver(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base[count] = value
        count += 1
    }

    @inline(__always)
    mutating func text(_ literal: StaticString) {
        // A one-character literal may be kept as a scalar, not as bytes: read it either way.
        literal.withUTF8Buffer { buffer in
            guard let start = buffer.baseAddress else { return }
            (base + count).update(from: start, count: buffer.count)
            count += buffer.count
        }
    }

    @inline(__always)
    mutating func bytes(_ value: [UInt8]) {
        value.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            (base + count).update(from: start, count: buffer.count)
        }
        count += value.count
    }

    /// A non-negative integer in decimal.
    mutating func decimal(_ value: Int64) {
        if value < 10 {
            byte(0x30 + UInt8(value))
            return
        }
        var digits = 0
        var rest = value
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        rest = value
        var index = count + digits - 1
        while rest > 0 {
            base[index] = 0x30 + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        count += digits
    }

    /// A non-negative integer zero-padded to at least `width` digits.
    mutating func padded(_ value: Int64, width: Int) {
        var digits = 1
        var limit: Int64 = 10
        while value >= limit && digits < 19 {
            digits += 1
            limit *= 10
        }
        for _ in digits..<max(width, digits) { byte(0x30) }
        decimal(value)
    }

    @inline(__always)
    mutating func twoDigits(_ value: Int) {
        base[count] = 0x30 + UInt8(value / 10)
        base[count + 1] = 0x30 + UInt8(value % 10)
        count += 2
    }

    /// `YYYY-MM-DD` of a date known to lie in 1000–9999.
    mutating func date(year: Int, month: Int, day: Int) {
        twoDigits(year / 100)
        twoDigits(year % 100)
        byte(0x2D)
        twoDigits(month)
        byte(0x2D)
        twoDigits(day)
    }

    /// Ten bytes copied from a table of dates (see `DateTexts`).
    @inline(__always)
    mutating func copy(_ source: UnsafePointer<UInt8>, count length: Int) {
        (base + count).update(from: source, count: length)
        count += length
    }
}

/// `YYYY-MM-DD` of every day of the simulated years (and a margin), made once,
/// so that writing a date is a copy of ten bytes.
struct DateTexts {
    private let first: Int
    private let table: UnsafeMutablePointer<UInt8>
    private let days: Int

    init(from first: Int, through last: Int) {
        self.first = first
        days = last - first + 1
        table = .allocate(capacity: days * 10)
        var out: [UInt8] = []
        out.reserveCapacity(days * 10)
        for day in first...last { LocalDate(dayNumber: Int32(day)).write(into: &out) }
        table.initialize(from: out, count: out.count)
    }

    func release() { table.deallocate() }

    /// Writes `YYYY-MM-DD` of `day`.
    @inline(__always)
    func write(_ day: Int, into out: inout LineBuffer) {
        let index = day - first
        if index >= 0 && index < days {
            out.copy(table + index * 10, count: 10)
        } else {
            let (year, month, dayOfMonth) = SynthesisCalendar.components(day)
            out.date(year: year, month: month, day: dayOfMonth)
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` of an instant (UTC).
    @inline(__always)
    func writeInstant(_ milliseconds: Int64, into out: inout LineBuffer) {
        let day =
            milliseconds >= 0
            ? milliseconds / SynthesisCalendar.millisecondsPerDay
            : (milliseconds - SynthesisCalendar.millisecondsPerDay + 1) / SynthesisCalendar.millisecondsPerDay
        let within = Int(milliseconds - day * SynthesisCalendar.millisecondsPerDay)
        write(Int(day), into: &out)
        out.byte(0x54)
        out.twoDigits(within / 3_600_000)
        out.byte(0x3A)
        out.twoDigits(within / 60_000 % 60)
        out.byte(0x3A)
        out.twoDigits(within / 1000 % 60)
        out.byte(0x2E)
        let millis = within % 1000
        out.byte(0x30 + UInt8(millis / 100))
        out.twoDigits(millis % 100)
        out.byte(0x5A)
    }
}

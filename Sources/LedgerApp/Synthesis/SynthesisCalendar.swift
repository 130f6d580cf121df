import LedgerValues

/// Day and instant arithmetic of the generator. Days are day numbers
/// (`LocalDate.dayNumber`, days since 1970-01-01); instants are milliseconds
/// since the epoch, UTC, as `Instant` keeps them. The federation works in
/// Shanghai time (UTC+8, no summer time).
enum SynthesisCalendar {
    static let millisecondsPerDay: Int64 = 86_400_000
    static let localOffset = Int64(Instant.localOffsetMinutes) * 60_000

    /// The day number of a calendar date that is known to be real.
    static func day(_ year: Int, _ month: Int, _ day: Int) -> Int {
        Int(LocalDate(year: year, month: month, day: day)!.dayNumber)
    }

    /// Year, month and day of a day number.
    static func components(_ day: Int) -> (year: Int, month: Int, day: Int) {
        LocalDate(dayNumber: Int32(day)).components
    }

    /// 0 Monday … 6 Sunday (1970-01-01, day 0, was a Thursday).
    static func weekday(_ day: Int) -> Int { (day % 7 + 10) % 7 }

    /// Whether offices are open (Monday to Friday; public holidays are not modelled).
    static func isWorkingDay(_ day: Int) -> Bool { weekday(day) < 5 }

    /// `day`, or the Monday after it when it falls on a weekend.
    static func workingDay(onOrAfter day: Int) -> Int {
        switch weekday(day) {
        case 5: day + 2
        case 6: day + 1
        default: day
        }
    }

    /// The `count`-th working day after `day`.
    static func workingDay(_ count: Int, after day: Int) -> Int {
        var current = day
        var left = count
        while left > 0 {
            current += 1
            if isWorkingDay(current) { left -= 1 }
        }
        return current
    }

    /// The instant `second` seconds after local midnight starting `day`.
    static func instant(_ day: Int, second: Int) -> Int64 {
        Int64(day) * millisecondsPerDay + Int64(second) * 1000 - localOffset
    }

    /// The first instant of local `day`.
    static func startOfDay(_ day: Int) -> Int64 { instant(day, second: 0) }
}

/// One calendar month of the simulation: its events are drawn together, and
/// what was recorded before the next month begins is written out after it.
struct MonthWindow {
    let year: Int
    let month: Int
    /// Its first and last day.
    let first: Int
    let last: Int

    init(year: Int, month: Int) {
        self.year = year
        self.month = month
        first = SynthesisCalendar.day(year, month, 1)
        last = first + LocalDate.daysIn(month: month, year: year) - 1
    }

    var days: Int { last - first + 1 }

    /// A day of the month from `earliest` to `latest` (clamped to the month);
    /// nil when that leaves no day.
    func day(from earliest: Int, to latest: Int, _ random: inout SeededRandom) -> Int? {
        let low = max(first, earliest)
        let high = min(last, latest)
        return low <= high ? random.between(low, high) : nil
    }
}

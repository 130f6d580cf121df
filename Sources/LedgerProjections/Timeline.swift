import LedgerValues

/// Values that change at dated events of one stream, kept in the order of
/// effective history: (`occurredAt`, `seq`).
///
/// Events arrive in seq order, so a new entry goes after every entry dated on
/// or before it: a late report lands where it belongs in time, and of two
/// events of one day the one stored later is the later one.
struct Timeline<Value: Sendable>: Sendable {
    typealias Entry = (date: LocalDate, value: Value)

    /// The first entry, kept inline: most timelines (a case's assignment, a
    /// grade) have no other, and so need no allocation of their own.
    private var first: Entry?
    /// The entries after the first.
    private var rest: [Entry] = []

    /// An empty timeline.
    init() {}

    /// Adds `entry` after every entry, where the order of effective history
    /// puts it (a snapshot's reader checks that it does).
    mutating func append(_ entry: Entry) {
        if first == nil { first = entry } else { rest.append(entry) }
    }

    /// How many entries there are.
    var count: Int { first == nil ? 0 : 1 + rest.count }

    /// The first entry in the order of effective history, if any.
    var earliest: Entry? { first }

    /// Calls `body` with each entry, in the order of effective history.
    func forEach(_ body: (Entry) -> Void) {
        guard let first else { return }
        body(first)
        rest.forEach(body)
    }

    /// Adds the value of an event dated `date` with a seq above every one seen.
    mutating func record(_ value: Value, on date: LocalDate) {
        guard let head = first else { return first = (date, value) }
        var position = rest.count
        while position > 0 && rest[position - 1].date > date { position -= 1 }
        if position == 0 && head.date > date {
            // Before every entry: the new first.
            rest.insert(head, at: 0)
            first = (date, value)
        } else {
            rest.insert((date, value), at: position)
        }
    }

    /// The latest value of the effective history at `day`: of the entries dated
    /// on or before it, the last.
    func latest(onOrBefore day: LocalDate) -> Value? {
        var position = rest.count
        while position > 0 {
            position -= 1
            if rest[position].date <= day { return rest[position].value }
        }
        guard let first, first.date <= day else { return nil }
        return first.value
    }
}

extension Timeline: Equatable where Value: Equatable {
    /// The same entries in the same order.
    static func == (lhs: Timeline, rhs: Timeline) -> Bool {
        lhs.first?.date == rhs.first?.date && lhs.first?.value == rhs.first?.value
            && lhs.rest.elementsEqual(rhs.rest) { $0.date == $1.date && $0.value == $1.value }
    }
}

/// The year window of kpis.md: 1 January of the as-of date's year through the
/// as-of date, inclusive.
struct YearWindow {
    /// 1 January.
    let start: LocalDate
    /// The as-of date.
    let end: LocalDate

    init(asOf day: LocalDate) {
        end = day
        start = LocalDate(year: day.year, month: 1, day: 1)!
    }

    /// Whether `day` falls in the window.
    func contains(_ day: LocalDate) -> Bool { day >= start && day <= end }

    /// The as-of date's day of the year (1 January is 1).
    var dayOfYear: Int { start.days(until: end) + 1 }

    /// The number of days of the as-of date's year (365 or 366).
    var daysInYear: Int { LocalDate.isLeap(end.year) ? 366 : 365 }
}

/// A birth date kept as the parts the age rule compares.
struct Birth: Equatable {
    let year: Int16
    /// Month × 100 + day: 229 for 29 February.
    let monthDay: Int16

    init(_ date: LocalDate) {
        let (year, month, day) = date.components
        self.year = Int16(year)
        monthDay = Int16(month * 100 + day)
    }

    /// The birth of those parts.
    init(year: Int16, monthDay: Int16) {
        self.year = year
        self.monthDay = monthDay
    }

    /// Completed years at `day`: the difference of the years, less one if the
    /// day's month-day is before the birth's. Someone born on 29 February is a
    /// year older on 1 March in a year without one (0301 is after 0229), and on
    /// 29 February itself in a leap year.
    func age(on day: (year: Int, monthDay: Int)) -> Int {
        day.year - Int(year) - (day.monthDay < Int(monthDay) ? 1 : 0)
    }
}

/// The age in completed years of someone born on `birth`, on `day` (kpis.md "Age at D").
public func age(bornOn birth: LocalDate, on day: LocalDate) -> Int {
    let (year, month, date) = day.components
    return Birth(birth).age(on: (year, month * 100 + date))
}

import LedgerDomain
import LedgerValues

/// Codes (units, workers) kept as small numbers, so that the facts of each
/// stream stay a few bytes each however many streams there are.
struct Names: Equatable {
    private(set) var names: [String] = []
    private var numbers: [String: UInt32] = [:]

    /// No names yet.
    init() {}

    /// The table that numbers `names` in their order; nil if a name is there twice.
    init?(names: [String]) {
        numbers.reserveCapacity(names.count)
        for (number, name) in names.enumerated() {
            guard numbers.updateValue(UInt32(number), forKey: name) == nil else { return nil }
        }
        self.names = names
    }

    /// The same names with the same numbers.
    static func == (lhs: Names, rhs: Names) -> Bool { lhs.names == rhs.names }

    /// The number of `name`, given it on first sight.
    mutating func number(_ name: String) -> UInt32 {
        if let known = numbers[name] { return known }
        let number = UInt32(names.count)
        names.append(name)
        numbers[name] = number
        return number
    }

    subscript(number: UInt32) -> String { names[Int(number)] }
}

/// The earliest date in each year on which something happened: enough to
/// answer "did it happen in the year window" for any as-of date, since the
/// window starts on 1 January and the earliest date of the year is the first
/// that could fall in it.
struct YearFirsts: Equatable {
    /// The first date of each year before the latest year seen, in date order.
    private var earlier: [LocalDate] = []
    /// The first date of the latest year seen. Nearly every date noted is of
    /// that year or a later one: kept here, beside the rest of the person's
    /// facts, it is judged without reading the array's memory.
    private var latest: LocalDate?

    /// No dates yet.
    init() {}

    /// The dates `dates`, at most one per year, in date order; their array is
    /// kept as `earlier` (the last taken off it), not copied.
    init(dates: consuming [LocalDate]) {
        latest = dates.popLast()
        earlier = dates.isEmpty ? [] : dates
    }

    /// How many dates there are: one per year with any.
    var count: Int { earlier.count + (latest == nil ? 0 : 1) }

    /// Calls `body` with each date, in date order.
    func forEach(_ body: (LocalDate) -> Void) {
        earlier.forEach(body)
        if let latest { body(latest) }
    }

    mutating func note(_ day: LocalDate) {
        guard let last = latest else {
            latest = day
            return
        }
        let year = day.year
        let lastYear = last.year
        if lastYear == year {
            if day < last { latest = day }
            return
        }
        if lastYear < year {
            earlier.append(last)
            latest = day
            return
        }
        // A late report of an earlier year.
        if let position = earlier.firstIndex(where: { $0.year == year }) {
            if day < earlier[position] { earlier[position] = day }
            return
        }
        earlier.append(day)
        earlier.sort()
    }

    /// Whether anything happened within the window.
    func any(in window: YearWindow) -> Bool {
        if let latest, window.contains(latest) { return true }
        return earlier.contains { window.contains($0) }
    }
}

/// What a needs assessment says that the KPIs use.
struct Assessment: Equatable {
    /// workCapacity ≠ none and not in education: counts as capable of work.
    let canWork: Bool
    let needsRehab: Bool
    let needsDevice: Bool

    /// An assessment that says these things.
    init(canWork: Bool, needsRehab: Bool, needsDevice: Bool) {
        self.canWork = canWork
        self.needsRehab = needsRehab
        self.needsDevice = needsDevice
    }

    init(_ assessment: NeedsAssessment) {
        canWork = assessment.workCapacity != .none && !assessment.inEducation
        needsRehab = assessment.needs.contains(.rehab)
        needsDevice = assessment.needs.contains(.assistiveDevice)
    }
}

/// One employment of a person: employed on days start ≤ day < end.
struct Employment: Equatable {
    let id: String
    let start: LocalDate
    var end: LocalDate?

    /// Employed on `day`: started on or before it, and not ended on or before it
    /// (an end dated after `day` is not yet in the effective history).
    func covers(_ day: LocalDate) -> Bool { start <= day && !(end.map { $0 <= day } ?? false) }
}

/// The facts of one person stream that the KPIs need.
struct PersonFacts: Equatable {
    /// The date of `PersonRegistered`, the stream's first event in effective time too.
    let registered: LocalDate
    let birth: Birth
    /// The date of `PersonDeregistered`, once stored.
    var deregistered: LocalDate?
    /// Residence (a unit number) from `PersonRegistered`, then `PersonMoved`.
    var residence = Timeline<UInt32>()
    /// Category from `PersonRegistered`, then `PersonReassessed` (the grade is in no KPI).
    var category = Timeline<DisabilityCategory>()
    var assessment = Timeline<Assessment>()
    var employments: [Employment] = []
    var rehab = YearFirsts()
    var devices = YearFirsts()
    var homeModifications = YearFirsts()
    var healthChecks = YearFirsts()
    /// Contracted (true) or ended (false).
    var familyDoctor = Timeline<Bool>()
    /// Enrolled (true) or ended (false).
    var care = Timeline<Bool>()
    /// Dates of `smart_skills` trainings, one per event (the KPI counts events).
    var smartTrainings: [LocalDate] = []

    init(registered: LocalDate, birth: LocalDate, residence: UInt32, category: DisabilityCategory) {
        self.registered = registered
        self.birth = Birth(birth)
        self.residence.record(residence, on: registered)
        self.category.record(category, on: registered)
    }

    /// The facts of a person registered on `registered`, born `birth`, with nothing else yet.
    init(registered: LocalDate, birth: Birth) {
        self.registered = registered
        self.birth = birth
    }

    /// Records `PersonDeregistered` (a closer: the ledger stores one at most).
    mutating func deregister(on day: LocalDate) {
        if deregistered == nil { deregistered = day }
    }

    /// Records the end of employment `id`; the ledger admits an end only for an
    /// employment started and not yet ended.
    mutating func endEmployment(_ id: String, on day: LocalDate) {
        if let position = employments.firstIndex(where: { $0.id == id && $0.end == nil }) {
            employments[position].end = day
        }
    }

    /// In P(D): registered in the effective history at `day`, and not deregistered in it.
    func isRegistered(on day: LocalDate) -> Bool {
        registered <= day && !(deregistered.map { $0 <= day } ?? false)
    }
}

extension StreamKind {
    /// `stream`'s key in the fold's table of this kind: its name without the
    /// kind; every table of the fold is keyed so. A key of up to 15 bytes
    /// (`P000123`, `C0001234`) lies inline in a `String`, where most whole
    /// names do not: a table of a million calls holds no allocation per call,
    /// and a lookup compares two words in the table's own array rather than
    /// bytes in an allocation of their own (a cache miss for each event
    /// folded). Snapshots, messages and the returns' joins use the whole name again.
    func tableKey(_ stream: String) -> String { key(ofStream: stream) ?? stream }
}

/// A case's worker and unit.
struct Assignment: Equatable {
    let worker: UInt32
    let unit: UInt32
}

/// The facts of one case stream.
struct CaseFacts: Equatable {
    let opened: LocalDate
    let serviceType: CaseServiceType
    var closed: LocalDate?
    /// The worker and unit of `CaseOpened` (its `orgUnit`), then of each `CaseReassigned`.
    var assignment = Timeline<Assignment>()

    func isOpen(on day: LocalDate) -> Bool { opened <= day && !(closed.map { $0 <= day } ?? false) }

    mutating func close(on day: LocalDate) {
        if closed == nil { closed = day }
    }
}

/// The facts of one call stream.
struct CallFacts: Equatable {
    let received: LocalDate
    /// `orgUnit` of `CallReceived`.
    let unit: UInt32
    /// Channel online, one_network or policy_assistant.
    let online: Bool
    var resolved: LocalDate?
    var satisfied = false

    mutating func resolve(on day: LocalDate, satisfied: Bool) {
        guard resolved == nil else { return }
        resolved = day
        self.satisfied = satisfied
    }
}

/// The facts of one project stream.
struct ProjectFacts: Equatable {
    let launched: LocalDate
    /// `orgUnit` of `ProjectLaunched`.
    let unit: UInt32
    var eliminated: LocalDate?
    /// For each year evaluated (`data.year`), the earliest date of an evaluation of it.
    var evaluations: [(year: Int64, date: LocalDate)] = []

    func isActive(on day: LocalDate) -> Bool { launched <= day && !(eliminated.map { $0 <= day } ?? false) }

    mutating func eliminate(on day: LocalDate) {
        if eliminated == nil { eliminated = day }
    }

    mutating func noteEvaluation(of year: Int64, on day: LocalDate) {
        if let position = evaluations.firstIndex(where: { $0.year == year }) {
            if day < evaluations[position].date { evaluations[position].date = day }
        } else {
            evaluations.append((year, day))
        }
    }

    /// Whether an evaluation of `year` is in the effective history at `day`.
    func isEvaluated(year: Int64, by day: LocalDate) -> Bool {
        evaluations.contains { $0.year == year && $0.date <= day }
    }

    /// The same dates, unit and evaluations, in the same order.
    static func == (lhs: ProjectFacts, rhs: ProjectFacts) -> Bool {
        lhs.launched == rhs.launched && lhs.unit == rhs.unit && lhs.eliminated == rhs.eliminated
            && lhs.evaluations.elementsEqual(rhs.evaluations) { $0.year == $1.year && $0.date == $1.date }
    }
}

/// The facts of one volunteer stream: what `VolunteerRegistered` says.
struct VolunteerFacts: Equatable {
    let partyMember: Bool
    let alliance: Alliance
}

/// The facts of one rights-case stream.
struct RightsFacts: Equatable {
    let opened: LocalDate
    /// `orgUnit` of `RightsCaseOpened`.
    let unit: UInt32
    var closed: LocalDate?

    mutating func close(on day: LocalDate) {
        if closed == nil { closed = day }
    }
}

/// A day and a unit: the key of the dated sums.
struct DayAndUnit: Hashable {
    let day: LocalDate
    let unit: UInt32
}

/// The key of the volunteer minutes: day, unit of the logged event, and the volunteer's alliance and party membership.
struct MinutesKey: Hashable {
    let day: LocalDate
    let unit: UInt32
    let alliance: Alliance
    let partyMember: Bool
}

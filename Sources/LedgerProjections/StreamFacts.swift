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

    /// The assessment of `bits` (1 can work, 2 needs rehabilitation, 4 needs a
    /// device), if they are below 8.
    init?(bits: UInt32) {
        guard bits < 8 else { return nil }
        self.init(canWork: bits & 1 != 0, needsRehab: bits & 2 != 0, needsDevice: bits & 4 != 0)
    }

    /// 1 can work, 2 needs rehabilitation, 4 needs a device.
    var bits: UInt32 { (canWork ? 1 : 0) | (needsRehab ? 2 : 0) | (needsDevice ? 4 : 0) }
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

/// What a person's dated fact is about.
///
/// A person's facts of one kind lie together, the kinds in this order (that
/// of a snapshot's person), and each kind's facts in its own order:
/// - the timelines (residence … care) in the order of effective history
///   (`occurredAt`, then seq): a late report lands where it belongs in time,
///   and of two events of one day the one stored later is the later one;
/// - the services (rehabilitation … health checks) as the earliest date in
///   each year on which one happened, in date order: enough to answer "did it
///   happen in the year window" for any as-of date, since the window starts on
///   1 January and the earliest date of the year is the first that could fall in it;
/// - smart-skills trainings as the date of each, in the order stored (the KPI
///   counts events).
enum PersonFactKind: UInt32 {
    /// A unit's number: from `PersonRegistered`, then `PersonMoved`.
    case residence
    /// A category's code: from `PersonRegistered`, then `PersonReassessed` (the grade is in no KPI).
    case category
    /// `Assessment.bits`.
    case assessment
    case rehab
    case device
    case homeModification
    case healthCheck
    /// Contracted (1) or ended (0).
    case familyDoctor
    /// Enrolled (1) or ended (0).
    case care
    case smartTraining

    /// The kinds kept as the first date of each year.
    var isYearFirsts: Bool { (PersonFactKind.rehab.rawValue...PersonFactKind.healthCheck.rawValue).contains(rawValue) }
}

/// A person's fact of one kind on one date, in eight bytes: the kind and its
/// value share one word.
struct DatedFact: Equatable {
    /// The most a value can be: values take the word's low 28 bits.
    static let largestValue: UInt32 = 1 << 28 - 1

    let date: LocalDate
    private let word: UInt32

    /// A fact of `kind` with `value` on `date`; `value` is at most `largestValue`.
    @inline(__always)
    init(_ kind: PersonFactKind, _ value: UInt32, on date: LocalDate) {
        precondition(value <= DatedFact.largestValue, "a person's fact \(value) beyond 28 bits")
        self.date = date
        word = kind.rawValue << 28 | value
    }

    /// The fact's kind, as its number.
    @inline(__always)
    var kindNumber: UInt32 { word >> 28 }

    /// The fact's value: a unit's number, a code, bits or a flag (see `PersonFactKind`), 0 for a date alone.
    var value: UInt32 { word & DatedFact.largestValue }
}

/// The facts of one person stream that the KPIs need.
///
/// Every dated fact of the person lies in one array (`dated`), grouped by
/// kind: a person costs one allocation for all of them, where an array per
/// kind of fact costs ten, each with its own header and spare room; and the
/// figures read a person's facts from one or two cache lines.
struct PersonFacts: Equatable {
    /// The date of `PersonRegistered`, the stream's first event in effective time too.
    let registered: LocalDate
    let birth: Birth
    /// The date of `PersonDeregistered`, once stored.
    var deregistered: LocalDate?
    /// Every dated fact, grouped by kind in the order of `PersonFactKind`
    /// (see there for each kind's own order).
    private(set) var dated: [DatedFact] = []
    var employments: [Employment] = []

    init(registered: LocalDate, birth: LocalDate, residence: UInt32, category: DisabilityCategory) {
        self.registered = registered
        self.birth = Birth(birth)
        dated.reserveCapacity(2)
        dated.append(DatedFact(.residence, residence, on: registered))
        dated.append(DatedFact(.category, UInt32(category.snapshotCode), on: registered))
    }

    /// The facts of a person registered on `registered`, born `birth`, with
    /// the dated facts `dated`, grouped and ordered as the property keeps them.
    init(
        registered: LocalDate, birth: Birth, deregistered: LocalDate?, dated: [DatedFact], employments: [Employment]
    ) {
        self.registered = registered
        self.birth = birth
        self.deregistered = deregistered
        self.dated = dated
        self.employments = employments
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

// MARK: - The dated facts

extension PersonFacts {
    /// The places in `dated` of the facts of `kind`.
    @inline(__always)
    private func places(of kind: PersonFactKind) -> Range<Int> {
        let number = kind.rawValue
        var start = 0
        while start < dated.count && dated[start].kindNumber < number { start += 1 }
        var end = start
        while end < dated.count && dated[end].kindNumber == number { end += 1 }
        return start..<end
    }

    /// The facts of `kind`, in that kind's order.
    func facts(of kind: PersonFactKind) -> ArraySlice<DatedFact> { dated[places(of: kind)] }

    /// Adds a fact of a timeline `kind` from an event dated `date` with a seq
    /// above every one seen: after every fact of the kind dated on or before it.
    mutating func record(_ kind: PersonFactKind, _ value: UInt32, on date: LocalDate) {
        let group = places(of: kind)
        var position = group.upperBound
        while position > group.lowerBound && dated[position - 1].date > date { position -= 1 }
        makeRoomForOneFact()
        dated.insert(DatedFact(kind, value, on: date), at: position)
    }

    /// Grows `dated`, when it is full, by an eighth of its count rather than by
    /// doubling it as an array does by itself: a person gains a fact now and
    /// then over years, and a fold of hundreds of thousands of persons would
    /// otherwise hold a third more room than facts. The allocator rounds each
    /// size up to one of its classes (jemalloc's lie a quarter apart at most),
    /// which adds room of its own.
    @inline(__always)
    private mutating func makeRoomForOneFact() {
        if dated.count == dated.capacity { dated.reserveCapacity(dated.count + dated.count / 8 + 2) }
    }

    /// Notes a service of `kind` on `day`: it becomes the first date of its
    /// year if none of that year is earlier.
    mutating func noteService(_ kind: PersonFactKind, on day: LocalDate) {
        let group = places(of: kind)
        // The first date of the kind after `day`: of the dates around it, only
        // that one or the one before can be of the same year.
        var position = group.upperBound
        while position > group.lowerBound && dated[position - 1].date > day { position -= 1 }
        let year = day.year
        if position > group.lowerBound && dated[position - 1].date.year == year { return }
        let fact = DatedFact(kind, 0, on: day)
        if position < group.upperBound && dated[position].date.year == year {
            dated[position] = fact
        } else {
            makeRoomForOneFact()
            dated.insert(fact, at: position)
        }
    }

    /// Where `dated` lies within a person's facts.
    private static let datedOffset = MemoryLayout<PersonFacts>.offset(of: \PersonFacts.dated)!

    /// Asks the processor to fetch the dated facts' count and first ones, of
    /// the person's facts at `person` (read in place: nothing is copied or retained).
    @inline(__always)
    static func prefetchDatedFacts(ofPersonAt person: UnsafeRawPointer) {
        // The count lies in the array's header, just before the elements.
        CacheHint.prefetch(datedFacts(ofPersonAt: person) - 16)
    }

    /// Where the dated facts of the person's facts at `person` lie: for prefetching only.
    @inline(__always)
    static func datedFacts(ofPersonAt person: UnsafeRawPointer) -> UnsafeRawPointer {
        CacheHint.elements(ofArrayAt: person + datedOffset)
    }

    /// Notes a smart-skills training on `day`, after every one stored before.
    mutating func noteSmartTraining(on day: LocalDate) {
        // The last kind: its facts end the array.
        makeRoomForOneFact()
        dated.append(DatedFact(.smartTraining, 0, on: day))
    }

    /// What the figures read of the person as of `day`, in one pass over the
    /// facts: each timeline's value at `day`, and how many of each service
    /// fall within `window` (the year window of `day`).
    func asOf(_ day: LocalDate, window: YearWindow) -> PersonAsOf {
        var person = PersonAsOf()
        for fact in dated {
            switch fact.kindNumber {
            case PersonFactKind.residence.rawValue: if fact.date <= day { person.residence = fact.value }
            case PersonFactKind.category.rawValue: if fact.date <= day { person.categoryCode = fact.value }
            case PersonFactKind.assessment.rawValue: if fact.date <= day { person.assessmentBits = fact.value }
            case PersonFactKind.familyDoctor.rawValue: if fact.date <= day { person.familyDoctor = fact.value == 1 }
            case PersonFactKind.care.rawValue: if fact.date <= day { person.care = fact.value == 1 }
            case let kind:
                // A service or a training: counted in the window.
                if window.contains(fact.date) { person.services[Int(kind - PersonFactKind.rehab.rawValue)] += 1 }
            }
        }
        return person
    }
}

/// A person as the figures see them on an as-of date (`PersonFacts.asOf`).
struct PersonAsOf {
    /// The values of the timelines at the date (as `PersonFactKind` keeps them), if any.
    var residence: UInt32?
    var categoryCode: UInt32?
    var assessmentBits: UInt32?
    /// Whether a family doctor's contract runs at the date.
    var familyDoctor = false
    /// Whether the person is in care at the date.
    var care = false
    /// How many facts of each kind from rehabilitation on fall within the year
    /// window (those of the family doctor and care too, which no figure reads).
    var services: InlineArray<7, Int> = .init(repeating: 0)

    /// The disability category at the date.
    var category: DisabilityCategory? { categoryCode.flatMap { DisabilityCategory(snapshotCode: UInt8($0)) } }

    /// The latest needs assessment at the date, if any.
    var assessment: Assessment? { assessmentBits.flatMap { Assessment(bits: $0) } }

    /// How many facts of `kind` (rehabilitation or after) fall within the window.
    subscript(kind: PersonFactKind) -> Int {
        services[Int(kind.rawValue - PersonFactKind.rehab.rawValue)]
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

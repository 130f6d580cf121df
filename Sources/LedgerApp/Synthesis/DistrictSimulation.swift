import LedgerDomain

/// The whole synthetic district, month by month: the register, the persons'
/// services, cases, the call centre, rights cases, projects, volunteers and
/// legal education. Every event is planned with the instant it was recorded;
/// at the end of each month, what was recorded before the next month begins
/// is sorted and written. Nothing planned later can be recorded earlier: an
/// event is never recorded before the local day it happened, and planning
/// reaches a month only once the months before it are done.
///
/// How the rules of events.md §6 are kept by construction:
/// - an event that needs another stored first (a stream's opener, an
///   employment's start, the registration of a person a case, contact or rights
///   case names) is planned after it and recorded no earlier (ties keep
///   planning order), so it follows it in the file;
/// - a closer is dated last in its stream; nothing is planned after it;
/// - every instant lies between the local start of the event's day and the
///   last instant of the last year, so nothing is recorded in the future.
struct DistrictSimulation {
    let fromYear: Int
    let toYear: Int
    /// First and last day of the simulated years.
    let firstDay: Int
    let lastDay: Int
    /// The last instant of the last year (local time): no event is recorded after it.
    let lastInstant: Int64
    /// Persons over the 33,000 of Jiading: the other streams grow with it.
    let scale: Double

    let units: DistrictUnits
    let words: DistrictWords
    let codes = CatalogueCodes()
    let staff: DistrictStaff
    let choices = DistrictChoices()

    var random: SeededRandom
    /// Every person ever on the register, by key - 1; those on it when the
    /// ledger opened come first, then newcomers in order of registration.
    var people: [PersonState] = []
    /// Persons on the register when the ledger opened (migrated from the old register).
    let initialCount: Int
    /// Persons whose registration has been planned: `people[0..<registeredUpTo]`.
    var registeredUpTo = 0
    /// Persons registered at the moment (for the volume of contacts and rights cases).
    var onRegister = 0
    /// Birth date and serial of every ID number given, so that none repeats.
    var idNumbers = Set<Int64>()

    /// Events planned and not yet written.
    var pending: [PlannedEvent] = []
    var spare: [PlannedEvent] = []
    var serial: Int64 = 0

    /// The numbers given so far to cases, rights cases and projects, by year.
    var caseNumbers: [Int]
    var rightsNumbers: [Int]
    var projectNumbers: [Int]
    /// The year before `fromYear` minus a margin: index 0 of the numbers above.
    let numberingYear: Int
    var projects: [ProjectState] = []
    var volunteers: [VolunteerState] = []
    var volunteerCount = 0
    /// Working days of the first weeks of the first year, when the old
    /// register, projects and volunteers were imported.
    let migrationDays: [Int]

    var out: LineBuffer
    let dates: DateTexts
    /// Lines written so far.
    var written = 0
    /// Lines written per event type, by position in `EventType.allCases`.
    var typeCounts = [Int](repeating: 0, count: EventType.allCases.count)
    /// Digits of a person's key (`P000123`).
    let personKeyWidth: Int

    init(persons: Int, seed: UInt64, fromYear: Int, toYear: Int, units: DistrictUnits) {
        self.fromYear = fromYear
        self.toYear = toYear
        firstDay = SynthesisCalendar.day(fromYear, 1, 1)
        lastDay = SynthesisCalendar.day(toYear, 12, 31)
        lastInstant = SynthesisCalendar.startOfDay(lastDay + 1) - 1
        scale = Double(persons) / 33_000
        self.units = units
        words = DistrictWords()
        staff = DistrictStaff(units: units, persons: persons)
        random = SeededRandom(seed: seed, stream: 0x5355_4E4C_4544_4745)
        numberingYear = fromYear - 6
        let years = toYear - numberingYear + 2
        caseNumbers = [Int](repeating: 0, count: years)
        rightsNumbers = [Int](repeating: 0, count: years)
        projectNumbers = [Int](repeating: 0, count: years)
        personKeyWidth = max(6, String(persons).count)
        // New certificates each year come to about 4.5% of the register.
        let spanYears = Double(toYear - fromYear + 1)
        initialCount = min(persons, max(1, Int((Double(persons) / (1 + 0.045 * spanYears)).rounded())))
        var days: [Int] = []
        var day = SynthesisCalendar.workingDay(onOrAfter: firstDay + 3)
        while days.count < 15 {
            days.append(day)
            day = SynthesisCalendar.workingDay(1, after: day)
        }
        migrationDays = days
        out = LineBuffer(capacity: 1 << 20)
        dates = DateTexts(from: firstDay - 366 * 12, through: lastDay + 400)
        people.reserveCapacity(persons)
        for _ in 0..<initialCount { people.append(makePerson(registeredOn: nil)) }
        var newcomers: [Int] = []
        newcomers.reserveCapacity(persons - initialCount)
        for _ in initialCount..<persons { newcomers.append(random.between(firstDay, lastDay - 20)) }
        newcomers.sort()
        for day in newcomers { people.append(makePerson(registeredOn: day)) }
    }

    /// Frees the buffers.
    func release() {
        out.release()
        dates.release()
    }

    /// Runs the years month by month, handing the lines to `deliver`.
    mutating func run(_ deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        for year in fromYear...toYear {
            for month in 1...12 {
                let window = MonthWindow(year: year, month: month)
                if year == fromYear && month == 1 {
                    for index in 0..<initialCount { migrate(index) }
                    registeredUpTo = initialCount
                    migrateProjects()
                    migrateVolunteers()
                }
                if month == 1 {
                    planProjects(year)
                    planLegalEducation(year)
                }
                while registeredUpTo < people.count && Int(people[registeredUpTo].registered) <= window.last {
                    register(registeredUpTo)
                    registeredUpTo += 1
                }
                for index in 0..<registeredUpTo where Int(people[index].leave) >= window.first {
                    var person = people[index]
                    live(&person, key: index + 1, month: window)
                    people[index] = person
                }
                receiveContacts(window)
                openRightsCases(window)
                serveAsVolunteers(window)
                try write(recordedBefore: SynthesisCalendar.startOfDay(window.last + 1), deliver)
            }
        }
        try write(recordedBefore: .max, deliver)
        try out.drain(into: deliver)
    }

    /// Sorts and writes every planned event recorded before `limit`.
    ///
    /// `pending` is always in planning order (what is carried over keeps its
    /// order, new events are appended), so ordering by `recordedAt` alone, ties
    /// kept in place, is the order of `PlannedEvent.recordedBefore`. The sort
    /// runs on one word per event: the instant above the event's index.
    private mutating func write(
        recordedBefore limit: Int64, _ deliver: (UnsafeRawBufferPointer) throws -> Void
    )
        throws
    {
        let indexBits = 22
        var keys: [UInt64] = []
        keys.reserveCapacity(pending.count)
        spare.removeAll(keepingCapacity: true)
        var ready: [PlannedEvent] = []
        var latest: Int64 = 0
        for event in pending {
            if event.recordedAt < limit {
                ready.append(event)
                latest = max(latest, event.recordedAt)
            } else {
                spare.append(event)
            }
        }
        swap(&pending, &spare)
        if ready.count < 1 << indexBits && latest < 1 << (64 - indexBits) {
            for (index, event) in ready.enumerated() {
                keys.append(UInt64(event.recordedAt) << UInt64(indexBits) | UInt64(index))
            }
            keys.sort()
            for key in keys {
                writeLine(ready[Int(key & (1 << UInt64(indexBits) - 1))])
                if out.isNearlyFull { try out.drain(into: deliver) }
            }
        } else {
            ready.sort(by: PlannedEvent.recordedBefore)
            for event in ready {
                writeLine(event)
                if out.isNearlyFull { try out.drain(into: deliver) }
            }
        }
    }

    // MARK: planning events

    /// Plans one event. Events dated after the last day are dropped (the
    /// simulation sees past its end only to close what it opens).
    mutating func plan(
        _ type: EventType, key: Int, day: Int, recordedAt: Int64, actor: Int, orgUnit: Int, a: Int64 = 0, b: Int64 = 0
    ) {
        guard day <= lastDay else { return }
        serial += 1
        pending.append(
            PlannedEvent(
                recordedAt: recordedAt, serial: serial, key: Int64(key), a: a, b: b, occurredAt: Int32(day),
                actor: Int32(actor), type: UInt8(Catalogue.eventTypes.firstIndex(of: type)!), orgUnit: UInt8(orgUnit)))
    }

    /// `candidate`, moved after `dependency` when it is not already later, and
    /// kept within the last year: what would fall after its end is recorded on
    /// the event's own day, or in the last hours of the year.
    mutating func settle(_ candidate: Int64, day: Int, after dependency: Int64) -> Int64 {
        var instant = candidate
        if instant <= dependency { instant = dependency + Int64(random.between(1_000, 300_000)) }
        if instant > lastInstant {
            instant = max(SynthesisCalendar.instant(day, second: 30_600 + random.below(32_400)), dependency + 1_000)
            if instant > lastInstant {
                instant = max(dependency, lastInstant - Int64(random.below(21_600_000)))
            }
        }
        return instant
    }

    /// When a clerk entered something that happened on `day`: office hours of
    /// that day or a working day soon after; about 7% weeks or months late.
    /// `delay` days pass first (news that reaches the office late).
    mutating func clerkRecording(_ day: Int, delay: Int = 0, after dependency: Int64 = 0) -> Int64 {
        let start = day + delay
        let draw = random.below(1000)
        let entered: Int
        if draw < 520 {
            entered = SynthesisCalendar.workingDay(onOrAfter: start)
        } else if draw < 820 {
            entered = SynthesisCalendar.workingDay(random.between(1, 3), after: start)
        } else if draw < 930 {
            entered = SynthesisCalendar.workingDay(onOrAfter: start + random.between(4, 10))
        } else {
            entered = SynthesisCalendar.workingDay(onOrAfter: start + random.between(14, 120))
        }
        let instant =
            SynthesisCalendar.instant(entered, second: 30_600 + random.below(32_400)) + Int64(random.below(1000))
        return settle(instant, day: day, after: dependency)
    }

    /// When the health commission's nightly exchange delivered something of
    /// `day`: early the next morning, or weeks later when a batch was held back.
    mutating func exchangeRecording(_ day: Int, after dependency: Int64) -> Int64 {
        let delivered = random.chance(0.06) ? day + random.between(10, 60) : day + 1
        let instant =
            SynthesisCalendar.instant(delivered, second: 3_600 + random.below(7_200)) + Int64(random.below(1000))
        return settle(instant, day: day, after: dependency)
    }

    /// When the volunteer platform synchronised service of `day`: that
    /// evening, within a week, or (rarely) weeks later.
    mutating func platformRecording(_ day: Int, after dependency: Int64) -> Int64 {
        let draw = random.below(100)
        let synchronised = draw < 60 ? day : draw < 95 ? day + random.between(1, 7) : day + random.between(14, 60)
        let instant =
            SynthesisCalendar.instant(synchronised, second: 72_000 + random.below(12_600)) + Int64(random.below(1000))
        return settle(instant, day: day, after: dependency)
    }

    /// A clerk of `unit` (or of the district).
    mutating func clerk(_ unit: Int) -> Int {
        let range = staff.clerks[unit]
        return range.lowerBound + random.below(range.count)
    }

    /// A case worker of `unit`.
    mutating func worker(_ unit: Int) -> Int {
        let range = staff.workers[unit]
        return range.lowerBound + random.below(range.count)
    }

    /// The next number of a case, rights case or project of `year`.
    static func next(_ numbers: inout [Int], year: Int, from numberingYear: Int) -> Int {
        let index = min(max(0, year - numberingYear), numbers.count - 1)
        numbers[index] += 1
        return numbers[index]
    }

    /// A registered person who could be named on `day` by an event recorded at
    /// `instant`: one drawn at random, if their registration is dated by then
    /// and recorded before; nil otherwise.
    mutating func someRegisteredPerson(on day: Int, before instant: Int64) -> Int? {
        guard registeredUpTo > 0 else { return nil }
        let index = random.below(registeredUpTo)
        let person = people[index]
        guard Int(person.registered) <= day, day <= Int(person.leave), person.registrationRecordedAt < instant
        else { return nil }
        return index
    }
}

/// The weighted choices the simulation draws from, made once.
struct DistrictChoices {
    let category = Weighted<DisabilityCategory>([
        (.visual, 134), (.hearing, 119), (.speech, 8), (.physical, 566), (.intellectual, 64), (.mental, 78),
        (.multiple, 30),
    ])
    /// Grades by category: about a third of all are grade 1–2.
    let grades: [Weighted<Int>] = DisabilityCategory.allCases.map { category in
        let weights: [Int] =
            switch category {
            case .visual: [25, 15, 25, 35]
            case .hearing: [10, 15, 30, 45]
            case .speech: [10, 20, 35, 35]
            case .physical: [10, 18, 32, 40]
            case .intellectual: [15, 30, 35, 20]
            case .mental: [10, 35, 40, 15]
            case .multiple: [35, 35, 20, 10]
            }
        return Weighted(weights.enumerated().map { ($0.offset + 1, $0.element) })
    }
    /// Age bands (lowest, highest age) for the age of the persons on the register.
    let ageBands: [(Int, Int)] = [
        (1, 6), (7, 15), (16, 29), (30, 44), (45, 59), (60, 69), (70, 79), (80, 89), (90, 99),
    ]
    /// Ages of the register when the ledger opened: many older persons; the
    /// intellectually disabled younger, the mentally disabled middle-aged.
    let registerAges = Weighted<Int>([(0, 1), (1, 2), (2, 5), (3, 9), (4, 22), (5, 24), (6, 19), (7, 14), (8, 4)])
    let registerAgesIntellectual = Weighted<Int>([
        (0, 3), (1, 12), (2, 25), (3, 25), (4, 20), (5, 9), (6, 4), (7, 2),
    ])
    let registerAgesMental = Weighted<Int>([
        (0, 0), (1, 1), (2, 10), (3, 22), (4, 32), (5, 19), (6, 10), (7, 5), (8, 1),
    ])
    /// Ages at a new certificate: mostly older persons (strokes, sight and
    /// hearing loss), children for intellectual disability.
    let newcomerAges = Weighted<Int>([(0, 3), (1, 3), (2, 4), (3, 6), (4, 16), (5, 24), (6, 23), (7, 17), (8, 4)])
    let newcomerAgesIntellectual = Weighted<Int>([
        (0, 25), (1, 30), (2, 15), (3, 10), (4, 10), (5, 5), (6, 3), (7, 2),
    ])
    let newcomerAgesMental = Weighted<Int>([
        (1, 2), (2, 15), (3, 25), (4, 28), (5, 16), (6, 9), (7, 4), (8, 1),
    ])
    /// Work capacity by grade (working-age persons).
    let capacity: [Weighted<WorkCapacity>] = [
        Weighted([(.full, 3), (.partial, 32), (.none, 65)]),
        Weighted([(.full, 12), (.partial, 50), (.none, 38)]),
        Weighted([(.full, 45), (.partial, 45), (.none, 10)]),
        Weighted([(.full, 62), (.partial, 34), (.none, 4)]),
    ]
    /// Forms of employment: proportional placements (按比例就业) lead in
    /// Shanghai, then flexible work and concentrated (welfare) enterprises.
    let employmentForm = Weighted<EmploymentForm>([
        (.concentrated, 13), (.proportional, 30), (.selfEmployed, 8), (.flexible, 20), (.auxiliary, 9),
        (.publicWelfarePost, 13), (.agricultural, 7),
    ])
    /// Forms for intellectual and mental disability: auxiliary work (阳光工场) first.
    let employmentFormSheltered = Weighted<EmploymentForm>([
        (.concentrated, 15), (.proportional, 12), (.flexible, 8), (.auxiliary, 45), (.publicWelfarePost, 20),
    ])
    let employmentEnd = Weighted<EmploymentEndReason>([
        (.resigned, 34), (.dismissed, 6), (.contractEnded, 44), (.other, 16),
    ])
    /// Rehabilitation by category.
    let rehabKind: [Weighted<RehabServiceKind>] = DisabilityCategory.allCases.map { category in
        switch category {
        case .visual: Weighted([(.communityRehab, 60), (.other, 25), (.physicalTherapy, 15)])
        case .hearing: Weighted([(.speechTherapy, 55), (.communityRehab, 35), (.other, 10)])
        case .speech: Weighted([(.speechTherapy, 70), (.communityRehab, 20), (.cognitiveTraining, 10)])
        case .physical: Weighted([(.physicalTherapy, 60), (.communityRehab, 32), (.other, 8)])
        case .intellectual: Weighted([(.cognitiveTraining, 55), (.speechTherapy, 20), (.communityRehab, 25)])
        case .mental: Weighted([(.psychiatricSupport, 65), (.communityRehab, 25), (.cognitiveTraining, 10)])
        case .multiple: Weighted([(.physicalTherapy, 40), (.cognitiveTraining, 25), (.communityRehab, 35)])
        }
    }
    /// Devices by category.
    let deviceKind: [Weighted<DeviceKind>] = DisabilityCategory.allCases.map { category in
        switch category {
        case .visual: Weighted([(.visualAid, 65), (.dailyLivingAid, 25), (.other, 10)])
        case .hearing: Weighted([(.hearingAid, 85), (.dailyLivingAid, 5), (.other, 10)])
        case .speech: Weighted([(.other, 50), (.dailyLivingAid, 30), (.hearingAid, 20)])
        case .physical: Weighted([(.wheelchair, 40), (.prosthesisOrthosis, 22), (.dailyLivingAid, 33), (.other, 5)])
        case .intellectual: Weighted([(.dailyLivingAid, 60), (.other, 30), (.wheelchair, 10)])
        case .mental: Weighted([(.dailyLivingAid, 60), (.other, 40)])
        case .multiple: Weighted([(.wheelchair, 45), (.dailyLivingAid, 35), (.visualAid, 10), (.hearingAid, 10)])
        }
    }
    let caseOutcome = Weighted<CaseOutcome>([(.resolved, 76), (.referred, 15), (.withdrawn, 9)])
    let topic = Weighted<CallTopic>([
        (.policy, 30), (.employment, 14), (.rehab, 16), (.assistiveDevice, 12), (.complaint, 6), (.other, 22),
    ])
    let rightsKind = Weighted<RightsKind>([(.complaint, 50), (.legalAid, 35), (.petition, 15)])
    let rightsResolution = Weighted<RightsResolution>([
        (.resolved, 45), (.mediated, 28), (.referred, 17), (.rejected, 10),
    ])
    let projectCategory = Weighted<ProjectCategory>([
        (.lifeService, 32), (.rehab, 24), (.employment, 18), (.cultureSports, 16), (.other, 10),
    ])
    let volunteerLevel = Weighted<Int>([(5, 20), (10, 30), (15, 25), (20, 15), (30, 10)])
    let minutes = Weighted<Int>([
        (60, 10), (90, 10), (120, 25), (150, 10), (180, 20), (240, 15), (300, 5), (480, 5),
    ])
}

import LedgerDomain
import LedgerProjections
import LedgerValues
import PropertyBased
import Testing

// Randomised properties of the fold. Every draw comes from a PropertyBased
// xoshiro256** generator started at a fixed seed, so each seed is one history,
// the same on every run.

let foldSeeds: [UInt64] = [0xF01D_0001, 0xF01D_0002, 0xF01D_0003, 0xF01D_0004, 0xF01D_0005, 0xF01D_0006]

func generator(_ seed: UInt64) -> Xoshiro {
    Xoshiro(seed: (seed, 0x9E37_79B9_7F4A_7C15, seed ^ 0xD1B5_4A32_D192_ED03, 0x2545_F491_4F6C_DD1D))
}

/// A figure as plain numbers: `[value]` for a count, `[numerator, denominator]` for a rate.
private typealias Numbers = [Int64]

/// One KPI's figures as plain numbers, for comparing the fold with the replay.
private struct Observed: Equatable, CustomStringConvertible {
    var district: Numbers
    var byUnit: [String: Numbers] = [:]
    var breakdowns: [String: [String: Numbers]] = [:]
    var partyMember: Int64?

    var description: String {
        "\(district) byUnit \(byUnit) \(breakdowns) party \(partyMember.map(String.init) ?? "-")"
    }

    init(_ result: KPIResult) {
        func numbers(_ figure: Figure) -> Numbers {
            figure.denominator.map { [figure.numerator, $0] } ?? [figure.numerator]
        }
        district = numbers(result.district)
        byUnit = result.byUnit.mapValues(numbers)
        for breakdown in result.kpi.breakdowns {
            breakdowns[breakdown.rawValue] = result.breakdown(breakdown).mapValues(numbers)
        }
        partyMember = result.partyMember
    }

    init(rate: Bool) { district = rate ? [0, 0] : [0] }

    /// Adds `amount` to a count under `unit` and the given breakdown keys.
    mutating func count(_ amount: Int64, unit: String, _ keys: [(String, String)] = []) {
        guard amount != 0 else { return }
        district[0] += amount
        byUnit[unit, default: [0]][0] += amount
        for (breakdown, key) in keys { breakdowns[breakdown, default: [:]][key, default: [0]][0] += amount }
    }

    /// Adds one observation to a rate under `unit` and the given breakdown keys.
    mutating func observe(_ counted: Bool, unit: String, _ keys: [(String, String)] = []) {
        let add: Numbers = [counted ? 1 : 0, 1]
        district = zip(district, add).map(+)
        byUnit[unit] = zip(byUnit[unit] ?? [0, 0], add).map(+)
        for (breakdown, key) in keys {
            breakdowns[breakdown, default: [:]][key] = zip(breakdowns[breakdown]?[key] ?? [0, 0], add).map(+)
        }
    }
}

/// The figures of kpis.md computed the slow, literal way: every record kept,
/// each stream's effective history at D rebuilt by filtering and sorting, each
/// rule read off it. Nothing is shared with the fold but the payload types.
private func replay(_ events: [RecordedEvent], asOf d: LocalDate) -> [KPI: Observed] {
    let year = d.components.year
    let january = LocalDate(year: year, month: 1, day: 1)!
    func inWindow(_ day: LocalDate) -> Bool { day >= january && day <= d }
    var observed: [KPI: Observed] = [:]
    for kpi in KPI.allCases {
        var empty = Observed(rate: kpi.kind == .rate)
        for breakdown in kpi.breakdowns { empty.breakdowns[breakdown.rawValue] = [:] }
        if kpi == .volunteerMinutes { empty.partyMember = 0 }
        observed[kpi] = empty
    }
    let streams = Dictionary(grouping: events, by: \.stream)
    func effective(_ stream: String) -> [RecordedEvent] {
        (streams[stream] ?? []).filter { $0.occurredAt <= d }.sorted {
            ($0.occurredAt.dayNumber, $0.seq) < ($1.occurredAt.dayNumber, $1.seq)
        }
    }
    /// The birthday in `year`: the birth's month and day, or 1 March for 29 February in a common year.
    func birthday(_ birth: LocalDate, in year: Int) -> LocalDate {
        let (_, month, day) = birth.components
        return LocalDate(year: year, month: month, day: day) ?? LocalDate(year: year, month: 3, day: 1)!
    }

    for stream in streams.keys.sorted() {
        let history = effective(stream)
        if stream.hasPrefix("person-") {
            var registration: PersonRegistration?
            var deregistered = false
            var residence = ""
            var category = DisabilityCategory.visual
            var assessment: NeedsAssessment?
            var started: [String: LocalDate] = [:]
            var ended: Set<String> = []
            var doctor = false
            var care = false
            var smart: Int64 = 0
            var rehab = false
            var device = false
            var home = false
            var health = false
            for event in history {
                switch event.payload {
                case .personRegistered(let r):
                    registration = r
                    residence = r.residence
                    category = r.category
                case .personMoved(let m): residence = m.residence
                case .personReassessed(let r): category = r.category
                case .personDeregistered: deregistered = true
                case .needsAssessed(let a): assessment = a
                case .employmentStarted(let s): started[s.employmentID] = event.occurredAt
                case .employmentEnded(let e): ended.insert(e.employmentID)
                case .familyDoctorContracted: doctor = true
                case .familyDoctorContractEnded: doctor = false
                case .careEnrolled: care = true
                case .careEnded: care = false
                case .trainingCompleted(let t):
                    if t.programme == .smartSkills && inWindow(event.occurredAt) { smart += 1 }
                case .rehabServiceDelivered: rehab = rehab || inWindow(event.occurredAt)
                case .assistiveDeviceFitted: device = device || inWindow(event.occurredAt)
                case .homeModificationCompleted: home = home || inWindow(event.occurredAt)
                case .healthCheckCompleted: health = health || inWindow(event.occurredAt)
                default: break
                }
            }
            guard let registration, !deregistered else { continue }
            let age = year - registration.birthDate.year - (birthday(registration.birthDate, in: year) > d ? 1 : 0)
            let byCategory = [("byCategory", category.rawValue)]
            observed[.registeredPersons]!.count(1, unit: residence, byCategory)
            let capable = assessment.map { $0.workCapacity != .none && !$0.inEducation } ?? true
            if age >= 16 && age <= 59 && capable {
                let employed = started.keys.contains { !ended.contains($0) }
                observed[.employmentRate]!.observe(employed, unit: residence, byCategory)
            }
            if started.values.contains(where: inWindow) { observed[.newEmployment]!.count(1, unit: residence) }
            if assessment?.needs.contains(.rehab) == true { observed[.rehabCoverage]!.observe(rehab, unit: residence) }
            if assessment?.needs.contains(.assistiveDevice) == true {
                observed[.assistiveDeviceRate]!.observe(device, unit: residence)
            }
            if home { observed[.homeModifications]!.count(1, unit: residence) }
            observed[.healthCheckRate]!.observe(health, unit: residence)
            observed[.familyDoctorRate]!.observe(doctor, unit: residence)
            if category == .mental && age >= 60 { observed[.elderlyMentalCareRate]!.observe(care, unit: residence) }
            observed[.smartTraining]!.count(smart, unit: residence)
        } else if stream.hasPrefix("case-") {
            guard case .caseOpened(let opening)? = history.first?.payload,
                !history.contains(where: { if case .caseClosed = $0.payload { true } else { false } })
            else { continue }
            var unit = history.first!.orgUnit
            var worker = opening.worker
            for event in history {
                if case .caseReassigned(let r) = event.payload {
                    unit = r.unit
                    worker = r.worker
                }
            }
            observed[.openCases]!.count(
                1, unit: unit, [("byServiceType", opening.serviceType.rawValue), ("byWorker", worker)])
        } else if stream.hasPrefix("call-") {
            guard case .callReceived(let receipt)? = history.first?.payload, inWindow(history.first!.occurredAt) else {
                continue
            }
            let received = history.first!
            let resolution = history.first { if case .callResolved = $0.payload { true } else { false } }
            let inTime = resolution.map { received.occurredAt.days(until: $0.occurredAt) <= 3 } ?? false
            observed[.callResolutionRate]!.observe(inTime, unit: received.orgUnit)
            if case .callResolved(let r)? = resolution?.payload {
                observed[.callSatisfaction]!.observe(r.satisfied, unit: received.orgUnit)
            }
            observed[.onlineShare]!.observe(
                [.online, .oneNetwork, .policyAssistant].contains(receipt.channel), unit: received.orgUnit)
        } else if stream.hasPrefix("project-") {
            guard case .projectLaunched? = history.first?.payload else { continue }
            let unit = history.first!.orgUnit
            if !history.contains(where: { if case .projectEliminated = $0.payload { true } else { false } }) {
                observed[.activeProjects]!.count(1, unit: unit)
                let evaluated = history.contains {
                    if case .projectEvaluated(let e) = $0.payload { e.year == Int64(year) } else { false }
                }
                observed[.projectEvaluationCoverage]!.observe(evaluated, unit: unit)
            }
            for event in history where inWindow(event.occurredAt) {
                if case .projectAdopted(let a) = event.payload {
                    observed[.corporateAdoptionYuan]!.count(a.amountYuan, unit: event.orgUnit)
                }
            }
        } else if stream.hasPrefix("volunteer-") {
            guard case .volunteerRegistered(let v)? = streams[stream]!.first?.payload else { continue }
            for event in history where inWindow(event.occurredAt) {
                if case .volunteerServiceLogged(let s) = event.payload {
                    observed[.volunteerMinutes]!.count(
                        s.minutes, unit: event.orgUnit, [("byAlliance", v.alliance.rawValue)])
                    if v.partyMember { observed[.volunteerMinutes]!.partyMember! += s.minutes }
                }
            }
        } else if stream.hasPrefix("rights-") {
            guard case .rightsCaseOpened? = history.first?.payload, inWindow(history.first!.occurredAt) else {
                continue
            }
            let opened = history.first!
            let closedInTime = history.contains {
                if case .rightsCaseClosed = $0.payload {
                    opened.occurredAt.days(until: $0.occurredAt) <= 15
                } else {
                    false
                }
            }
            observed[.rightsClosureRate]!.observe(closedInTime, unit: opened.orgUnit)
        } else if stream.hasPrefix("org-") {
            for event in history where inWindow(event.occurredAt) {
                if case .legalEducationHeld(let l) = event.payload {
                    observed[.legalEducationAttendees]!.count(l.attendees, unit: event.orgUnit)
                }
            }
        }
    }
    return observed
}

/// A random history obeying what the ledger guarantees the fold (openers first,
/// nothing dated before its opener, closers once and not before their stream's
/// events, nothing dated after a stored closer, employments ended once after
/// they start), with late reports, same-day events and leap-day birthdays.
func randomHistory(events count: Int, using random: inout Xoshiro) -> [RecordedEvent] {
    struct Stream {
        let opened: LocalDate
        var latest: LocalDate
        var closed: LocalDate?
        var openJobs: [(id: String, start: LocalDate)] = []
        var jobs = 0
    }
    var ledger = TestLedger()
    var streams: [String: Stream] = [:]
    var today = LocalDate(year: 2023, month: 10, day: 1)!
    let units = ["anting", "malu", "jiading", "xuhang"]
    func pick<T>(_ items: [T], _ random: inout Xoshiro) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    func date(_ stream: Stream, _ random: inout Xoshiro) -> LocalDate {
        var day = today.adding(days: -Int.random(in: 0...(Bool.random(using: &random) ? 0 : 90), using: &random))
        day = max(day, stream.opened)
        if let closed = stream.closed { day = min(day, closed) }
        return day
    }
    func add(_ stream: String, _ day: LocalDate, _ payload: Payload, _ unit: String, closes: Bool = false) {
        ledger.add(stream, day.description, payload, unit: unit)
        if var known = streams[stream] {
            known.latest = max(known.latest, day)
            if closes { known.closed = day }
            streams[stream] = known
        } else {
            streams[stream] = Stream(opened: day, latest: day)
        }
    }
    func existing(_ kind: String, open: Bool) -> [String] {
        streams.keys.filter { $0.hasPrefix(kind) && (!open || streams[$0]!.closed == nil) }.sorted()
    }
    while ledger.events.count < count {
        if Int.random(in: 0..<3, using: &random) == 0 {
            today = today.adding(days: Int.random(in: 1...12, using: &random))
        }
        let unit = pick(units, &random)
        let n = ledger.events.count
        let persons = existing("person-", open: false)
        switch persons.isEmpty ? 0 : Int.random(in: 0..<20, using: &random) {
        case 0, 1:
            let birth =
                Int.random(in: 0..<6, using: &random) == 0
                ? LocalDate(year: pick([1964, 1968, 2008], &random), month: 2, day: 29)!
                : LocalDate(
                    year: Int.random(in: 1955...2012, using: &random), month: Int.random(in: 1...12, using: &random),
                    day: Int.random(in: 1...28, using: &random))!
            let registration = PersonRegistration(
                sex: .male, birthDate: birth, category: pick(DisabilityCategory.allCases, &random), grade: .two,
                residence: unit)
            add(
                "person-P\(n)", today.adding(days: -Int.random(in: 0...400, using: &random)),
                .personRegistered(registration), unit)
        case 2...11:
            let key = pick(persons, &random)
            var stream = streams[key]!
            let day = date(stream, &random)
            switch Int.random(in: 0..<18, using: &random) {
            case 0: add(key, day, .personMoved(Move(residence: unit)), unit)
            case 1:
                add(
                    key, day,
                    .personReassessed(Reassessment(category: pick([.mental, .physical], &random), grade: .one)), unit)
            case 2:
                let needs = Need.allCases.filter { _ in Bool.random(using: &random) }
                let assessment = NeedsAssessment(
                    workCapacity: pick(WorkCapacity.allCases, &random),
                    inEducation: Int.random(in: 0..<4, using: &random) == 0,
                    needs: needs)
                add(key, day, .needsAssessed(assessment), unit)
            case 3:
                let programme = pick(TrainingProgramme.allCases, &random)
                add(key, day, .trainingCompleted(Training(programme: programme, hours: 3)), unit)
            case 4: add(key, day, .rehabServiceDelivered(RehabService(serviceKind: .other)), unit)
            case 5: add(key, day, .assistiveDeviceFitted(DeviceFitting(deviceKind: .other)), unit)
            case 6: add(key, day, .homeModificationCompleted(HomeModification(programme: .other, costYuan: 1)), unit)
            case 7: add(key, day, .healthCheckCompleted, unit)
            case 8: add(key, day, .familyDoctorContracted, unit)
            case 9: add(key, day, .familyDoctorContractEnded, unit)
            case 10: add(key, day, .careEnrolled(CareEnrolment(facility: "f")), unit)
            case 11: add(key, day, .careEnded, unit)
            case 12, 13:
                stream.jobs += 1
                stream.openJobs.append(("j\(stream.jobs)", day))
                streams[key] = stream
                add(
                    key, day,
                    .employmentStarted(
                        EmploymentStart(employmentID: "j\(stream.jobs)", form: .flexible, employer: "e")), unit)
            case 14, 15:
                guard !stream.openJobs.isEmpty else { continue }
                let job = stream.openJobs.removeFirst()
                let end = max(day, job.start)
                if let closed = stream.closed, end > closed { continue }
                streams[key] = stream
                add(key, end, .employmentEnded(EmploymentEnd(employmentID: job.id, reason: .other)), unit)
            case 16: add(key, day, .personPiiErased(Erasure(reason: "r")), unit)
            default:
                guard stream.closed == nil else { continue }
                add(
                    key, max(stream.latest, day), .personDeregistered(Deregistration(reason: .deceased)), unit,
                    closes: true)
            }
        case 12, 13:
            if let key = existing("case-", open: true).first(where: { _ in Bool.random(using: &random) }) {
                let stream = streams[key]!
                if Bool.random(using: &random) {
                    add(
                        key, date(stream, &random),
                        .caseReassigned(CaseReassignment(worker: pick(["w1", "w2", "w3"], &random), unit: unit)), unit)
                } else {
                    add(
                        key, max(stream.latest, date(stream, &random)), .caseClosed(CaseClosing(outcome: .resolved)),
                        unit, closes: true)
                }
            } else {
                let opening = CaseOpening(
                    personID: "P", serviceType: pick(CaseServiceType.allCases, &random),
                    worker: pick(["w1", "w2"], &random))
                add(
                    "case-K\(n)", today.adding(days: -Int.random(in: 0...30, using: &random)), .caseOpened(opening),
                    unit)
            }
        case 14:
            if let key = existing("call-", open: true).first(where: { _ in Bool.random(using: &random) }) {
                let stream = streams[key]!
                let end = max(
                    stream.latest, min(today, stream.opened.adding(days: Int.random(in: 0...6, using: &random))))
                add(key, end, .callResolved(CallResolution(satisfied: Bool.random(using: &random))), unit, closes: true)
            } else {
                let receipt = CallReceipt(topic: .other, channel: pick(CallChannel.allCases, &random))
                add(
                    "call-C\(n)", today.adding(days: -Int.random(in: 0...3, using: &random)), .callReceived(receipt),
                    unit)
            }
        case 15:
            if let key = existing("rights-", open: true).first(where: { _ in Bool.random(using: &random) }) {
                let stream = streams[key]!
                let end = max(
                    stream.latest, min(today, stream.opened.adding(days: Int.random(in: 12...18, using: &random))))
                add(key, end, .rightsCaseClosed(RightsCaseClosing(resolution: .resolved)), unit, closes: true)
            } else {
                add("rights-R\(n)", today, .rightsCaseOpened(RightsCaseOpening(kind: .complaint)), unit)
            }
        case 16, 17:
            if let key = existing("project-", open: true).first(where: { _ in Bool.random(using: &random) }) {
                let stream = streams[key]!
                let day = date(stream, &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0, 1:
                    let year = Int64(day.year - Int.random(in: 0...1, using: &random))
                    add(key, day, .projectEvaluated(ProjectEvaluation(year: year, score: 50)), unit)
                case 2, 3:
                    add(
                        key, day,
                        .projectAdopted(Adoption(company: "c", amountYuan: Int64.random(in: 1...5000, using: &random))),
                        unit)
                default:
                    add(
                        key, max(stream.latest, day), .projectEliminated(ProjectElimination(reason: "r")), unit,
                        closes: true)
                }
            } else {
                let launch = ProjectLaunch(title: "t", operator: "o", category: .other, budgetYuan: 1)
                add(
                    "project-J\(n)", today.adding(days: -Int.random(in: 0...60, using: &random)),
                    .projectLaunched(launch), unit)
            }
        case 18:
            if let key = existing("volunteer-", open: false).first(where: { _ in Bool.random(using: &random) }) {
                let minutes = Int64.random(in: 1...600, using: &random)
                add(
                    key, date(streams[key]!, &random),
                    .volunteerServiceLogged(VolunteerService(minutes: minutes, activity: "a")), unit)
            } else {
                let registration = VolunteerRegistration(
                    partyMember: Bool.random(using: &random), alliance: pick(Alliance.allCases, &random))
                add(
                    "volunteer-V\(n)", today.adding(days: -Int.random(in: 0...60, using: &random)),
                    .volunteerRegistered(registration), unit)
            }
        default:
            let day = today.adding(days: -Int.random(in: 0...120, using: &random))
            add(
                "org-\(unit)", day,
                .legalEducationHeld(LegalEducation(attendees: Int64.random(in: 1...90, using: &random), topic: "t")),
                unit)
        }
    }
    return ledger.events
}

/// As-of dates around a history: year ends, 29 February, random days in and around it.
func asOfDays(for events: [RecordedEvent], using random: inout Xoshiro) -> [LocalDate] {
    let first = events.map(\.occurredAt).min()!
    let last = events.map(\.occurredAt).max()!
    var days = [
        first.adding(days: -1), last, LocalDate(year: 2024, month: 2, day: 29)!,
        LocalDate(year: 2024, month: 12, day: 31)!,
    ]
    for _ in 0..<4 { days.append(first.adding(days: Int.random(in: 0...first.days(until: last) + 30, using: &random))) }
    return days
}

@Suite("properties of the fold (fixed seeds)")
struct FoldPropertyTests {
    @Test(
        "the compact fold gives, for any prefix N and date D, the figures of a literal replay of every stream's effective history",
        arguments: foldSeeds)
    func foldEqualsReplay(seed: UInt64) {
        var random = generator(seed)
        let events = randomHistory(events: 600, using: &random)
        var prefixes: Set<Int> = [events.count]
        while prefixes.count < 5 { prefixes.insert(Int.random(in: 1...events.count, using: &random)) }
        let days = asOfDays(for: events, using: &random)
        for n in prefixes.sorted() {
            let prefix = Array(events.prefix(n))
            let projection = KPIProjection(prefix)
            for d in days {
                let figures = projection.figures(asOf: d)
                #expect(figures.throughSeq == Int64(n))
                let expected = replay(prefix, asOf: d)
                for kpi in KPI.allCases {
                    let actual = Observed(figures[kpi])
                    #expect(
                        actual == expected[kpi]!,
                        "seed \(seed), N \(n), D \(d), \(kpi.rawValue):\nfold   \(actual)\nreplay \(expected[kpi]!)")
                }
            }
        }
    }

    @Test(
        "folding a batch, each stream's lookup asked for ahead, is folding its events one by one; `after` sees each in turn"
    )
    func batchFoldEqualsEventFold() {
        for seed in foldSeeds {
            var random = generator(seed)
            let events = randomHistory(events: 600, using: &random)
            var batch = KPIProjection()
            var seen: [Int64] = []
            // Batches of every size around the lookahead, and one of all the rest.
            var start = 0
            for size in [1, 2, 3, 4, 5, 6, 7, 12, 13, 40, events.count] where start < events.count {
                let end = min(start + size, events.count)
                events[start..<end].withUnsafeBufferPointer { slice in
                    batch.apply(slice) { fold in seen.append(fold.throughSeq) }
                }
                start = end
            }
            let one = KPIProjection(events)
            #expect(seen == events.map(\.seq), "seed \(seed)")
            #expect(batch.snapshot() == one.snapshot(), "seed \(seed)")
            for d in asOfDays(for: events, using: &random) {
                #expect(batch.figures(asOf: d) == one.figures(asOf: d), "seed \(seed), D \(d)")
            }
        }
    }

    @Test(
        "the figures do not depend on how the streams' events interleave, only on each stream's own order",
        arguments: foldSeeds)
    func interleavingDoesNotMatter(seed: UInt64) {
        var random = generator(seed)
        let events = randomHistory(events: 400, using: &random)
        // Another interleaving: take each next event from a random stream, keeping each stream's order.
        var queues = Dictionary(grouping: events, by: \.stream)
        var keys = queues.keys.sorted()
        var shuffled: [RecordedEvent] = []
        while !keys.isEmpty {
            let position = Int.random(in: 0..<keys.count, using: &random)
            let event = queues[keys[position]]!.removeFirst()
            shuffled.append(
                RecordedEvent(
                    seq: Int64(shuffled.count + 1), stream: event.stream, occurredAt: event.occurredAt,
                    recordedAt: event.recordedAt, orgUnit: event.orgUnit, payload: event.payload))
            if queues[keys[position]]!.isEmpty { keys.remove(at: position) }
        }
        let original = KPIProjection(events)
        let reordered = KPIProjection(shuffled)
        for d in asOfDays(for: events, using: &random) {
            #expect(original.figures(asOf: d) == reordered.figures(asOf: d), "seed \(seed), D \(d)")
            #expect(original.caseload(asOf: d) == reordered.caseload(asOf: d), "seed \(seed), D \(d)")
        }
    }

    @Test("the histories reach the rules: leap-day births, late reports, closers, employments ended, every stream kind")
    func historiesAreRich() {
        var kinds: Set<String> = []
        var lateReports = 0
        var leapBirths = 0
        for seed in foldSeeds {
            var random = generator(seed)
            let events = randomHistory(events: 600, using: &random)
            var latest: [String: LocalDate] = [:]
            for event in events {
                kinds.insert(String(event.stream.prefix { $0 != "-" }))
                if let previous = latest[event.stream], event.occurredAt < previous { lateReports += 1 }
                latest[event.stream] = max(latest[event.stream] ?? event.occurredAt, event.occurredAt)
                if case .personRegistered(let r) = event.payload, r.birthDate.components.month == 2,
                    r.birthDate.components.day == 29
                {
                    leapBirths += 1
                }
            }
        }
        #expect(kinds == ["person", "case", "call", "project", "volunteer", "rights", "org"])
        #expect(lateReports > 100)
        #expect(leapBirths > 5)
    }
}

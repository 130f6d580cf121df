import LedgerDomain
import LedgerValues

/// One figure: a count's value, or a rate's numerator and denominator.
public struct Figure: Equatable, Sendable {
    /// A count's value, or a rate's numerator.
    public private(set) var numerator: Int64
    /// A rate's denominator; nil for a count.
    public private(set) var denominator: Int64?

    /// A count.
    public static func count(_ value: Int64) -> Figure { Figure(numerator: value, denominator: nil) }
    /// A rate.
    public static func rate(_ numerator: Int64, of denominator: Int64) -> Figure {
        Figure(numerator: numerator, denominator: denominator)
    }

    /// The value: a count's value; a rate's numerator ÷ denominator at full
    /// precision, or nil when the denominator is 0.
    public var value: Double? {
        guard let denominator else { return Double(numerator) }
        return denominator == 0 ? nil : Double(numerator) / Double(denominator)
    }

    /// A rate as a percentage with one decimal (`38.5%`), rounded half up on
    /// the exact quotient: 1/16 reads 6.3%, where rounding its binary value
    /// gives 6.2%. Nil for a count, or a rate whose denominator is 0.
    public var percentage: String? { percentage(decimals: 1) }

    /// A rate as a percentage with `decimals` decimals (1–6), rounded half up
    /// on the exact quotient. Nil for a count, or a rate whose denominator is 0.
    public func percentage(decimals: Int) -> String? {
        precondition((1...6).contains(decimals), "one to six decimals")
        guard let denominator, denominator > 0, numerator >= 0 else { return nil }
        // In units of 10^-decimals percent: ⌊s·n/d + ½⌋ = ⌊(2s·n + d) / 2d⌋, s = 10^(decimals+2).
        var scale: Int64 = 100
        for _ in 0..<decimals { scale *= 10 }
        let units = (2 * scale * numerator + denominator) / (2 * denominator)
        let fraction = String(units % (scale / 100))
        let padding = String(repeating: "0", count: decimals - fraction.count)
        return "\(units / (scale / 100)).\(padding)\(fraction)%"
    }

    /// Whether every part is zero (such a key is left out of a breakdown).
    public var isZero: Bool { numerator == 0 && (denominator ?? 0) == 0 }

    mutating func add(_ numerator: Int64, _ denominator: Int64) {
        self.numerator += numerator
        if self.denominator != nil { self.denominator! += denominator }
    }
}

/// One KPI's figures at an as-of date: the district's, each unit's, and its other breakdowns.
public struct KPIResult: Equatable, Sendable {
    /// The KPI.
    public let kpi: KPI
    /// The district's figure.
    public private(set) var district: Figure
    /// The figure of each unit (by the KPI's unit basis); keys with all-zero figures are left out.
    public private(set) var byUnit: [String: Figure] = [:]
    /// The KPI's other breakdowns (`KPI.breakdowns`); keys with all-zero figures are left out.
    public private(set) var breakdowns: [KPI.Breakdown: [String: Figure]] = [:]
    /// For `volunteer_minutes`: the minutes of volunteers who are party members.
    public private(set) var partyMember: Int64?

    init(_ kpi: KPI) {
        self.kpi = kpi
        district = kpi.kind == .count ? .count(0) : .rate(0, of: 0)
        for breakdown in kpi.breakdowns { breakdowns[breakdown] = [:] }
        if kpi == .volunteerMinutes { partyMember = 0 }
    }

    private var zero: Figure { kpi.kind == .count ? .count(0) : .rate(0, of: 0) }

    /// Figures gathered by unit number (`KPIProjection.units`) while a pass
    /// runs, and moved into `byUnit` by `settled(units:)`: adding under a
    /// number is an array index, where adding under a name hashes the name.
    private var byUnitNumber: [Figure?] = []

    /// Adds `amount` to a count, in the district and under the unit numbered `unit`.
    mutating func count(_ amount: Int64, unitNumber unit: UInt32) {
        guard amount != 0 else { return }
        district.add(amount, 0)
        add(amount, 0, unit: unit)
    }

    /// Adds one to a rate's denominator, and to its numerator when `counted`,
    /// in the district and under the unit numbered `unit`.
    mutating func observe(_ counted: Bool, unitNumber unit: UInt32) {
        district.add(counted ? 1 : 0, 1)
        add(counted ? 1 : 0, 1, unit: unit)
    }

    private mutating func add(_ numerator: Int64, _ denominator: Int64, unit: UInt32) {
        let index = Int(unit)
        if index >= byUnitNumber.count {
            byUnitNumber.append(contentsOf: repeatElement(nil, count: index + 1 - byUnitNumber.count))
        }
        if byUnitNumber[index] == nil { byUnitNumber[index] = zero }
        byUnitNumber[index]!.add(numerator, denominator)
    }

    /// Adds `other`'s figures, of the same KPI, to these.
    mutating func merge(_ other: KPIResult) {
        precondition(other.kpi == kpi, "figures of one KPI are merged")
        let zero = zero
        district.add(other.district.numerator, other.district.denominator ?? 0)
        for (number, figure) in other.byUnitNumber.enumerated() {
            if let figure { add(figure.numerator, figure.denominator ?? 0, unit: UInt32(number)) }
        }
        for (unit, figure) in other.byUnit {
            byUnit[unit, default: zero].add(figure.numerator, figure.denominator ?? 0)
        }
        for (breakdown, figures) in other.breakdowns {
            for (key, figure) in figures {
                breakdowns[breakdown, default: [:]][key, default: zero].add(figure.numerator, figure.denominator ?? 0)
            }
        }
        if let minutes = other.partyMember { partyMember = (partyMember ?? 0) + minutes }
    }

    /// This result with the figures gathered by unit number moved into `byUnit`, under the units' names.
    func settled(units: Names) -> KPIResult {
        var settled = self
        settled.byUnitNumber = []
        let zero = zero
        for (number, figure) in byUnitNumber.enumerated() {
            guard let figure else { continue }
            settled.byUnit[units[UInt32(number)], default: zero].add(figure.numerator, figure.denominator ?? 0)
        }
        return settled
    }

    /// Adds `amount` to a count, in the district and under `unit`.
    mutating func count(_ amount: Int64, unit: String) {
        guard amount != 0 else { return }
        let zero = zero
        district.add(amount, 0)
        byUnit[unit, default: zero].add(amount, 0)
    }

    /// Adds to `breakdown` under `key`: `amount` to a count, or one observation to a rate.
    mutating func add(_ amount: Int64, counted: Bool = false, to breakdown: KPI.Breakdown, key: String) {
        let zero = zero
        if kpi.kind == .count {
            guard amount != 0 else { return }
            breakdowns[breakdown]![key, default: zero].add(amount, 0)
        } else {
            breakdowns[breakdown]![key, default: zero].add(counted ? 1 : 0, 1)
        }
    }

    mutating func addPartyMemberMinutes(_ minutes: Int64) { partyMember! += minutes }

    /// The breakdown `breakdown`, or an empty one.
    public func breakdown(_ breakdown: KPI.Breakdown) -> [String: Figure] { breakdowns[breakdown] ?? [:] }
}

/// Every KPI's figures at one as-of date, from a fold through one seq.
public struct KPIFigures: Equatable, Sendable {
    /// The as-of date D.
    public let asOf: LocalDate
    /// The last seq taken into account.
    public let throughSeq: Int64
    /// One result per KPI, in `KPI`'s order.
    public let results: [KPIResult]

    /// The result of `kpi`.
    public subscript(kpi: KPI) -> KPIResult { results[KPI.allCases.firstIndex(of: kpi)!] }
}

extension KPIProjection {
    /// The figures of every KPI of kpis.md as of `day` (D), from everything folded so far.
    ///
    /// One pass over the streams: O(streams + days with sums), each stream's facts
    /// read in time proportional to their (small) number.
    public func figures(asOf day: LocalDate) -> KPIFigures {
        // Reading the persons' facts is most of the work, and mostly waiting for
        // memory: half of them are read on another core meanwhile.
        let fold = self
        let middle = persons.count / 2
        let firstHalf = Background { fold.personFigures(asOf: day, of: 0..<middle) }
        var personResults = personFigures(asOf: day, of: middle..<persons.count)
        let rest = streamAndSumFigures(asOf: day)
        for (index, result) in firstHalf.value().enumerated() { personResults[index].merge(result) }
        let results = (personResults + rest).map { $0.settled(units: units) }
        assert(results.map(\.kpi) == KPI.allCases)
        return KPIFigures(asOf: day, throughSeq: throughSeq, results: results)
    }

    /// The figures counted over the persons at `places`, in `KPI`'s order (the first ten KPIs).
    private func personFigures(asOf day: LocalDate, of places: Range<Int>) -> [KPIResult] {
        let window = YearWindow(asOf: day)
        let (year, month, date) = day.components
        let today = (year: year, monthDay: month * 100 + date)

        var registered = KPIResult(.registeredPersons)
        var employment = KPIResult(.employmentRate)
        var newEmployment = KPIResult(.newEmployment)
        var rehab = KPIResult(.rehabCoverage)
        var devices = KPIResult(.assistiveDeviceRate)
        var homeModifications = KPIResult(.homeModifications)
        var healthChecks = KPIResult(.healthCheckRate)
        var familyDoctor = KPIResult(.familyDoctorRate)
        var elderlyCare = KPIResult(.elderlyMentalCareRate)
        var smartTraining = KPIResult(.smartTraining)

        persons.forEach(in: places) { _, person in
            guard person.isRegistered(on: day) else { return }
            let facts = person.asOf(day, window: window)
            // Both timelines start at the registration, which is on or before `day`.
            let unit = facts.residence!
            let category = facts.category!
            let age = person.birth.age(on: today)
            let assessment = facts.assessment

            registered.count(1, unitNumber: unit)
            registered.add(1, to: .byCategory, key: category.rawValue)

            if (16...59).contains(age) && (assessment?.canWork ?? true) {
                let employed = person.employments.contains { $0.covers(day) }
                employment.observe(employed, unitNumber: unit)
                employment.add(0, counted: employed, to: .byCategory, key: category.rawValue)
            }
            if person.employments.contains(where: { window.contains($0.start) }) {
                newEmployment.count(1, unitNumber: unit)
            }
            if assessment?.needsRehab == true { rehab.observe(facts[.rehab] > 0, unitNumber: unit) }
            if assessment?.needsDevice == true { devices.observe(facts[.device] > 0, unitNumber: unit) }
            if facts[.homeModification] > 0 { homeModifications.count(1, unitNumber: unit) }
            healthChecks.observe(facts[.healthCheck] > 0, unitNumber: unit)
            familyDoctor.observe(facts.familyDoctor, unitNumber: unit)
            if category == .mental && age >= 60 {
                elderlyCare.observe(facts.care, unitNumber: unit)
            }
            smartTraining.count(Int64(facts[.smartTraining]), unitNumber: unit)
        }
        return [
            registered, employment, newEmployment, rehab, devices, homeModifications, healthChecks, familyDoctor,
            elderlyCare, smartTraining,
        ]
    }

    /// The figures of the cases, calls, projects, sums and rights cases, in
    /// `KPI`'s order (the KPIs after the persons' ten).
    private func streamAndSumFigures(asOf day: LocalDate) -> [KPIResult] {
        let window = YearWindow(asOf: day)
        let year = day.components.year

        var openCases = KPIResult(.openCases)
        let caseload = caseload(asOf: day)
        for (unit, figures) in caseload.byUnit { openCases.count(figures.openCases, unit: unit) }
        for (type, count) in caseload.byServiceType { openCases.add(count, to: .byServiceType, key: type) }
        for (worker, count) in caseload.byWorker { openCases.add(count, to: .byWorker, key: worker) }

        var resolution = KPIResult(.callResolutionRate)
        var satisfaction = KPIResult(.callSatisfaction)
        var online = KPIResult(.onlineShare)
        for call in calls.values where window.contains(call.received) {
            let resolved = call.resolved.flatMap { $0 <= day ? $0 : nil }
            resolution.observe(resolved.map { call.received.days(until: $0) <= 3 } ?? false, unitNumber: call.unit)
            if resolved != nil { satisfaction.observe(call.satisfied, unitNumber: call.unit) }
            online.observe(call.online, unitNumber: call.unit)
        }

        var activeProjects = KPIResult(.activeProjects)
        var evaluated = KPIResult(.projectEvaluationCoverage)
        for project in projects.values where project.isActive(on: day) {
            activeProjects.count(1, unitNumber: project.unit)
            evaluated.observe(project.isEvaluated(year: Int64(year), by: day), unitNumber: project.unit)
        }

        var adoption = KPIResult(.corporateAdoptionYuan)
        for (key, amount) in adoptions where window.contains(key.day) { adoption.count(amount, unitNumber: key.unit) }

        var minutes = KPIResult(.volunteerMinutes)
        for (key, logged) in volunteerMinutes where window.contains(key.day) {
            minutes.count(logged, unitNumber: key.unit)
            minutes.add(logged, to: .byAlliance, key: key.alliance.rawValue)
            if key.partyMember { minutes.addPartyMemberMinutes(logged) }
        }

        var closure = KPIResult(.rightsClosureRate)
        for rightsCase in rights.values where window.contains(rightsCase.opened) {
            let closedInTime = rightsCase.closed.map { $0 <= day && rightsCase.opened.days(until: $0) <= 15 } ?? false
            closure.observe(closedInTime, unitNumber: rightsCase.unit)
        }

        var attendees = KPIResult(.legalEducationAttendees)
        for (key, count) in legalEducation where window.contains(key.day) {
            attendees.count(count, unitNumber: key.unit)
        }
        return [
            openCases, resolution, satisfaction, online, activeProjects, evaluated, adoption, minutes, closure,
            attendees,
        ]
    }
}

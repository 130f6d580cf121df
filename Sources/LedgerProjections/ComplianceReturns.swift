import LedgerDomain
import LedgerValues

/// The names a return prints beside its codes: the units' (from
/// `seeds/units.json`) and the enumerations' (from `seeds/enumerations.json`).
public struct ReturnLabels: Sendable {
    /// The district's code and names.
    public let district: (code: String, label: Label)
    /// The twelve units' codes and names, in the seed file's order.
    public let units: [(code: String, label: Label)]
    /// The enumerations' names.
    public let vocabulary: Vocabulary

    /// Labels from the seed data: `units` lists the district first, then its units.
    public init(units: [(code: String, label: Label)], vocabulary: Vocabulary) {
        precondition(!units.isEmpty, "the seed data names the district first")
        district = units[0]
        self.units = Array(units.dropFirst())
        self.vocabulary = vocabulary
    }
}

/// The federation's year-end statistical returns for year Y (统计年报): one
/// table per subject, each a fixed grid of rows (every unit and code, zeros
/// included, and `all` totals), computed from what the ledger knew at T.
///
/// Definitions (D = 31 December of Y; W = 1 January through D, kpis.md's year
/// window; "in the year" = `occurredAt` in W; "at year end" = in the effective
/// history at D, kpis.md's time rules). As kpis.md says, person-based figures
/// count only persons registered at D (P(D)), under their residence at D; a
/// case's unit is that of kpis.md's caseload; calls, projects, volunteers and
/// rights cases are district-wide; legal education is by `orgUnit`. Where a
/// figure is a KPI's (or a KPI's numerator or denominator), it is computed by
/// the same rule, from the same fold.
public struct ComplianceReturns: Sendable {
    /// The year Y.
    public let year: Int
    /// D: 31 December of Y.
    public let yearEnd: LocalDate
    /// The last seq taken into account.
    public let throughSeq: Int64
    /// The tables, in file order.
    public let tables: [ReturnTable]

    /// The returns of `facts.year` from the KPI fold and the year's facts of the
    /// same records (both through the same seq).
    public init(fold: KPIProjection, facts: YearEndFacts, labels: ReturnLabels) {
        precondition(fold.throughSeq == facts.throughSeq, "the fold and the year's facts cover the same records")
        year = facts.year
        yearEnd = facts.yearEnd
        throughSeq = fold.throughSeq
        let builder = ReturnBuilder(fold: fold, facts: facts, labels: labels)
        tables =
            builder.personTables() + [
                builder.caseload(), builder.callCentre(), builder.projects(), builder.volunteers(),
                builder.rightsCases(),
                builder.legalEducation(),
            ]
    }

    /// The table named `name` (`01-population`), if the returns have one.
    public func table(_ name: String) -> ReturnTable? { tables.first { $0.name == name } }
}

/// Builds the tables of `ComplianceReturns` from the two folds.
private struct ReturnBuilder {
    let fold: KPIProjection
    let facts: YearEndFacts
    let labels: ReturnLabels
    let day: LocalDate
    let window: YearWindow
    let today: (year: Int, monthDay: Int)

    init(fold: KPIProjection, facts: YearEndFacts, labels: ReturnLabels) {
        self.fold = fold
        self.facts = facts
        self.labels = labels
        day = facts.yearEnd
        window = facts.window
        let (year, month, date) = day.components
        today = (year, month * 100 + date)
    }

    // MARK: Dimensions

    /// The total row's Chinese name.
    static let total = "合计"

    private func unitName(_ code: String) -> String {
        if code == returnTotalCode { return "全区" }
        if code == labels.district.code { return labels.district.label.chinese }
        return labels.units.first { $0.code == code }?.label.chinese ?? code
    }

    /// Residences: the twelve units (and any other code met), then the district total.
    private func residenceUnits(_ met: Set<String>) -> ReturnDimension {
        let listed = labels.units.map(\.code)
        let others = met.subtracting(listed).subtracting([returnTotalCode]).sorted()
        return ReturnDimension(
            code: ReturnColumn("unitCode", "街镇代码", "unit code"), name: ReturnColumn("unit", "街镇", "unit"),
            codes: listed + others + [returnTotalCode], label: unitName)
    }

    /// Recording units: the district's own federation and the twelve units (and
    /// any other code met), then the district total.
    private func recordingUnits(_ met: Set<String>) -> ReturnDimension {
        let listed = [labels.district.code] + labels.units.map(\.code)
        let others = met.subtracting(listed).subtracting([returnTotalCode]).sorted()
        return ReturnDimension(
            code: ReturnColumn("unitCode", "单位代码", "unit code"), name: ReturnColumn("unit", "单位", "unit"),
            codes: listed + others + [returnTotalCode], label: unitName)
    }

    private func enumeration<E: CatalogueEnumeration>(
        _ type: E.Type, _ key: String, _ chinese: String, _ english: String
    ) -> ReturnDimension {
        let vocabulary = labels.vocabulary
        return ReturnDimension(
            code: ReturnColumn(key + "Code", chinese + "代码", english + " code"),
            name: ReturnColumn(key, chinese, english),
            codes: E.codes + [returnTotalCode],
            label: { code in
                E(rawValue: code).map { vocabulary.label($0).chinese } ?? ReturnBuilder.total
            })
    }

    private var grades: ReturnDimension {
        let vocabulary = labels.vocabulary
        return ReturnDimension(
            code: ReturnColumn("gradeCode", "残疾等级代码", "grade code"), name: ReturnColumn("grade", "残疾等级", "grade"),
            codes: DisabilityGrade.allCases.map { String($0.rawValue) } + [returnTotalCode],
            label: { code in
                Int(code).flatMap(DisabilityGrade.init(rawValue:)).map { vocabulary.label($0).chinese }
                    ?? ReturnBuilder.total
            })
    }

    // MARK: Persons

    /// What the person tables need of one person in P(D).
    private struct Registered {
        let stream: String
        let facts: PersonFacts
        let unit: String
        let category: DisabilityCategory
        let age: Int
        /// 16 ≤ age ≤ 59, and no assessment or one that says they can work (kpis.md).
        let workingAgeCapable: Bool
        /// A family doctor's contract runs at D.
        let hasFamilyDoctor: Bool
        /// In care at D.
        let inCare: Bool
    }

    /// The persons registered at D, with their residence, category and age at D.
    private func registered() -> [Registered] {
        fold.persons.compactMap { key, person in
            guard person.isRegistered(on: day) else { return nil }
            // Both timelines start at the registration, which is on or before D.
            let age = person.birth.age(on: today)
            let asOf = person.asOf(day, window: window)
            return Registered(
                stream: StreamKind.person.streamName(key), facts: person, unit: fold.units[asOf.residence!],
                category: asOf.category!, age: age,
                workingAgeCapable: (16...59).contains(age) && (asOf.assessment?.canWork ?? true),
                hasFamilyDoctor: asOf.familyDoctor, inCare: asOf.care)
        }
    }

    /// Tables 01–03f: population, employment, and the services to persons.
    func personTables() -> [ReturnTable] {
        let persons = registered()
        let units = residenceUnits(Set(persons.map(\.unit)))
        return [
            population(persons, units), employment(persons, units), rehabilitation(persons, units),
            assistiveDevices(persons, units), homeModifications(persons, units), healthChecks(persons, units),
            familyDoctors(persons, units), care(persons, units),
        ]
    }

    private func population(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        var grid = ReturnGrid(width: 2)
        for person in persons {
            // The grade's timeline starts at the registration, as the category's does.
            let grade = String(facts.grades[person.stream]!.latest(onOrBefore: day)!.rawValue)
            let capable: Int64 = person.workingAgeCapable ? 1 : 0
            for key in [[person.category.rawValue, grade], [returnTotalCode, returnTotalCode]] {
                grid.add(1, 0, at: [person.unit] + key)
                grid.add(1, 0, at: [returnTotalCode] + key)
                grid.add(capable, 1, at: [person.unit] + key)
                grid.add(capable, 1, at: [returnTotalCode] + key)
            }
        }
        let categories = enumeration(DisabilityCategory.self, "category", "残疾类别", "category")
        let rows = units.codes.flatMap { unit in
            DisabilityCategory.codes.flatMap { category in
                DisabilityGrade.allCases.map { [unit, category, String($0.rawValue)] }
            } + [[unit, returnTotalCode, returnTotalCode]]
        }
        return grid.table(
            "01-population", Label(chinese: "持证残疾人口", english: "Certified persons with disabilities at year end"),
            dimensions: [units, categories, grades],
            figures: [
                ReturnColumn("registeredPersons", "持证残疾人数", "registered persons"),
                ReturnColumn("workingAgeCapable", "劳动年龄有劳动能力人数", "working-age capable persons"),
            ], rows: rows)
    }

    private func employment(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        let (employed, capable, active, placements, placed) = (0, 1, 2, 3, 4)
        var grid = ReturnGrid(width: 5)
        for person in persons {
            let forms = facts.employmentForms[person.stream] ?? [:]
            // Every employment in the fold was started by an event the year's facts saw.
            let running = person.facts.employments.filter { $0.covers(day) }.map { forms[$0.id]! }
            let started = person.facts.employments.filter { window.contains($0.start) }.map { forms[$0.id]! }
            for form in running { grid.add(1, active, unit: person.unit, form.rawValue) }
            grid.add(Int64(running.count), active, unit: person.unit, returnTotalCode)
            for form in Set(running).map(\.rawValue) + (running.isEmpty ? [] : [returnTotalCode]) {
                grid.add(1, employed, unit: person.unit, form)
                if person.workingAgeCapable { grid.add(1, capable, unit: person.unit, form) }
            }
            for form in started { grid.add(1, placements, unit: person.unit, form.rawValue) }
            grid.add(Int64(started.count), placements, unit: person.unit, returnTotalCode)
            for form in Set(started).map(\.rawValue) + (started.isEmpty ? [] : [returnTotalCode]) {
                grid.add(1, placed, unit: person.unit, form)
            }
        }
        return grid.table(
            "02-employment", Label(chinese: "就业", english: "Employment"),
            dimensions: [units, enumeration(EmploymentForm.self, "form", "就业形式", "employment form")],
            figures: [
                ReturnColumn("employedPersons", "年末就业人数", "persons employed at year end"),
                ReturnColumn("employedWorkingAgeCapable", "其中劳动年龄有劳动能力", "of whom working-age capable"),
                ReturnColumn("activeEmployments", "年末在岗就业数", "employments running at year end"),
                ReturnColumn("placementsStarted", "年内新增就业数", "placements started in the year"),
                ReturnColumn("personsPlaced", "年内新增就业人数", "persons placed in the year"),
            ])
    }

    /// A services table: events of each kind in the year, and persons with at least one.
    private func services<Kind: CatalogueEnumeration>(
        _ persons: [Registered], _ counts: (PersonYear) -> [Kind: Int64]
    ) -> ReturnGrid {
        var grid = ReturnGrid(width: 2)
        for person in persons {
            guard let year = facts.personYears[person.stream] else { continue }
            let byKind = counts(year)
            guard !byKind.isEmpty else { continue }
            for (kind, count) in byKind {
                grid.add(count, 0, unit: person.unit, kind.rawValue)
                grid.add(1, 1, unit: person.unit, kind.rawValue)
            }
            grid.add(byKind.values.reduce(0, +), 0, unit: person.unit, returnTotalCode)
            grid.add(1, 1, unit: person.unit, returnTotalCode)
        }
        return grid
    }

    private func rehabilitation(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        let kinds = enumeration(RehabServiceKind.self, "serviceKind", "康复服务类型", "service kind")
        return services(persons, \.rehab).table(
            "03a-rehabilitation", Label(chinese: "康复服务", english: "Rehabilitation services"),
            dimensions: [units, kinds],
            figures: [
                ReturnColumn("servicesDelivered", "年内康复服务次数", "services delivered in the year"),
                ReturnColumn("personsServed", "年内受益人数", "persons served in the year"),
            ])
    }

    private func assistiveDevices(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        let kinds = enumeration(DeviceKind.self, "deviceKind", "辅具类型", "device kind")
        return services(persons, \.devices).table(
            "03b-assistive-devices", Label(chinese: "辅助器具适配", english: "Assistive devices fitted"),
            dimensions: [units, kinds],
            figures: [
                ReturnColumn("devicesFitted", "年内适配件数", "devices fitted in the year"),
                ReturnColumn("personsFitted", "年内适配人数", "persons fitted in the year"),
            ])
    }

    private func homeModifications(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        var grid = ReturnGrid(width: 3)
        for person in persons {
            guard let works = facts.personYears[person.stream]?.homeModifications, !works.isEmpty else { continue }
            for (programme, done) in works {
                grid.add(done.works, 0, unit: person.unit, programme.rawValue)
                grid.add(done.costYuan, 1, unit: person.unit, programme.rawValue)
                grid.add(1, 2, unit: person.unit, programme.rawValue)
                grid.add(done.works, 0, unit: person.unit, returnTotalCode)
                grid.add(done.costYuan, 1, unit: person.unit, returnTotalCode)
            }
            grid.add(1, 2, unit: person.unit, returnTotalCode)
        }
        return grid.table(
            "03c-home-modifications", Label(chinese: "家庭无障碍改造", english: "Home accessibility modifications"),
            dimensions: [units, enumeration(HomeModificationProgramme.self, "programme", "改造项目", "programme")],
            figures: [
                ReturnColumn("worksCompleted", "年内完成改造数", "works completed in the year"),
                ReturnColumn("costYuan", "改造费用（元）", "cost (yuan)"),
                ReturnColumn("households", "改造户数", "households"),
            ])
    }

    private func healthChecks(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        var grid = ReturnGrid(width: 3)
        for person in persons {
            let checks = facts.personYears[person.stream]?.healthChecks ?? 0
            grid.add(checks, 0, unit: person.unit)
            grid.add(checks > 0 ? 1 : 0, 1, unit: person.unit)
            grid.add(1, 2, unit: person.unit)
        }
        return grid.table(
            "03d-health-checks", Label(chinese: "健康体检", english: "Health check-ups"), dimensions: [units],
            figures: [
                ReturnColumn("checkUps", "年内体检人次", "check-ups in the year"),
                ReturnColumn("personsChecked", "年内体检人数", "persons checked in the year"),
                ReturnColumn("registeredPersons", "持证残疾人数", "registered persons"),
            ])
    }

    private func familyDoctors(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        var grid = ReturnGrid(width: 4)
        for person in persons {
            let signed = facts.personYears[person.stream]?.familyDoctorContracts ?? 0
            grid.add(person.hasFamilyDoctor ? 1 : 0, 0, unit: person.unit)
            grid.add(signed, 1, unit: person.unit)
            grid.add(signed > 0 ? 1 : 0, 2, unit: person.unit)
            grid.add(1, 3, unit: person.unit)
        }
        return grid.table(
            "03e-family-doctors", Label(chinese: "家庭医生签约", english: "Family-doctor contracts"), dimensions: [units],
            figures: [
                ReturnColumn("activeAtYearEnd", "年末签约人数", "persons with a contract at year end"),
                ReturnColumn("contractsSigned", "年内签约次数", "contracts signed in the year"),
                ReturnColumn("personsSigned", "年内签约人数", "persons who signed in the year"),
                ReturnColumn("registeredPersons", "持证残疾人数", "registered persons"),
            ])
    }

    private func care(_ persons: [Registered], _ units: ReturnDimension) -> ReturnTable {
        var grid = ReturnGrid(width: 4)
        for person in persons {
            grid.add(person.inCare ? 1 : 0, 0, unit: person.unit)
            grid.add(facts.personYears[person.stream]?.careEnrolments ?? 0, 1, unit: person.unit)
            if person.category == .mental && person.age >= 60 {
                grid.add(1, 2, unit: person.unit)
                grid.add(person.inCare ? 1 : 0, 3, unit: person.unit)
            }
        }
        return grid.table(
            "03f-care", Label(chinese: "托养照护", english: "Care"), dimensions: [units],
            figures: [
                ReturnColumn("inCareAtYearEnd", "年末在托人数", "persons in care at year end"),
                ReturnColumn("enrolments", "年内入托次数", "enrolments in the year"),
                ReturnColumn("mentalAged60Plus", "60岁以上精神残疾人数", "persons with mental disabilities aged 60+"),
                ReturnColumn("mentalAged60PlusInCare", "其中年末在托", "of whom in care at year end"),
            ])
    }

    // MARK: Cases, calls, projects, volunteers, rights, legal education

    func caseload() -> ReturnTable {
        let (open, opened, closed) = (0, 1, 2)
        var grid = ReturnGrid(width: 3 + CaseOutcome.allCases.count)
        var met = Set<String>()
        for (stream, facts) in fold.cases where facts.opened <= day {
            // The timeline starts with the opener, which is on or before D.
            let unit = fold.units[facts.assignment.latest(onOrBefore: day)!.unit]
            met.insert(unit)
            for type in [facts.serviceType.rawValue, returnTotalCode] {
                if facts.isOpen(on: day) { grid.add(1, open, unit: unit, type) }
                if window.contains(facts.opened) { grid.add(1, opened, unit: unit, type) }
                if let closedOn = facts.closed, window.contains(closedOn) {
                    grid.add(1, closed, unit: unit, type)
                    // The year's facts hold the outcome of every case closed in the year.
                    let outcome = self.facts.caseOutcomes[stream]!
                    grid.add(1, 3 + CaseOutcome.allCases.firstIndex(of: outcome)!, unit: unit, type)
                }
            }
        }
        let outcomes = CaseOutcome.allCases.map { outcome in
            let label = labels.vocabulary.label(outcome)
            return ReturnColumn(
                "closed" + camel(outcome.rawValue), "年内结案：" + label.chinese, "closed in the year: " + label.english)
        }
        return grid.table(
            "04-caseload", Label(chinese: "个案", english: "Caseload"),
            dimensions: [
                recordingUnits(met), enumeration(CaseServiceType.self, "serviceType", "服务类型", "service type"),
            ],
            figures: [
                ReturnColumn("openAtYearEnd", "年末在册个案", "open cases at year end"),
                ReturnColumn("openedInYear", "年内立案", "opened in the year"),
                ReturnColumn("closedInYear", "年内结案", "closed in the year"),
            ] + outcomes)
    }

    func callCentre() -> ReturnTable {
        let (received, resolved, inTime, satisfied) = (0, 1, 2, 3)
        var grid = ReturnGrid(width: 4)
        for (stream, call) in fold.calls where window.contains(call.received) {
            // The year's facts hold the topic and channel of every call received in the year.
            let (topic, channel) = facts.calls[stream]!
            let resolvedOn = call.resolved.flatMap { $0 <= day ? $0 : nil }
            for t in [topic.rawValue, returnTotalCode] {
                for c in [channel.rawValue, returnTotalCode] {
                    grid.add(1, received, at: [t, c])
                    if let resolvedOn {
                        grid.add(1, resolved, at: [t, c])
                        if call.received.days(until: resolvedOn) <= 3 { grid.add(1, inTime, at: [t, c]) }
                        if call.satisfied { grid.add(1, satisfied, at: [t, c]) }
                    }
                }
            }
        }
        return grid.table(
            "05-call-centre", Label(chinese: "呼叫中心", english: "Call centre"),
            dimensions: [
                enumeration(CallTopic.self, "topic", "来电主题", "topic"),
                enumeration(CallChannel.self, "channel", "渠道", "channel"),
            ],
            figures: [
                ReturnColumn("received", "年内受理", "calls received in the year"),
                ReturnColumn("resolved", "其中已办结", "of which resolved"),
                ReturnColumn("resolvedWithin3Days", "其中3日内办结", "of which resolved within 3 days"),
                ReturnColumn("satisfied", "其中满意", "of which the caller was satisfied"),
            ],
            derived: [
                (
                    ReturnColumn("satisfiedShare", "满意率", "satisfied share"),
                    { $0[resolved] == 0 ? .share(nil) : .share(Double($0[satisfied]) / Double($0[resolved])) }
                )
            ])
    }

    func projects() -> ReturnTable {
        let (active, evaluated, launched, evaluations, eliminated, adoptions, yuan) = (0, 1, 2, 3, 4, 5, 6)
        var grid = ReturnGrid(width: 7)
        for (key, project) in fold.projects where project.launched <= day {
            let stream = StreamKind.project.streamName(key)
            // The year's facts saw every launch on or before D.
            for category in [facts.projectCategories[stream]!.rawValue, returnTotalCode] {
                let key = [category]
                if project.isActive(on: day) {
                    grid.add(1, active, at: key)
                    if project.isEvaluated(year: Int64(facts.year), by: day) { grid.add(1, evaluated, at: key) }
                }
                if window.contains(project.launched) { grid.add(1, launched, at: key) }
                grid.add(facts.evaluationsInYear[stream] ?? 0, evaluations, at: key)
                if let end = project.eliminated, window.contains(end) { grid.add(1, eliminated, at: key) }
                if let adopted = facts.adoptionsInYear[stream] {
                    grid.add(adopted.adoptions, adoptions, at: key)
                    grid.add(adopted.amountYuan, yuan, at: key)
                }
            }
        }
        return grid.table(
            "06a-projects", Label(chinese: "助残社会化项目", english: "Social projects for persons with disabilities"),
            dimensions: [enumeration(ProjectCategory.self, "category", "项目类别", "project category")],
            figures: [
                ReturnColumn("activeAtYearEnd", "年末在运行项目", "projects running at year end"),
                ReturnColumn("evaluatedForYear", "其中已做本年度绩效评估", "of which evaluated for the year"),
                ReturnColumn("launchedInYear", "年内启动", "launched in the year"),
                ReturnColumn("evaluationsInYear", "年内绩效评估次数", "evaluations in the year"),
                ReturnColumn("eliminatedInYear", "年内淘汰", "eliminated in the year"),
                ReturnColumn("adoptionsInYear", "年内企业认领次数", "corporate adoptions in the year"),
                ReturnColumn("adoptionYuan", "年内认领金额（元）", "adoption amount in the year (yuan)"),
            ])
    }

    func volunteers() -> ReturnTable {
        let (registered, partyMembers, registeredInYear, logs, minutes, partyMinutes) = (0, 1, 2, 3, 4, 5)
        var grid = ReturnGrid(width: 6)
        for (key, volunteer) in fold.volunteers {
            let stream = StreamKind.volunteer.streamName(key)
            guard let since = facts.volunteerRegistrations[stream] else { continue }  // registered after D
            for alliance in [volunteer.alliance.rawValue, returnTotalCode] {
                grid.add(1, registered, at: [alliance])
                if volunteer.partyMember { grid.add(1, partyMembers, at: [alliance]) }
                if window.contains(since) { grid.add(1, registeredInYear, at: [alliance]) }
                grid.add(facts.serviceLogsInYear[stream] ?? 0, logs, at: [alliance])
            }
        }
        for (key, logged) in fold.volunteerMinutes where window.contains(key.day) {
            for alliance in [key.alliance.rawValue, returnTotalCode] {
                grid.add(logged, minutes, at: [alliance])
                if key.partyMember { grid.add(logged, partyMinutes, at: [alliance]) }
            }
        }
        return grid.table(
            "06b-volunteers", Label(chinese: "志愿者", english: "Volunteers"),
            dimensions: [enumeration(Alliance.self, "alliance", "志愿联盟", "alliance")],
            figures: [
                ReturnColumn("registeredAtYearEnd", "年末注册志愿者", "volunteers registered at year end"),
                ReturnColumn("partyMembers", "其中党员", "of whom party members"),
                ReturnColumn("registeredInYear", "年内新注册", "registered in the year"),
                ReturnColumn("serviceLogsInYear", "年内服务记录数", "services logged in the year"),
                ReturnColumn("minutesInYear", "年内服务时长（分钟）", "minutes logged in the year"),
                ReturnColumn("partyMemberMinutes", "其中党员时长（分钟）", "of which by party members"),
            ])
    }

    func rightsCases() -> ReturnTable {
        let (opened, closedInTime, openAtEnd, closed) = (0, 1, 2, 3)
        var grid = ReturnGrid(width: 4 + RightsResolution.allCases.count)
        for (key, rightsCase) in fold.rights where rightsCase.opened <= day {
            let stream = StreamKind.rights.streamName(key)
            // The year's facts saw every opening on or before D.
            for kind in [facts.rightsKinds[stream]!.rawValue, returnTotalCode] {
                let closedOn = rightsCase.closed.flatMap { $0 <= day ? $0 : nil }
                if window.contains(rightsCase.opened) {
                    grid.add(1, opened, at: [kind])
                    if let closedOn, rightsCase.opened.days(until: closedOn) <= 15 {
                        grid.add(1, closedInTime, at: [kind])
                    }
                }
                if closedOn == nil { grid.add(1, openAtEnd, at: [kind]) }
                if let closedOn, window.contains(closedOn) {
                    grid.add(1, closed, at: [kind])
                    // The year's facts hold the resolution of every case closed in the year.
                    let resolution = facts.rightsResolutions[stream]!
                    grid.add(1, 4 + RightsResolution.allCases.firstIndex(of: resolution)!, at: [kind])
                }
            }
        }
        let resolutions = RightsResolution.allCases.map { resolution in
            let label = labels.vocabulary.label(resolution)
            return ReturnColumn(
                "closed" + camel(resolution.rawValue), "年内结案：" + label.chinese,
                "closed in the year: " + label.english)
        }
        return grid.table(
            "07a-rights-cases", Label(chinese: "维权案件", english: "Rights cases"),
            dimensions: [enumeration(RightsKind.self, "kind", "案件类型", "kind")],
            figures: [
                ReturnColumn("openedInYear", "年内受理", "opened in the year"),
                ReturnColumn("closedWithin15Days", "其中15日内办结", "of which closed within 15 days"),
                ReturnColumn("openAtYearEnd", "年末未结", "open at year end"),
                ReturnColumn("closedInYear", "年内结案", "closed in the year"),
            ] + resolutions)
    }

    func legalEducation() -> ReturnTable {
        var grid = ReturnGrid(width: 2)
        var met = Set<String>()
        for (unit, sessions) in facts.legalEducationSessions {
            met.insert(unit)
            grid.add(sessions, 0, unit: unit)
        }
        for (key, attendees) in fold.legalEducation where window.contains(key.day) {
            let unit = fold.units[key.unit]
            met.insert(unit)
            grid.add(attendees, 1, unit: unit)
        }
        return grid.table(
            "07b-legal-education", Label(chinese: "普法教育", english: "Legal education"),
            dimensions: [recordingUnits(met)],
            figures: [
                ReturnColumn("sessions", "年内场次", "sessions in the year"),
                ReturnColumn("attendees", "年内参加人次", "attendees in the year"),
            ])
    }
}

/// `contract_ended` as `ContractEnded`, for column keys.
private func camel(_ code: String) -> String {
    code.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}

import LedgerDomain
import LedgerValues

/// What one person did in the year of a return, beyond what the KPI fold keeps:
/// the events dated in the year, counted by their kinds.
struct PersonYear {
    var rehab: [RehabServiceKind: Int64] = [:]
    var devices: [DeviceKind: Int64] = [:]
    /// Works completed and their cost in yuan, per programme.
    var homeModifications: [HomeModificationProgramme: (works: Int64, costYuan: Int64)] = [:]
    var healthChecks: Int64 = 0
    var familyDoctorContracts: Int64 = 0
    var careEnrolments: Int64 = 0
}

/// The facts of one year's statistical returns that the KPI fold does not keep
/// (grades, employment forms, the kinds of services, case outcomes, call topics
/// and channels, project categories, volunteers' registration dates, rights
/// kinds and resolutions, legal-education sessions), folded from the records
/// in seq order in one scan of the log.
///
/// Only the effective history at the year's end matters, so an event dated
/// after 31 December of the year is passed over; events of earlier years are
/// kept only where they shape the state at the year's end (a grade, the form of
/// an employment still running, a category, a registration). Streams are joined
/// with the KPI fold of the same records by their names.
public struct YearEndFacts: Sendable {
    /// The year Y of the return.
    public let year: Int
    /// D: 31 December of the year.
    public let yearEnd: LocalDate
    /// The last seq folded in (0 before any).
    public private(set) var throughSeq: Int64 = 0

    let window: YearWindow
    /// Each person's grade, from `PersonRegistered` then `PersonReassessed`.
    var grades: [String: Timeline<DisabilityGrade>] = [:]
    /// The form of each employment, by person stream and employment id.
    var employmentForms: [String: [String: EmploymentForm]] = [:]
    /// What each person did in the year.
    var personYears: [String: PersonYear] = [:]
    /// The outcome of each case closed in the year (keyed by `StreamKind.case.tableKey`).
    var caseOutcomes: [String: CaseOutcome] = [:]
    /// Topic and channel of each call received in the year (keyed by `StreamKind.call.tableKey`).
    var calls: [String: (topic: CallTopic, channel: CallChannel)] = [:]
    /// Each project's category.
    var projectCategories: [String: ProjectCategory] = [:]
    /// `ProjectEvaluated` events dated in the year, per project.
    var evaluationsInYear: [String: Int64] = [:]
    /// `ProjectAdopted` events dated in the year, per project: how many, and the yuan.
    var adoptionsInYear: [String: (adoptions: Int64, amountYuan: Int64)] = [:]
    /// The date of each volunteer's `VolunteerRegistered`.
    var volunteerRegistrations: [String: LocalDate] = [:]
    /// `VolunteerServiceLogged` events dated in the year, per volunteer.
    var serviceLogsInYear: [String: Int64] = [:]
    /// Each rights case's kind.
    var rightsKinds: [String: RightsKind] = [:]
    /// The resolution of each rights case closed in the year.
    var rightsResolutions: [String: RightsResolution] = [:]
    /// `LegalEducationHeld` sessions dated in the year, per `orgUnit`.
    var legalEducationSessions: [String: Int64] = [:]

    /// No facts yet, for the returns of `year` (1900–2100, the ledger's dates).
    public init(year: Int) {
        precondition((1900...2100).contains(year), "the ledger's dates lie in 1900–2100")
        self.year = year
        yearEnd = LocalDate(year: year, month: 12, day: 31)!
        window = YearWindow(asOf: yearEnd)
    }

    /// The types whose events matter whatever their date (up to D): they set a
    /// stream's state at the year's end.
    static let typesOfState: Set<EventType> = [
        .personRegistered, .personReassessed, .employmentStarted, .projectLaunched, .volunteerRegistered,
        .rightsCaseOpened,
    ]
    /// The types whose events matter when dated in the year.
    static let typesOfTheYear: Set<EventType> = [
        .rehabServiceDelivered, .assistiveDeviceFitted, .homeModificationCompleted, .healthCheckCompleted,
        .familyDoctorContracted, .careEnrolled, .caseClosed, .callReceived, .projectEvaluated, .projectAdopted,
        .volunteerServiceLogged, .rightsCaseClosed, .legalEducationHeld,
    ]

    /// Whether an event of `type` dated `day` can change the facts. A scan
    /// passes the others by (`passOver`) without decoding their data: most of a
    /// ledger's records are of other years or of types no return reads here.
    public func reads(_ type: EventType, datedOn day: LocalDate) -> Bool {
        guard day <= yearEnd else { return false }
        return YearEndFacts.typesOfState.contains(type)
            || (window.contains(day) && YearEndFacts.typesOfTheYear.contains(type))
    }

    /// Notes that the record at `seq`, which `reads` said changes nothing, was seen.
    public mutating func passOver(_ seq: Int64) {
        precondition(seq > throughSeq, "records are folded in seq order (\(seq) after \(throughSeq))")
        throughSeq = seq
    }

    /// Folds in the next record; records come in seq order, as the ledger stores them.
    public mutating func apply(_ event: RecordedEvent) {
        precondition(event.seq > throughSeq, "records are folded in seq order (\(event.seq) after \(throughSeq))")
        throughSeq = event.seq
        let day = event.occurredAt
        // Not in the effective history at the year's end.
        guard day <= yearEnd else { return }
        let inYear = window.contains(day)
        let stream = event.stream
        switch event.payload {
        case .personRegistered(let registration):
            var grade = Timeline<DisabilityGrade>()
            grade.record(registration.grade, on: day)
            grades[stream] = grade
        case .personReassessed(let reassessment):
            grades[stream]?.record(reassessment.grade, on: day)
        case .employmentStarted(let start):
            employmentForms[stream, default: [:]][start.employmentID] = start.form
        case .rehabServiceDelivered(let service) where inYear:
            personYears[stream, default: PersonYear()].rehab[service.serviceKind, default: 0] += 1
        case .assistiveDeviceFitted(let fitting) where inYear:
            personYears[stream, default: PersonYear()].devices[fitting.deviceKind, default: 0] += 1
        case .homeModificationCompleted(let works) where inYear:
            var done = personYears[stream, default: PersonYear()].homeModifications[works.programme] ?? (0, 0)
            done.works += 1
            done.costYuan += works.costYuan
            personYears[stream, default: PersonYear()].homeModifications[works.programme] = done
        case .healthCheckCompleted where inYear:
            personYears[stream, default: PersonYear()].healthChecks += 1
        case .familyDoctorContracted where inYear:
            personYears[stream, default: PersonYear()].familyDoctorContracts += 1
        case .careEnrolled where inYear:
            personYears[stream, default: PersonYear()].careEnrolments += 1

        case .caseClosed(let closing) where inYear:
            caseOutcomes[StreamKind.case.tableKey(stream)] = closing.outcome

        case .callReceived(let receipt) where inYear:
            calls[StreamKind.call.tableKey(stream)] = (receipt.topic, receipt.channel)

        case .projectLaunched(let launch):
            projectCategories[stream] = launch.category
        case .projectEvaluated where inYear:
            evaluationsInYear[stream, default: 0] += 1
        case .projectAdopted(let adoption) where inYear:
            var adopted = adoptionsInYear[stream] ?? (0, 0)
            adopted.adoptions += 1
            adopted.amountYuan += adoption.amountYuan
            adoptionsInYear[stream] = adopted

        case .volunteerRegistered:
            volunteerRegistrations[stream] = day
        case .volunteerServiceLogged where inYear:
            serviceLogsInYear[stream, default: 0] += 1

        case .rightsCaseOpened(let opening):
            rightsKinds[stream] = opening.kind
        case .rightsCaseClosed(let closing) where inYear:
            rightsResolutions[stream] = closing.resolution

        case .legalEducationHeld where inYear:
            legalEducationSessions[event.orgUnit, default: 0] += 1

        default:
            break  // in the KPI fold, or in no return
        }
    }
}

import LedgerDomain
import LedgerValues

/// One stored event as the projections read it: its place in the log, its
/// stream, its dates and unit, and its typed payload.
public struct RecordedEvent: Sendable {
    /// Global position in the ledger.
    public let seq: Int64
    /// `<kind>-<key>`, e.g. `person-P1`.
    public let stream: String
    /// Effective date: when it happened in the world.
    public let occurredAt: LocalDate
    /// When the federation learned it (not used by the figures: "known at T"
    /// is a seq prefix, chosen by the caller).
    public let recordedAt: Instant
    /// The unit that recorded it.
    public let orgUnit: String
    /// The typed `data`, which also says the event's type.
    public let payload: Payload

    public init(
        seq: Int64, stream: String, occurredAt: LocalDate, recordedAt: Instant, orgUnit: String, payload: Payload
    ) {
        self.seq = seq
        self.stream = stream
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.orgUnit = orgUnit
        self.payload = payload
    }
}

/// The fold behind every KPI: the dated facts of each stream, kept from the
/// records in seq order, from which the figures of kpis.md are computed for any
/// as-of date.
///
/// The state does not depend on the as-of date: each stream keeps compact,
/// dated facts (a person's residences with their dates, the earliest date in
/// each year of each kind of service, employments as intervals, a call's two
/// dates…), and only the sums that belong to no stream (adoptions, volunteer
/// minutes, legal education) are kept as totals per day and unit. So the fold
/// can be kept up to date on every append (`apply` touches one stream: a
/// lookup by name and a short scan of that stream's few dated facts),
/// records are never kept, and `figures(asOf:)` answers for any date D in one
/// pass over the streams.
///
/// What the ledger "knew at T" is a prefix of the log (recordedAt never goes
/// backwards along seq): the caller feeds records up to that seq and stops.
public struct KPIProjection: Sendable {
    /// The last seq applied (0 before any).
    public private(set) var throughSeq: Int64 = 0
    /// The recordedAt of the last record applied.
    public private(set) var lastRecordedAt: Instant?

    var units = Names()
    var workers = Names()
    /// Keyed by `StreamKind.person.tableKey`.
    var persons = StreamTable<PersonFacts>()
    /// Keyed by `StreamKind.case.tableKey`.
    var cases = StreamTable<CaseFacts>()
    /// Keyed by `StreamKind.call.tableKey`.
    var calls = StreamTable<CallFacts>()
    /// Keyed by `StreamKind.project.tableKey`.
    var projects = StreamTable<ProjectFacts>()
    /// Keyed by `StreamKind.volunteer.tableKey`.
    var volunteers = StreamTable<VolunteerFacts>()
    /// Keyed by `StreamKind.rights.tableKey`.
    var rights = StreamTable<RightsFacts>()
    var adoptions: [DayAndUnit: Int64] = [:]
    var legalEducation: [DayAndUnit: Int64] = [:]
    var volunteerMinutes: [MinutesKey: Int64] = [:]

    /// An empty fold: the figures of an empty ledger.
    public init() {}

    /// A fold through `throughSeq`, whose last record was recorded at
    /// `lastRecordedAt`, with no facts yet (a snapshot's reader fills them in).
    init(throughSeq: Int64, lastRecordedAt: Instant?) {
        self.throughSeq = throughSeq
        self.lastRecordedAt = lastRecordedAt
    }

    /// Folds in the records of `events`, which must be in seq order.
    public init(_ events: some Sequence<RecordedEvent>) {
        for event in events { apply(event) }
    }

    /// Folds in the next record. Records must come in seq order, each stream's
    /// opener first (as the ledger stores them); an event of a stream whose
    /// opener was never seen is ignored.
    public mutating func apply(_ event: RecordedEvent) {
        precondition(event.seq > throughSeq, "records are folded in seq order (\(event.seq) after \(throughSeq))")
        throughSeq = event.seq
        lastRecordedAt = event.recordedAt
        let day = event.occurredAt
        let stream = event.stream
        // The stream's key in the table of its kind, made only for events of that kind.
        var person: String { StreamKind.person.tableKey(stream) }
        var project: String { StreamKind.project.tableKey(stream) }
        switch event.payload {
        case .personRegistered(let registration):
            let residence = units.number(registration.residence)
            persons.put(
                PersonFacts(
                    registered: day, birth: registration.birthDate, residence: residence,
                    category: registration.category), for: person)
        case .personMoved(let move):
            let residence = units.number(move.residence)
            persons.update(person) { $0.record(.residence, residence, on: day) }
        case .personReassessed(let reassessment):
            persons.update(person) {
                $0.record(.category, UInt32(reassessment.category.snapshotCode), on: day)
            }
        case .personDeregistered:
            persons.update(person) { $0.deregister(on: day) }
        case .needsAssessed(let assessment):
            persons.update(person) { $0.record(.assessment, Assessment(assessment).bits, on: day) }
        case .employmentStarted(let start):
            persons.update(person) { $0.employments.append(Employment(id: start.employmentID, start: day)) }
        case .employmentEnded(let end):
            persons.update(person) { $0.endEmployment(end.employmentID, on: day) }
        case .trainingCompleted(let training):
            if training.programme == .smartSkills { persons.update(person) { $0.noteSmartTraining(on: day) } }
        case .rehabServiceDelivered: persons.update(person) { $0.noteService(.rehab, on: day) }
        case .assistiveDeviceFitted: persons.update(person) { $0.noteService(.device, on: day) }
        case .homeModificationCompleted: persons.update(person) { $0.noteService(.homeModification, on: day) }
        case .healthCheckCompleted: persons.update(person) { $0.noteService(.healthCheck, on: day) }
        case .familyDoctorContracted: persons.update(person) { $0.record(.familyDoctor, 1, on: day) }
        case .familyDoctorContractEnded: persons.update(person) { $0.record(.familyDoctor, 0, on: day) }
        case .careEnrolled: persons.update(person) { $0.record(.care, 1, on: day) }
        case .careEnded: persons.update(person) { $0.record(.care, 0, on: day) }
        case .personPiiCorrected, .personPiiErased:
            break  // personal data is in no figure; erasing it changes none (events.md §3)

        case .caseOpened(let opening):
            var facts = CaseFacts(opened: day, serviceType: opening.serviceType)
            facts.assignment.record(
                Assignment(worker: workers.number(opening.worker), unit: units.number(event.orgUnit)), on: day)
            cases.put(facts, for: StreamKind.case.tableKey(stream))
        case .caseReassigned(let reassignment):
            let assignment = Assignment(
                worker: workers.number(reassignment.worker), unit: units.number(reassignment.unit))
            cases.update(StreamKind.case.tableKey(stream)) { $0.assignment.record(assignment, on: day) }
        case .caseClosed:
            cases.update(StreamKind.case.tableKey(stream)) { $0.close(on: day) }

        case .callReceived(let receipt):
            calls.put(
                CallFacts(received: day, unit: units.number(event.orgUnit), online: receipt.channel != .phone),
                for: StreamKind.call.tableKey(stream))
        case .callResolved(let resolution):
            calls.update(StreamKind.call.tableKey(stream)) {
                $0.resolve(on: day, satisfied: resolution.satisfied)
            }

        case .projectLaunched:
            projects.put(ProjectFacts(launched: day, unit: units.number(event.orgUnit)), for: project)
        case .projectEvaluated(let evaluation):
            projects.update(project) { $0.noteEvaluation(of: evaluation.year, on: day) }
        case .projectAdopted(let adoption):
            guard projects.contains(project) else { break }
            adoptions[DayAndUnit(day: day, unit: units.number(event.orgUnit)), default: 0] += adoption.amountYuan
        case .projectEliminated:
            projects.update(project) { $0.eliminate(on: day) }

        case .volunteerRegistered(let registration):
            volunteers.put(
                VolunteerFacts(partyMember: registration.partyMember, alliance: registration.alliance),
                for: StreamKind.volunteer.tableKey(stream))
        case .volunteerServiceLogged(let service):
            guard let volunteer = volunteers[StreamKind.volunteer.tableKey(stream)] else { break }
            let key = MinutesKey(
                day: day, unit: units.number(event.orgUnit), alliance: volunteer.alliance,
                partyMember: volunteer.partyMember)
            volunteerMinutes[key, default: 0] += service.minutes

        case .rightsCaseOpened:
            rights.put(
                RightsFacts(opened: day, unit: units.number(event.orgUnit)), for: StreamKind.rights.tableKey(stream))
        case .rightsCaseClosed:
            rights.update(StreamKind.rights.tableKey(stream)) { $0.close(on: day) }

        case .legalEducationHeld(let session):
            legalEducation[DayAndUnit(day: day, unit: units.number(event.orgUnit)), default: 0] += session.attendees
        }
    }
}

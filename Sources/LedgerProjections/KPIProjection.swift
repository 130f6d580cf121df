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
    /// The kind of its stream (its type's), which names the fold's table it goes to.
    let streamKind: StreamKind
    /// Its stream's key in that table, hashed: made where the event is made
    /// (on a decoding core, in a replay) rather than on the thread that folds.
    let tableKey: TableKey

    public init(
        seq: Int64, stream: String, occurredAt: LocalDate, recordedAt: Instant, orgUnit: String, payload: Payload
    ) {
        self.seq = seq
        self.stream = stream
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.orgUnit = orgUnit
        self.payload = payload
        streamKind = payload.type.kind
        tableKey = TableKey(streamKind.tableKey(stream))
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

    /// Folds in `events`, in seq order, calling `after` with the fold once
    /// each is in (its `throughSeq` is then the event's seq).
    ///
    /// Each event's stream is looked up in a table of hundreds of thousands,
    /// at random: its slot, then its key and facts, then (for a person) the
    /// facts' own array, each a cache miss that the one after waits for. So
    /// the processor is asked for each of them some events ahead, one step
    /// nearer each time, and the misses of several events overlap.
    public mutating func apply(
        _ events: UnsafeBufferPointer<RecordedEvent>, after: (inout KPIProjection) throws -> Void
    ) rethrows {
        guard let first = events.baseAddress else { return }
        let count = events.count
        for index in 0..<count {
            if index + FoldLookahead.slot < count { prefetch(first + index + FoldLookahead.slot, .slot) }
            if index + FoldLookahead.entry < count { prefetch(first + index + FoldLookahead.entry, .entry) }
            if index + FoldLookahead.facts < count { prefetch(first + index + FoldLookahead.facts, .facts) }
            fold(first + index)
            try after(&self)
        }
    }

    /// Folds in the next record. Records must come in seq order, each stream's
    /// opener first (as the ledger stores them); an event of a stream whose
    /// opener was never seen is ignored.
    public mutating func apply(_ event: RecordedEvent) {
        withUnsafePointer(to: event) { fold($0) }
    }

    /// `apply` of the event at `event`, read where it lies: a batch's events
    /// are not copied (nor their strings and payloads retained) to be folded.
    @inline(__always)
    private mutating func fold(_ event: UnsafePointer<RecordedEvent>) {
        let seq = event.pointee.seq
        precondition(seq > throughSeq, "records are folded in seq order (\(seq) after \(throughSeq))")
        throughSeq = seq
        lastRecordedAt = event.pointee.recordedAt
        let day = event.pointee.occurredAt
        // The stream's key in the table of its kind (the kind of the event's type).
        let key = event.pointee.tableKey
        switch event.pointee.payload {
        case .personRegistered(let registration):
            let residence = units.number(registration.residence)
            persons.put(
                PersonFacts(
                    registered: day, birth: registration.birthDate, residence: residence,
                    category: registration.category), for: key)
        case .personMoved(let move):
            let residence = units.number(move.residence)
            persons.update(key) { $0.record(.residence, residence, on: day) }
        case .personReassessed(let reassessment):
            persons.update(key) {
                $0.record(.category, UInt32(reassessment.category.snapshotCode), on: day)
            }
        case .personDeregistered:
            persons.update(key) { $0.deregister(on: day) }
        case .needsAssessed(let assessment):
            persons.update(key) { $0.record(.assessment, Assessment(assessment).bits, on: day) }
        case .employmentStarted(let start):
            persons.update(key) { $0.employments.append(Employment(id: start.employmentID, start: day)) }
        case .employmentEnded(let end):
            persons.update(key) { $0.endEmployment(end.employmentID, on: day) }
        case .trainingCompleted(let training):
            if training.programme == .smartSkills { persons.update(key) { $0.noteSmartTraining(on: day) } }
        case .rehabServiceDelivered: persons.update(key) { $0.noteService(.rehab, on: day) }
        case .assistiveDeviceFitted: persons.update(key) { $0.noteService(.device, on: day) }
        case .homeModificationCompleted: persons.update(key) { $0.noteService(.homeModification, on: day) }
        case .healthCheckCompleted: persons.update(key) { $0.noteService(.healthCheck, on: day) }
        case .familyDoctorContracted: persons.update(key) { $0.record(.familyDoctor, 1, on: day) }
        case .familyDoctorContractEnded: persons.update(key) { $0.record(.familyDoctor, 0, on: day) }
        case .careEnrolled: persons.update(key) { $0.record(.care, 1, on: day) }
        case .careEnded: persons.update(key) { $0.record(.care, 0, on: day) }
        case .personPiiCorrected, .personPiiErased:
            break  // personal data is in no figure; erasing it changes none (events.md §3)

        case .caseOpened(let opening):
            var facts = CaseFacts(opened: day, serviceType: opening.serviceType)
            facts.assignment.record(
                Assignment(worker: workers.number(opening.worker), unit: units.number(event.pointee.orgUnit)), on: day)
            cases.put(facts, for: key)
        case .caseReassigned(let reassignment):
            let assignment = Assignment(
                worker: workers.number(reassignment.worker), unit: units.number(reassignment.unit))
            cases.update(key) { $0.assignment.record(assignment, on: day) }
        case .caseClosed:
            cases.update(key) { $0.close(on: day) }

        case .callReceived(let receipt):
            calls.put(
                CallFacts(received: day, unit: units.number(event.pointee.orgUnit), online: receipt.channel != .phone),
                for: key)
        case .callResolved(let resolution):
            calls.update(key) {
                $0.resolve(on: day, satisfied: resolution.satisfied)
            }

        case .projectLaunched:
            projects.put(ProjectFacts(launched: day, unit: units.number(event.pointee.orgUnit)), for: key)
        case .projectEvaluated(let evaluation):
            projects.update(key) { $0.noteEvaluation(of: evaluation.year, on: day) }
        case .projectAdopted(let adoption):
            guard projects.contains(key) else { break }
            adoptions[DayAndUnit(day: day, unit: units.number(event.pointee.orgUnit)), default: 0] +=
                adoption.amountYuan
        case .projectEliminated:
            projects.update(key) { $0.eliminate(on: day) }

        case .volunteerRegistered(let registration):
            volunteers.put(
                VolunteerFacts(partyMember: registration.partyMember, alliance: registration.alliance),
                for: key)
        case .volunteerServiceLogged(let service):
            guard let volunteer = volunteers[key] else { break }
            let key = MinutesKey(
                day: day, unit: units.number(event.pointee.orgUnit), alliance: volunteer.alliance,
                partyMember: volunteer.partyMember)
            volunteerMinutes[key, default: 0] += service.minutes

        case .rightsCaseOpened:
            rights.put(
                RightsFacts(opened: day, unit: units.number(event.pointee.orgUnit)), for: key)
        case .rightsCaseClosed:
            rights.update(key) { $0.close(on: day) }

        case .legalEducationHeld(let session):
            legalEducation[DayAndUnit(day: day, unit: units.number(event.pointee.orgUnit)), default: 0] +=
                session.attendees
        }
    }
}

/// How many events ahead the fold asks for each step of an event's lookup
/// (`KPIProjection.apply(_:after:)`): the slot first, then what the slot
/// points to, then what that holds.
enum FoldLookahead {
    static let slot = 12
    static let entry = 6
    static let facts = 3
}

extension KPIProjection {
    /// The steps of a lookup that `prefetch` asks the processor for.
    enum PrefetchStep {
        /// The key's slot in its table.
        case slot
        /// The key and facts at the place its slot (by now at hand) holds.
        case entry
        /// What the facts point to: a person's dated facts.
        case facts
    }

    /// Asks the processor to fetch what folding `event` will read at `step`
    /// of its lookup (reading two of its fields where it lies, copying nothing).
    @inline(__always)
    func prefetch(_ event: UnsafePointer<RecordedEvent>, _ step: PrefetchStep) {
        let hash = event.pointee.tableKey.hash
        switch event.pointee.streamKind {
        case .person:
            switch step {
            case .slot: persons.prefetchSlot(hash: hash)
            case .entry: persons.prefetchEntry(hash: hash)
            case .facts: persons.prefetchDatedFacts(hash: hash)
            }
        case .case: cases.prefetch(hash: hash, step)
        case .call: calls.prefetch(hash: hash, step)
        case .project: projects.prefetch(hash: hash, step)
        case .volunteer: volunteers.prefetch(hash: hash, step)
        case .rights: rights.prefetch(hash: hash, step)
        case .org: break
        }
    }
}

extension StreamTable {
    /// `KPIProjection.prefetch` for a table whose facts point to nothing worth fetching.
    @inline(__always)
    fileprivate func prefetch(hash: Int, _ step: KPIProjection.PrefetchStep) {
        switch step {
        case .slot: prefetchSlot(hash: hash)
        case .entry: prefetchEntry(hash: hash)
        case .facts: break
        }
    }
}

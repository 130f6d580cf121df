import LedgerValues

/// The typed `data` of an event: one case per event type of events.md §5.
public enum Payload: Equatable, Sendable {
    case personRegistered(PersonRegistration)
    case personReassessed(Reassessment)
    case personMoved(Move)
    case personPiiCorrected
    case personPiiErased(Erasure)
    case personDeregistered(Deregistration)
    case needsAssessed(NeedsAssessment)
    case employmentStarted(EmploymentStart)
    case employmentEnded(EmploymentEnd)
    case trainingCompleted(Training)
    case rehabServiceDelivered(RehabService)
    case assistiveDeviceFitted(DeviceFitting)
    case homeModificationCompleted(HomeModification)
    case healthCheckCompleted
    case familyDoctorContracted
    case familyDoctorContractEnded
    case careEnrolled(CareEnrolment)
    case careEnded
    case caseOpened(CaseOpening)
    case caseReassigned(CaseReassignment)
    case caseClosed(CaseClosing)
    case callReceived(CallReceipt)
    case callResolved(CallResolution)
    case projectLaunched(ProjectLaunch)
    case projectEvaluated(ProjectEvaluation)
    case projectAdopted(Adoption)
    case projectEliminated(ProjectElimination)
    case volunteerRegistered(VolunteerRegistration)
    case volunteerServiceLogged(VolunteerService)
    case rightsCaseOpened(RightsCaseOpening)
    case rightsCaseClosed(RightsCaseClosing)
    case legalEducationHeld(LegalEducation)

    /// Reads the `data` of an event of `context.type`, checking every field
    /// (events.md §6 rule 1, and the ranges that depend on the event's date).
    /// Returns the payload, or every field that is wrong.
    public static func read(_ data: JSONObject, context: FieldReader.Context) -> Result<Payload, FieldErrors> {
        reading(data, context: context).result
    }

    /// `read`, and whether any of its rules asked for the event's date: when
    /// none did, the outcome is the same for the same type and data on any
    /// date (and a replay may reuse it for a record of the same type and data).
    public static func reading(
        _ data: JSONObject, context: FieldReader.Context
    ) -> (result: Result<Payload, FieldErrors>, askedForEventDate: Bool) {
        var reader = FieldReader(data, prefix: "data", context: context)
        let payload = read(with: &reader)
        if reader.hasUnaskedFields {
            var listing = reader.listingFields()
            _ = read(with: &listing)
            listing.reportUnaskedFields()
            reader = listing
        }
        let result: Result<Payload, FieldErrors> =
            reader.errors.isEmpty ? .success(payload) : .failure(FieldErrors(reader.errors))
        return (result, reader.askedForEventDate)
    }

    private static func read(with f: inout FieldReader) -> Payload {
        func one<P: PayloadFields>(_ make: (P) -> Payload) -> Payload { make(P(reading: &f)) }
        switch f.eventType {
        case .personRegistered: return one(Payload.personRegistered)
        case .personReassessed: return one(Payload.personReassessed)
        case .personMoved: return one(Payload.personMoved)
        case .personPiiCorrected: return .personPiiCorrected
        case .personPiiErased: return one(Payload.personPiiErased)
        case .personDeregistered: return one(Payload.personDeregistered)
        case .needsAssessed: return one(Payload.needsAssessed)
        case .employmentStarted: return one(Payload.employmentStarted)
        case .employmentEnded: return one(Payload.employmentEnded)
        case .trainingCompleted: return one(Payload.trainingCompleted)
        case .rehabServiceDelivered: return one(Payload.rehabServiceDelivered)
        case .assistiveDeviceFitted: return one(Payload.assistiveDeviceFitted)
        case .homeModificationCompleted: return one(Payload.homeModificationCompleted)
        case .healthCheckCompleted: return .healthCheckCompleted
        case .familyDoctorContracted: return .familyDoctorContracted
        case .familyDoctorContractEnded: return .familyDoctorContractEnded
        case .careEnrolled: return one(Payload.careEnrolled)
        case .careEnded: return .careEnded
        case .caseOpened: return one(Payload.caseOpened)
        case .caseReassigned: return one(Payload.caseReassigned)
        case .caseClosed: return one(Payload.caseClosed)
        case .callReceived: return one(Payload.callReceived)
        case .callResolved: return one(Payload.callResolved)
        case .projectLaunched: return one(Payload.projectLaunched)
        case .projectEvaluated: return one(Payload.projectEvaluated)
        case .projectAdopted: return one(Payload.projectAdopted)
        case .projectEliminated: return one(Payload.projectEliminated)
        case .volunteerRegistered: return one(Payload.volunteerRegistered)
        case .volunteerServiceLogged: return one(Payload.volunteerServiceLogged)
        case .rightsCaseOpened: return one(Payload.rightsCaseOpened)
        case .rightsCaseClosed: return one(Payload.rightsCaseClosed)
        case .legalEducationHeld: return one(Payload.legalEducationHeld)
        }
    }

    /// The fields of the payload, whatever its type.
    private var fields: (any PayloadFields)? {
        switch self {
        case .personRegistered(let p): p
        case .personReassessed(let p): p
        case .personMoved(let p): p
        case .personPiiErased(let p): p
        case .personDeregistered(let p): p
        case .needsAssessed(let p): p
        case .employmentStarted(let p): p
        case .employmentEnded(let p): p
        case .trainingCompleted(let p): p
        case .rehabServiceDelivered(let p): p
        case .assistiveDeviceFitted(let p): p
        case .homeModificationCompleted(let p): p
        case .careEnrolled(let p): p
        case .caseOpened(let p): p
        case .caseReassigned(let p): p
        case .caseClosed(let p): p
        case .callReceived(let p): p
        case .callResolved(let p): p
        case .projectLaunched(let p): p
        case .projectEvaluated(let p): p
        case .projectAdopted(let p): p
        case .projectEliminated(let p): p
        case .volunteerRegistered(let p): p
        case .volunteerServiceLogged(let p): p
        case .rightsCaseOpened(let p): p
        case .rightsCaseClosed(let p): p
        case .legalEducationHeld(let p): p
        case .personPiiCorrected, .healthCheckCompleted, .familyDoctorContracted, .familyDoctorContractEnded,
            .careEnded:
            nil
        }
    }

    /// The type of the event it is the data of.
    public var type: EventType {
        switch self {
        case .personRegistered: .personRegistered
        case .personReassessed: .personReassessed
        case .personMoved: .personMoved
        case .personPiiCorrected: .personPiiCorrected
        case .personPiiErased: .personPiiErased
        case .personDeregistered: .personDeregistered
        case .needsAssessed: .needsAssessed
        case .employmentStarted: .employmentStarted
        case .employmentEnded: .employmentEnded
        case .trainingCompleted: .trainingCompleted
        case .rehabServiceDelivered: .rehabServiceDelivered
        case .assistiveDeviceFitted: .assistiveDeviceFitted
        case .homeModificationCompleted: .homeModificationCompleted
        case .healthCheckCompleted: .healthCheckCompleted
        case .familyDoctorContracted: .familyDoctorContracted
        case .familyDoctorContractEnded: .familyDoctorContractEnded
        case .careEnrolled: .careEnrolled
        case .careEnded: .careEnded
        case .caseOpened: .caseOpened
        case .caseReassigned: .caseReassigned
        case .caseClosed: .caseClosed
        case .callReceived: .callReceived
        case .callResolved: .callResolved
        case .projectLaunched: .projectLaunched
        case .projectEvaluated: .projectEvaluated
        case .projectAdopted: .projectAdopted
        case .projectEliminated: .projectEliminated
        case .volunteerRegistered: .volunteerRegistered
        case .volunteerServiceLogged: .volunteerServiceLogged
        case .rightsCaseOpened: .rightsCaseOpened
        case .rightsCaseClosed: .rightsCaseClosed
        case .legalEducationHeld: .legalEducationHeld
        }
    }

    /// The payload as the `data` object of the interchange form and the record.
    public var data: JSONObject {
        var writer = FieldWriter()
        fields?.write(to: &writer)
        return writer.object
    }

    /// The persons this event names, with the field naming each: each must be a
    /// person stream already stored (events.md §6 rule 7).
    public var personReferences: [(field: String, personID: String)] {
        switch self {
        case .caseOpened(let p): [("data.personId", p.personID)]
        case .callReceived(let p): p.personID.map { [("data.personId", $0)] } ?? []
        case .rightsCaseOpened(let p): p.personID.map { [("data.personId", $0)] } ?? []
        default: []
        }
    }

    /// The employment this event starts or ends, if any (events.md §6 rule 6).
    public var employment: (id: String, starts: Bool)? {
        switch self {
        case .employmentStarted(let p): (p.employmentID, true)
        case .employmentEnded(let p): (p.employmentID, false)
        default: nil
        }
    }
}

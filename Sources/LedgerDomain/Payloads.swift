import LedgerValues

/// The fields of one event type's `data`: read (and so checked) by
/// `init(reading:)`, written back by `write(to:)`.
public protocol PayloadFields: Equatable, Sendable {
    /// Reads the fields, recording in `fields` every rule they break.
    init(reading fields: inout FieldReader)
    /// Writes the fields, exactly as they are read.
    func write(to fields: inout FieldWriter)
}

// MARK: person

/// `PersonRegistered`: a person is certified and enters the register.
public struct PersonRegistration: PayloadFields {
    /// `sex`: as registered, and as the ID number's 17th digit says.
    public var sex: Sex
    /// `birthDate`: on or before the registration.
    public var birthDate: LocalDate
    /// `category`: the category of disability on the certificate.
    public var category: DisabilityCategory
    /// `grade`: 1 (most severe) to 4.
    public var grade: DisabilityGrade
    /// The unit the person lives in.
    public var residence: String

    public init(sex: Sex, birthDate: LocalDate, category: DisabilityCategory, grade: DisabilityGrade, residence: String)
    {
        self.sex = sex
        self.birthDate = birthDate
        self.category = category
        self.grade = grade
        self.residence = residence
    }

    public init(reading f: inout FieldReader) {
        sex = f.choice("sex")
        birthDate = f.date("birthDate")
        category = f.choice("category")
        grade = f.grade("grade")
        residence = f.unit("residence")
        let registered = f.eventDate()
        if birthDate > registered {
            f.fail("birthDate", "\(birthDate) is after the registration (\(registered))")
        }
    }

    public func write(to f: inout FieldWriter) {
        f.choice("sex", sex)
        f.date("birthDate", birthDate)
        f.choice("category", category)
        f.grade("grade", grade)
        f.text("residence", residence)
    }
}

/// `PersonReassessed`: a new category or grade after reassessment.
public struct Reassessment: PayloadFields {
    /// `category`: the category of disability on the certificate.
    public var category: DisabilityCategory
    /// `grade`: 1 (most severe) to 4.
    public var grade: DisabilityGrade

    public init(category: DisabilityCategory, grade: DisabilityGrade) {
        self.category = category
        self.grade = grade
    }

    public init(reading f: inout FieldReader) {
        category = f.choice("category")
        grade = f.grade("grade")
    }

    public func write(to f: inout FieldWriter) {
        f.choice("category", category)
        f.grade("grade", grade)
    }
}

/// `PersonMoved`: the person now lives in another unit.
public struct Move: PayloadFields {
    /// `residence`: one of the twelve streets and towns.
    public var residence: String

    public init(residence: String) { self.residence = residence }
    public init(reading f: inout FieldReader) { residence = f.unit("residence") }
    public func write(to f: inout FieldWriter) { f.text("residence", residence) }
}

/// `PersonPiiErased`: the person's personal data is erased (the right to deletion).
public struct Erasure: PayloadFields {
    /// Why, on the record.
    public var reason: String

    public init(reason: String) { self.reason = reason }
    public init(reading f: inout FieldReader) { reason = f.text("reason") }
    public func write(to f: inout FieldWriter) { f.text("reason", reason) }
}

/// `PersonDeregistered`: the person leaves the register.
public struct Deregistration: PayloadFields {
    /// `reason`: why the person left the register.
    public var reason: DeregistrationReason

    public init(reason: DeregistrationReason) { self.reason = reason }
    public init(reading f: inout FieldReader) { reason = f.choice("reason") }
    public func write(to f: inout FieldWriter) { f.choice("reason", reason) }
}

/// `NeedsAssessed`: the yearly assessment of what a person needs.
public struct NeedsAssessment: PayloadFields {
    /// `workCapacity`: how much the person can work.
    public var workCapacity: WorkCapacity
    /// `inEducation`: whether the person is in school or training.
    public var inEducation: Bool
    /// Distinct needs, possibly none.
    public var needs: [Need]

    public init(workCapacity: WorkCapacity, inEducation: Bool, needs: [Need]) {
        self.workCapacity = workCapacity
        self.inEducation = inEducation
        self.needs = needs
    }

    public init(reading f: inout FieldReader) {
        workCapacity = f.choice("workCapacity")
        inEducation = f.flag("inEducation")
        needs = f.choices("needs")
    }

    public func write(to f: inout FieldWriter) {
        f.choice("workCapacity", workCapacity)
        f.flag("inEducation", inEducation)
        f.choices("needs", needs)
    }
}

/// `EmploymentStarted`: a person starts a job.
public struct EmploymentStart: PayloadFields {
    /// Names the employment within the person's stream; new to the stream.
    public var employmentID: String
    /// `form`: the form of employment.
    public var form: EmploymentForm
    /// `employer`: who employs the person (free text).
    public var employer: String

    public init(employmentID: String, form: EmploymentForm, employer: String) {
        self.employmentID = employmentID
        self.form = form
        self.employer = employer
    }

    public init(reading f: inout FieldReader) {
        employmentID = f.code("employmentId", .employmentID)
        form = f.choice("form")
        employer = f.text("employer")
    }

    public func write(to f: inout FieldWriter) {
        f.text("employmentId", employmentID)
        f.choice("form", form)
        f.text("employer", employer)
    }
}

/// `EmploymentEnded`: a job started earlier ends.
public struct EmploymentEnd: PayloadFields {
    /// `employmentId`: the employment it ends, started earlier in the stream.
    public var employmentID: String
    /// `reason`: why it ended.
    public var reason: EmploymentEndReason

    public init(employmentID: String, reason: EmploymentEndReason) {
        self.employmentID = employmentID
        self.reason = reason
    }

    public init(reading f: inout FieldReader) {
        employmentID = f.code("employmentId", .employmentID)
        reason = f.choice("reason")
    }

    public func write(to f: inout FieldWriter) {
        f.text("employmentId", employmentID)
        f.choice("reason", reason)
    }
}

/// `TrainingCompleted`: a training programme finished.
public struct Training: PayloadFields {
    /// `programme`: the training programme.
    public var programme: TrainingProgramme
    /// 1–2,000 hours.
    public var hours: Int64

    public init(programme: TrainingProgramme, hours: Int64) {
        self.programme = programme
        self.hours = hours
    }

    public init(reading f: inout FieldReader) {
        programme = f.choice("programme")
        hours = f.integer("hours", in: 1...2000)
    }

    public func write(to f: inout FieldWriter) {
        f.choice("programme", programme)
        f.integer("hours", hours)
    }
}

/// `RehabServiceDelivered`: one rehabilitation service.
public struct RehabService: PayloadFields {
    /// `serviceKind`: the kind of rehabilitation service.
    public var serviceKind: RehabServiceKind

    public init(serviceKind: RehabServiceKind) { self.serviceKind = serviceKind }
    public init(reading f: inout FieldReader) { serviceKind = f.choice("serviceKind") }
    public func write(to f: inout FieldWriter) { f.choice("serviceKind", serviceKind) }
}

/// `AssistiveDeviceFitted`: a device fitted to the person.
public struct DeviceFitting: PayloadFields {
    /// `deviceKind`: the kind of device.
    public var deviceKind: DeviceKind

    public init(deviceKind: DeviceKind) { self.deviceKind = deviceKind }
    public init(reading f: inout FieldReader) { deviceKind = f.choice("deviceKind") }
    public func write(to f: inout FieldWriter) { f.choice("deviceKind", deviceKind) }
}

/// `HomeModificationCompleted`: accessibility works in the person's home.
public struct HomeModification: PayloadFields {
    /// `programme`: the programme that paid for the works.
    public var programme: HomeModificationProgramme
    /// 0–10,000,000 yuan.
    public var costYuan: Int64

    public init(programme: HomeModificationProgramme, costYuan: Int64) {
        self.programme = programme
        self.costYuan = costYuan
    }

    public init(reading f: inout FieldReader) {
        programme = f.choice("programme")
        costYuan = f.integer("costYuan", in: 0...10_000_000)
    }

    public func write(to f: inout FieldWriter) {
        f.choice("programme", programme)
        f.integer("costYuan", costYuan)
    }
}

/// `CareEnrolled`: an older person with a mental disability enters care.
public struct CareEnrolment: PayloadFields {
    /// `facility`: the care facility (free text).
    public var facility: String

    public init(facility: String) { self.facility = facility }
    public init(reading f: inout FieldReader) { facility = f.text("facility") }
    public func write(to f: inout FieldWriter) { f.text("facility", facility) }
}

// MARK: case

/// `CaseOpened`: a case worker takes up a person's need.
public struct CaseOpening: PayloadFields {
    /// The person served; a registered person (rule 7).
    public var personID: String
    /// `serviceType`: the service the case is opened for.
    public var serviceType: CaseServiceType
    /// `worker`: the case worker's code.
    public var worker: String

    public init(personID: String, serviceType: CaseServiceType, worker: String) {
        self.personID = personID
        self.serviceType = serviceType
        self.worker = worker
    }

    public init(reading f: inout FieldReader) {
        personID = f.personID("personId")
        serviceType = f.choice("serviceType")
        worker = f.code("worker", .worker)
    }

    public func write(to f: inout FieldWriter) {
        f.text("personId", personID)
        f.choice("serviceType", serviceType)
        f.text("worker", worker)
    }
}

/// `CaseReassigned`: another worker, possibly in another unit, takes the case.
public struct CaseReassignment: PayloadFields {
    /// `worker`: the case worker's code.
    public var worker: String
    /// `unit`: the unit that takes the case over.
    public var unit: String

    public init(worker: String, unit: String) {
        self.worker = worker
        self.unit = unit
    }

    public init(reading f: inout FieldReader) {
        worker = f.code("worker", .worker)
        unit = f.unit("unit")
    }

    public func write(to f: inout FieldWriter) {
        f.text("worker", worker)
        f.text("unit", unit)
    }
}

/// `CaseClosed`: the case ends.
public struct CaseClosing: PayloadFields {
    /// `outcome`: how the case ended.
    public var outcome: CaseOutcome

    public init(outcome: CaseOutcome) { self.outcome = outcome }
    public init(reading f: inout FieldReader) { outcome = f.choice("outcome") }
    public func write(to f: inout FieldWriter) { f.choice("outcome", outcome) }
}

// MARK: call

/// `CallReceived`: a contact reaches the call centre.
public struct CallReceipt: PayloadFields {
    /// `topic`: what it is about.
    public var topic: CallTopic
    /// `channel`: how it reached the call centre.
    public var channel: CallChannel
    /// The caller, when a registered person (rule 7).
    public var personID: String?

    public init(topic: CallTopic, channel: CallChannel, personID: String? = nil) {
        self.topic = topic
        self.channel = channel
        self.personID = personID
    }

    public init(reading f: inout FieldReader) {
        topic = f.choice("topic")
        channel = f.choice("channel")
        personID = f.optionalPersonID("personId")
    }

    public func write(to f: inout FieldWriter) {
        f.choice("topic", topic)
        f.choice("channel", channel)
        f.text("personId", personID)
    }
}

/// `CallResolved`: the contact is answered.
public struct CallResolution: PayloadFields {
    /// `satisfied`: whether the caller was satisfied.
    public var satisfied: Bool

    public init(satisfied: Bool) { self.satisfied = satisfied }
    public init(reading f: inout FieldReader) { satisfied = f.flag("satisfied") }
    public func write(to f: inout FieldWriter) { f.flag("satisfied", satisfied) }
}

// MARK: project

/// `ProjectLaunched`: a service project starts.
public struct ProjectLaunch: PayloadFields {
    /// `title`: the project's name (free text).
    public var title: String
    /// `operator`: who runs the project (free text).
    public var `operator`: String
    /// `category`: what the project does (life service, rehabilitation, employment, …).
    public var category: ProjectCategory
    /// 0–100,000,000 yuan.
    public var budgetYuan: Int64

    public init(title: String, operator: String, category: ProjectCategory, budgetYuan: Int64) {
        self.title = title
        self.operator = `operator`
        self.category = category
        self.budgetYuan = budgetYuan
    }

    public init(reading f: inout FieldReader) {
        title = f.text("title")
        `operator` = f.text("operator")
        category = f.choice("category")
        budgetYuan = f.integer("budgetYuan", in: 0...100_000_000)
    }

    public func write(to f: inout FieldWriter) {
        f.text("title", title)
        f.text("operator", `operator`)
        f.choice("category", category)
        f.integer("budgetYuan", budgetYuan)
    }
}

/// `ProjectEvaluated`: a year's evaluation of a project.
public struct ProjectEvaluation: PayloadFields {
    /// The year evaluated: 1990 to the year of the evaluation.
    public var year: Int64
    /// 0–100.
    public var score: Int64

    public init(year: Int64, score: Int64) {
        self.year = year
        self.score = score
    }

    public init(reading f: inout FieldReader) {
        year = f.year("year", from: 1990)
        score = f.integer("score", in: 0...100)
    }

    public func write(to f: inout FieldWriter) {
        f.integer("year", year)
        f.integer("score", score)
    }
}

/// `ProjectAdopted`: a company adopts (funds) a project.
public struct Adoption: PayloadFields {
    /// `company`: the adopting company (free text).
    public var company: String
    /// 1–100,000,000 yuan.
    public var amountYuan: Int64

    public init(company: String, amountYuan: Int64) {
        self.company = company
        self.amountYuan = amountYuan
    }

    public init(reading f: inout FieldReader) {
        company = f.text("company")
        amountYuan = f.integer("amountYuan", in: 1...100_000_000)
    }

    public func write(to f: inout FieldWriter) {
        f.text("company", company)
        f.integer("amountYuan", amountYuan)
    }
}

/// `ProjectEliminated`: a project is ended after evaluation.
public struct ProjectElimination: PayloadFields {
    /// `reason`: why, on the record.
    public var reason: String

    public init(reason: String) { self.reason = reason }
    public init(reading f: inout FieldReader) { reason = f.text("reason") }
    public func write(to f: inout FieldWriter) { f.text("reason", reason) }
}

// MARK: volunteer

/// `VolunteerRegistered`: a volunteer joins.
public struct VolunteerRegistration: PayloadFields {
    /// `partyMember`: whether the volunteer is a party member.
    public var partyMember: Bool
    /// `alliance`: Jiading, Kunshan or Taicang.
    public var alliance: Alliance

    public init(partyMember: Bool, alliance: Alliance) {
        self.partyMember = partyMember
        self.alliance = alliance
    }

    public init(reading f: inout FieldReader) {
        partyMember = f.flag("partyMember")
        alliance = f.choice("alliance")
    }

    public func write(to f: inout FieldWriter) {
        f.flag("partyMember", partyMember)
        f.choice("alliance", alliance)
    }
}

/// `VolunteerServiceLogged`: time a volunteer gave.
public struct VolunteerService: PayloadFields {
    /// 1–1,440 minutes (one day).
    public var minutes: Int64
    /// `activity`: what the volunteer did (free text).
    public var activity: String

    public init(minutes: Int64, activity: String) {
        self.minutes = minutes
        self.activity = activity
    }

    public init(reading f: inout FieldReader) {
        minutes = f.integer("minutes", in: 1...1440)
        activity = f.text("activity")
    }

    public func write(to f: inout FieldWriter) {
        f.integer("minutes", minutes)
        f.text("activity", activity)
    }
}

// MARK: rights and the law

/// `RightsCaseOpened`: a complaint, legal-aid request or petition.
public struct RightsCaseOpening: PayloadFields {
    /// `kind`: complaint, legal aid or petition.
    public var kind: RightsKind
    /// The person concerned, when a registered person (rule 7).
    public var personID: String?

    public init(kind: RightsKind, personID: String? = nil) {
        self.kind = kind
        self.personID = personID
    }

    public init(reading f: inout FieldReader) {
        kind = f.choice("kind")
        personID = f.optionalPersonID("personId")
    }

    public func write(to f: inout FieldWriter) {
        f.choice("kind", kind)
        f.text("personId", personID)
    }
}

/// `RightsCaseClosed`: the rights case ends.
public struct RightsCaseClosing: PayloadFields {
    /// `resolution`: how the rights case was closed.
    public var resolution: RightsResolution

    public init(resolution: RightsResolution) { self.resolution = resolution }
    public init(reading f: inout FieldReader) { resolution = f.choice("resolution") }
    public func write(to f: inout FieldWriter) { f.choice("resolution", resolution) }
}

/// `LegalEducationHeld`: a legal-education session of a unit.
public struct LegalEducation: PayloadFields {
    /// 1–100,000 people.
    public var attendees: Int64
    /// `topic`: what it is about.
    public var topic: String

    public init(attendees: Int64, topic: String) {
        self.attendees = attendees
        self.topic = topic
    }

    public init(reading f: inout FieldReader) {
        attendees = f.integer("attendees", in: 1...100_000)
        topic = f.text("topic")
    }

    public func write(to f: inout FieldWriter) {
        f.integer("attendees", attendees)
        f.text("topic", topic)
    }
}

/// No fields: the types whose `data` is `{}`.
public struct NoFields: PayloadFields {
    public init() {}
    public init(reading f: inout FieldReader) {}
    public func write(to f: inout FieldWriter) {}
}

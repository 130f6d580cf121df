/// The figures of the KPI catalogue of kpis.md, in the catalogue's order.
///
/// What each one counts is fixed here, in code; its names, the index it feeds
/// and its target are reference data, read from `seeds/kpis.json` (see
/// `KPICatalogue`), so that a federation can change a target without a rebuild.
public enum KPI: String, CaseIterable, Sendable {
    case registeredPersons = "registered_persons"
    case employmentRate = "employment_rate"
    case newEmployment = "new_employment"
    case rehabCoverage = "rehab_coverage"
    case assistiveDeviceRate = "assistive_device_rate"
    case homeModifications = "home_modifications"
    case healthCheckRate = "health_check_rate"
    case familyDoctorRate = "family_doctor_rate"
    case elderlyMentalCareRate = "elderly_mental_care_rate"
    case smartTraining = "smart_training"
    case openCases = "open_cases"
    case callResolutionRate = "call_resolution_rate"
    case callSatisfaction = "call_satisfaction"
    case onlineShare = "online_share"
    case activeProjects = "active_projects"
    case projectEvaluationCoverage = "project_evaluation_coverage"
    case corporateAdoptionYuan = "corporate_adoption_yuan"
    case volunteerMinutes = "volunteer_minutes"
    case rightsClosureRate = "rights_closure_rate"
    case legalEducationAttendees = "legal_education_attendees"

    /// Whether the KPI is a count or a rate.
    public enum Kind: String, Sendable {
        /// A value (a number of persons, events, yuan or minutes).
        case count
        /// A numerator over a denominator.
        case rate
    }

    /// Which unit a KPI's `byUnit` breakdown files each figure under.
    public enum UnitBasis: String, Sendable {
        /// The person's residence at the as-of date.
        case residence
        /// The case's unit: `orgUnit` of `CaseOpened`, then `unit` of the latest `CaseReassigned`.
        case caseUnit = "case_unit"
        /// The `orgUnit` of the stream's opener (`CallReceived`, `ProjectLaunched`, `RightsCaseOpened`).
        case openerOrgUnit = "opener_org_unit"
        /// The `orgUnit` of each counted event (`ProjectAdopted`, `VolunteerServiceLogged`, `LegalEducationHeld`).
        case eventOrgUnit = "event_org_unit"
    }

    /// Count or rate.
    public var kind: Kind {
        switch self {
        case .registeredPersons, .newEmployment, .homeModifications, .smartTraining, .openCases, .activeProjects,
            .corporateAdoptionYuan, .volunteerMinutes, .legalEducationAttendees:
            .count
        default:
            .rate
        }
    }

    /// The unit each figure is filed under.
    public var unitBasis: UnitBasis {
        switch self {
        case .openCases: .caseUnit
        case .callResolutionRate, .callSatisfaction, .onlineShare, .activeProjects, .projectEvaluationCoverage,
            .rightsClosureRate:
            .openerOrgUnit
        case .corporateAdoptionYuan, .volunteerMinutes, .legalEducationAttendees: .eventOrgUnit
        default: .residence
        }
    }

    /// The breakdowns besides `byUnit` that kpis.md lists for the KPI, in the
    /// order they are written.
    public var breakdowns: [Breakdown] {
        switch self {
        case .registeredPersons, .employmentRate: [.byCategory]
        case .openCases: [.byServiceType, .byWorker]
        case .volunteerMinutes: [.byAlliance]
        default: []
        }
    }

    /// A breakdown other than `byUnit`; the raw value is its key in the document.
    public enum Breakdown: String, Sendable {
        /// By disability category at the as-of date.
        case byCategory
        /// By the case's service type.
        case byServiceType
        /// By the case's worker at the as-of date.
        case byWorker
        /// By the volunteer's alliance.
        case byAlliance
    }
}

/// The four indices of the four-type federation (四型残联), in the document's order.
public enum FederationIndex: String, CaseIterable, Sendable {
    /// 服务型
    case service
    /// 智慧型
    case smart
    /// 开放型
    case open
    /// 法治型
    case ruleOfLaw = "rule_of_law"
}

/// A closed list of codes from the catalogue (events.md §5). The codes are the
/// contract and live here, where the compiler can see every use of them; their
/// Chinese and English labels live only in `seeds/enumerations.json`, which
/// `Vocabulary` loads and checks against these lists.
public protocol CatalogueEnumeration: CaseIterable, Hashable, Sendable, RawRepresentable
where RawValue == String, AllCases == [Self] {
    /// The enumeration's name in the catalogue and in `seeds/enumerations.json`.
    static var catalogueName: String { get }
}

extension CatalogueEnumeration {
    /// Every code, in the catalogue's order.
    public static var codes: [String] { allCases.map(\.rawValue) }
}

/// The category of disability on the certificate; its position (1–7) is the
/// certificate's category digit.
public enum DisabilityCategory: String, CatalogueEnumeration {
    case visual, hearing, speech, physical, intellectual, mental, multiple
    public static let catalogueName = "category"

    /// The certificate's category digit (1 visual … 7 multiple).
    public var certificateDigit: Int { DisabilityCategory.allCases.firstIndex(of: self)! + 1 }
}

/// The grade of disability, 1 (most severe) to 4, written as an integer.
public enum DisabilityGrade: Int, CaseIterable, Hashable, Sendable, Comparable {
    case one = 1
    case two, three, four
    /// The enumeration's name in `seeds/enumerations.json`.
    public static let catalogueName = "grade"

    /// Grades 1 and 2 are severe disability.
    public var isSevere: Bool { self <= .two }

    public static func < (lhs: DisabilityGrade, rhs: DisabilityGrade) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Sex as registered (and as encoded in the ID number's 17th digit).
public enum Sex: String, CatalogueEnumeration {
    case male = "M"
    case female = "F"
    public static let catalogueName = "sex"
}

/// How much a person can work, from a needs assessment.
public enum WorkCapacity: String, CatalogueEnumeration {
    case full, partial, none
    public static let catalogueName = "workCapacity"
}

/// A need found by a needs assessment.
public enum Need: String, CatalogueEnumeration {
    case rehab
    case assistiveDevice = "assistive_device"
    case homeModification = "home_modification"
    case employment, care
    public static let catalogueName = "needs"
}

/// The form of an employment.
public enum EmploymentForm: String, CatalogueEnumeration {
    case concentrated, proportional
    case selfEmployed = "self_employed"
    case flexible, auxiliary
    case publicWelfarePost = "public_welfare_post"
    case agricultural
    public static let catalogueName = "employmentForm"
}

/// Why an employment ended.
public enum EmploymentEndReason: String, CatalogueEnumeration {
    case resigned, dismissed
    case contractEnded = "contract_ended"
    case retired, other
    public static let catalogueName = "employmentEndReason"
}

/// A training programme (`smart_skills` is 智慧助我行).
public enum TrainingProgramme: String, CatalogueEnumeration {
    case vocational, internship
    case smartSkills = "smart_skills"
    public static let catalogueName = "trainingProgramme"
}

/// The kind of a rehabilitation service.
public enum RehabServiceKind: String, CatalogueEnumeration {
    case physicalTherapy = "physical_therapy"
    case speechTherapy = "speech_therapy"
    case cognitiveTraining = "cognitive_training"
    case psychiatricSupport = "psychiatric_support"
    case communityRehab = "community_rehab"
    case other
    public static let catalogueName = "serviceKind"
}

/// The kind of an assistive device.
public enum DeviceKind: String, CatalogueEnumeration {
    case wheelchair
    case hearingAid = "hearing_aid"
    case visualAid = "visual_aid"
    case prosthesisOrthosis = "prosthesis_orthosis"
    case dailyLivingAid = "daily_living_aid"
    case other
    public static let catalogueName = "deviceKind"
}

/// The service a case is opened for.
public enum CaseServiceType: String, CatalogueEnumeration {
    case rehab, employment
    case assistiveDevice = "assistive_device"
    case homeModification = "home_modification"
    case care, rights, other
    public static let catalogueName = "serviceType"
}

/// How a case ended.
public enum CaseOutcome: String, CatalogueEnumeration {
    case resolved, referred, withdrawn
    public static let catalogueName = "outcome"
}

/// What a call-centre contact is about.
public enum CallTopic: String, CatalogueEnumeration {
    case policy, employment, rehab
    case assistiveDevice = "assistive_device"
    case complaint, other
    public static let catalogueName = "topic"
}

/// How a contact reached the call centre (`one_network` is 一网通办).
public enum CallChannel: String, CatalogueEnumeration {
    case phone, online
    case oneNetwork = "one_network"
    case policyAssistant = "policy_assistant"
    public static let catalogueName = "channel"
}

/// The area of a project.
public enum ProjectCategory: String, CatalogueEnumeration {
    case lifeService = "life_service"
    case rehab, employment
    case cultureSports = "culture_sports"
    case other
    public static let catalogueName = "projectCategory"
}

/// The volunteer alliance a volunteer belongs to (Jiading–Kunshan–Taicang).
public enum Alliance: String, CatalogueEnumeration {
    case jiading, kunshan, taicang
    public static let catalogueName = "alliance"
}

/// The kind of a rights case.
public enum RightsKind: String, CatalogueEnumeration {
    case complaint
    case legalAid = "legal_aid"
    case petition
    public static let catalogueName = "rightsKind"
}

/// How a rights case was closed.
public enum RightsResolution: String, CatalogueEnumeration {
    case resolved, mediated, referred, rejected
    public static let catalogueName = "resolution"
}

/// Why a person left the register.
public enum DeregistrationReason: String, CatalogueEnumeration {
    case deceased
    case movedOut = "moved_out"
    case certificateRevoked = "certificate_revoked"
    public static let catalogueName = "deregistrationReason"
}

/// The programme that paid for a home modification.
public enum HomeModificationProgramme: String, CatalogueEnumeration {
    case governmentProject = "government_project"
    case other
    public static let catalogueName = "homeModificationProgramme"
}

/// Every string enumeration of the catalogue, for loading and checking their labels.
public let catalogueEnumerations: [any CatalogueEnumeration.Type] = [
    DisabilityCategory.self, Sex.self, WorkCapacity.self, Need.self, EmploymentForm.self,
    EmploymentEndReason.self, TrainingProgramme.self, RehabServiceKind.self, DeviceKind.self,
    CaseServiceType.self, CaseOutcome.self, CallTopic.self, CallChannel.self, ProjectCategory.self,
    Alliance.self, RightsKind.self, RightsResolution.self, DeregistrationReason.self,
    HomeModificationProgramme.self,
]

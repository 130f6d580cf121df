import LedgerDomain
import LedgerValues

/// The open cases of one unit.
public struct UnitCaseload: Equatable, Sendable {
    /// How many cases are open.
    public internal(set) var openCases: Int64 = 0
    /// Open cases per service type (types with none are left out).
    public internal(set) var byServiceType: [String: Int64] = [:]
    /// Open cases per worker (workers with none are left out).
    public internal(set) var byWorker: [String: Int64] = [:]

    mutating func add(serviceType: String, worker: String) {
        openCases += 1
        byServiceType[serviceType, default: 0] += 1
        byWorker[worker, default: 0] += 1
    }
}

/// The caseload at an as-of date: the cases whose effective history has
/// `CaseOpened` and no `CaseClosed`, by unit, service type and worker.
///
/// A case's unit is the `orgUnit` of its `CaseOpened`, then the `unit` of its
/// latest `CaseReassigned`; its worker likewise the opener's, then the latest
/// reassignment's.
public struct Caseload: Equatable, Sendable {
    /// The as-of date D.
    public let asOf: LocalDate
    /// The last seq taken into account.
    public let throughSeq: Int64
    /// The district's open cases.
    public internal(set) var district = UnitCaseload()
    /// Each unit's open cases (units with none are left out).
    public internal(set) var byUnit: [String: UnitCaseload] = [:]

    /// The district's open cases.
    public var openCases: Int64 { district.openCases }
    /// The district's open cases per service type.
    public var byServiceType: [String: Int64] { district.byServiceType }
    /// The district's open cases per worker.
    public var byWorker: [String: Int64] { district.byWorker }
}

extension KPIProjection {
    /// The open cases as of `day`, from everything folded so far.
    public func caseload(asOf day: LocalDate) -> Caseload {
        var caseload = Caseload(asOf: day, throughSeq: throughSeq)
        for facts in cases.values where facts.isOpen(on: day) {
            // The timeline starts with the opener, which is on or before `day`.
            let assignment = facts.assignment.latest(onOrBefore: day)!
            let serviceType = facts.serviceType.rawValue
            let worker = workers[assignment.worker]
            caseload.district.add(serviceType: serviceType, worker: worker)
            caseload.byUnit[units[assignment.unit], default: UnitCaseload()].add(
                serviceType: serviceType, worker: worker)
        }
        return caseload
    }
}

import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerSeeds
import LedgerValues

/// How much of the ledger a figure takes into account: what it knew at an
/// instant, or everything through a seq. Since `recordedAt` never goes
/// backwards along seq, both are a prefix of the log.
public enum RecordLimit: Equatable, Sendable {
    /// Everything stored.
    case everything
    /// The events whose `recordedAt` is at or before the instant.
    case knownAt(Instant)
    /// The events with seq ≤ N.
    case throughSeq(Int64)

    /// The instant T of the query, for the document's `knownAt`.
    public var knownAt: Instant? {
        if case .knownAt(let instant) = self { return instant }
        return nil
    }
}

/// The KPIs and the caseload of one ledger (kpis.md): reads the records of
/// the asked-for prefix, decodes each payload, folds them and scores the result
/// against the catalogue of `seeds/kpis.json`.
public struct KPIReport: Sendable {
    /// The ledger read.
    public let ledger: Ledger
    /// The KPIs' names and targets.
    public let catalogue: KPICatalogue

    /// A report on `ledger`, with the catalogue read from the seed data.
    public init(ledger: Ledger) throws {
        self.ledger = ledger
        catalogue = try KPIReport.loadCatalogue()
    }

    /// Reads the KPI catalogue and targets from `seeds/kpis.json` (or
    /// `$SUNLEDGER_SEEDS/kpis.json`), checked against the KPIs the program computes.
    public static func loadCatalogue() throws -> KPICatalogue {
        let bytes: Data
        do { bytes = try Seeds.data(named: "kpis.json") } catch {
            throw AppError.seeds("cannot read seeds/kpis.json: \(error.localizedDescription)")
        }
        do { return try KPICatalogue(json: Array(bytes)) } catch { throw AppError.seeds(error.description) }
    }

    /// The Chinese and English names of the district and its units, from `seeds/units.json`.
    public static func loadUnitLabels() throws -> [(code: String, label: Label)] {
        struct File: Decodable {
            struct Unit: Decodable {
                let code: String
                let name: String
                let nameEn: String
            }
            let district: Unit
            let units: [Unit]
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: try Seeds.data(named: "units.json"))
            return ([file.district] + file.units).map { ($0.code, Label(chinese: $0.name, english: $0.nameEn)) }
        } catch {
            throw AppError.seeds("cannot read the units' names from seeds/units.json: \(error)")
        }
    }

    /// The last seq within `limit`, as `access` sees the ledger: for
    /// `knownAt(T)`, the last record whose `recordedAt` ≤ T (0 when there is
    /// none); for `throughSeq(N)`, N or the last stored seq if that is lower.
    static func lastSeq(within limit: RecordLimit, _ access: ProjectionAccess) throws -> Int64 {
        let head = try access.lastSeq
        switch limit {
        case .everything:
            return head
        case .throughSeq(let seq):
            guard seq >= 0 else { throw AppError.usage("--through-seq must be 0 or more (got \(seq))") }
            return min(seq, head)
        case .knownAt(let instant):
            // recordedAt rises with seq: find the last seq at or before the instant.
            var known: Int64 = 0
            var unknown = head + 1
            while unknown - known > 1 {
                let middle = known + (unknown - known) / 2
                guard let recordedAt = try access.recordedAt(ofSeq: middle) else {
                    throw LedgerError.damaged(seq: middle, reason: "the record cannot be read")
                }
                if recordedAt <= instant { known = middle } else { unknown = middle }
            }
            return known
        }
    }

    /// The fold of the records within `limit`: the live figures when the limit
    /// reaches the last record, otherwise the nearest stored snapshot before it
    /// and the records between, replayed.
    public func projection(within limit: RecordLimit) throws -> KPIProjection {
        try ledger.log.readingProjections { access in
            try ledger.figures.fold(through: try KPIReport.lastSeq(within: limit, access), access)
        }
    }

    /// The fold of every record with seq ≤ `seq`, replayed from the log alone,
    /// without the stored figures: what `rebuild` and the tests check those against.
    public func replayedProjection(through seq: Int64) throws -> KPIProjection {
        var projection = KPIProjection()
        try ledger.log.readingProjections { access in
            try RecordReplay(units: ledger.units).replay(from: 1, through: seq, access, into: &projection)
        }
        return projection
    }

    /// The KPI document of kpis.md as of `asOf`, from the records within `limit`.
    public func document(asOf: LocalDate, limit: RecordLimit) throws -> KPIDocument {
        KPIDocument(
            figures: try projection(within: limit).figures(asOf: asOf), knownAt: limit.knownAt, catalogue: catalogue)
    }

    /// The open cases as of `asOf`, from the records within `limit`.
    public func caseload(asOf: LocalDate, limit: RecordLimit) throws -> Caseload {
        try projection(within: limit).caseload(asOf: asOf)
    }
}

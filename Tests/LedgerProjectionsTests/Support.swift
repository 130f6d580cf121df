import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues

/// The date written `text` (YYYY-MM-DD).
func day(_ text: String) -> LocalDate { LocalDate(iso: text)! }

/// A ledger written event by event for a test: each event gets the next seq,
/// and a recordedAt one second after the last.
struct TestLedger {
    private(set) var events: [RecordedEvent] = []

    /// Appends an event of `stream` dated `occurredAt`, recorded by `unit`.
    mutating func add(_ stream: String, _ occurredAt: String, _ payload: Payload, unit: String = "anting") {
        let seq = Int64(events.count + 1)
        events.append(
            RecordedEvent(
                seq: seq, stream: stream, occurredAt: day(occurredAt),
                recordedAt: Instant(milliseconds: 1_700_000_000_000 + seq * 1000), orgUnit: unit, payload: payload))
    }

    /// Registers `person-<key>`.
    mutating func register(
        _ key: String, on date: String = "2020-01-01", born: String = "1980-06-01",
        category: DisabilityCategory = .physical, residence: String = "anting"
    ) {
        add(
            "person-\(key)", date,
            .personRegistered(
                PersonRegistration(
                    sex: .female, birthDate: day(born), category: category, grade: .three, residence: residence)),
            unit: residence)
    }

    /// The fold of every event so far.
    var projection: KPIProjection { KPIProjection(events) }

    /// The fold of the first `count` events.
    func projection(through count: Int) -> KPIProjection { KPIProjection(events.prefix(count)) }

    /// The figures as of `date` (YYYY-MM-DD), from every event so far.
    func figures(asOf date: String) -> KPIFigures { projection.figures(asOf: day(date)) }
}

extension KPIFigures {
    /// The district figure of `kpi`, written `n` for a count and `n/d` for a rate.
    func district(_ kpi: KPI) -> String { self[kpi].district.written }

    /// Each unit's figure of `kpi`, written as `district` writes them.
    func byUnit(_ kpi: KPI) -> [String: String] { self[kpi].byUnit.mapValues(\.written) }
}

extension Figure {
    /// `n` for a count, `n/d` for a rate.
    var written: String { denominator.map { "\(numerator)/\($0)" } ?? String(numerator) }
}

/// The catalogue as shipped in `seeds/kpis.json`.
let shippedCatalogue: KPICatalogue = {
    let path = String(#filePath.dropLast("Tests/LedgerProjectionsTests/Support.swift".count)) + "seeds/kpis.json"
    let text = try! String(contentsOfFile: path, encoding: .utf8)
    return try! KPICatalogue(json: Array(text.utf8))
}()

/// The shipped catalogue's text, for tests that break it.
let shippedCatalogueText: String = {
    let path = String(#filePath.dropLast("Tests/LedgerProjectionsTests/Support.swift".count)) + "seeds/kpis.json"
    return try! String(contentsOfFile: path, encoding: .utf8)
}()

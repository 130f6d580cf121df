import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

@Suite("a generated district has figures a federation would recognise")
struct DistrictFiguresTests {
    /// The figures of a generated district at the end of its last year, folded
    /// in process (a debug build of the command line stores too slowly for a
    /// district of this size; `sunledger demo` shows the default one).
    func figures(_ district: GeneratedDistrict) throws -> KPIFigures {
        let units = try Ledger.loadUnits()
        var projection = KPIProjection()
        var seq: Int64 = 0
        for line in try district.lines() {
            seq += 1
            let event = try #require(
                line.withUnsafeBufferPointer { InterchangeEvent.decodePlain($0, units: units) },
                "line \(seq) is not a valid plain line")
            projection.apply(
                RecordedEvent(
                    seq: seq, stream: event.stream, occurredAt: event.occurredAt,
                    recordedAt: try #require(event.recordedAt), orgUnit: event.orgUnit, payload: event.payload))
        }
        return projection.figures(asOf: LocalDate(year: district.to, month: 12, day: 31)!)
    }

    @Test("employment 0.3–0.6, rehabilitation 0.6–0.95, family doctor 0.5–0.95, and no KPI null, at a year-end")
    func ranges() throws {
        let figures = try figures(GeneratedDistrict(persons: 1_500, seed: 5, from: 2016, to: 2025))
        func rate(_ kpi: KPI) -> Double? { figures[kpi].district.value }
        #expect((0.3...0.6).contains(try #require(rate(.employmentRate))))
        #expect((0.6...0.95).contains(try #require(rate(.rehabCoverage))))
        #expect((0.5...0.95).contains(try #require(rate(.familyDoctorRate))))
        for result in figures.results {
            #expect(result.district.value != nil, "\(result.kpi.rawValue) is null")
            if result.kpi.kind == .rate, let value = result.district.value {
                #expect((0...1).contains(value), "\(result.kpi.rawValue) is \(value)")
            }
        }
        #expect(figures[.registeredPersons].district.numerator > 1_000)
        #expect(figures[.openCases].district.numerator > 0)
    }
}

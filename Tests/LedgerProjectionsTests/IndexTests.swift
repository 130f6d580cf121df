import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

@Suite("the four-type federation indices (kpis.md)")
struct IndexTests {
    private func document(
        _ ledger: TestLedger, asOf date: String, catalogue: KPICatalogue = shippedCatalogue
    )
        -> KPIDocument
    {
        KPIDocument(figures: ledger.figures(asOf: date), knownAt: nil, catalogue: catalogue)
    }

    private func legalEducation(_ attendees: Int64, on date: String) -> TestLedger {
        var ledger = TestLedger()
        ledger.add("org-anting", date, .legalEducationHeld(LegalEducation(attendees: attendees, topic: "t")))
        return ledger
    }

    @Test("a count's target is pro-rated: annual target × day of year of D ÷ days in D's year")
    func countTargetsAreProRated() {
        let ledger = legalEducation(500, on: "2024-02-01")
        // 2024-02-29 is day 60 of 366: 6,000 × 60/366 = 983.6; 500/983.6 = 0.5083.
        let leapDay = document(ledger, asOf: "2024-02-29").index(.ruleOfLaw)
        #expect(leapDay.value == 50.8)
        #expect(abs(leapDay.members.first { $0.kpi == .legalEducationAttendees }!.goal - 6000.0 * 60 / 366) < 1e-9)
        #expect(document(ledger, asOf: "2024-12-31").index(.ruleOfLaw).value == 8.3)
        // In a common year: 2023-03-01 is day 60 of 365.
        let common = legalEducation(500, on: "2023-02-01")
        #expect(document(common, asOf: "2023-03-01").index(.ruleOfLaw).value == 50.7)  // 500 × 365 / 360,000 = 0.5069
    }

    @Test("a score is min(1, value ÷ target): a figure over target counts as 1")
    func scoresAreCapped() {
        let ledger = legalEducation(100_000, on: "2024-01-01")
        let index = document(ledger, asOf: "2024-01-01").index(.ruleOfLaw)
        #expect(index.members.first { $0.kpi == .legalEducationAttendees }?.score == 1)
        #expect(index.value == 100.0)
    }

    @Test("a KPI whose value is null is left out; an index with none left is null")
    func nullValuesAreLeftOut() {
        let ledger = legalEducation(120, on: "2024-07-01")
        let document = document(ledger, asOf: "2024-12-31")
        let ruleOfLaw = document.index(.ruleOfLaw)
        #expect(ruleOfLaw.members.first { $0.kpi == .rightsClosureRate }?.score == nil)
        #expect(ruleOfLaw.value == 2.0)
        #expect(document.index(.service).value == nil)
        #expect(document.index(.smart).value == 0.0)  // smart_training is a count: 0, never null
        #expect(document.json.hasSuffix(#""indices":{"service":null,"smart":0.0,"open":0.0,"rule_of_law":2.0}}"#))
    }

    @Test("an index is 100 × the mean of its scores, rounded to one decimal")
    func meanRoundedToOneDecimal() {
        var ledger = TestLedger()
        ledger.register("P1")
        ledger.register("P2")
        ledger.register("P3")
        ledger.add("person-P1", "2024-02-01", .healthCheckCompleted)
        // employment 0/3 = 0, health 1/3 ÷ 0.90 = 0.3704, family doctor 0: 100 × 0.3704/3 = 12.35 -> 12.3.
        #expect(document(ledger, asOf: "2024-12-31").index(.service).value == 12.3)
    }

    @Test("targets and index membership come from the catalogue: a changed target changes the index")
    func targetsFromCatalogue() throws {
        let ledger = legalEducation(120, on: "2024-07-01")
        let changed = shippedCatalogueText.replacingOccurrences(of: #""target": 6000,"#, with: #""target": 600,"#)
        let catalogue = try KPICatalogue(json: Array(changed.utf8))
        #expect(document(ledger, asOf: "2024-12-31", catalogue: catalogue).index(.ruleOfLaw).value == 20.0)
        let moved = shippedCatalogueText.replacingOccurrences(
            of: #""kind": "count", "unitBasis": "event_org_unit", "index": "rule_of_law""#,
            with: #""kind": "count", "unitBasis": "event_org_unit", "index": "smart""#)
        let regrouped = try KPICatalogue(json: Array(moved.utf8))
        let result = document(ledger, asOf: "2024-12-31", catalogue: regrouped)
        #expect(result.index(.ruleOfLaw).value == nil)
        #expect(
            result.index(.smart).members.map(\.kpi) == [
                .smartTraining, .callResolutionRate, .onlineShare, .legalEducationAttendees,
            ])
    }
}

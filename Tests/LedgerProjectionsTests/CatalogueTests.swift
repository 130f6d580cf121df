import Foundation
import LedgerDomain
import LedgerProjections
import Testing

@Suite("seeds/kpis.json: the KPI catalogue as reference data")
struct CatalogueTests {
    @Test("the shipped catalogue lists every KPI and index with kpis.md's names and default targets")
    func shippedCatalogueMatchesTheSpec() {
        let catalogue = shippedCatalogue
        #expect(catalogue.version >= 1)
        #expect(catalogue.entries.map(\.kpi) == KPI.allCases)
        #expect(catalogue.entry(.employmentRate).label.chinese == "持证残疾人就业率")
        #expect(catalogue.entry(.smartTraining).label.chinese == "智慧助我行培训人次")
        #expect(catalogue.indexLabels[.ruleOfLaw]?.chinese == "法治型")
        let targets: [FederationIndex: [KPI: Double]] = [
            .service: [
                .employmentRate: 0.50, .rehabCoverage: 0.95, .assistiveDeviceRate: 0.95, .healthCheckRate: 0.90,
                .familyDoctorRate: 0.95, .elderlyMentalCareRate: 0.80,
            ],
            .smart: [.onlineShare: 0.60, .callResolutionRate: 0.95, .smartTraining: 1200],
            .open: [.volunteerMinutes: 3_000_000, .corporateAdoptionYuan: 2_000_000, .projectEvaluationCoverage: 1.0],
            .ruleOfLaw: [.rightsClosureRate: 0.95, .legalEducationAttendees: 6000],
        ]
        for index in FederationIndex.allCases {
            let members = catalogue.members(of: index)
            #expect(Dictionary(uniqueKeysWithValues: members.map { ($0.kpi, $0.target!) }) == targets[index]!)
            #expect(members.allSatisfy { $0.targetType != nil })
        }
    }

    @Test(
        "a malformed catalogue is refused, naming the entry and what is wrong",
        arguments: [
            (#""target": 1200,"#, #""target": -1,"#, "kpis[9] (smart_training): target must be a number > 0"),
            (
                #""target": 0.50,"#, #""target": 50,"#,
                "kpis[1] (employment_rate): target must be a fraction > 0 and ≤ 1"
            ),
            (#""id": "open_cases""#, #""id": "caseload""#, "kpis[10]: \"caseload\" is not a KPI"),
            (
                #""kind": "count", "unitBasis": "case_unit""#, #""kind": "rate", "unitBasis": "case_unit""#,
                "kind must be count"
            ),
            (
                #""index": "smart", "target": 0.60"#, #""index": "smarter", "target": 0.60"#,
                "\"smarter\" is not one of the four"
            ),
            (#""targetType": "binding"}"#, #""targetType": "soft"}"#, "targetType must be binding or expected"),
            (#"{"id": "open", "zh": "开放型", "en": "Open"},"#, "", "does not list the index open"),
            (#""version": 1,"#, #""version": "1","#, "version"),
            (
                #""index": "open", "target": 1.0, "targetType": "binding""#,
                #""index": "open", "target": null, "targetType": null"#, "needs a target"
            ),
        ])
    func malformedCatalogue(_ original: String, _ replacement: String, _ complaint: String) {
        let text = shippedCatalogueText.replacingOccurrences(of: original, with: replacement)
        #expect(text != shippedCatalogueText, "the test must change the file")
        let error = #expect(throws: KPICatalogueError.self) { try KPICatalogue(json: Array(text.utf8)) }
        let description = error?.description ?? ""
        #expect(description.hasPrefix("seeds/kpis.json ") && description.contains(complaint), "\(description)")
    }

    @Test("a catalogue that misses a KPI, or is not JSON, is refused")
    func incompleteCatalogue() {
        let lines = shippedCatalogueText.split(separator: "\n", omittingEmptySubsequences: false)
        let withoutLegal = lines.filter { !$0.contains("legal_education_attendees") }.joined(separator: "\n")
            .replacingOccurrences(
                of: #""targetType": "binding"},"# + "\n  ]", with: #""targetType": "binding"}"# + "\n  ]")
        #expect(throws: KPICatalogueError.self) { try KPICatalogue(json: Array(withoutLegal.utf8)) }
        #expect(throws: KPICatalogueError.self) { try KPICatalogue(json: Array("{".utf8)) }
    }
}

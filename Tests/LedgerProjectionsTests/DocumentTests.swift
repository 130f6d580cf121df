import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

/// The nine events of kpis.md's worked example, as the fold reads them.
private func workedExample() -> TestLedger {
    var ledger = TestLedger()
    ledger.add(
        "person-P1", "2020-03-01",
        .personRegistered(
            PersonRegistration(
                sex: .female, birthDate: day("1980-02-29"), category: .physical, grade: .three, residence: "anting")))
    ledger.add(
        "person-P1", "2020-03-10",
        .needsAssessed(NeedsAssessment(workCapacity: .partial, inEducation: false, needs: [.rehab])))
    ledger.add(
        "person-P2", "2021-01-10",
        .personRegistered(
            PersonRegistration(
                sex: .male, birthDate: day("1965-12-31"), category: .mental, grade: .two, residence: "malu")),
        unit: "malu")
    ledger.add(
        "person-P1", "2021-05-01",
        .employmentStarted(EmploymentStart(employmentID: "emp1", form: .flexible, employer: "嘉定某物流公司")))
    ledger.add("person-P2", "2024-01-01", .careEnrolled(CareEnrolment(facility: "马陆养护院")), unit: "malu")
    ledger.add("person-P1", "2024-04-02", .rehabServiceDelivered(RehabService(serviceKind: .physicalTherapy)))
    ledger.add("person-P1", "2024-12-31", .employmentEnded(EmploymentEnd(employmentID: "emp1", reason: .contractEnded)))
    ledger.add("person-P1", "2024-11-01", .personMoved(Move(residence: "malu")), unit: "malu")
    ledger.add("person-P2", "2024-12-20", .personDeregistered(Deregistration(reason: .deceased)), unit: "malu")
    return ledger
}

@Suite("the KPI document of kpis.md")
struct DocumentTests {
    @Test("the worked example gives the figures of kpis.md's table through seq 7 and through seq 9")
    func workedExampleTable() {
        let ledger = workedExample()
        let early = KPIDocument(
            figures: ledger.projection(through: 7).figures(asOf: day("2024-12-31")),
            knownAt: Instant(rfc3339: "2025-01-15T00:00:00Z"), catalogue: shippedCatalogue)
        let late = KPIDocument(
            figures: ledger.projection.figures(asOf: day("2024-12-31")), knownAt: nil, catalogue: shippedCatalogue)
        #expect(early.throughSeq == 7 && late.throughSeq == 9)
        #expect(early.figures.byUnit(.registeredPersons) == ["anting": "1", "malu": "1"])
        #expect(late.figures.byUnit(.registeredPersons) == ["malu": "1"])
        #expect(early.figures.district(.employmentRate) == "0/2" && late.figures.district(.employmentRate) == "0/1")
        #expect(early.figures.byUnit(.rehabCoverage) == ["anting": "1/1"])
        #expect(late.figures.byUnit(.rehabCoverage) == ["malu": "1/1"])
        #expect(early.figures[.elderlyMentalCareRate].district.value == nil)
        #expect(late.figures[.elderlyMentalCareRate].district.value == nil)
        #expect(early.figures.district(.familyDoctorRate) == "0/2" && late.figures.district(.familyDoctorRate) == "0/1")
        for document in [early, late] {
            #expect(document.indices.map(\.value) == [25.0, 0.0, 0.0, 0.0])
            #expect(
                document.index(.service).members.map(\.score)
                    == [0, 1, nil, 0, 0, nil])
        }
    }

    @Test("the JSON: keys in kpis.md's order, every KPI present, rates with full-precision values or null")
    func jsonForm() throws {
        let ledger = workedExample()
        let document = KPIDocument(
            figures: ledger.projection(through: 7).figures(asOf: day("2024-12-31")),
            knownAt: Instant(rfc3339: "2025-01-15T00:00:00Z"), catalogue: shippedCatalogue)
        let json = document.json
        #expect(
            json.hasPrefix(
                #"{"asOf":"2024-12-31","knownAt":"2025-01-15T00:00:00.000Z","throughSeq":7,"kpis":{"registered_persons":{"value":2,"byUnit":{"anting":{"value":1},"malu":{"value":1}},"byCategory":{"mental":1,"physical":1}},"employment_rate":{"numerator":0,"denominator":2,"value":0.0,"byUnit":{"anting":{"numerator":0,"denominator":1},"malu":{"numerator":0,"denominator":1}},"byCategory":{"mental":{"numerator":0,"denominator":1},"physical":{"numerator":0,"denominator":1}}},"new_employment":{"value":0,"byUnit":{}},"rehab_coverage":{"numerator":1,"denominator":1,"value":1.0,"byUnit":{"anting":{"numerator":1,"denominator":1}}},"assistive_device_rate":{"numerator":0,"denominator":0,"value":null,"byUnit":{}}"#
            ))
        #expect(json.contains(#""open_cases":{"value":0,"byUnit":{},"byServiceType":{},"byWorker":{}}"#))
        #expect(json.contains(#""volunteer_minutes":{"value":0,"byUnit":{},"byAlliance":{},"partyMember":0}"#))
        guard case .object(let root) = try JSONParser.parse(json), case .object(let kpis)? = root["kpis"] else {
            Issue.record("not a JSON object")
            return
        }
        #expect(root.keys == ["asOf", "knownAt", "throughSeq", "kpis", "indices"])
        #expect(kpis.keys == KPI.allCases.map(\.rawValue))
    }

    @Test("a rate's value is the shortest round-trip double of the quotient")
    func rateValues() {
        var ledger = TestLedger()
        for key in ["A", "B", "C"] { ledger.register(key) }
        ledger.add("person-A", "2024-01-02", .healthCheckCompleted)
        let json = KPIDocument(figures: ledger.figures(asOf: "2024-12-31"), knownAt: nil, catalogue: shippedCatalogue)
            .json
        #expect(json.contains(#""health_check_rate":{"numerator":1,"denominator":3,"value":0.3333333333333333,"#))
        #expect(Double("0.3333333333333333") == 1.0 / 3.0)
        #expect(json.contains(#""knownAt":null"#))
    }

    @Test("the caseload's JSON: open cases by unit (each by service type and worker), by service type, by worker")
    func caseloadJSON() {
        var ledger = TestLedger()
        ledger.register("P1")
        ledger.add(
            "case-K1", "2024-02-01", .caseOpened(CaseOpening(personID: "P1", serviceType: .rehab, worker: "w01")))
        ledger.add(
            "case-K2", "2024-02-01", .caseOpened(CaseOpening(personID: "P1", serviceType: .care, worker: "w02")),
            unit: "malu")
        let json = ledger.projection.caseload(asOf: day("2024-03-01")).json(knownAt: nil)
        #expect(
            json
                == #"{"asOf":"2024-03-01","knownAt":null,"throughSeq":3,"openCases":2,"byUnit":{"anting":{"openCases":1,"byServiceType":{"rehab":1},"byWorker":{"w01":1}},"malu":{"openCases":1,"byServiceType":{"care":1},"byWorker":{"w02":1}}},"byServiceType":{"care":1,"rehab":1},"byWorker":{"w01":1,"w02":1}}"#
        )
    }

    @Test("the figures are the same however often they are asked, and asking changes nothing")
    func figuresArePure() {
        let projection = workedExample().projection
        let first = projection.figures(asOf: day("2024-12-31"))
        _ = projection.figures(asOf: day("2021-01-01"))
        #expect(projection.figures(asOf: day("2024-12-31")) == first)
        #expect(
            KPIDocument(figures: first, knownAt: nil, catalogue: shippedCatalogue).json
                == KPIDocument(figures: first, knownAt: nil, catalogue: shippedCatalogue).json)
    }
}

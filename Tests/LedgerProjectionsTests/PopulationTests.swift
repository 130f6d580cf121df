import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

@Suite("population, cases, projects and sums (kpis.md)")
struct PopulationTests {
    @Test(
        "P(D): registered in the effective history and not deregistered in it; a late deregistration counts from its date"
    )
    func registeredAtD() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-03-01")
        ledger.register("P2", on: "2021-01-10", residence: "malu")
        ledger.add("person-P2", "2024-12-20", .personDeregistered(Deregistration(reason: .deceased)), unit: "malu")
        #expect(ledger.figures(asOf: "2020-02-29").district(.registeredPersons) == "0")
        #expect(ledger.figures(asOf: "2020-03-01").district(.registeredPersons) == "1")
        #expect(ledger.figures(asOf: "2024-12-19").byUnit(.registeredPersons) == ["anting": "1", "malu": "1"])
        #expect(ledger.figures(asOf: "2024-12-20").byUnit(.registeredPersons) == ["anting": "1"])
        #expect(ledger.projection(through: 2).figures(asOf: day("2024-12-31")).district(.registeredPersons) == "2")
    }

    @Test("category comes from the latest of PersonRegistered and PersonReassessed")
    func categoryAtD() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01", category: .physical)
        ledger.add("person-P1", "2023-01-01", .personReassessed(Reassessment(category: .multiple, grade: .one)))
        #expect(
            ledger.figures(asOf: "2022-12-31")[.registeredPersons].breakdown(.byCategory) == ["physical": .count(1)])
        #expect(
            ledger.figures(asOf: "2023-01-01")[.registeredPersons].breakdown(.byCategory) == ["multiple": .count(1)])
    }

    @Test("working-age capable: 16 ≤ age ≤ 59, and no assessment, or capacity not none and not in education")
    func workingAgeCapable() {
        var ledger = TestLedger()
        ledger.register("young", born: "2008-06-15")
        ledger.register("sixteen-tomorrow", born: "2008-06-16")
        ledger.register("sixty", born: "1964-06-15")
        ledger.register("fifty-nine", born: "1964-06-16")
        ledger.register("none", born: "1990-01-01")
        ledger.register("student", born: "2000-01-01")
        ledger.register("partial", born: "1990-01-01")
        ledger.register("reassessed", born: "1990-01-01")
        ledger.add(
            "person-none", "2021-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .none, inEducation: false, needs: [])))
        ledger.add(
            "person-student", "2021-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .full, inEducation: true, needs: [])))
        ledger.add(
            "person-partial", "2021-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .partial, inEducation: false, needs: [])))
        ledger.add(
            "person-reassessed", "2021-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .none, inEducation: false, needs: [])))
        ledger.add(
            "person-reassessed", "2024-06-01",
            .needsAssessed(NeedsAssessment(workCapacity: .full, inEducation: false, needs: [])))
        // young (16 on D), fifty-nine (59), partial, reassessed (its latest assessment is full capacity).
        #expect(ledger.figures(asOf: "2024-06-15").district(.employmentRate) == "0/4")
        // The day before: young is 15, sixty still 59.
        #expect(ledger.figures(asOf: "2024-06-14").district(.employmentRate) == "0/4")
        #expect(ledger.figures(asOf: "2024-05-31").district(.employmentRate) == "0/3")
    }

    @Test("the elderly care denominator takes persons of category mental at D aged 60 or more")
    func elderlyMentalCare() {
        var ledger = TestLedger()
        ledger.register("P1", born: "1964-06-15", category: .physical)
        ledger.add("person-P1", "2024-01-01", .personReassessed(Reassessment(category: .mental, grade: .two)))
        ledger.add("person-P1", "2024-02-01", .careEnrolled(CareEnrolment(facility: "x")))
        #expect(ledger.figures(asOf: "2023-12-31").district(.elderlyMentalCareRate) == "0/0")
        #expect(ledger.figures(asOf: "2024-06-14").district(.elderlyMentalCareRate) == "0/0")
        #expect(ledger.figures(asOf: "2024-06-15").district(.elderlyMentalCareRate) == "1/1")
        #expect(ledger.figures(asOf: "2024-06-15")[.elderlyMentalCareRate].district.value == 1)
    }

    @Test("needs-based rates: the denominator is whose latest assessment lists the need, the numerator a service in W")
    func needsBasedRates() {
        var ledger = TestLedger()
        ledger.register("P1")
        ledger.register("P2")
        ledger.add(
            "person-P1", "2023-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .full, inEducation: false, needs: [.rehab, .assistiveDevice])))
        ledger.add(
            "person-P2", "2023-01-01",
            .needsAssessed(NeedsAssessment(workCapacity: .full, inEducation: false, needs: [.rehab])))
        ledger.add("person-P1", "2024-02-01", .rehabServiceDelivered(RehabService(serviceKind: .other)))
        ledger.add("person-P2", "2023-12-01", .rehabServiceDelivered(RehabService(serviceKind: .other)))
        ledger.add("person-P2", "2024-03-01", .assistiveDeviceFitted(DeviceFitting(deviceKind: .wheelchair)))
        let figures = ledger.figures(asOf: "2024-12-31")
        #expect(figures.district(.rehabCoverage) == "1/2")
        #expect(figures.district(.assistiveDeviceRate) == "0/1")  // P2 was fitted, but does not need one
        ledger.add(
            "person-P2", "2024-06-01",
            .needsAssessed(NeedsAssessment(workCapacity: .full, inEducation: false, needs: [])))
        #expect(ledger.figures(asOf: "2024-12-31").district(.rehabCoverage) == "1/1")
        #expect(ledger.figures(asOf: "2024-05-31").district(.rehabCoverage) == "1/2")
    }

    @Test("event counts on person streams count only persons in P(D), filed under their residence at D")
    func personEventsOnlyForRegistered() {
        var ledger = TestLedger()
        ledger.register("P1", residence: "anting")
        ledger.add(
            "person-P1", "2024-02-01", .trainingCompleted(Training(programme: .smartSkills, hours: 3)), unit: "malu")
        ledger.add(
            "person-P1", "2024-02-02", .trainingCompleted(Training(programme: .smartSkills, hours: 3)), unit: "malu")
        ledger.add(
            "person-P1", "2024-02-03", .trainingCompleted(Training(programme: .vocational, hours: 3)), unit: "malu")
        ledger.add(
            "person-P1", "2024-03-01", .homeModificationCompleted(HomeModification(programme: .other, costYuan: 5)))
        ledger.add(
            "person-P1", "2024-04-01",
            .employmentStarted(EmploymentStart(employmentID: "a", form: .flexible, employer: "x")))
        #expect(ledger.figures(asOf: "2024-12-31").byUnit(.smartTraining) == ["anting": "2"])
        #expect(ledger.figures(asOf: "2024-12-31").district(.homeModifications) == "1")
        #expect(ledger.figures(asOf: "2024-12-31").district(.newEmployment) == "1")
        ledger.add("person-P1", "2024-10-01", .personDeregistered(Deregistration(reason: .movedOut)))
        let after = ledger.figures(asOf: "2024-12-31")
        #expect(after.district(.smartTraining) == "0")
        #expect(after.district(.homeModifications) == "0")
        #expect(after.district(.newEmployment) == "0")
        #expect(after.district(.healthCheckRate) == "0/0")
    }

    @Test("a case's unit and worker: CaseOpened's orgUnit and worker, then the latest CaseReassigned's")
    func caseUnit() {
        var ledger = TestLedger()
        ledger.register("P1")
        ledger.add(
            "case-K1", "2024-02-01", .caseOpened(CaseOpening(personID: "P1", serviceType: .rehab, worker: "w01")),
            unit: "anting")
        ledger.add(
            "case-K1", "2024-06-01", .caseReassigned(CaseReassignment(worker: "w09", unit: "xuhang")), unit: "xuhang")
        ledger.add(
            "case-K1", "2024-05-01", .caseReassigned(CaseReassignment(worker: "w07", unit: "malu")), unit: "malu")
        ledger.add(
            "case-K2", "2024-03-01", .caseOpened(CaseOpening(personID: "P1", serviceType: .care, worker: "w01")),
            unit: "anting")
        ledger.add("case-K2", "2024-07-01", .caseClosed(CaseClosing(outcome: .resolved)), unit: "anting")
        let april = ledger.projection.caseload(asOf: day("2024-04-30"))
        #expect(april.openCases == 2 && april.byWorker == ["w01": 2] && april.byUnit["anting"]?.openCases == 2)
        let may = ledger.figures(asOf: "2024-05-01")
        #expect(may.byUnit(.openCases) == ["anting": "1", "malu": "1"])
        #expect(may[.openCases].breakdown(.byWorker) == ["w01": .count(1), "w07": .count(1)])
        #expect(may[.openCases].breakdown(.byServiceType) == ["care": .count(1), "rehab": .count(1)])
        let july = ledger.figures(asOf: "2024-07-01")
        #expect(july.byUnit(.openCases) == ["xuhang": "1"])
        #expect(july[.openCases].breakdown(.byWorker) == ["w09": .count(1)])
        #expect(ledger.figures(asOf: "2024-01-31").district(.openCases) == "0")
    }

    @Test("projects: active when launched and not eliminated; covered when evaluated for D's year by D")
    func projectEvaluationOfTheYear() {
        var ledger = TestLedger()
        let launch = ProjectLaunch(title: "t", operator: "o", category: .rehab, budgetYuan: 1)
        ledger.add("project-A", "2023-01-01", .projectLaunched(launch), unit: "malu")
        ledger.add("project-B", "2023-01-01", .projectLaunched(launch), unit: "anting")
        ledger.add("project-A", "2024-01-20", .projectEvaluated(ProjectEvaluation(year: 2023, score: 80)), unit: "malu")
        ledger.add(
            "project-B", "2024-05-01", .projectEvaluated(ProjectEvaluation(year: 2024, score: 80)), unit: "anting")
        ledger.add("project-B", "2024-09-01", .projectEliminated(ProjectElimination(reason: "r")), unit: "anting")
        #expect(ledger.figures(asOf: "2023-12-31").district(.projectEvaluationCoverage) == "0/2")
        #expect(ledger.figures(asOf: "2024-04-30").district(.projectEvaluationCoverage) == "0/2")
        #expect(
            ledger.figures(asOf: "2024-05-01").byUnit(.projectEvaluationCoverage) == ["anting": "1/1", "malu": "0/1"])
        #expect(ledger.figures(asOf: "2024-09-01").district(.projectEvaluationCoverage) == "0/1")
        #expect(ledger.figures(asOf: "2024-09-01").byUnit(.activeProjects) == ["malu": "1"])
    }

    @Test("sums in W by the unit of each event: adoptions, volunteer minutes by alliance and party, legal education")
    func sumsByEventUnit() {
        var ledger = TestLedger()
        let launch = ProjectLaunch(title: "t", operator: "o", category: .rehab, budgetYuan: 1)
        ledger.add("project-A", "2023-01-01", .projectLaunched(launch), unit: "malu")
        ledger.add("project-A", "2023-12-31", .projectAdopted(Adoption(company: "c", amountYuan: 7)), unit: "malu")
        ledger.add("project-A", "2024-01-01", .projectAdopted(Adoption(company: "c", amountYuan: 100)), unit: "anting")
        ledger.add(
            "volunteer-V1", "2023-05-01",
            .volunteerRegistered(VolunteerRegistration(partyMember: true, alliance: .taicang)), unit: "malu")
        ledger.add(
            "volunteer-V2", "2023-05-01",
            .volunteerRegistered(VolunteerRegistration(partyMember: false, alliance: .taicang)), unit: "malu")
        ledger.add(
            "volunteer-V1", "2024-03-01", .volunteerServiceLogged(VolunteerService(minutes: 60, activity: "a")),
            unit: "xuhang")
        ledger.add(
            "volunteer-V2", "2024-03-02", .volunteerServiceLogged(VolunteerService(minutes: 30, activity: "a")),
            unit: "malu")
        ledger.add(
            "org-malu", "2024-04-01", .legalEducationHeld(LegalEducation(attendees: 40, topic: "t")), unit: "malu")
        let figures = ledger.figures(asOf: "2024-12-31")
        #expect(figures.byUnit(.corporateAdoptionYuan) == ["anting": "100"])
        #expect(figures.byUnit(.volunteerMinutes) == ["malu": "30", "xuhang": "60"])
        #expect(figures[.volunteerMinutes].breakdown(.byAlliance) == ["taicang": .count(90)])
        #expect(figures[.volunteerMinutes].partyMember == 60)
        #expect(figures.byUnit(.legalEducationAttendees) == ["malu": "40"])
        #expect(ledger.figures(asOf: "2024-03-01")[.volunteerMinutes].partyMember == 60)
        #expect(ledger.figures(asOf: "2024-02-29").district(.volunteerMinutes) == "0")
        #expect(ledger.figures(asOf: "2023-12-31").byUnit(.corporateAdoptionYuan) == ["malu": "7"])
    }

    @Test("breakdowns list only keys whose figures are not all zero")
    func breakdownsOmitZeros() {
        var ledger = TestLedger()
        ledger.register("P1", residence: "anting")
        ledger.register("P2", residence: "malu")
        ledger.add("person-P1", "2024-01-05", .healthCheckCompleted)
        let figures = ledger.figures(asOf: "2024-12-31")
        #expect(figures.byUnit(.healthCheckRate) == ["anting": "1/1", "malu": "0/1"])
        #expect(figures.byUnit(.smartTraining) == [:])
        #expect(figures.byUnit(.rehabCoverage) == [:])
        #expect(figures[.openCases].breakdown(.byWorker) == [:])
    }
}

import LedgerDomain
import LedgerProjections
import LedgerValues
import Testing

@Suite("the time rules of kpis.md")
struct TimeRuleTests {
    @Test(
        "a late report lands where it belongs in time: a move recorded later, dated earlier, is the residence from its date"
    )
    func lateMoveLandsInTime() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01", residence: "anting")
        ledger.add("person-P1", "2024-03-01", .personMoved(Move(residence: "nanxiang")))
        ledger.add("person-P1", "2023-06-01", .personMoved(Move(residence: "malu")))  // reported late
        #expect(ledger.figures(asOf: "2023-05-31").byUnit(.registeredPersons) == ["anting": "1"])
        #expect(ledger.figures(asOf: "2023-06-01").byUnit(.registeredPersons) == ["malu": "1"])
        #expect(ledger.figures(asOf: "2024-02-29").byUnit(.registeredPersons) == ["malu": "1"])
        #expect(ledger.figures(asOf: "2024-03-01").byUnit(.registeredPersons) == ["nanxiang": "1"])
        // Known before the late report (the first two events): the residence was anting until 2024-03-01.
        #expect(
            ledger.projection(through: 2).figures(asOf: day("2023-12-31")).byUnit(.registeredPersons) == ["anting": "1"]
        )
    }

    @Test("of two events dated the same day, the one with the higher seq is the latest")
    func sameDayTieGoesToSeq() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01")
        ledger.add("person-P1", "2024-05-01", .personMoved(Move(residence: "malu")))
        ledger.add("person-P1", "2024-05-01", .personMoved(Move(residence: "xuhang")))
        ledger.add("person-P1", "2024-04-01", .personMoved(Move(residence: "juyuan")))
        #expect(ledger.figures(asOf: "2024-05-01").byUnit(.registeredPersons) == ["xuhang": "1"])
        #expect(ledger.figures(asOf: "2024-04-30").byUnit(.registeredPersons) == ["juyuan": "1"])

        var contract = TestLedger()
        contract.register("P1")
        contract.add("person-P1", "2024-05-01", .familyDoctorContractEnded)
        contract.add("person-P1", "2024-05-01", .familyDoctorContracted)
        #expect(contract.figures(asOf: "2024-05-01").district(.familyDoctorRate) == "1/1")
        contract.add("person-P1", "2024-05-01", .familyDoctorContractEnded)
        #expect(contract.figures(asOf: "2024-05-01").district(.familyDoctorRate) == "0/1")
    }

    @Test("the year window is 1 January of D's year through D, both included")
    func yearWindow() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01")
        ledger.add("person-P1", "2023-12-31", .healthCheckCompleted)
        ledger.add(
            "person-P1", "2024-01-01", .homeModificationCompleted(HomeModification(programme: .other, costYuan: 1)))
        ledger.add("person-P1", "2024-06-30", .trainingCompleted(Training(programme: .smartSkills, hours: 2)))
        #expect(ledger.figures(asOf: "2023-12-31").district(.healthCheckRate) == "1/1")
        #expect(ledger.figures(asOf: "2024-01-01").district(.healthCheckRate) == "0/1")
        #expect(ledger.figures(asOf: "2023-12-31").district(.homeModifications) == "0")
        #expect(ledger.figures(asOf: "2024-01-01").district(.homeModifications) == "1")
        #expect(ledger.figures(asOf: "2024-12-31").district(.homeModifications) == "1")
        #expect(ledger.figures(asOf: "2025-01-01").district(.homeModifications) == "0")
        #expect(ledger.figures(asOf: "2024-06-29").district(.smartTraining) == "0")
        #expect(ledger.figures(asOf: "2024-06-30").district(.smartTraining) == "1")
    }

    @Test("age at D is completed years; a 29 February birthday comes on 1 March in a year without one")
    func ageAtD() {
        #expect(age(bornOn: day("1965-12-31"), on: day("2024-12-31")) == 59)
        #expect(age(bornOn: day("1965-12-31"), on: day("2024-12-30")) == 58)
        #expect(age(bornOn: day("1980-02-29"), on: day("2024-02-28")) == 43)
        #expect(age(bornOn: day("1980-02-29"), on: day("2024-02-29")) == 44)
        #expect(age(bornOn: day("1980-02-29"), on: day("2023-02-28")) == 42)
        #expect(age(bornOn: day("1980-02-29"), on: day("2023-03-01")) == 43)
        #expect(age(bornOn: day("2000-02-29"), on: day("2100-02-28")) == 99)
        #expect(age(bornOn: day("2000-02-29"), on: day("2100-03-01")) == 100)
    }

    @Test("someone born on 29 February enters working age on 1 March of a year without 29 February")
    func leapBirthdayInCommonYear() {
        // 2084 + 16 = 2100, which is not a leap year.
        var ledger = TestLedger()
        ledger.register("P1", on: "2084-03-01", born: "2084-02-29")
        #expect(ledger.figures(asOf: "2100-02-28").district(.employmentRate) == "0/0")
        #expect(ledger.figures(asOf: "2100-03-01").district(.employmentRate) == "0/1")
        var leap = TestLedger()
        leap.register("P1", on: "2008-03-01", born: "2008-02-29")
        #expect(leap.figures(asOf: "2024-02-28").district(.employmentRate) == "0/0")
        #expect(leap.figures(asOf: "2024-02-29").district(.employmentRate) == "0/1")
    }

    @Test("an employment counts on days start ≤ day < end: ended on D means not employed on D")
    func employmentInterval() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01")
        ledger.add(
            "person-P1", "2024-03-01",
            .employmentStarted(EmploymentStart(employmentID: "a", form: .flexible, employer: "x")))
        ledger.add("person-P1", "2024-06-30", .employmentEnded(EmploymentEnd(employmentID: "a", reason: .resigned)))
        #expect(ledger.figures(asOf: "2024-02-29").district(.employmentRate) == "0/1")
        #expect(ledger.figures(asOf: "2024-03-01").district(.employmentRate) == "1/1")
        #expect(ledger.figures(asOf: "2024-06-29").district(.employmentRate) == "1/1")
        #expect(ledger.figures(asOf: "2024-06-30").district(.employmentRate) == "0/1")
        // Known before the end was recorded, the employment runs on.
        #expect(ledger.projection(through: 2).figures(asOf: day("2024-12-31")).district(.employmentRate) == "1/1")
        // A second employment started on the day the first ends: employed that day.
        ledger.add(
            "person-P1", "2024-06-30",
            .employmentStarted(EmploymentStart(employmentID: "b", form: .flexible, employer: "y")))
        #expect(ledger.figures(asOf: "2024-06-30").district(.employmentRate) == "1/1")
    }

    @Test("new employment counts persons with a start dated in the year window, once each")
    func newEmployment() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2020-01-01")
        ledger.register("P2", on: "2020-01-01")
        ledger.add(
            "person-P1", "2023-12-31",
            .employmentStarted(EmploymentStart(employmentID: "a", form: .flexible, employer: "x")))
        ledger.add(
            "person-P2", "2024-02-01",
            .employmentStarted(EmploymentStart(employmentID: "a", form: .flexible, employer: "x")))
        ledger.add("person-P2", "2024-03-01", .employmentEnded(EmploymentEnd(employmentID: "a", reason: .resigned)))
        ledger.add(
            "person-P2", "2024-04-01",
            .employmentStarted(EmploymentStart(employmentID: "b", form: .flexible, employer: "x")))
        #expect(ledger.figures(asOf: "2023-12-31").district(.newEmployment) == "1")
        #expect(ledger.figures(asOf: "2024-01-31").district(.newEmployment) == "0")
        #expect(ledger.figures(asOf: "2024-12-31").district(.newEmployment) == "1")
    }

    @Test("family doctor and care are active at D when the latest of their start/end events is a start")
    func latestOfStartAndEnd() {
        var ledger = TestLedger()
        ledger.register("P1", on: "2000-01-01", born: "1950-01-01", category: .mental)
        ledger.add("person-P1", "2021-01-01", .careEnrolled(CareEnrolment(facility: "x")))
        ledger.add("person-P1", "2022-01-01", .careEnded)
        ledger.add("person-P1", "2023-01-01", .careEnrolled(CareEnrolment(facility: "y")))
        ledger.add("person-P1", "2021-06-01", .familyDoctorContracted)
        #expect(ledger.figures(asOf: "2020-12-31").district(.elderlyMentalCareRate) == "0/1")
        #expect(ledger.figures(asOf: "2021-01-01").district(.elderlyMentalCareRate) == "1/1")
        #expect(ledger.figures(asOf: "2022-01-01").district(.elderlyMentalCareRate) == "0/1")
        #expect(ledger.figures(asOf: "2023-01-01").district(.elderlyMentalCareRate) == "1/1")
        #expect(ledger.figures(asOf: "2021-05-31").district(.familyDoctorRate) == "0/1")
        #expect(ledger.figures(asOf: "2030-01-01").district(.familyDoctorRate) == "1/1")
        // An end reported late, dated before the last enrolment, changes nothing after that enrolment.
        ledger.add("person-P1", "2022-06-01", .careEnded)
        #expect(ledger.figures(asOf: "2023-06-01").district(.elderlyMentalCareRate) == "1/1")
    }

    @Test("a call is resolved in time when its resolution, in the effective history, is at most 3 days after receipt")
    func callResolutionWithinThreeDays() {
        var ledger = TestLedger()
        for (key, received, resolved) in [
            ("A", "2024-03-01", "2024-03-04"), ("B", "2024-03-01", "2024-03-05"), ("C", "2024-12-30", "2025-01-02"),
            ("D", "2024-02-29", "2024-03-03"),
        ] {
            ledger.add(
                "call-\(key)", received, .callReceived(CallReceipt(topic: .policy, channel: .phone)), unit: "malu")
            ledger.add("call-\(key)", resolved, .callResolved(CallResolution(satisfied: key != "B")), unit: "malu")
        }
        let figures = ledger.figures(asOf: "2024-12-31")
        // A: 3 days, in time. B: 4 days, late. C: resolved after D, not yet. D: 29 Feb to 3 Mar is 3 days.
        #expect(figures.district(.callResolutionRate) == "2/4")
        #expect(figures.district(.callSatisfaction) == "2/3")
        #expect(figures.byUnit(.callResolutionRate) == ["malu": "2/4"])
        #expect(ledger.figures(asOf: "2025-01-02").district(.callResolutionRate) == "0/0")
        #expect(ledger.figures(asOf: "2024-03-04").district(.callResolutionRate) == "2/3")
    }

    @Test("a rights case is closed in time when its closure is at most 15 days after opening")
    func rightsClosureWithinFifteenDays() {
        var ledger = TestLedger()
        for (key, opened, closed) in [("A", "2024-05-01", "2024-05-16"), ("B", "2024-05-01", "2024-05-17")] {
            ledger.add("rights-\(key)", opened, .rightsCaseOpened(RightsCaseOpening(kind: .complaint)), unit: "juyuan")
            ledger.add(
                "rights-\(key)", closed, .rightsCaseClosed(RightsCaseClosing(resolution: .resolved)), unit: "juyuan")
        }
        #expect(ledger.figures(asOf: "2024-12-31").district(.rightsClosureRate) == "1/2")
        #expect(ledger.figures(asOf: "2024-05-15").district(.rightsClosureRate) == "0/2")
        #expect(ledger.figures(asOf: "2024-05-16").district(.rightsClosureRate) == "1/2")
        #expect(ledger.figures(asOf: "2025-01-01").district(.rightsClosureRate) == "0/0")
    }
}

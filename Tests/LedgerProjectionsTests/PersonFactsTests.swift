import LedgerDomain
import LedgerValues
import Testing

@testable import LedgerProjections

@Suite("A person's dated facts, kept in one array grouped by kind")
struct PersonFactsTests {
    private func person() -> PersonFacts {
        PersonFacts(registered: day("2020-03-01"), birth: day("1970-05-05"), residence: 4, category: .visual)
    }

    /// The dates and values of `person`'s facts of `kind`, in their order.
    private func entries(_ person: PersonFacts, _ kind: PersonFactKind) -> [String] {
        person.facts(of: kind).map { "\($0.date) \($0.value)" }
    }

    /// What the figures read of `person` as of `date`.
    private func at(_ person: PersonFacts, _ date: String) -> PersonAsOf {
        person.asOf(day(date), window: YearWindow(asOf: day(date)))
    }

    @Test("a timeline's late report lands where it belongs; of two facts of one day, the later stored wins")
    func timelineOrder() {
        var facts = person()
        facts.record(.residence, 7, on: day("2022-01-10"))
        facts.record(.residence, 5, on: day("2021-06-01"))  // reported late
        facts.record(.residence, 6, on: day("2021-06-01"))  // same day, stored later
        #expect(
            entries(facts, .residence) == ["2020-03-01 4", "2021-06-01 5", "2021-06-01 6", "2022-01-10 7"])
        #expect(at(facts, "2020-02-29").residence == nil)
        #expect(at(facts, "2021-05-31").residence == 4)
        #expect(at(facts, "2021-06-01").residence == 6)
        #expect(at(facts, "2030-01-01").residence == 7)
        // The other kinds are untouched.
        #expect(at(facts, "2030-01-01").category == .visual)
        #expect(at(facts, "2030-01-01").assessment == nil)
    }

    @Test("every kind keeps its own facts whatever order the kinds come in")
    func kindsApart() {
        var facts = person()
        facts.noteSmartTraining(on: day("2021-01-05"))
        facts.record(.care, 1, on: day("2021-02-01"))
        facts.noteService(.healthCheck, on: day("2021-03-01"))
        facts.record(.familyDoctor, 1, on: day("2021-04-01"))
        facts.record(
            .assessment, Assessment(canWork: false, needsRehab: true, needsDevice: false).bits, on: day("2021-05-01"))
        facts.record(.category, UInt32(DisabilityCategory.mental.snapshotCode), on: day("2021-06-01"))
        facts.record(.familyDoctor, 0, on: day("2021-07-01"))
        facts.noteService(.rehab, on: day("2021-08-01"))
        facts.record(.residence, 9, on: day("2021-09-01"))
        facts.noteSmartTraining(on: day("2020-12-31"))  // stored after, dated before: kept in the order stored

        #expect(facts.dated.map(\.kindNumber) == [0, 0, 1, 1, 2, 3, 6, 7, 7, 8, 9, 9])
        let end = day("2021-12-31")
        #expect(entries(facts, .smartTraining) == ["2021-01-05 0", "2020-12-31 0"])
        let asOf = facts.asOf(end, window: YearWindow(asOf: end))
        #expect(asOf.residence == 9 && asOf.category == .mental)
        #expect(asOf.assessment == Assessment(canWork: false, needsRehab: true, needsDevice: false))
        #expect(!asOf.familyDoctor && asOf.care)
        #expect(asOf[.smartTraining] == 1 && asOf[.rehab] == 1 && asOf[.healthCheck] == 1)
        #expect(asOf[.device] == 0 && asOf[.homeModification] == 0)
        #expect(at(facts, "2021-06-30").familyDoctor && !at(facts, "2021-01-31").care)
        let before = at(facts, "2021-05-31")
        #expect(before.category == .visual && before.residence == 4)
        #expect(before.familyDoctor && before.care && before[.rehab] == 0)
    }

    @Test("a service keeps the first date of each year, in date order, late reports included")
    func firstDateOfEachYear() {
        var facts = person()
        facts.noteService(.device, on: day("2022-05-01"))
        facts.noteService(.device, on: day("2022-06-01"))  // later in the same year: nothing new
        facts.noteService(.device, on: day("2022-02-01"))  // earlier in the same year: the new first
        facts.noteService(.device, on: day("2020-11-01"))  // an earlier year, reported late
        facts.noteService(.device, on: day("2021-12-31"))  // a year between
        facts.noteService(.device, on: day("2021-01-01"))  // that year's new first
        facts.noteService(.device, on: day("2023-07-07"))
        #expect(entries(facts, .device) == ["2020-11-01 0", "2021-01-01 0", "2022-02-01 0", "2023-07-07 0"])
        #expect(at(facts, "2022-02-01")[.device] == 1)
        #expect(at(facts, "2022-01-31")[.device] == 0)
        #expect(at(facts, "2022-12-31")[.rehab] == 0)
    }

    @Test("two persons with the same facts are equal, and differ in the part that differs")
    func equality() {
        func served() -> PersonFacts {
            var facts = person()
            facts.noteService(.rehab, on: day("2021-03-03"))
            facts.record(.care, 1, on: day("2021-04-04"))
            return facts
        }
        let a = served()
        var b = served()
        #expect(a == b)
        b.record(.care, 0, on: day("2021-05-05"))
        #expect(a != b)
        #expect(a.facts(of: .rehab) == b.facts(of: .rehab))
        #expect(a.facts(of: .care) != b.facts(of: .care))
    }

    @Test(
        "a person's facts hold little spare room however they grow: an eighth of their count, as the allocator rounds it"
    )
    func spareRoom() {
        var facts = person()
        var dates = (0..<400).map { day("2021-01-01").adding(days: $0) }.makeIterator()
        for step in 0..<300 {
            let date = dates.next()!
            switch step % 3 {
            case 0: facts.record(.assessment, UInt32(step % 8), on: date)
            case 1: facts.noteSmartTraining(on: date)
            default: facts.noteService(.rehab, on: date.adding(days: 366 * step))
            }
            // An eighth and two more, rounded up by the allocator to its next
            // size (at most a quarter more, and a few facts when small). An
            // array left to grow by itself doubles: up to twice its count.
            let count = facts.dated.count
            #expect(facts.dated.capacity <= (count + count / 8 + 2) * 5 / 4 + 4, "after \(step + 1) facts")
        }
        #expect(facts.dated.count == 302)
    }

    @Test("a value beyond 28 bits is no fact: values of the largest size are kept whole")
    func valueRange() {
        let fact = DatedFact(.smartTraining, DatedFact.largestValue, on: day("2021-01-01"))
        #expect(fact.value == DatedFact.largestValue)
        #expect(fact.kindNumber == PersonFactKind.smartTraining.rawValue)
    }
}

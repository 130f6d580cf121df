import LedgerValues
import Testing

@testable import LedgerProjections

@Suite("A timeline of values, its first entry kept inline")
struct TimelineTests {
    /// The entries of `timeline` as "date value", in order.
    private func entries(_ timeline: Timeline<Int>) -> [String] {
        var entries: [String] = []
        timeline.forEach { entries.append("\($0.date) \($0.value)") }
        return entries
    }

    @Test("entries keep the order of effective history, a late report before the first included")
    func order() {
        var timeline = Timeline<Int>()
        #expect(timeline.count == 0 && timeline.earliest == nil)
        #expect(timeline.latest(onOrBefore: day("2030-01-01")) == nil)
        timeline.record(1, on: day("2022-03-01"))
        #expect(timeline.count == 1 && entries(timeline) == ["2022-03-01 1"])
        timeline.record(2, on: day("2022-05-01"))
        timeline.record(3, on: day("2021-01-01"))  // before the first: the new first
        timeline.record(4, on: day("2022-03-01"))  // the first's day, stored later: after it
        timeline.record(5, on: day("2021-01-01"))  // the new first's day: after it, before the old first
        #expect(entries(timeline) == ["2021-01-01 3", "2021-01-01 5", "2022-03-01 1", "2022-03-01 4", "2022-05-01 2"])
        #expect(timeline.earliest?.value == 3 && timeline.count == 5)
        #expect(timeline.latest(onOrBefore: day("2020-12-31")) == nil)
        #expect(timeline.latest(onOrBefore: day("2021-01-01")) == 5)
        #expect(timeline.latest(onOrBefore: day("2022-03-01")) == 4)
        #expect(timeline.latest(onOrBefore: day("2022-04-30")) == 4)
        #expect(timeline.latest(onOrBefore: day("2099-01-01")) == 2)
    }

    @Test("appending in order gives what recording gives; equal entries make equal timelines")
    func appendAndEquality() {
        var recorded = Timeline<Int>()
        var appended = Timeline<Int>()
        for (date, value) in [("2021-01-01", 1), ("2021-01-01", 2), ("2023-06-01", 3)] {
            recorded.record(value, on: day(date))
            appended.append((day(date), value))
        }
        #expect(recorded == appended)
        appended.append((day("2024-01-01"), 4))
        #expect(recorded != appended)
        var single = Timeline<Int>()
        single.record(1, on: day("2021-01-01"))
        var other = Timeline<Int>()
        other.record(9, on: day("2021-01-01"))
        #expect(single != other && single != Timeline<Int>())
    }
}

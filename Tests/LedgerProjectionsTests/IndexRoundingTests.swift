import Foundation
import LedgerDomain
import LedgerValues
import Testing

@testable import LedgerProjections

@Suite("the four-type indices are rounded from the exact mean of their scores")
struct IndexRoundingTests {
    @Test("whole numbers of any size add, multiply and compare exactly")
    func naturals() {
        let top = Natural(UInt64.max)
        #expect((top + Natural(1)).limbs == [0, 1])
        // (2⁶⁴ − 1)² = 2¹²⁸ − 2⁶⁵ + 1
        #expect((top * top).limbs == [1, UInt64.max - 1])
        #expect((top * top * top).limbs == [UInt64.max, 2, UInt64.max - 2])
        #expect(Natural(0) * top == Natural(0))
        #expect(Natural(3) < Natural(4) && !(Natural(4) < Natural(4)))
        #expect(top < top * Natural(2) && Natural(7) < top + Natural(1))
        #expect((Natural(0) + Natural(0)).isZero)
    }

    @Test("a fraction rounds to the nearest whole number, a half up, on its exact value")
    func rounding() {
        #expect(ExactFraction(67, over: 400).rounded(times: 1000, dividedBy: 1) == 168)  // 167.5
        #expect(ExactFraction(1, over: 3).rounded(times: 1000, dividedBy: 1) == 333)
        #expect(ExactFraction(2, over: 3).rounded(times: 1000, dividedBy: 1) == 667)
        #expect(ExactFraction.zero.rounded(times: 1000, dividedBy: 3) == 0)
        #expect(ExactFraction.one.rounded(times: 1000, dividedBy: 1) == 1000)
        #expect(ExactFraction(3, over: 2).atMostOne.rounded(times: 10, dividedBy: 1) == 10)
        // 1 + 40/57 + 12/19 + 5/12 = 33/12: a mean of 0.6875 over four scores, 687.5 tenths of a percent.
        let sum = [
            ExactFraction.one, ExactFraction(40, over: 57), ExactFraction(12, over: 19), ExactFraction(5, over: 12),
        ]
        .reduce(ExactFraction.zero, +)
        #expect(sum.rounded(times: 1000, dividedBy: 4) == 688)
        // Just below and just above the half, with denominators far past 64 bits.
        let big: UInt64 = 1 << 62
        let below = ExactFraction(1, over: 2) + ExactFraction(0, over: big)
        #expect(below.rounded(times: 1, dividedBy: 1) == 1)
        let sliver = ExactFraction(big - 1, over: big)
        #expect((ExactFraction(1, over: 2) + sliver).rounded(times: 1, dividedBy: 1) == 1)
        let justUnder = [
            ExactFraction(1, over: 4), ExactFraction(big / 4 - 1, over: big), ExactFraction(0, over: big - 1),
        ]
        .reduce(ExactFraction.zero, +)
        #expect(justUnder.rounded(times: 1, dividedBy: 1) == 0)
    }

    @Test("targets are read exactly as written: 0.95 is 95/100, 3e6 is 3,000,000")
    func exactTargets() throws {
        let catalogue = shippedCatalogue
        #expect(catalogue.entry(.rehabCoverage).exactTarget!.rounded(times: 1_000_000, dividedBy: 1) == 950_000)
        #expect(catalogue.entry(.volunteerMinutes).exactTarget!.rounded(times: 1, dividedBy: 1) == 3_000_000)
        let written = shippedCatalogueText.replacingOccurrences(of: #""target": 3000000,"#, with: #""target": 3e6,"#)
            .replacingOccurrences(of: #""target": 0.95, "#, with: #""target": 9.5E-1, "#)
        #expect(written != shippedCatalogueText)
        let rewritten = try KPICatalogue(json: Array(written.utf8))
        #expect(rewritten.entry(.volunteerMinutes).exactTarget!.rounded(times: 1, dividedBy: 1) == 3_000_000)
        #expect(rewritten.entry(.rehabCoverage).exactTarget!.rounded(times: 100, dividedBy: 1) == 95)
        let tiny = shippedCatalogueText.replacingOccurrences(of: #""target": 0.50,"#, with: #""target": 1e-70,"#)
        let error = #expect(throws: KPICatalogueError.self) { try KPICatalogue(json: Array(tiny.utf8)) }
        #expect(
            error?.description.contains("kpis[1] (employment_rate): target 1e-70 has an exponent out of range") == true)
    }

    @Test("an index whose exact mean is 16.75 is 16.8, where binary fractions summed make it 16.7")
    func halfOfATenthRoundsUp() {
        // The open index at 2024-12-31 (fixtures/kpis/index-rounding): scores 0, 0.5 and 0.0025.
        var ledger = TestLedger()
        ledger.add(
            "project-P1", "2024-01-10",
            .projectLaunched(ProjectLaunch(title: "车间", operator: "某组织", category: .employment, budgetYuan: 1)),
            unit: "nanxiang")
        ledger.add(
            "volunteer-V1", "2024-01-12",
            .volunteerRegistered(VolunteerRegistration(partyMember: false, alliance: .jiading)))
        ledger.add("project-P1", "2024-03-01", .projectAdopted(Adoption(company: "某公司", amountYuan: 1_000_000)))
        for (month, minutes) in zip(4...9, [1440, 1440, 1440, 1440, 1440, 300] as [Int64]) {
            ledger.add(
                "volunteer-V1", "2024-0\(month)-15",
                .volunteerServiceLogged(VolunteerService(minutes: minutes, activity: "帮扶")))
        }
        let open = IndexResult(.open, figures: ledger.figures(asOf: "2024-12-31"), catalogue: shippedCatalogue)
        #expect(open.members.map(\.score) == [0, 0.5, 0.0025])
        #expect(open.value == 16.8)
        // What rounding the scores' binary sum gives instead.
        let sum: Double = open.members.compactMap(\.score).reduce(0, +)
        let tenths: Double = (1000 * sum / 3).rounded()
        #expect(tenths / 10 == 16.7)
    }
}

@Suite("a rate reads as a percentage rounded on its exact quotient")
struct PercentageTests {
    @Test(
        "one decimal or as many as asked, a half rounded up: 1/16 is 6.3%, 1/80 is 1.3%, where the binary value prints 6.2%"
    )
    func percentages() {
        #expect(Figure.rate(1, of: 16).percentage == "6.3%")
        #expect(Figure.rate(1, of: 16).percentage(decimals: 2) == "6.25%")
        #expect(Figure.rate(1, of: 3).percentage(decimals: 4) == "33.3333%")
        #expect(Figure.rate(2, of: 3).percentage(decimals: 2) == "66.67%")
        #expect(Figure.rate(1, of: 40_000).percentage(decimals: 3) == "0.003%")  // 0.0025% rounds up
        #expect(Figure.rate(7, of: 7).percentage(decimals: 6) == "100.000000%")
        #expect(Figure.rate(1, of: 80).percentage == "1.3%")
        #expect(Figure.rate(2518, of: 5121).percentage == "49.2%")
        #expect(Figure.rate(1, of: 3).percentage == "33.3%")
        #expect(Figure.rate(2, of: 3).percentage == "66.7%")
        #expect(Figure.rate(0, of: 5).percentage == "0.0%")
        #expect(Figure.rate(7, of: 7).percentage == "100.0%")
        #expect(Figure.rate(0, of: 0).percentage == nil)
        #expect(Figure.count(12).percentage == nil)
        #expect(String(format: "%.1f%%", Figure.rate(1, of: 16).value! * 100) == "6.2%")
    }
}

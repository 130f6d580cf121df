/// A non-negative whole number of any size: the numerators and denominators of
/// `ExactFraction`, whose sums multiply denominators together.
struct Natural: Comparable, Sendable {
    /// 64-bit limbs, least significant first; the top limb is never zero (zero has none).
    private(set) var limbs: [UInt64]

    init(_ value: UInt64) { limbs = value == 0 ? [] : [value] }

    private init(limbs: [UInt64]) {
        var limbs = limbs
        while limbs.last == 0 { limbs.removeLast() }
        self.limbs = limbs
    }

    var isZero: Bool { limbs.isEmpty }

    static func + (a: Natural, b: Natural) -> Natural {
        var sum = [UInt64](repeating: 0, count: max(a.limbs.count, b.limbs.count) + 1)
        var carry: UInt64 = 0
        for index in 0..<(sum.count - 1) {
            let (partial, overflow1) = (index < a.limbs.count ? a.limbs[index] : 0).addingReportingOverflow(carry)
            let (total, overflow2) = partial.addingReportingOverflow(index < b.limbs.count ? b.limbs[index] : 0)
            sum[index] = total
            carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
        sum[sum.count - 1] = carry
        return Natural(limbs: sum)
    }

    static func * (a: Natural, b: Natural) -> Natural {
        guard !a.isZero, !b.isZero else { return Natural(0) }
        var product = [UInt64](repeating: 0, count: a.limbs.count + b.limbs.count)
        for (i, x) in a.limbs.enumerated() {
            var carry: UInt64 = 0
            for (j, y) in b.limbs.enumerated() {
                let (high, low) = x.multipliedFullWidth(by: y)
                let (withCarry, overflow1) = low.addingReportingOverflow(carry)
                let (total, overflow2) = product[i + j].addingReportingOverflow(withCarry)
                product[i + j] = total
                carry = high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            product[i + b.limbs.count] = carry
        }
        return Natural(limbs: product)
    }

    static func < (a: Natural, b: Natural) -> Bool {
        guard a.limbs.count == b.limbs.count else { return a.limbs.count < b.limbs.count }
        for index in a.limbs.indices.reversed() where a.limbs[index] != b.limbs[index] {
            return a.limbs[index] < b.limbs[index]
        }
        return false
    }
}

/// A non-negative fraction held exactly.
///
/// The four-type indices are 100 × a mean of scores rounded to one decimal: a
/// mean that falls exactly on a half of a tenth (0.6875, scores of 1, 40/57,
/// 12/19 and 5/12) must round up, as it does by hand, where binary fractions
/// put it a hair below or above the half depending on the order of the sums.
/// The scores are therefore summed as fractions and the rounding decided on
/// the exact sum.
struct ExactFraction: Sendable {
    private(set) var numerator: Natural
    private(set) var denominator: Natural

    /// `numerator` ÷ `denominator`; the denominator is not 0.
    init(_ numerator: Natural, over denominator: Natural) {
        precondition(!denominator.isZero, "a fraction's denominator is not 0")
        self.numerator = numerator
        self.denominator = denominator
    }

    init(_ numerator: UInt64, over denominator: UInt64) {
        self.init(Natural(numerator), over: Natural(denominator))
    }

    static let zero = ExactFraction(0, over: 1)
    static let one = ExactFraction(1, over: 1)

    static func + (a: ExactFraction, b: ExactFraction) -> ExactFraction {
        ExactFraction(a.numerator * b.denominator + b.numerator * a.denominator, over: a.denominator * b.denominator)
    }

    /// The smaller of this fraction and 1.
    var atMostOne: ExactFraction { numerator < denominator ? self : .one }

    /// This fraction × `multiplier` ÷ `divisor`, rounded to the nearest whole
    /// number, a half rounded up; `divisor` is not 0, and the result is below
    /// 2⁶² (an index's is at most 1,000).
    func rounded(times multiplier: UInt64, dividedBy divisor: UInt64) -> UInt64 {
        // The result is the greatest r with (2r − 1) · divisor · denominator ≤ 2 · multiplier · numerator.
        let scaled = Natural(2) * Natural(multiplier) * numerator
        let unit = Natural(divisor) * denominator
        func fits(_ r: UInt64) -> Bool { r == 0 || Natural(2 * r - 1) * unit < scaled + Natural(1) }
        var high: UInt64 = 1
        while fits(high) {
            precondition(high < 1 << 62, "a rounded fraction is below 2⁶²")
            high *= 2
        }
        var low = high / 2  // fits(low) holds, fits(high) does not
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if fits(middle) { low = middle } else { high = middle }
        }
        return low
    }
}

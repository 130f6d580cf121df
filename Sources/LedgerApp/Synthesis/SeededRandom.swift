/// The generator's only source of chance: xoshiro256** seeded through
/// SplitMix64. Integer arithmetic only, so that a seed gives the same numbers,
/// and so the same file, on every machine.
struct SeededRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator for `seed`; `stream` tells apart generators made from one seed.
    init(seed: UInt64, stream: UInt64) {
        var mix = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func next() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            return SeededRandom.scramble(mix)
        }
        s0 = next()
        s1 = next()
        s2 = next()
        s3 = next()
    }

    /// SplitMix64's finaliser: spreads the bits of `value` over the whole word.
    /// Also used to derive stable details (a phone number, an address) from a key.
    static func scramble(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 {
        let result = SeededRandom.rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededRandom.rotate(s3, 45)
        return result
    }

    /// A number in `0..<count` (by the high word of a product: no division, a
    /// bias of at most count / 2^64, which synthetic data can bear).
    @inline(__always)
    mutating func below(_ count: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// A number in `low...high`.
    @inline(__always)
    mutating func between(_ low: Int, _ high: Int) -> Int { low + below(high - low + 1) }

    /// A fraction in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func fraction() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// True with probability `probability`.
    @inline(__always)
    mutating func chance(_ probability: Double) -> Bool { fraction() < probability }

    /// One of `choice`'s values, drawn by its weights.
    mutating func pick<Value>(_ choice: Weighted<Value>) -> Value {
        let draw = below(choice.total)
        var index = 0
        while choice.cumulative[index] <= draw { index += 1 }
        return choice.values[index]
    }

    /// A count whose mean is `mean`: its whole part, plus one with the
    /// probability of its fraction.
    mutating func count(mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        let whole = Int(mean)
        return whole + (chance(mean - Double(whole)) ? 1 : 0)
    }
}

/// Values with integer weights, for drawing one at random.
struct Weighted<Value> {
    let values: [Value]
    let cumulative: [Int]
    let total: Int

    init(_ pairs: [(Value, Int)]) {
        values = pairs.map(\.0)
        var running = 0
        cumulative = pairs.map { pair in
            running += pair.1
            return running
        }
        total = running
        precondition(total > 0, "a weighted choice needs a positive weight")
    }
}

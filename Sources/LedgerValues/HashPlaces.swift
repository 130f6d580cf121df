/// Where each key of a table is, by the key's hash: an open-addressed table of
/// places, probed linearly, whose keys stay in the table's own arrays.
///
/// A slot is one word: a place (plus one; zero is empty) in the low half, and
/// in the high half the top 32 bits of its key's hash, so that a probe reads
/// a key only when those agree. A `[String: Int]` held every key again beside
/// its place, 24 bytes a slot where this takes 8: `kpi` now on a 3M-event
/// ledger peaks at 100.8 MB with this, 113.5 MB with that, in the same time.
/// The KPI fold's tables of streams, verify's table of stream states and the
/// writer's touched streams use it; their keys are hashed by `Hasher` or
/// `KeyedHash`, both keyed anew in every process, so that no input can be
/// made to collide.
public struct HashPlaces: Sendable {
    @usableFromInline
    var slots: [UInt64] = []

    /// Most slots in use, over all of them: a quarter of slots free at least.
    private static let fill = 0.75

    /// No places yet.
    public init() {}

    /// The place of the key whose hash is `hash` and for whose place `isKey`
    /// holds (it is asked only of places whose slot has the hash's tag).
    @inlinable @inline(__always)
    public func place(hash: Int, where isKey: (Int) -> Bool) -> Int? {
        guard !slots.isEmpty else { return nil }
        let bits = UInt64(UInt(bitPattern: hash))
        let tag = bits >> 32
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var index = Int(truncatingIfNeeded: bits) & mask
            while true {
                let slot = slots[index]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let place = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if isKey(place) { return place }
                }
                index = (index + 1) & mask
            }
        }
    }

    /// Notes that the key whose hash is `hash`, which is not held, is at
    /// `place`, the place after the `place` keys held; `hashAt` gives a held
    /// key's hash by its place, should the slots grow.
    public mutating func add(hash: Int, place: Int, rehashing hashAt: (Int) -> Int) {
        precondition(place < Int(UInt32.max), "a table holds fewer than 2^32 keys")
        reserveCapacity(place + 1, held: place, rehashing: hashAt)
        put(hash, place: place)
    }

    /// Makes room for `total` keys without growing again, of which `held` are
    /// held; `hashAt` as for `add`.
    public mutating func reserveCapacity(_ total: Int, held: Int, rehashing hashAt: (Int) -> Int) {
        guard Double(total) > Double(slots.count) * HashPlaces.fill else { return }
        var size = max(16, slots.count)
        while Double(total) > Double(size) * HashPlaces.fill { size *= 2 }
        slots = Array(repeating: 0, count: size)
        for place in 0..<held { put(hashAt(place), place: place) }
    }

    /// Asks the processor to fetch the slot where a probe for `hash` starts.
    public func prefetchSlot(hash: Int) {
        guard !slots.isEmpty else { return }
        slots.withUnsafeBufferPointer {
            CacheHint.prefetch($0.baseAddress! + (Int(truncatingIfNeeded: UInt(bitPattern: hash)) & ($0.count - 1)))
        }
    }

    /// The place in the slot where a probe for `hash` starts, if that slot
    /// has the hash's tag: most likely the key's place, but no key is compared.
    public func likelyPlace(hash: Int) -> Int? {
        guard !slots.isEmpty else { return nil }
        let bits = UInt64(UInt(bitPattern: hash))
        let slot = slots[Int(truncatingIfNeeded: bits) & (slots.count - 1)]
        guard slot != 0, slot >> 32 == bits >> 32 else { return nil }
        return Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
    }

    private mutating func put(_ hash: Int, place: Int) {
        let bits = UInt64(UInt(bitPattern: hash))
        let slot = (bits >> 32) << 32 | UInt64(place + 1)
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var index = Int(truncatingIfNeeded: bits) & mask
            while slots[index] != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}

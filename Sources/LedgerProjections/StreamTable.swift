import LedgerValues

/// The facts of a fold's streams of one kind, by stream name.
///
/// The facts lie one after another, in the order their streams were first
/// seen, and a table of names gives each its place. Reading them all (the
/// figures, a snapshot) walks memory in order and reads each in place, where
/// a dictionary of facts would scatter them over a table twice their size and
/// copy each one read (a reference count for each of its arrays). A stream,
/// once in, stays: no event takes one out of a fold.
struct StreamTable<Facts> {
    /// The names, in the order first seen.
    private(set) var names: [String] = []
    /// Each name's facts, at the name's place.
    private var facts = Chunks<Facts>()
    /// Each name's place in `names` and `facts`.
    private var places = HashPlaces()
    /// The places of the first names, as many as it holds, in the order of
    /// their UTF-8 bytes: what `orderNames()` has sorted so far.
    fileprivate(set) var namesInOrder: [UInt32] = []

    /// An empty table.
    init() {}

    /// How many streams there are.
    var count: Int { facts.count }

    /// Every stream's facts, in the order first seen.
    var values: Chunks<Facts> { facts }

    /// Makes room for `count` streams in all.
    mutating func reserveCapacity(_ count: Int) {
        names.reserveCapacity(count)
        facts.reserveCapacity(count)
        let names = self.names
        places.reserveCapacity(count, held: names.count) { names[$0].hashValue }
    }

    /// The place of `key` in `names` and `facts`, if it is in the table.
    @inline(__always)
    private func place(of key: TableKey) -> Int? {
        places.place(hash: key.hash) { names[$0] == key.name }
    }

    /// The facts of `key`, if it is in the table.
    subscript(key: TableKey) -> Facts? {
        place(of: key).map { facts[$0] }
    }

    /// Whether `key` is in the table.
    func contains(_ key: TableKey) -> Bool { place(of: key) != nil }

    /// Sets the facts of `key`, adding it if it is new; returns whether it was.
    @discardableResult
    mutating func put(_ value: consuming Facts, for key: TableKey) -> Bool {
        if let place = place(of: key) {
            facts[place] = value
            return false
        }
        do {
            // Let go of before `names` grows, which would copy it otherwise.
            let held = names
            places.add(hash: key.hash, place: held.count) { held[$0].hashValue }
        }
        names.append(key.name)
        facts.append(value)
        return true
    }

    /// Changes the facts of `key` in place, if it is in the table: one hash
    /// probe, and no copy of the facts' arrays.
    @inline(__always)
    mutating func update(_ key: TableKey, _ change: (inout Facts) -> Void) {
        guard let place = place(of: key) else { return }
        change(&facts[place])
    }

    /// Asks the processor to fetch the slot where a lookup of the key hashed `hash` starts.
    @inline(__always)
    func prefetchSlot(hash: Int) { places.prefetchSlot(hash: hash) }

    /// Asks the processor to fetch the name and the facts at the place that
    /// the slot where a lookup of `hash` starts holds (the slot itself should
    /// be at hand by now): most likely the key's, though no name is compared.
    @inline(__always)
    func prefetchEntry(hash: Int) {
        guard let place = likelyPlace(hash: hash) else { return }
        names.withUnsafeBufferPointer { CacheHint.prefetch($0.baseAddress! + place) }
        facts.prefetch(at: place)
    }

    /// The place that the slot where a lookup of `hash` starts holds, if in the table.
    @inline(__always)
    fileprivate func likelyPlace(hash: Int) -> Int? {
        guard let place = places.likelyPlace(hash: hash), place < facts.count else { return nil }
        return place
    }

    /// Asks the processor to fetch the facts at `place` (their first two cache lines).
    @inline(__always)
    func prefetchFacts(at place: Int) { facts.prefetch(at: place) }

    /// Asks the processor to fetch what the facts at `place` point to, if
    /// anything worth it: a person's dated facts (the facts should be at hand by now).
    @inline(__always)
    func prefetchInner(at place: Int) {
        if Facts.self == PersonFacts.self { PersonFacts.prefetchDatedFacts(ofPersonAt: facts.address(of: place)) }
    }

    /// Where the facts at the place that the slot where a lookup of `hash`
    /// starts holds lie (`Chunks.address(of:)`): for prefetching only.
    @inline(__always)
    func likelyFactsAddress(hash: Int) -> UnsafeRawPointer? {
        likelyPlace(hash: hash).map { facts.address(of: $0) }
    }

    /// Calls `body` with the name and facts of each stream at `places` (all by
    /// default), in the order first seen, each read in place.
    func forEach(in places: Range<Int>? = nil, _ body: (String, borrowing Facts) throws -> Void) rethrows {
        try facts.forEach(in: places ?? facts.indices) { place, facts in try body(names[place], facts) }
    }

    /// Calls `body` with the facts at `place`, read in place.
    func withFacts<Result>(at place: Int, _ body: (borrowing Facts) throws -> Result) rethrows -> Result {
        try facts.withValue(at: place, body)
    }
}

extension StreamTable {
    /// Brings `namesInOrder` up to every name: those added since it was last
    /// brought up are sorted among themselves and merged in. Names, once in,
    /// keep their places and their bytes, so the order of those sorted before
    /// holds; a table whose new names all sort after the old (streams named
    /// by date or number, as most are) just appends them.
    mutating func orderNames() {
        let ordered = namesInOrder.count
        guard ordered < names.count else { return }
        let added = StreamNameOrder.sorted(names, places: ordered..<names.count)
        guard ordered > 0 else { return namesInOrder = added }
        let merged = names.withUnsafeBufferPointer { names -> [UInt32]? in
            func precedes(_ a: UInt32, _ b: UInt32) -> Bool {
                StreamNameOrder.precedes(names[Int(a)], names[Int(b)])
            }
            if precedes(namesInOrder[ordered - 1], added[0]) { return nil }
            var merged: [UInt32] = []
            merged.reserveCapacity(names.count)
            var next = 0
            for place in added {
                // The first of the ordered names from `next` on that sorts after this one.
                var low = next
                var high = ordered
                while low < high {
                    let middle = (low + high) / 2
                    if precedes(place, namesInOrder[middle]) { high = middle } else { low = middle + 1 }
                }
                merged.append(contentsOf: namesInOrder[next..<low])
                merged.append(place)
                next = low
            }
            merged.append(contentsOf: namesInOrder[next...])
            return merged
        }
        if let merged { namesInOrder = merged } else { namesInOrder.append(contentsOf: added) }
    }

    /// Notes that the names were added in the order of their UTF-8 bytes (as
    /// a snapshot's reader adds them), so that none needs sorting.
    mutating func noteNamesAddedInOrder() {
        namesInOrder = Array(0..<UInt32(names.count))
    }

    /// Every name's place, in the order of the names' UTF-8 bytes; sorts
    /// only the names that `orderNames()` has not.
    func placesInNameOrder() -> [UInt32] {
        guard namesInOrder.count < names.count else { return namesInOrder }
        var ordered = self
        ordered.orderNames()
        return ordered.namesInOrder
    }
}

/// The order of stream names in a snapshot: that of their UTF-8 bytes.
enum StreamNameOrder {
    /// Whether `a` comes before `b`.
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The names at `places` sorted: their places, in order.
    ///
    /// The names' bytes are copied one after another, and each name's first 24
    /// bytes are read as three big-endian numbers (zero beyond its end), so most
    /// comparisons are of numbers in one array rather than of strings all over memory.
    static func sorted(_ names: [String], places: Range<Int>) -> [UInt32] {
        struct Name {
            /// The first 24 bytes, big-endian, zero-padded.
            let words: (UInt64, UInt64, UInt64)
            /// Where the name's bytes start in `bytes`, and how many there are.
            let start: Int
            let count: Int
            let place: UInt32
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(places.count * 20)
        var sorted: [Name] = []
        sorted.reserveCapacity(places.count)
        for place in places {
            let start = bytes.count
            bytes.append(contentsOf: names[place].utf8)
            let count = bytes.count - start
            let words = bytes.withUnsafeBufferPointer { bytes in
                func word(_ offset: Int) -> UInt64 {
                    var word: UInt64 = 0
                    for index in offset..<offset + 8 {
                        word = word << 8 | (index < count ? UInt64(bytes[start + index]) : 0)
                    }
                    return word
                }
                return (word(0), word(8), word(16))
            }
            sorted.append(Name(words: words, start: start, count: count, place: UInt32(place)))
        }
        bytes.withUnsafeBufferPointer { bytes in
            sorted.sort { a, b in
                if a.words != b.words { return a.words < b.words }
                // The first 24 bytes are the same (a shorter name being padded with zeros).
                if a.count > 24 && b.count > 24 {
                    for offset in 24..<min(a.count, b.count) where bytes[a.start + offset] != bytes[b.start + offset] {
                        return bytes[a.start + offset] < bytes[b.start + offset]
                    }
                }
                return a.count < b.count
            }
        }
        return sorted.map(\.place)
    }
}

extension StreamTable where Facts == PersonFacts {
    /// Asks the processor to fetch the dated facts of the person at the place
    /// that the slot where a lookup of `hash` starts holds (the slot and the
    /// facts should be at hand by now).
    @inline(__always)
    func prefetchDatedFacts(hash: Int) {
        guard let person = likelyFactsAddress(hash: hash) else { return }
        PersonFacts.prefetchDatedFacts(ofPersonAt: person)
    }
}

/// A stream's key in the fold's table of its kind (`StreamKind.tableKey`),
/// with its hash (`String.hashValue`, seeded anew in every process).
struct TableKey: Sendable {
    let name: String
    let hash: Int

    init(_ name: String) {
        self.name = name
        hash = name.hashValue
    }
}

extension StreamTable: Sequence {
    /// Each stream's name and facts (copied), in the order first seen.
    func makeIterator() -> Zip2Sequence<[String], Chunks<Facts>>.Iterator { zip(names, facts).makeIterator() }
}

extension StreamTable: Sendable where Facts: Sendable {}

extension StreamTable: Equatable where Facts: Equatable {
    /// The same streams with the same facts, in whatever order they were first seen.
    static func == (lhs: StreamTable, rhs: StreamTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (place, name) in lhs.names.enumerated() {
            guard let other = rhs.place(of: TableKey(name)), lhs.facts[place] == rhs.facts[other] else {
                return false
            }
        }
        return true
    }
}

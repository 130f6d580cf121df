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
    private var facts: [Facts] = []
    /// Each name's place in `names` and `facts`.
    private var places: [String: Int] = [:]

    /// An empty table.
    init() {}

    /// How many streams there are.
    var count: Int { facts.count }

    /// Every stream's facts, in the order first seen.
    var values: [Facts] { facts }

    /// Makes room for `count` streams in all.
    mutating func reserveCapacity(_ count: Int) {
        names.reserveCapacity(count)
        facts.reserveCapacity(count)
        places.reserveCapacity(count)
    }

    /// The facts of `name`, if it is in the table.
    subscript(name: String) -> Facts? {
        places[name].map { facts[$0] }
    }

    /// Whether `name` is in the table.
    func contains(_ name: String) -> Bool { places[name] != nil }

    /// Sets the facts of `name`, adding it if it is new; returns whether it was.
    @discardableResult
    mutating func put(_ value: consuming Facts, for name: String) -> Bool {
        // One hash probe for a new name; a name already in takes its place back.
        if let place = places.updateValue(facts.count, forKey: name) {
            places[name] = place
            facts[place] = value
            return false
        }
        names.append(name)
        facts.append(value)
        return true
    }

    /// Changes the facts of `name` in place, if it is in the table: one hash
    /// probe, and no copy of the facts' arrays.
    @inline(__always)
    mutating func update(_ name: String, _ change: (inout Facts) -> Void) {
        guard let place = places[name] else { return }
        change(&facts[place])
    }

    /// Calls `body` with the name and facts of each stream at `places` (all by
    /// default), in the order first seen, each read in place.
    func forEach(in places: Range<Int>? = nil, _ body: (String, borrowing Facts) throws -> Void) rethrows {
        try facts.withUnsafeBufferPointer { facts in
            for place in places ?? facts.indices { try body(names[place], facts[place]) }
        }
    }

    /// Calls `body` with the facts at `place`, read in place.
    func withFacts<Result>(at place: Int, _ body: (borrowing Facts) throws -> Result) rethrows -> Result {
        try facts.withUnsafeBufferPointer { try body($0[place]) }
    }
}

extension StreamTable: Sequence {
    /// Each stream's name and facts (copied), in the order first seen.
    func makeIterator() -> Zip2Sequence<[String], [Facts]>.Iterator { zip(names, facts).makeIterator() }
}

extension StreamTable: Sendable where Facts: Sendable {}

extension StreamTable: Equatable where Facts: Equatable {
    /// The same streams with the same facts, in whatever order they were first seen.
    static func == (lhs: StreamTable, rhs: StreamTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (place, name) in lhs.names.enumerated() {
            guard let other = rhs.places[name], lhs.facts[place] == rhs.facts[other] else { return false }
        }
        return true
    }
}

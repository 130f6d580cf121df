import LedgerDomain
import Testing

@testable import LedgerProjections

@Suite("The fold's table of streams")
struct StreamTableTests {
    /// A table of `names` in that order, each with a one-element array (a value with a reference in it).
    private func table(_ names: [String]) -> StreamTable<[Int]> {
        var table = StreamTable<[Int]>()
        for (number, name) in names.enumerated() { table.put([number], for: name) }
        return table
    }

    @Test("a name is added once; putting it again replaces its facts in place")
    func putAddsOrReplaces() {
        var streams = table(["person-P1", "person-P2"])
        #expect(streams.put([7], for: "person-P1") == false)
        #expect(streams.put([9], for: "person-P3") == true)
        #expect(streams.count == 3)
        #expect(streams.names == ["person-P1", "person-P2", "person-P3"])
        #expect(streams["person-P1"] == [7])
        #expect(streams["person-P2"] == [1])
        #expect(streams["person-P4"] == nil)
        #expect(streams.contains("person-P3") && !streams.contains("person-P4"))
    }

    @Test("update changes a stream's facts in place, and leaves an unknown name out")
    func updateInPlace() {
        var streams = table(["a", "b"])
        streams.update("b") { $0.append(5) }
        streams.update("c") { $0.append(6) }
        #expect(streams["b"] == [1, 5])
        #expect(streams.count == 2 && !streams.contains("c"))
    }

    @Test("forEach visits the streams at the places asked, in the order first seen")
    func forEachInOrder() {
        let streams = table(["z", "a", "m", "b"])
        var seen: [String] = []
        streams.forEach { name, facts in seen.append("\(name)\(facts[0])") }
        #expect(seen == ["z0", "a1", "m2", "b3"])
        seen = []
        streams.forEach(in: 1..<3) { name, _ in seen.append(name) }
        #expect(seen == ["a", "m"])
        #expect(streams.map(\.0) == ["z", "a", "m", "b"])
        #expect(Array(streams.values) == [[0], [1], [2], [3]])
    }

    @Test("chunks hold their values in order across every chunk's edge, read and changed in place")
    func chunks() {
        var chunks = Chunks<[Int]>()
        let count = 3 * Chunks<[Int]>.chunkSize + 5
        chunks.reserveCapacity(count)
        for value in 0..<count { chunks.append([value]) }
        #expect(chunks.count == count)
        #expect(chunks.map { $0[0] } == Array(0..<count))
        var iterated: [Int] = []
        for value in chunks { iterated.append(value[0]) }
        #expect(iterated == Array(0..<count))
        var none = Chunks<Int>().makeIterator()
        #expect(none.next() == nil)
        for position in stride(from: 0, to: count, by: 7) { chunks[position].append(-1) }
        let edge = Chunks<[Int]>.chunkSize
        for range in [0..<count, (edge - 3)..<(2 * edge + 2), edge..<edge, (count - 1)..<count] {
            var seen: [Int] = []
            chunks.forEach(in: range) { position, value in
                #expect(value[0] == position)
                #expect(value.count == (position.isMultiple(of: 7) ? 2 : 1))
                seen.append(position)
            }
            #expect(seen == Array(range))
        }
        #expect(chunks.withValue(at: edge) { $0 } == [edge])
        // A value's address, read without copying a chunk, is where the value lies.
        var numbers = Chunks<Int>()
        for value in 0..<count { numbers.append(value * 3) }
        for position in [0, 1, edge - 1, edge, 2 * edge + 1, count - 1] {
            #expect(numbers.address(of: position).load(as: Int.self) == position * 3)
        }
        let changed = 7 * (2 * edge / 7 + 1)
        #expect(chunks.withValue(at: changed) { $0 } == [changed, -1])
    }

    @Test("two tables are equal when they hold the same streams and facts, whatever order they came in")
    func equalityIgnoresOrder() {
        var first = StreamTable<Int>()
        first.put(1, for: "a")
        first.put(2, for: "b")
        var second = StreamTable<Int>()
        second.put(2, for: "b")
        second.put(1, for: "a")
        #expect(first == second)
        second.put(3, for: "b")
        #expect(first != second)
        var third = StreamTable<Int>()
        third.put(1, for: "a")
        #expect(first != third)
        third.put(2, for: "c")
        #expect(first != third)
    }

    @Test("every name is found at its place among many, through every growth of the table, and no other name is")
    func manyNames() {
        var streams = StreamTable<Int>()
        // Names of every length around 15 bytes (inline or on the heap), and some that differ only at the end.
        let names = (0..<20_000).map { number in
            number % 3 == 0 ? "person-P\(number)" : number % 3 == 1 ? "call-20160101-\(number)" : "c\(number)"
        }
        for (number, name) in names.enumerated() {
            let added = streams.put(number, for: name)
            #expect(added)
            if number.isMultiple(of: 997) {
                // Everything put so far is still where it was, after each growth.
                for (earlier, old) in names[...number].enumerated() where earlier.isMultiple(of: 101) {
                    #expect(streams[old] == earlier)
                }
            }
        }
        #expect(streams.count == names.count)
        for (number, name) in names.enumerated() {
            #expect(streams[name] == number, "\(name)")
        }
        for absent in ["person-P20000", "call-20160101-x", "", "c", "person-P1 ", "c19999x"] {
            #expect(!streams.contains(absent), "\(absent)")
        }
        let addedAgain = streams.put(-1, for: names[12_345])
        #expect(!addedAgain)
        #expect(streams[names[12_345]] == -1 && streams.count == names.count)
    }

    @Test("room made ahead holds the names put after it, and those already in")
    func reserveThenPut() {
        var streams = table(["a", "b"])
        streams.reserveCapacity(5_000)
        for number in 2..<5_000 { streams.put([number], for: "s\(number)") }
        #expect(streams["a"] == [0] && streams["b"] == [1])
        #expect((2..<5_000).allSatisfy { streams["s\($0)"] == [$0] })
        #expect(streams.count == 5_000)
    }

    @Test("asking the processor ahead for a lookup changes nothing, whether the name is in, absent, or the table empty")
    func prefetchChangesNothing() {
        var persons = StreamTable<PersonFacts>()
        let hashes = (0..<64).map { TableKey("P\($0)").hash } + [0, -1, Int.min, Int.max]
        for hash in hashes {
            persons.prefetchSlot(hash: hash)
            persons.prefetchEntry(hash: hash)
            persons.prefetchDatedFacts(hash: hash)
        }
        for number in 0..<32 {
            let facts = PersonFacts(
                registered: day("2020-01-01"), birth: day("1980-06-01"), residence: UInt32(number), category: .visual)
            persons.put(facts, for: TableKey("P\(number)"))
        }
        let before = persons
        for hash in hashes {
            persons.prefetchSlot(hash: hash)
            persons.prefetchEntry(hash: hash)
            persons.prefetchDatedFacts(hash: hash)
        }
        #expect(persons == before && persons.count == 32)
        // The addresses the prefetches ask for are where the facts and their dated facts lie.
        var found = 0
        for number in 0..<32 {
            let key = TableKey("P\(number)")
            // Nil only where another key took the slot a lookup starts at.
            guard let person = persons.likelyFactsAddress(hash: key.hash) else { continue }
            found += 1
            let facts = person.assumingMemoryBound(to: PersonFacts.self).pointee
            #expect(facts == persons[key])
            let dated = facts.dated.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
            #expect(PersonFacts.datedFacts(ofPersonAt: person) == dated)
        }
        // Hashes are seeded anew in every process: at this table's load about a
        // third of the keys start their lookup on another key's slot, some
        // runs more; well over a third found keeps the check from being empty.
        #expect(found >= 12)
        #expect(
            persons[TableKey("P7")]?.asOf(day("2021-01-01"), window: YearWindow(asOf: day("2021-01-01"))).residence == 7
        )
    }

    @Test(
        "names kept in order as they come, in runs mostly after the last and sometimes among the first, read as a full sort of their bytes"
    )
    func namesKeptInOrder() {
        // A fixed linear congruential sequence: the same names on every run.
        var state: UInt64 = 0x0D0E_5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        // Names sharing their first 24 bytes or more, names that are prefixes of
        // others, bytes above 0x7F, and names in increasing order as calls come.
        let shared = "person-P0000000000000000000000"
        var streams = StreamTable<Int>()
        var names: [String] = []
        for round in 0..<40 {
            for _ in 0..<next(60) {
                let name =
                    switch next(6) {
                    case 0: shared + String(next(1_000))
                    case 1: String(shared.prefix(next(shared.count + 1)))
                    case 2: "person-P" + String(next(100_000))
                    case 3: "person-王" + String(next(100))
                    default: "call-2024\(String(1_000 + round))-\(String(10_000 + names.count))"
                    }
                if streams.put(names.count, for: name) { names.append(name) }
            }
            let expected = names.indices.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
            // Read before being brought up to date, and after.
            #expect(streams.placesInNameOrder().map(Int.init) == expected, "round \(round)")
            if next(3) != 0 { streams.orderNames() }
            #expect(streams.placesInNameOrder().map(Int.init) == expected, "round \(round)")
        }
        #expect(names.count > 500)
    }
}

/// The tests name streams by their text; the fold passes keys hashed beforehand.
extension StreamTable {
    fileprivate subscript(name: String) -> Facts? { self[TableKey(name)] }
    fileprivate func contains(_ name: String) -> Bool { contains(TableKey(name)) }
    @discardableResult
    fileprivate mutating func put(_ value: Facts, for name: String) -> Bool { put(value, for: TableKey(name)) }
    fileprivate mutating func update(_ name: String, _ change: (inout Facts) -> Void) { update(TableKey(name), change) }
}

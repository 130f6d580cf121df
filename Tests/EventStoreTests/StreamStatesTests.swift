import LedgerValues
import Testing

@testable import EventStore

/// The table of stream states that verification rebuilds: a name is found
/// only under its own bytes, whatever hash it is given, however long it is,
/// and however many names came before it.
@Suite("Verification's table of stream states")
struct StreamStatesTests {
    private static let day = LocalDate(year: 2024, month: 3, day: 1)!

    /// Runs `body` with each name's bytes, as the memory map would hold them.
    private func withNames<Result>(
        _ names: [String], _ body: ([FieldBytes]) throws -> Result
    ) rethrows -> Result {
        let storage = names.map { Array($0.utf8) }
        let buffers = storage.map { bytes -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        return try body(buffers.map { FieldBytes(UnsafeRawBufferPointer($0)) })
    }

    /// Opens each name in a new table under `hash(index)`, then appends one
    /// more event to the `index`-th name `index % 3` times; returns the table.
    private func table(_ names: [FieldBytes], hash: (Int) -> Int) -> StreamStates {
        var table = StreamStates(expected: 1)
        for (index, name) in names.enumerated() {
            let name = StreamStates.Name(name, hash: hash(index))
            #expect(table.place(of: name) == nil)
            table.open(name, on: Self.day, role: .opener)
        }
        for (index, name) in names.enumerated() {
            let place = table.place(of: StreamStates.Name(name, hash: hash(index)))!
            for _ in 0..<(index % 3) { table.append(Self.day, role: .ordinary, at: place) }
        }
        return table
    }

    @Test("names with one hash are told apart by their bytes: their length, and bytes past the first 32")
    func collisions() {
        let long = String(repeating: "x", count: 32)
        let names = [
            "person-P1", "person-P2", "person-P1\u{0}", "person-P", long, long + "a", long + "b", long + "ab",
            "case-C000000000000000000000000000001", "case-C000000000000000000000000000002",
        ]
        withNames(names) { bytes in
            let table = table(bytes) { _ in 42 }
            #expect(table.count == names.count)
            for (index, name) in bytes.enumerated() {
                let place = table.place(of: StreamStates.Name(name, hash: 42))
                #expect(place == index, "\(names[index])")
                #expect(place.map(table.version(at:)) == Int64(1 + index % 3), "\(names[index])")
            }
            #expect(table.names == names)
        }
        let kept = withNames(names) { table($0) { _ in 42 } }
        withNames(["person-P3", long + "c", "person-P1\u{0}\u{0}"]) { absent in
            // The table keeps its own copies of the names it was given, long since freed.
            #expect(kept.names == names)
            for name in absent { #expect(kept.place(of: StreamStates.Name(name, hash: 42)) == nil) }
        }
    }

    @Test("ten thousand names, grown from room for one, are each found with their own state")
    func growth() {
        let names = (0..<10_000).map { "call-C\($0)" + String(repeating: "-", count: $0 % 40) }
        withNames(names) { bytes in
            let table = table(bytes) { StreamStates.hash(of: bytes[$0]) }
            #expect(table.count == names.count)
            var wrong = 0
            for (index, name) in bytes.enumerated() {
                let found = table.place(of: StreamStates.Name(name, hash: StreamStates.hash(of: name)))
                if found.map(table.version(at:)) != Int64(1 + index % 3) { wrong += 1 }
            }
            #expect(wrong == 0)
        }
    }

    @Test("a partition answers for its streams: versions before each record, and the states rebuilt")
    func partitions() {
        withNames(["person-P1", "person-P2", "call-C1"]) { names in
            let streams = StreamPartitions(expected: 0)
            func step(_ name: FieldBytes, _ version: Int64, _ role: StreamRole = .ordinary) -> Int64 {
                let hash = StreamStates.hash(of: name)
                let partition = streams.partitions.first { $0.owns(hash) }!
                return partition.advance(StreamStep(name: name, hash: hash, version: version, on: Self.day, role: role))
            }
            #expect(step(names[0], 1, .opener) == 0)
            #expect(step(names[0], 2) == 1)
            #expect(step(names[1], 2) == 0)  // no opener: not taken in
            #expect(step(names[0], 4) == 2)  // a gap: the state stays
            #expect(step(names[2], 1, .opener) == 0)
            #expect(step(names[2], 2, .closer) == 1)
            #expect(streams.count == 2)
            #expect(streams.state(of: names[0])?.version == 2)
            #expect(streams.state(of: names[1]) == nil)
            #expect(streams.state(of: names[2])?.closedOn == Self.day)
            #expect(streams.names.sorted() == ["call-C1", "person-P1"])
        }
    }
}

import LedgerValues
import Testing

@testable import EventStore

@Suite("The writer's table of touched streams")
struct TouchedStreamsTests {
    private func state(_ version: Int64) -> StreamState {
        StreamState(
            version: version, openedOn: LocalDate(dayNumber: 0), latestOn: LocalDate(dayNumber: Int32(version)),
            closedOn: nil)
    }

    @Test("finds, changes and forgets states as a dictionary would, through growth and colliding hashes")
    func agreesWithADictionary() {
        var table = TouchedStreams()
        var model: [String: Int64] = [:]
        // A fixed sequence of streams: some hashed alike (the same hash, or the same top 32 bits).
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        func name(_ number: Int) -> StreamName {
            let text = "person-P\(number)"
            switch number % 5 {
            case 0: return StreamName(text, hash: 42)
            case 1: return StreamName(text, hash: Int(bitPattern: UInt(number % 7) << 32 | 9))
            default: return StreamName(text)
            }
        }
        for round in 0..<3 {
            for _ in 0..<20_000 {
                let number = Int(next() % 3_000)
                let stream = name(number)
                if let place = table.place(of: stream) {
                    #expect(table[place].version == model[stream.name], "round \(round), \(stream.name)")
                    table[place] = self.state(table[place].version + 1)
                    model[stream.name]! += 1
                } else {
                    #expect(model[stream.name] == nil, "round \(round), \(stream.name)")
                    table.add(stream, self.state(1))
                    model[stream.name] = 1
                }
            }
            #expect(table.count == model.count)
            for (stream, state) in zip(table.names, table.states) {
                #expect(model[stream.name] == state.version)
            }
            table.removeAll()
            model.removeAll()
            #expect(table.place(of: name(1)) == nil && table.count == 0)
        }
    }
}

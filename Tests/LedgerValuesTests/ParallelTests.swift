import LedgerValues
import Testing

@Suite("Work spread over the cores")
struct ParallelTests {
    @Test(
        "forEach calls the body once for every index, whatever the count",
        arguments: [0, 1, 63, 64, 127, 128, 129, 1_000, 8_193])
    func forEachOnce(count: Int) {
        var calls = [Int](repeating: 0, count: count)
        calls.withUnsafeMutableBufferPointer { buffer in
            let slots = buffer
            Parallel.forEach(count) { index in slots[index] += 1 }
        }
        #expect(calls.allSatisfy { $0 == 1 })
    }

    @Test(
        "forEach with runs as short as one index calls the body once for every index", arguments: [2, 3, 17, 33, 100])
    func forEachShortRuns(count: Int) {
        var calls = [Int](repeating: 0, count: count)
        calls.withUnsafeMutableBufferPointer { buffer in
            let slots = buffer
            Parallel.forEach(count, minimumPerCore: 1) { index in slots[index] += 1 }
        }
        #expect(calls.allSatisfy { $0 == 1 })
    }

    @Test("map gives the results in index order", arguments: [0, 1, 64, 1_000])
    func mapInOrder(count: Int) {
        #expect(Parallel.map(count) { $0 * 3 } == (0..<count).map { $0 * 3 })
    }

}

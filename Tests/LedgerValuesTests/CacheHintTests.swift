import Testing

@testable import LedgerValues

@Suite("Cache hints")
struct CacheHintTests {
    @Test("an array's elements are found from the bits of its reference, for arrays of any element size")
    func arrayElements() {
        var numbers: [Int] = [10, 20, 30]
        let base = numbers.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        withUnsafePointer(to: &numbers) { array in
            #expect(CacheHint.elements(ofArrayAt: UnsafeRawPointer(array)) == base)
            #expect(CacheHint.elements(ofArrayAt: UnsafeRawPointer(array)).load(as: Int.self) == 10)
        }
        var bytes: [UInt8] = Array(repeating: 7, count: 100)
        let byteBase = bytes.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        withUnsafePointer(to: &bytes) { #expect(CacheHint.elements(ofArrayAt: UnsafeRawPointer($0)) == byteBase) }
    }
}

import LedgerValues

/// Values kept in fixed chunks of 4,096, for the fold's tables of streams.
///
/// An array grows by doubling: it holds room for up to twice its values, and
/// three times while it grows, with every value copied. A district's table of
/// persons is its largest (136 bytes a person), so at 333,000 persons an array
/// held 71 MB for 45 MB of facts, and 107 MB at the moment it grew. Chunks
/// grow one at a time and are never copied: room for at most one chunk more
/// than the values.
struct Chunks<Element> {
    /// Values in a chunk.
    static var chunkSize: Int { 1 << chunkShift }
    private static var chunkShift: Int { 12 }
    private static var offsetMask: Int { chunkSize - 1 }

    private var chunks: [[Element]] = []
    /// How many values there are.
    private(set) var count = 0

    /// No values.
    init() {}

    /// Makes room for the chunks of `count` values, not for the values.
    mutating func reserveCapacity(_ count: Int) {
        chunks.reserveCapacity((count + Self.offsetMask) >> Self.chunkShift)
    }

    /// Adds `value` after the others.
    mutating func append(_ value: consuming Element) {
        if count & Self.offsetMask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(value)
        count += 1
    }

    /// The value at `position`, read or changed in place.
    subscript(position: Int) -> Element {
        get { chunks[position >> Self.chunkShift][position & Self.offsetMask] }
        _modify { yield &chunks[position >> Self.chunkShift][position & Self.offsetMask] }
    }

    /// Asks the processor to fetch the value at `position` (its first two cache lines).
    @inline(__always)
    func prefetch(at position: Int) {
        let value = address(of: position)
        CacheHint.prefetch(value)
        CacheHint.prefetch(value + 64)
    }

    /// Where the value at `position` lies, read through the chunks' storage
    /// without copying a chunk (`CacheHint.elements(ofArrayAt:)`): for
    /// prefetching only.
    @inline(__always)
    func address(of position: Int) -> UnsafeRawPointer {
        chunks.withUnsafeBufferPointer { chunks in
            CacheHint.elements(ofArrayAt: chunks.baseAddress! + (position >> Self.chunkShift))
                + (position & Self.offsetMask) * MemoryLayout<Element>.stride
        }
    }

    /// Calls `body` with the value at `position`, read in place.
    func withValue<Result>(at position: Int, _ body: (borrowing Element) throws -> Result) rethrows -> Result {
        try chunks[position >> Self.chunkShift].withUnsafeBufferPointer { try body($0[position & Self.offsetMask]) }
    }

    /// Calls `body` with each value at `positions`, in order, each read in place.
    func forEach(in positions: Range<Int>, _ body: (Int, borrowing Element) throws -> Void) rethrows {
        var position = positions.lowerBound
        while position < positions.upperBound {
            let chunk = position >> Self.chunkShift
            let end = Swift.min(positions.upperBound, (chunk + 1) << Self.chunkShift)
            try chunks[chunk].withUnsafeBufferPointer { values in
                let first = chunk << Self.chunkShift
                for place in position..<end { try body(place, values[place - first]) }
            }
            position = end
        }
    }
}

extension Chunks: RandomAccessCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }

    /// The values in order, a chunk at a time: one reference to each chunk
    /// taken, where reading by position would take and give back one for
    /// each value (made atomic, and contended, when threads read the same chunks).
    struct Iterator: IteratorProtocol {
        private let chunks: [[Element]]
        private var chunk: [Element] = []
        private var nextChunk = 0
        private var offset = 0

        fileprivate init(_ chunks: [[Element]]) { self.chunks = chunks }

        mutating func next() -> Element? {
            if offset == chunk.count {
                guard nextChunk < chunks.count else { return nil }
                chunk = chunks[nextChunk]
                nextChunk += 1
                offset = 0
            }
            defer { offset += 1 }
            return chunk[offset]
        }
    }

    func makeIterator() -> Iterator { Iterator(chunks) }
}

extension Chunks: Sendable where Element: Sendable {}

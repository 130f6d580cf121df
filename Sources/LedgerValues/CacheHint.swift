import CPrefetch

/// Hints to the processor's caches. They change no result, only when memory is read.
public enum CacheHint {
    /// Asks the processor to start fetching the cache line at `address`, so
    /// that a read of it a little later finds it at hand. A table probed at
    /// random, one lookup after another, waits on each lookup's cache misses
    /// in turn; fetching the lines of lookups a few steps ahead lets those
    /// misses overlap.
    @inlinable @inline(__always)
    public static func prefetch(_ address: UnsafeRawPointer) { sunledger_prefetch(address) }

    /// Asks the processor to fetch every cache line (of 64 bytes) of `bytes`.
    @inlinable
    public static func prefetch(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        for offset in stride(from: 0, to: bytes.count, by: 64) { prefetch(start + offset) }
    }
}

extension CacheHint {
    /// Bytes from the start of an array's storage object to its first element
    /// (for elements aligned to 16 bytes at most), measured once on an array
    /// of this process.
    public static let arrayElementsOffset: Int = {
        var probe: [UInt64] = []
        probe.reserveCapacity(1)
        let object = withUnsafeBytes(of: probe) { $0.load(as: UInt.self) }
        return probe.withUnsafeBufferPointer { Int(bitPattern: UInt(bitPattern: $0.baseAddress!) &- object) }
    }()

    /// Where the elements of the array stored at `array` lie, read from the
    /// bits of its reference: no copy of the array is made, so nothing is
    /// retained. A retain writes to the array's storage object and waits for
    /// it, the very cache miss a prefetch is there to overlap; an address
    /// read this way is for prefetching only.
    @inlinable @inline(__always)
    public static func elements(ofArrayAt array: UnsafeRawPointer) -> UnsafeRawPointer {
        array.load(as: UnsafeRawPointer.self) + arrayElementsOffset
    }
}

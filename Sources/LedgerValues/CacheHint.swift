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

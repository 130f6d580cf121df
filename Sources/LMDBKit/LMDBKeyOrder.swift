/// The order LMDB keeps keys in by default: byte by byte, a key that is a
/// prefix of another first.
public enum LMDBKeyOrder {
    /// Whether `a` sorts strictly before `b`. Compared eight bytes at a time in
    /// place: keys are short, and a call to `memcmp` per comparison was most of
    /// the cost of sorting them.
    @inlinable @inline(__always)
    public static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let common = min(a.count, b.count)
        var index = 0
        while index + 8 <= common {
            let x = a.loadUnaligned(fromByteOffset: index, as: UInt64.self).bigEndian
            let y = b.loadUnaligned(fromByteOffset: index, as: UInt64.self).bigEndian
            if x != y { return x < y }
            index += 8
        }
        while index < common {
            let x = a[index]
            let y = b[index]
            if x != y { return x < y }
            index += 1
        }
        return a.count < b.count
    }
}

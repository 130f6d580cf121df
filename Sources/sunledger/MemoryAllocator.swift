import CJemalloc

/// The allocator this process runs on, for `import --timings`: the command
/// line is linked with jemalloc, which takes the place of the C library's malloc.
var memoryAllocator: String {
    sunledger_jemalloc_version().map { "jemalloc " + String(cString: $0) } ?? "jemalloc (its version unknown)"
}

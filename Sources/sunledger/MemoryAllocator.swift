import CJemalloc

/// The allocator this process runs on, for `import --timings`: the command
/// line is linked with jemalloc, which takes the place of the C library's malloc.
var memoryAllocator: String {
    sunledger_jemalloc_version().map { "jemalloc " + String(cString: $0) } ?? "jemalloc (its version unknown)"
}

/// Tells the allocator to keep the memory this process frees for its own next
/// allocations instead of giving it back to the system, for a command that
/// allocates and frees large buffers over and over until it ends (`rebuild`:
/// a snapshot of the whole fold every `snapshotEvery` seqs, chunks of decoded
/// records). Memory given back is handed out again zeroed by the kernel, one
/// page fault a page; kept, it is reused as it is. The process's peak grows
/// by what it frees and would otherwise have given back (about 200 MB in a
/// rebuild of 5,000,000 events). A setting the allocator refuses changes
/// nothing but speed, so it is not reported.
func keepFreedMemory() {
    var never = -1  // ssize_t: no decay, so freed pages are never purged
    for setting in ["arenas.dirty_decay_ms", "arena.\(allArenas).dirty_decay_ms"] {
        _ = mallctl(setting, nil, nil, &never, MemoryLayout<Int>.size)
    }
}

/// jemalloc's MALLCTL_ARENAS_ALL: `arena.<i>.…` settings with this index apply
/// to every arena already made (`arenas.…` sets those made later).
private let allArenas = 4096

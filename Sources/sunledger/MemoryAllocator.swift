import CJemalloc

/// The allocator this process runs on, and what it does with memory freed,
/// for `import --timings`: the command line is linked with jemalloc, which
/// takes the place of the C library's malloc.
var memoryAllocator: String {
    let allocator =
        sunledger_jemalloc_version().map { "jemalloc " + String(cString: $0) } ?? "jemalloc (its version unknown)"
    return allocator + ", " + freedMemory
}

/// What the allocator does with memory freed, as it says itself.
private var freedMemory: String {
    var decay = 0  // ssize_t, milliseconds
    var size = MemoryLayout<Int>.size
    guard mallctl("arenas.dirty_decay_ms", &decay, &size, nil, 0) == 0 else {
        return "what it does with freed memory unknown"
    }
    var background = false
    var flagSize = MemoryLayout<Bool>.size
    let purger = mallctl("background_thread", &background, &flagSize, nil, 0) == 0 && background
    switch decay {
    case ..<0: return "freed memory kept"
    case 0: return "freed memory given back at once"
    default: return "freed memory given back after \(decay) ms" + (purger ? ", by a thread of its own" : "")
    }
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
    setFreedMemoryDecay(-1)  // no decay: freed pages are never purged
}

/// Tells the allocator to give the memory this process frees back to the
/// system within a tenth of a second, from a thread of its own, for a command
/// whose peak must stay low however much it reads (`import`). Such a command
/// frees large buffers now and then (the encoded snapshot of the fold every
/// `snapshotEvery` seqs, the pages of the ledger's transaction it spills);
/// kept for the allocator's default ten seconds, they lie under the next
/// ones and raise the process's peak (by 10 to 40 MB in imports of 1 to 10
/// million events). Purging on a thread of its own keeps it off the paths
/// that allocate. A setting the allocator refuses changes nothing but the
/// peak; `import --timings` says what the allocator does (`memoryAllocator`).
func returnFreedMemorySoon() {
    var enabled = true
    _ = mallctl("background_thread", nil, nil, &enabled, MemoryLayout<Bool>.size)
    setFreedMemoryDecay(100)
}

/// Sets how many milliseconds the allocator keeps freed pages before giving
/// them back (-1: never), in every arena, those already made and those to come.
private func setFreedMemoryDecay(_ milliseconds: Int) {
    var decay = milliseconds  // ssize_t
    for setting in ["arenas.dirty_decay_ms", "arena.\(allArenas).dirty_decay_ms"] {
        _ = mallctl(setting, nil, nil, &decay, MemoryLayout<Int>.size)
    }
}

/// jemalloc's MALLCTL_ARENAS_ALL: `arena.<i>.…` settings with this index apply
/// to every arena already made (`arenas.…` sets those made later).
private let allArenas = 4096

import Foundation

/// Asks for the C library's heap to be backed by transparent huge pages
/// (2 MiB instead of 4 KiB), for the commands that build a KPI fold in memory.
///
/// A fold of a large ledger is hundreds of thousands of small allocations,
/// all new memory: with 4 KiB pages the kernel takes a page fault and zeroes a
/// page for every few of them, which on the reference machine is a third of
/// the time `kpi` takes. glibc reads this setting (the `glibc.malloc.hugetlb`
/// tunable) only as a process starts, so the process starts itself once more
/// with it, before it has opened anything or started a thread. Nothing changes
/// where the kernel has huge pages switched off, where the tunable is already
/// set, or if the restart fails (the command then runs as it is).
func backHeapWithHugePages() {
    #if os(Linux)
        let tunable = "glibc.malloc.hugetlb=1"
        let current = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]
        guard current?.contains("glibc.malloc.hugetlb") != true,
            let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
            !mode.contains("[never]")
        else { return }
        setenv("GLIBC_TUNABLES", current.map { $0 + ":" + tunable } ?? tunable, 1)
        fflush(nil)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: the restart failed; run as we are.
        if let current { setenv("GLIBC_TUNABLES", current, 1) } else { unsetenv("GLIBC_TUNABLES") }
    #endif
}

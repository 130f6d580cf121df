import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Work spread over every core, for the few loops whose items are independent
/// (parsing lines, hashing records) while the ledger's order-dependent work
/// stays on one thread.
public enum Parallel {
    /// The cores this process may use.
    @usableFromInline
    static let cores: Int = {
        #if canImport(Glibc)
            return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
            return 2
        #endif
    }()

    /// The cores this process may use, for callers that spread work themselves.
    public static var coreCount: Int { cores }

    /// `transform` applied to `0..<count` on every core; results in index order.
    /// Small inputs stay on the calling thread.
    @inlinable
    public static func map<T>(_ count: Int, minimumPerCore: Int = 64, _ transform: (Int) -> T) -> [T] {
        // Each element is initialised in place by the one call for its index,
        // and the array is handed out only once every call has returned: the
        // results are never copied.
        [T](unsafeUninitializedCapacity: count) { slots, initialized in
            let base = slots.baseAddress
            forEach(count, minimumPerCore: minimumPerCore) { (base! + $0).initialize(to: transform($0)) }
            initialized = count
        }
    }

    /// `body` called with each of `0..<count` on every core, the cores taking
    /// runs of neighbouring indexes, several runs a core, as each is free;
    /// returns once all calls have. Small inputs stay on the calling thread.
    ///
    /// Runs smaller than a core's share keep every core busy to the end when
    /// one of them is also taken by other work (the walk of `verify`, beside
    /// which its records are read): with one run a core, the others waited
    /// for the slowest.
    @inlinable
    public static func forEach(_ count: Int, minimumPerCore: Int = 64, _ body: (Int) -> Void) {
        let runs = max(1, min(cores * runsPerCore, count / minimumPerCore))
        if runs == 1 { return (0..<count).forEach(body) }
        withoutActuallyEscaping(body) { body in
            let shared = SharedBody(body)
            DispatchQueue.concurrentPerform(iterations: runs) { run in
                for index in (count * run / runs)..<(count * (run + 1) / runs) { shared.body(index) }
            }
        }
    }

    /// Runs of `forEach` a core takes, at most.
    @usableFromInline
    static let runsPerCore = 8

    @usableFromInline
    final class SharedBody: @unchecked Sendable {
        @usableFromInline
        let body: (Int) -> Void

        @usableFromInline
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }
}

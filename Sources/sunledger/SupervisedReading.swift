import Foundation

/// Runs the rest of the command in a child process (the same program with the
/// same arguments) and reports a fault that stops the child as damage to the
/// ledger's data file: exit 1 and a sentence, not a crash and a stack trace.
///
/// LMDB trusts the pages of its own B-trees. A page that was changed behind
/// its back (a bit flipped on the disk, a stray write) can send a reader to
/// memory that is not there, and the reader stops with SIGSEGV or SIGABRT
/// before any check of ours can speak. `verify` is the command an auditor runs
/// to learn whether a ledger can be trusted, so it must answer even then.
/// In the child, and when the child cannot be started, this returns and the
/// command runs in this process; in the parent it never returns.
///
/// What `read` gives (a digest, perhaps from a pipe that the child could not
/// read again) is read once, by the parent, and handed to the child; this
/// returns it wherever the command then runs.
func superviseReading(handing read: () throws -> String? = { nil }) throws -> String? {
    #if os(Linux)
        let marker = "SUNLEDGER_SUPERVISED"
        let handed = "SUNLEDGER_SUPERVISED_TEXT"
        var environment = ProcessInfo.processInfo.environment
        guard environment[marker] == nil else { return environment[handed] }
        let text = try read()
        environment[marker] = "1"
        environment[handed] = text
        // The child's runtime prints no backtrace of its own: the parent says what happened.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = Array(CommandLine.arguments.dropFirst())
        child.environment = environment
        do { try child.run() } catch { return text }
        // Ctrl-C reaches the child too; the parent waits for it to go.
        signal(SIGINT, SIG_IGN)
        child.waitUntilExit()
        let status = child.terminationStatus
        guard child.terminationReason == .uncaughtSignal else { exit(status) }
        guard faultSignals.contains(status) else {
            // Stopped from outside (SIGINT, SIGTERM, SIGKILL): stop the same way.
            signal(status, SIG_DFL)
            kill(getpid(), status)
            exit(128 + status)
        }
        FileHandle.standardError.write(
            Data(
                """
                sunledger: reading the ledger stopped with \(signalName(status)). That is what a damaged page \
                of the data file's own B-trees does (LMDB does not check them), so treat the ledger as damaged: \
                restore it from an export (`sunledger restore`) or a whole copy, and keep the damaged copy for \
                inspection

                """.utf8))
        exit(1)
    #else
        return try read()
    #endif
}

/// The signals a reader stops with on its own: faults and failed checks.
private let faultSignals: Set<Int32> = [SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP]

private func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGSEGV: "SIGSEGV (an invalid memory access)"
    case SIGBUS: "SIGBUS (a bus error)"
    case SIGABRT: "SIGABRT (an abort)"
    case SIGILL: "SIGILL"
    case SIGFPE: "SIGFPE"
    case SIGTRAP: "SIGTRAP"
    default: "signal \(signal)"
    }
}

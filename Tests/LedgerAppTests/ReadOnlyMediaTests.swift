import Foundation
import Testing

/// Whether this process may mount a file system (root, with the capability):
/// a read-only one is what an archived ledger is read from.
private let mayMount: Bool = {
    guard getuid() == 0, let dir = try? scratchDirectory() else { return false }
    defer {
        _ = try? run("/bin/umount", [dir])
        try? FileManager.default.removeItem(atPath: dir)
    }
    return (try? run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]))?.status == 0
}()

private func scratchDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "sunledger-mount-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("a ledger on read-only media")
struct ReadOnlyMediaTests {
    @Test(
        "a copy on a read-only file system is read, verified and exported; writing to it, or reading its personal data, is refused in words",
        .enabled(if: mayMount, "mounting a read-only file system needs root"))
    func archivedCopy() throws {
        try withScratch { dir in
            let ledger = try importedLedger(in: dir, persons: 40, perPerson: 2)
            let digest = try sunledger("digest", "--ledger", ledger).stdout
            let kpi = try sunledger("kpi", "--json", "--as-of", "2025-12-31", "--ledger", ledger).stdout
            let export = try sunledger("export", "--ledger", ledger).stdout

            let media = dir + "/media"
            try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: false)
            #expect(try run("/bin/mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", media]).status == 0)
            defer { _ = try? run("/bin/umount", [media]) }
            #expect(try run("/bin/cp", ["-a", ledger, media + "/ledger"]).status == 0)
            #expect(try run("/bin/mount", ["-o", "remount,ro", media]).status == 0)
            let archived = media + "/ledger"

            let verified = try sunledger("verify", "--digest", digest, "--ledger", archived)
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(try sunledger("digest", "--ledger", archived).stdout == digest)
            #expect(try sunledger("kpi", "--json", "--as-of", "2025-12-31", "--ledger", archived).stdout == kpi)
            #expect(try sunledger("export", "--ledger", archived).stdout == export)
            #expect(try sunledger("history", "person-ev1", "--ledger", archived).status == 0)

            let refusal =
                "the ledger at \(archived) is on a read-only file system: it can be read, verified and exported there, not written"
            try write(
                syntheticEvents(persons: 1, perPerson: 1, prefix: "late", start: "2026-01-01T00:00:00Z"),
                to: dir + "/late.jsonl")
            for arguments in [
                ["import", dir + "/late.jsonl"], ["erase", "ev1", "--reason", "asked"], ["rebuild"],
                ["token", "add", "--role", "clerk", "--name", "desk"],
                ["export", "--pii", "--purpose", "audit", "--out", dir + "/pii.jsonl"],
            ] {
                let run = try run(sunledgerPath, arguments + ["--ledger", archived])
                #expect(run.status == 3, "\(arguments): \(run.stderr)")
                #expect(run.stderr.contains(refusal), "\(arguments): \(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/pii.jsonl"))
        }
    }
}

import Foundation
import LedgerValues
import PropertyBased
import Testing

/// What a run of the built `sunledger` printed and how it ended.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// The repository root, for `tools/` and `fixtures/`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The `sunledger` executable built beside this test bundle.
let sunledgerPath: String = {
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // The test runner may live inside a .xctest bundle directory.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("sunledger").path),
        directory.path != "/"
    {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("sunledger").path
}()

/// Runs `executable` with `arguments`, optional standard input, and waits.
@discardableResult
func run(
    _ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]
) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "SUNLEDGER_LEDGER")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    // Output goes to files, so that a chatty child can never block on a full pipe.
    let base = NSTemporaryDirectory() + "run-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Run(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: base + ".out", encoding: .utf8),
        stderr: try String(contentsOfFile: base + ".err", encoding: .utf8))
}

/// Runs the built `sunledger`.
@discardableResult
func sunledger(_ arguments: String..., stdin: Data? = nil) throws -> Run {
    try run(sunledgerPath, arguments, stdin: stdin)
}

/// Imports into `dir/ledger`, with the built `sunledger`, the synthetic events of
/// `persons` persons recorded from 2025-06-01; returns the ledger's path.
func importedLedger(in dir: String, persons: Int, perPerson: Int) throws -> String {
    let ledger = dir + "/ledger"
    try write(
        syntheticEvents(persons: persons, perPerson: perPerson, start: "2025-06-01T00:00:00Z"), to: dir + "/e.jsonl")
    #expect(try sunledger("import", dir + "/e.jsonl", "--ledger", ledger).status == 0)
    return ledger
}

/// Expects `run` to have failed its check (exit 1), saying each of `words` on standard error.
func expectFailedCheck(_ run: Run, saying words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status == 1, "\(run.stderr)", sourceLocation: sourceLocation)
    for word in words {
        #expect(run.stderr.contains(word), "\(run.stderr)", sourceLocation: sourceLocation)
    }
}

/// A scratch directory for one test, removed afterwards.
func withScratch<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "sunledger-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

func write(_ lines: [String], to path: String) throws {
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}

/// A deterministic stream of valid events: `persons` registrations (streams
/// `person-<prefix><n>`), then `perPerson` rounds of health checks, recorded one
/// second apart from `start` on.
func syntheticEvents(
    persons: Int, perPerson: Int, prefix: String = "ev", start: String = "2020-01-01T00:00:00Z"
) -> [String] {
    var lines: [String] = []
    var second: Int64 = 0
    let base = Instant(rfc3339: start)!
    func recorded() -> String {
        second += 1
        return base.adding(milliseconds: second * 1000).description
    }
    for p in 0..<persons {
        lines.append(
            #"{"id":"\#(prefix)-r\#(p)","stream":"person-\#(prefix)\#(p)","type":"PersonRegistered","occurredAt":"2019-12-01","recordedAt":"\#(recorded())","actor":"staff-001","orgUnit":"anting","data":{"sex":"F","birthDate":"1980-02-29","category":"physical","grade":3,"residence":"anting"},"pii":{"name":"王芳","idNumber":"310114198002290025"}}"#
        )
    }
    for k in 0..<perPerson {
        for p in 0..<persons {
            lines.append(
                #"{"id":"\#(prefix)-h\#(p)-\#(k)","stream":"person-\#(prefix)\#(p)","type":"HealthCheckCompleted","occurredAt":"2019-12-02","recordedAt":"\#(recorded())","actor":"staff-002","orgUnit":"malu","data":{}}"#
            )
        }
    }
    return lines
}

/// The fixed-seed generator of one test case. Tests that draw from the same
/// seeds give each its own `salt`, so that they draw different values.
func seededGenerator(_ seed: UInt64, salt: UInt64 = 0xD1B5_4A32_D192_ED03) -> Xoshiro {
    Xoshiro(seed: (seed, 0x9E37_79B9_7F4A_7C15, seed ^ salt, 0x2545_F491_4F6C_DD1D))
}

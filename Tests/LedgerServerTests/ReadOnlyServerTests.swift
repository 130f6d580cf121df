import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerApp
import LedgerServer
import Testing

/// Runs `/bin/<tool>` with `arguments`; whether it succeeded.
private func system(_ tool: String, _ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/" + tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// A directory with a fresh tmpfs mounted on it, or nil where this process may not mount one.
private func mountedScratch() -> String? {
    let media = NSTemporaryDirectory() + "sunledger-media-\(UUID().uuidString)"
    guard getuid() == 0,
        (try? FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)) != nil
    else { return nil }
    guard system("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", media]) else {
        try? FileManager.default.removeItem(atPath: media)
        return nil
    }
    return media
}

private let mayMount: Bool = {
    guard let media = mountedScratch() else { return false }
    _ = system("umount", [media])
    try? FileManager.default.removeItem(atPath: media)
    return true
}()

@Suite("Serving a ledger on read-only media")
struct ReadOnlyServerTests {
    @Test(
        "an archived ledger is served for reading: /health says it is read-only, reads answer, a write is 503",
        .enabled(if: mayMount, "mounting a read-only file system needs root"))
    func archive() async throws {
        let media = try #require(mountedScratch())
        defer {
            _ = system("umount", [media])
            try? FileManager.default.removeItem(atPath: media)
        }
        let path = media + "/ledger"
        let secret = try {
            let ledger = try Ledger(path: path, create: true)
            _ = try Importer(ledger: ledger).importLines(Array(workedExample.utf8), name: "worked-example.jsonl")
            return try AccessTokens.issue(in: ledger, name: "archive-admin", role: .admin).secret
        }()
        // The ledger above is closed, so nothing holds a file open for writing;
        // a moment is allowed for any thread still letting go of it.
        var remounted = false
        for _ in 0..<50 where !remounted {
            remounted = system("mount", ["-o", "remount,ro", media])
            if !remounted { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(remounted)
        let ledger = try Ledger(path: path, create: false)
        #expect(ledger.log.isReadOnly)
        let api = try LedgerAPI(ledger: ledger, settings: ServerSettings(maxBodyBytes: 64 << 10))
        let bearer: HTTPFields = [.authorization: "Bearer \(secret)"]
        try await api.application().test(.router) { client in
            try await client.execute(uri: "/health", method: .get, headers: bearer) { response in
                #expect(text(response) == "{\"readOnly\":true,\"seq\":9,\"status\":\"ok\"}\n")
            }
            try await client.execute(uri: "/kpis?asOf=2024-12-31", method: .get, headers: bearer) {
                #expect($0.status == .ok)
            }
            let refusal = "the ledger at \(path) is on a read-only file system"
            try await client.execute(uri: "/events", method: .post, headers: bearer, body: body(reassessment(id: "r1")))
            { response in
                #expect(response.status == .serviceUnavailable)
                #expect(text(response).contains(refusal), "\(text(response))")
            }
            var asking = bearer
            asking[HTTPField.Name("X-Purpose")!] = "audit"
            try await client.execute(uri: "/export?pii=full", method: .get, headers: asking) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(text(response).contains(refusal), "\(text(response))")
            }
        }
    }
}

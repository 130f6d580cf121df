import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerServer
import LedgerValues
import NIOCore
import Testing

/// The repository root, for `seeds/`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The nine events of kpis.md's worked example, as interchange lines.
let workedExample = try! String(contentsOfFile: repositoryRoot + "/seeds/worked-example.jsonl", encoding: .utf8)

/// A ledger holding the worked example, with a token for each role.
struct Office: Sendable {
    let ledger: Ledger
    let path: String
    /// The secret of each role's token, held by a holder named after the role.
    let secrets: [Role: String]

    /// The `Authorization` header of `role`'s token, plus `extra`.
    func headers(_ role: Role?, _ extra: HTTPFields = [:]) -> HTTPFields {
        var fields = extra
        if let role { fields[.authorization] = "Bearer \(secrets[role]!)" }
        return fields
    }
}

/// Runs `body` against the API of a fresh ledger holding the worked example,
/// in process (`app.test(.router)`), then removes the ledger.
func withOffice(
    settings: ServerSettings = ServerSettings(maxBodyBytes: 64 << 10),
    setup: TestingSetup = .router,
    _ body: @Sendable (Office, any TestClientProtocol) async throws -> Void
) async throws {
    let path = NSTemporaryDirectory() + "sunledger-server-test-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let ledger = try Ledger(path: path, create: true, snapshotEvery: 4)
    _ = try Importer(ledger: ledger).importLines(Array(workedExample.utf8), name: "worked-example.jsonl")
    var secrets: [Role: String] = [:]
    for role in Role.allCases {
        secrets[role] = try AccessTokens.issue(in: ledger, name: "\(role.rawValue)-1", role: role).secret
    }
    let office = Office(ledger: ledger, path: path, secrets: secrets)
    let api = try LedgerAPI(ledger: ledger, settings: settings)
    // The server exactly as `sunledger-server` runs it (live tests give port 0 in `settings`).
    try await api.application().test(setup) { client in try await body(office, client) }
}

/// The response's body as text.
func text(_ response: TestResponse) -> String { String(buffer: response.body) }

/// The response's body as a JSON object.
func object(_ response: TestResponse) throws -> JSONObject {
    let value = try JSONParser.parse(Array(response.body.readableBytesView))
    guard case .object(let object) = value else { throw JSONShapeError() }
    return object
}

struct JSONShapeError: Error {}

/// A body of text.
func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// An interchange event: a `PersonReassessed` of P1, with the given id and fields replaced.
func reassessment(id: String, grade: Int = 2, expectedVersion: Int? = nil, category: String = "physical") -> String {
    let version = expectedVersion.map { ", \"expectedVersion\": \($0)" } ?? ""
    return """
        {"id": "\(id)", "stream": "person-P1", "type": "PersonReassessed", "occurredAt": "2025-03-01", "actor": "clerk-anting", "orgUnit": "anting"\(version), "data": {"category": "\(category)", "grade": \(grade)}}
        """
}

/// The seq of the last record.
func headSeq(_ office: Office) throws -> Int64 { try office.ledger.log.head().seq }

extension JSONValue {
    /// The elements, when this is an array.
    var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

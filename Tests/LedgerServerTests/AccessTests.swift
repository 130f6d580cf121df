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

/// Every endpoint, as a method and a path.
let endpoints: [(method: HTTPRequest.Method, path: String)] = [
    (.post, "/events"), (.get, "/streams/person-P1"), (.get, "/kpis"), (.get, "/caseload"), (.get, "/export"),
    (.get, "/digest"), (.get, "/proofs/1"), (.get, "/consistency/3"), (.get, "/bundles/person-P1"),
    (.post, "/erasures"), (.get, "/health"), (.get, "/access-log"),
    (.get, "/metrics"), (.get, "/"), (.get, "/returns/2024"),
    (.get, "/restatements?asOf=2024-12-31&knownAt=2025-01-15T00:00:00Z&knownAt=2025-03-01T02:00:00Z"),
]

@Suite("Tokens and roles")
struct AccessTests {
    @Test("every endpoint refuses a request without a token (401)")
    func noToken() async throws {
        try await withOffice { _, client in
            for endpoint in endpoints {
                try await client.execute(uri: endpoint.path, method: endpoint.method) { response in
                    #expect(response.status == .unauthorized, "\(endpoint.path)")
                    if endpoint.path == "/" {
                        // A browser is offered the sign-in form.
                        #expect(text(response).contains("<form method=\"post\" action=\"/sign-in\""))
                    } else {
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                        #expect(text(response).contains("needs a bearer token"))
                    }
                }
            }
        }
    }

    @Test("the caller is admitted before the query is read: a stranger or a role refused learns nothing of it")
    func admissionBeforeQuery() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/kpis?asof=2024-12-31", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/proofs/1?tree_size=2", method: .get, headers: office.headers(.clerk)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/proofs/1?tree_size=2", method: .get, headers: office.headers(.auditor)) {
                response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("every endpoint refuses a token that was never issued, or was revoked (401)")
    func invalidToken() async throws {
        try await withOffice { office, client in
            let forged = String(repeating: "ab", count: 32)
            for endpoint in endpoints {
                try await client.execute(
                    uri: endpoint.path, method: endpoint.method, headers: [.authorization: "Bearer \(forged)"]
                ) { response in
                    #expect(response.status == .unauthorized, "\(endpoint.path)")
                }
            }
            try await client.execute(uri: "/kpis", method: .get, headers: office.headers(.clerk)) {
                #expect($0.status == .ok)
            }
            #expect(try AccessTokens.revoke(in: office.ledger, name: "clerk-1"))
            try await client.execute(uri: "/kpis", method: .get, headers: office.headers(.clerk)) { response in
                #expect(response.status == .unauthorized)
                #expect(text(response).contains("revoked"))
            }
        }
    }

    @Test("an expired token is refused everywhere (401, saying whose and since when), by bearer, sign-in or cookie")
    func expiredToken() async throws {
        try await withOffice { office, client in
            let now = Instant.now()
            let issued = Instant(milliseconds: now.milliseconds - 2 * 86_400_000)
            let old = try AccessTokens.issue(
                in: office.ledger, name: "xuhang-desk", role: .admin, validDays: 1, at: issued)
            let expiresAt = try #require(old.token.expiresAt)
            for endpoint in endpoints {
                try await client.execute(
                    uri: endpoint.path, method: endpoint.method, headers: [.authorization: "Bearer \(old.secret)"]
                ) { response in
                    #expect(response.status == .unauthorized, "\(endpoint.path)")
                    if endpoint.path != "/" {
                        #expect(
                            text(response).contains(
                                "the bearer token of xuhang-desk expired at \(expiresAt): an administrator issues a new one "
                                    + "(sunledger token add --role admin --name xuhang-desk)"),
                            "\(endpoint.path): \(text(response))")
                    }
                }
            }
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/sign-in", method: .post, headers: form, body: body("token=\(old.secret)")) {
                response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
                #expect(text(response).contains("has expired"))
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "sunledger_token=\(old.secret)"]) {
                #expect($0.status == .unauthorized)
            }
            // Issued anew, the holder is admitted again.
            let renewed = try AccessTokens.issue(in: office.ledger, name: "xuhang-desk", role: .admin)
            try await client.execute(
                uri: "/kpis", method: .get, headers: [.authorization: "Bearer \(renewed.secret)"]
            ) { #expect($0.status == .ok) }
        }
    }

    @Test("each role reaches exactly the endpoints it may use, and is refused the rest (403)")
    func roleMatrix() async throws {
        // The status each role gets; reads are open to every role.
        let allowed: [String: Set<Role>] = [
            "/events": [.clerk, .admin], "/proofs/1": [.auditor, .admin], "/consistency/3": [.auditor, .admin],
            "/bundles/person-P1": [.auditor, .admin],
            "/erasures": [.privacy, .admin], "/access-log": [.auditor, .privacy, .admin],
        ]
        try await withOffice { office, client in
            for endpoint in endpoints {
                for role in Role.allCases {
                    let may = allowed[endpoint.path].map { $0.contains(role) } ?? true
                    var payload: ByteBuffer?
                    if endpoint.path == "/events" { payload = body(reassessment(id: "m-\(role.rawValue)")) }
                    if endpoint.path == "/erasures" {
                        payload = body(#"{"person": "P1", "reason": "asked by family"}"#)
                    }
                    try await client.execute(
                        uri: endpoint.path, method: endpoint.method, headers: office.headers(role), body: payload
                    ) { response in
                        if may {
                            #expect(response.status == .ok, "\(role) \(endpoint.path): \(text(response))")
                        } else {
                            #expect(response.status == .forbidden, "\(role) \(endpoint.path)")
                            #expect(text(response).contains("may not"))
                        }
                    }
                }
            }
        }
    }

    @Test("a token's secret is shown once and only its hash is stored")
    func secretNotStored() throws {
        let path = NSTemporaryDirectory() + "sunledger-token-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try Ledger(path: path, create: true)
        let issued = try AccessTokens.issue(in: ledger, name: "malu-desk", role: .clerk)
        #expect(issued.secret.utf8.count == 64)
        #expect(try AccessTokens.holder(of: issued.secret, in: ledger)?.name == "malu-desk")
        let other = try AccessTokens.issue(in: ledger, name: "anting-desk", role: .clerk)
        #expect(other.secret != issued.secret)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        for file in files {
            let contents = try Data(contentsOf: URL(fileURLWithPath: path + "/" + file))
            #expect(contents.range(of: Data(issued.secret.utf8)) == nil, "\(file) holds the secret")
        }
        #expect(throws: AppError.self) { _ = try AccessTokens.issue(in: ledger, name: "malu-desk", role: .admin) }
        #expect(try AccessTokens.list(in: ledger).map(\.name) == ["anting-desk", "malu-desk"])
    }
}

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

@Suite("Reading the ledger")
struct ReadingTests {
    @Test(
        "a path the API has, asked with another method, is 405 with Allow; any other path is 404; both in JSON; HEAD goes where GET does"
    )
    func unrouted() async throws {
        try await withOffice { office, client in
            for (method, uri, allow) in [
                (HTTPRequest.Method.get, "/events", "POST"), (.head, "/events", "POST"),
                (.delete, "/kpis", "GET, HEAD"),
                (.put, "/streams/person-P1", "GET, HEAD"),
                (.post, "/", "GET, HEAD"),
            ] {
                try await client.execute(uri: uri, method: method, headers: office.headers(.admin)) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow)
                    if method != .head {
                        let error = try object(response)["error"]?.stringValue ?? ""
                        #expect(error.contains("answers \(allow)"))
                    }
                }
            }
            // HEAD is answered wherever GET is: the same status and headers, no body.
            for (uri, status) in [("/kpis", HTTPResponse.Status.ok), ("/streams/person-P404", .notFound)] {
                var got: (HTTPResponse.Status, String?)?
                try await client.execute(uri: uri, method: .get, headers: office.headers(.admin)) {
                    got = ($0.status, $0.headers[.contentType])
                }
                try await client.execute(uri: uri, method: .head, headers: office.headers(.admin)) { response in
                    #expect(response.status == status && got?.0 == status, "HEAD \(uri)")
                    #expect(response.headers[.contentType] == got?.1)
                    #expect(response.body.readableBytes == 0)
                }
            }
            for uri in ["/nowhere", "/streams", "/proofs/1/2"] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.admin)) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    let error = try object(response)["error"]?.stringValue ?? ""
                    #expect(error.contains("there is no GET \(uri)"))
                }
            }
            try await client.execute(uri: "/streams/person-P1", method: .get, headers: office.headers(.admin)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/", method: .get, headers: office.headers(.admin)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test("GET /kpis gives exactly the document of kpis.md, as `kpi --json` does")
    func kpis() async throws {
        try await withOffice { office, client in
            let uri = "/kpis?asOf=2024-12-31&knownAt=2025-01-15T00:00:00Z"
            try await client.execute(uri: uri, method: .get, headers: office.headers(.clerk)) { response in
                #expect(response.status == .ok)
                let expected = try KPIReport(ledger: office.ledger).document(
                    asOf: LocalDate(iso: "2024-12-31")!,
                    limit: .knownAt(Instant(rfc3339: "2025-01-15T00:00:00Z")!)
                ).json
                #expect(text(response) == expected + "\n")
                let document = try object(response)
                #expect(document["throughSeq"] == .integer(7))
                #expect(document["kpis"]?.objectValue?["registered_persons"]?.objectValue?["value"] == .integer(2))
                #expect(document["indices"]?.objectValue?["service"] == .number("25.0"))
            }
            try await client.execute(
                uri: "/kpis?asOf=2024-12-31&throughSeq=9", method: .get, headers: office.headers(.clerk)
            ) { response in
                let document = try object(response)
                #expect(document["kpis"]?.objectValue?["registered_persons"]?.objectValue?["value"] == .integer(1))
                #expect(document["knownAt"] == .null)
            }
        }
    }

    @Test("a bad figure query is refused (400) in the command line's words")
    func badQuery() async throws {
        try await withOffice { office, client in
            for (query, words) in [
                ("asOf=2024-02-30", "asOf must be a real date written YYYY-MM-DD"),
                ("knownAt=2025-01-15", "knownAt must be an RFC 3339 instant"),
                ("knownAt=2025-01-15T00:00:00Z&throughSeq=3", "knownAt and throughSeq exclude each other"),
                ("throughSeq=-1", "throughSeq must be 0 or more"),
            ] {
                for path in ["/kpis", "/caseload"] {
                    try await client.execute(uri: "\(path)?\(query)", method: .get, headers: office.headers(.clerk)) {
                        response in
                        #expect(response.status == .badRequest)
                        let message = try object(response)["error"]?.stringValue
                        #expect(message?.hasPrefix(words) == true, "\(query)")
                    }
                }
            }
        }
    }

    @Test("a query parameter an endpoint does not read, or one given twice, is refused (400), naming it")
    func strictQuery() async throws {
        try await withOffice { office, client in
            for (uri, words) in [
                (
                    "/kpis?asof=2024-12-31",
                    "GET /kpis takes no query parameter \"asof\" (did you mean asOf?); it takes asOf, knownAt, throughSeq"
                ),
                ("/caseload?unit=anting", "GET /caseload takes no query parameter \"unit\"; it takes asOf"),
                ("/kpis?asOf=2024-12-31&asOf=2023-12-31", "asOf is given 2 times; give it once"),
                ("/kpis?as%4Ff=2024-12-31", "GET /kpis takes no query parameter \"as%4Ff\"; it takes asOf"),
                ("/digest?seq=3", "GET /digest takes no query parameters (got \"seq\")"),
                (
                    "/proofs/2?tree_size=5",
                    "GET /proofs/{seq} takes no query parameter \"tree_size\"; it takes treeSize"
                ),
                ("/returns/2024?asOf=2024-06-30", "GET /returns/{year} takes no query parameter \"asOf\""),
                ("/export?fromSeq=1&fromSeq=2", "fromSeq is given 2 times"),
                (
                    "/streams/person-P1?PII=full",
                    "GET /streams/{stream} takes no query parameter \"PII\" (did you mean pii?)"
                ),
                ("/bundles/person-P1?throughSeq=3", "GET /bundles/{stream} takes no query parameter \"throughSeq\""),
                (
                    "/restatements?asOf=2024-12-31&asOf=2024-12-31&knownAt=2025-01-15T00:00:00Z&knownAt=2025-03-01T00:00:00Z",
                    "asOf is given 2 times"
                ),
                ("/?as_of=2024-12-31", "GET / takes no query parameter \"as_of\""),
            ] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.admin)) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let message = try object(response)["error"]?.stringValue
                    #expect(message?.hasPrefix(words) == true, "\(uri): \(message ?? "")")
                }
            }
            // An append asked as a trial stores nothing: the API has no such trial.
            let before = try headSeq(office)
            try await client.execute(
                uri: "/events?dryRun=true", method: .post, headers: office.headers(.clerk),
                body: body(reassessment(id: "trial-1"))
            ) { response in
                #expect(response.status == .badRequest)
                let message = try object(response)["error"]?.stringValue
                #expect(message == "POST /events takes no query parameters (got \"dryRun\")")
            }
            #expect(try headSeq(office) == before)
            // What every endpoint reads is taken, and an empty segment a script leaves is passed over.
            for uri in [
                "/kpis?asOf=2024-12-31&knownAt=2025-01-15T00:00:00Z&", "/caseload?throughSeq=3",
                "/streams/person-P1?knownAt=2025-03-01T00:00:00Z&pii=masked", "/export?fromSeq=1&toSeq=2&pii=none",
                "/proofs/2?treeSize=5", "/consistency/2?treeSize=5", "/returns/2024?knownAt=2025-01-15T00:00:00Z",
                "/bundles/person-P1?asOf=2024-12-31&knownAt=2025-03-01T00:00:00Z", "/?asOf=2024-12-31&knownAt=",
                "/digest?",
            ] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.admin)) { response in
                    #expect(response.status == .ok, "\(uri): \(text(response))")
                }
            }
        }
    }

    @Test("GET /caseload gives the document of `caseload --json`")
    func caseload() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/caseload?asOf=2024-12-31", method: .get, headers: office.headers(.auditor))
            {
                response in
                let expected = try KPIReport(ledger: office.ledger).caseload(
                    asOf: LocalDate(iso: "2024-12-31")!, limit: .everything
                ).json(knownAt: nil)
                #expect(text(response) == expected + "\n")
            }
        }
    }

    @Test("GET /restatements gives the document of `restatement --json`: what changed between T1 and T2, and why")
    func restatement() async throws {
        try await withOffice { office, client in
            let uri = "/restatements?asOf=2024-12-31&knownAt=2025-01-15T00:00:00Z&knownAt=2025-03-01T02:00:00Z"
            try await client.execute(uri: uri, method: .get, headers: office.headers(.auditor)) { response in
                #expect(response.status == .ok)
                let expected = try KPIReport(ledger: office.ledger).restatement(
                    asOf: LocalDate(iso: "2024-12-31")!, knownAt: Instant(rfc3339: "2025-01-15T00:00:00Z")!,
                    Instant(rfc3339: "2025-03-01T02:00:00Z")!
                ).json
                #expect(text(response) == expected + "\n")
                let document = try object(response)
                #expect(document["throughSeq"] == .array([.integer(7), .integer(9)]))
                #expect(document["changes"]?.arrayValue?.isEmpty == false)
            }
        }
    }

    @Test("GET /returns/{year} gives the document of `report --format json`, stamp and every table")
    func returns() async throws {
        try await withOffice { office, client in
            try await client.execute(
                uri: "/returns/2024?knownAt=2025-01-15T00:00:00Z", method: .get, headers: office.headers(.clerk)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let (returns, stamp) = try ComplianceReport(ledger: office.ledger).returns(
                    year: 2024, knownAt: Instant(rfc3339: "2025-01-15T00:00:00Z")!)
                let expected = ComplianceReport.files(of: returns, stamp: stamp, format: .json)[0].bytes
                #expect(Array(response.body.readableBytesView) == expected)
                let document = try object(response)
                #expect(document["stamp"]?.objectValue?["throughSeq"] == .integer(7))
                #expect(document["tables"]?.arrayValue?.count == 14)
            }
        }
    }

    @Test("a bad restatement or returns query is refused (400), saying what is wrong")
    func badRestatementOrReturns() async throws {
        try await withOffice { office, client in
            for (uri, words) in [
                ("/restatements?knownAt=2025-01-15T00:00:00Z", "knownAt must be given exactly twice"),
                (
                    "/restatements?knownAt=2025-03-01T00:00:00Z&knownAt=2025-01-15T00:00:00Z",
                    "knownAt: the first instant (T1, \"2025-03-01T00:00:00Z\") must be earlier"
                ),
                (
                    "/restatements?knownAt=2025-01-15&knownAt=2025-03-01T00:00:00Z",
                    "knownAt must be an RFC 3339 instant"
                ),
                (
                    "/restatements?asOf=2024-13-01&knownAt=2025-01-15T00:00:00Z&knownAt=2025-03-01T00:00:00Z",
                    "asOf must be a real date"
                ),
                ("/returns/1899", "the year must be a year of the ledger's dates, 1900–2100"),
                ("/returns/last", "the year must be a year of the ledger's dates"),
                ("/returns/2024?knownAt=yesterday", "knownAt must be an RFC 3339 instant"),
            ] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.clerk)) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let message = try object(response)["error"]?.stringValue
                    #expect(message?.hasPrefix(words) == true, "\(uri): \(message ?? "")")
                }
            }
        }
    }

    @Test("GET /digest gives the digest `sunledger digest` prints")
    func digest() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/digest", method: .get, headers: office.headers(.clerk)) { response in
                let expected = try office.ledger.digest().json
                #expect(text(response) == expected + "\n")
            }
        }
    }

    @Test("GET /proofs/{seq} gives the inclusion proof of events.md §7; a seq beyond the ledger is not found")
    func proofs() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/proofs/3?treeSize=7", method: .get, headers: office.headers(.auditor)) {
                response in
                #expect(response.status == .ok)
                let expected = try office.ledger.inclusionProof(seq: 3, treeSize: 7)
                #expect(text(response) == expected + "\n")
                let answer = try object(response)
                #expect(answer["treeSize"] == .integer(7))
            }
            try await client.execute(uri: "/consistency/4", method: .get, headers: office.headers(.auditor)) {
                response in
                let expected = try office.ledger.consistencyProof(fromSize: 4)
                #expect(text(response) == expected + "\n")
            }
            try await client.execute(uri: "/proofs/99", method: .get, headers: office.headers(.auditor)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/consistency/5?treeSize=3", method: .get, headers: office.headers(.auditor))
            {
                response in
                #expect(response.status == .badRequest)
                #expect(text(response).contains("the earlier tree size 5 is larger than the tree size 3"))
            }
            try await client.execute(uri: "/proofs/first", method: .get, headers: office.headers(.auditor)) {
                response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test("GET /bundles/{stream} hands an auditor a stream's audit bundle: records, proofs, digest, KPIs, manifest")
    func bundle() async throws {
        try await withOffice { office, client in
            try await client.execute(
                uri: "/bundles/person-P1?asOf=2024-12-31", method: .get, headers: office.headers(.auditor)
            ) { response in
                #expect(response.status == .ok)
                let files = try #require(try object(response)["files"]?.objectValue)
                #expect(
                    Set(files.keys) == ["digest.json", "proofs.jsonl", "records.jsonl", "kpi.json", "manifest.json"])
                #expect(files["records.jsonl"]?.stringValue?.split(separator: "\n").count == 6)
                #expect(files["proofs.jsonl"]?.stringValue?.split(separator: "\n").count == 6)
                #expect(files["records.jsonl"]?.stringValue?.contains("王芳") == false)
            }
            try await client.execute(uri: "/bundles/person-P404", method: .get, headers: office.headers(.auditor)) {
                #expect($0.status == .notFound)
            }
            // A name that is no stream's is a bad request, not a stream without events.
            for uri in ["/bundles/P1", "/streams/P1"] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.auditor)) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(text(response).contains("the stream must be <kind>-<key>"), "\(uri)")
                }
            }
            // Nothing of the stream recorded by knownAt: not found, as GET /streams answers.
            for uri in [
                "/bundles/person-P1?knownAt=2019-01-01T00:00:00Z", "/streams/person-P1?knownAt=2019-01-01T00:00:00Z",
            ] {
                try await client.execute(uri: uri, method: .get, headers: office.headers(.auditor)) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(text(response).contains("person-P1: no events recorded by 2019-01-01T00:00:00.000Z"))
                }
            }
        }
    }

    @Test("GET /export streams the chained records as `sunledger export` writes them")
    func export() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/export?pii=none", method: .get, headers: office.headers(.auditor)) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/x-ndjson") == true)
                let lines = text(response).split(separator: "\n")
                #expect(lines.count == 9)
                let expected = try Exporter(ledger: office.ledger).lines(from: 1, through: 9, pii: .none)
                #expect(Array(response.body.readableBytesView) == expected)
            }
            try await client.execute(uri: "/export?fromSeq=3&toSeq=4", method: .get, headers: office.headers(.clerk)) {
                response in
                #expect(text(response).split(separator: "\n").count == 2)
            }
            try await client.execute(uri: "/export?fromSeq=0", method: .get, headers: office.headers(.clerk)) {
                #expect($0.status == .badRequest)
            }
        }
    }

    @Test("GET /streams/{stream} gives the stream's records; an unknown stream is not found")
    func stream() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/streams/person-P2", method: .get, headers: office.headers(.clerk)) {
                response in
                let events = try #require(try object(response)["events"]?.arrayValue)
                #expect(events.compactMap { $0.objectValue?["id"] } == [.string("e3"), .string("e5"), .string("e9")])
                #expect(events.allSatisfy { $0.objectValue?["hash"]?.stringValue?.utf8.count == 64 })
            }
            try await client.execute(
                uri: "/streams/person-P1?knownAt=2020-03-05T00:00:00Z", method: .get, headers: office.headers(.clerk)
            ) { response in
                let answer = try object(response)
                #expect(answer["events"]?.arrayValue?.count == 1)
            }
            try await client.execute(uri: "/streams/person-P404", method: .get, headers: office.headers(.clerk)) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test("GET /health answers any valid token with the last seq, and whether the ledger is read-only")
    func health() async throws {
        try await withOffice { office, client in
            for role in Role.allCases {
                try await client.execute(uri: "/health", method: .get, headers: office.headers(role)) { response in
                    #expect(text(response) == "{\"readOnly\":false,\"seq\":9,\"status\":\"ok\"}\n")
                }
            }
        }
    }
}

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

@Suite("POST /events")
struct AppendTests {
    @Test("one event is stored and answered with its seq and hash")
    func oneEvent() async throws {
        try await withOffice { office, client in
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk), body: body(reassessment(id: "r1"))
            ) { response in
                #expect(response.status == .ok)
                let answer = try object(response)
                #expect(answer["stored"] == .integer(1))
                #expect(answer["duplicates"] == .integer(0))
                let event = answer["events"]?.arrayValue?.first?.objectValue
                #expect(event?["id"] == .string("r1"))
                #expect(event?["seq"] == .integer(10))
                let stored = try #require(try office.ledger.log.hash(at: 10))
                #expect(event?["hash"] == .string(Hex.encode(stored)))
                #expect(event?["duplicate"] == .bool(false))
                // The answer is canonical JSON, byte for byte, and one line.
                #expect(text(response) == String(decoding: CanonicalJSON.encode(.object(answer)), as: UTF8.self) + "\n")
            }
        }
    }

    @Test("a body that starts with a byte-order mark is read as `import` reads such a file")
    func byteOrderMark() async throws {
        try await withOffice { office, client in
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk),
                body: body("\u{FEFF}" + reassessment(id: "bom1"))
            ) { response in
                #expect(response.status == .ok, "\(text(response))")
                #expect(text(response).contains("\"stored\":1"))
            }
        }
    }

    @Test("a re-sent id is answered as a duplicate and stored once")
    func duplicate() async throws {
        try await withOffice { office, client in
            let event = body(reassessment(id: "r1"))
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: event) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: event) {
                response in
                #expect(response.status == .ok)
                let answer = try object(response)
                #expect(answer["stored"] == .integer(0))
                #expect(answer["duplicates"] == .integer(1))
                let first = answer["events"]?.arrayValue?.first?.objectValue
                #expect(first?["duplicate"] == .bool(true))
                #expect(first?["seq"] == .integer(10))
            }
            #expect(try headSeq(office) == 10)
        }
    }

    @Test("a batch with one broken event stores nothing, and the answer names every rule broken (422)")
    func batchAllOrNothing() async throws {
        try await withOffice { office, client in
            let batch =
                "[" + reassessment(id: "b1") + "," + reassessment(id: "b2", grade: 9) + ","
                + reassessment(id: "b3", category: "tall") + "]"
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch))
            { response in
                #expect(response.status == .unprocessableContent)
                let answer = try object(response)
                #expect(answer["error"]?.stringValue?.contains("nothing was stored") == true)
                let problems = try #require(answer["problems"]?.arrayValue).compactMap(\.objectValue)
                #expect(problems.map { $0["line"] } == [.integer(2), .integer(3)])
                #expect(problems.map { $0["field"] } == [.string("data.grade"), .string("data.category")])
            }
            #expect(try headSeq(office) == 9)
            try await client.execute(uri: "/streams/person-P1", method: .get, headers: office.headers(.clerk)) {
                response in
                #expect(!text(response).contains("\"b1\""))
            }
        }
    }

    @Test("a batch whose events all pass is stored whole, in order")
    func batchStored() async throws {
        try await withOffice { office, client in
            let batch =
                "[" + (1...5).map { reassessment(id: "ok\($0)", grade: 1 + $0 % 4) }.joined(separator: ",") + "]"
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch))
            { response in
                #expect(response.status == .ok)
                let seqs = try object(response)["events"]?.arrayValue?.compactMap { $0.objectValue?["seq"] }
                #expect(seqs == (10...14).map { .integer($0) })
            }
        }
    }

    @Test("concurrent batches are each all or nothing: a broken one stores nothing, the others are stored whole")
    func concurrentBatches() async throws {
        try await withOffice { office, client in
            let statuses = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status, String).self) { group in
                for request in 0..<12 {
                    let events = (0..<5).map { event in
                        reassessment(id: "c\(request)-\(event)", grade: request == 7 && event == 3 ? 0 : 1 + event % 4)
                    }
                    let batch = "[" + events.joined(separator: ",") + "]"
                    group.addTask {
                        try await client.execute(
                            uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch)
                        ) { (request, $0.status, text($0)) }
                    }
                }
                var statuses: [Int: (HTTPResponse.Status, String)] = [:]
                for try await (request, status, answer) in group { statuses[request] = (status, answer) }
                return statuses
            }
            for request in 0..<12 {
                let (status, answer) = statuses[request]!
                if request == 7 {
                    #expect(status == .unprocessableContent)
                    #expect(answer.contains(#""line":4"#))
                    #expect(answer.contains(#""field":"data.grade""#))
                } else {
                    #expect(status == .ok, "\(request): \(answer)")
                }
            }
            #expect(try headSeq(office) == 9 + 11 * 5)
            let stored = try office.ledger.log.history(of: "person-P1").map(\.record.id)
            #expect(!stored.contains { $0.hasPrefix("c7-") })
            for request in 0..<12 where request != 7 {
                // Each batch's events are stored together, in the batch's order.
                let ids = stored.filter { $0.hasPrefix("c\(request)-") }
                #expect(ids == (0..<5).map { "c\(request)-\($0)" })
            }
        }
    }

    @Test("a batch written over several lines, as a person would, is read event by event")
    func prettyBatch() async throws {
        try await withOffice { office, client in
            let pretty = """
                [
                  \(reassessment(id: "p1").replacingOccurrences(of: ", \"", with: ",\n    \""))
                  ,
                  \(reassessment(id: "p2", grade: 3).replacingOccurrences(of: "{", with: "{\n"))
                ]

                """
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(pretty))
            { response in
                #expect(response.status == .ok, "\(text(response))")
                let answer = try object(response)
                #expect(answer["stored"] == .integer(2))
                let ids = answer["events"]?.arrayValue?.compactMap { $0.objectValue?["id"] }
                #expect(ids == [.string("p1"), .string("p2")])
                #expect(text(response) == String(decoding: CanonicalJSON.encode(.object(answer)), as: UTF8.self) + "\n")
            }
            let broken = "[" + reassessment(id: "q1") + "," + "{\"id\": \"q2\", \"type\": \"line\nbreak\"}" + "]"
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(broken))
            { response in
                #expect(response.status == .badRequest)
                #expect(text(response).contains("raw line break"))
            }
        }
    }

    @Test("an expectedVersion the stream has moved past is a conflict (409) and stores nothing")
    func versionConflict() async throws {
        try await withOffice { office, client in
            // person-P1 holds six events of the worked example.
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk),
                body: body(reassessment(id: "v1", expectedVersion: 5))
            ) { response in
                #expect(response.status == .conflict)
                let problem = try #require(try object(response)["problems"]?.arrayValue?.first?.objectValue)
                #expect(problem["field"] == .string("expectedVersion"))
                #expect(problem["rule"] == .string("is 5 but person-P1 is at version 6"))
                #expect(problem["conflict"] == .bool(true))
            }
            #expect(try headSeq(office) == 9)
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk),
                body: body(reassessment(id: "v1", expectedVersion: 6))
            ) { #expect($0.status == .ok) }
        }
    }

    @Test("a body that is not an event or a batch is a bad request (400), in words")
    func badBodies() async throws {
        try await withOffice { office, client in
            for (sent, words) in [
                ("{\"id\": ", "the body is not JSON"), ("[]", "the batch holds no events"),
                ("42", "the body must be one event"),
            ] {
                try await client.execute(
                    uri: "/events", method: .post, headers: office.headers(.clerk), body: body(sent)
                ) { response in
                    #expect(response.status == .badRequest)
                    let message = try object(response)["error"]?.stringValue
                    #expect(message?.contains(words) == true, "\(sent)")
                }
            }
        }
    }

    @Test("a body sent as anything but JSON is refused (415) and nothing is stored; JSON types and none are read")
    func mediaTypes() async throws {
        try await withOffice { office, client in
            for (index, stated) in [
                "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
            ]
            .enumerated() {
                try await client.execute(
                    uri: "/events", method: .post, headers: office.headers(.clerk, [.contentType: stated]),
                    body: body(reassessment(id: "typed\(index)"))
                ) { response in
                    #expect(response.status == .unsupportedMediaType, "\(stated)")
                    #expect(text(response).contains("Content-Type: application/json"), "\(stated)")
                }
                try await client.execute(
                    uri: "/erasures", method: .post, headers: office.headers(.privacy, [.contentType: stated]),
                    body: body(#"{"person":"P1","reason":"asked"}"#)
                ) { #expect($0.status == .unsupportedMediaType, "\(stated)") }
            }
            #expect(try headSeq(office) == 9)
            for (index, stated) in ["application/json", "Application/JSON; charset=utf-8", "application/x-ndjson", nil]
                .enumerated()
            {
                try await client.execute(
                    uri: "/events", method: .post,
                    headers: office.headers(.clerk, stated.map { [.contentType: $0] } ?? [:]),
                    body: body(reassessment(id: "json\(index)"))
                ) { #expect($0.status == .ok, "\(stated ?? "no Content-Type")") }
            }
            #expect(try headSeq(office) == 13)
        }
    }

    @Test("a body above the limit is refused (413) and nothing is stored")
    func tooLarge() async throws {
        try await withOffice(settings: ServerSettings(maxBodyBytes: 2048)) { office, client in
            let batch = "[" + (1...40).map { reassessment(id: "big\($0)") }.joined(separator: ",") + "]"
            #expect(batch.utf8.count > 2048)
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch))
            { response in
                #expect(response.status == .contentTooLarge)
                #expect(text(response).contains("larger than the 2048 bytes allowed"))
            }
            #expect(try headSeq(office) == 9)
        }
    }

    @Test("over the network a body whose stated length is above the limit is refused (413) before it is read")
    func statedLengthTooLarge() async throws {
        try await withOffice(settings: ServerSettings(port: 0, maxBodyBytes: 2048), setup: .live) { office, client in
            let batch = "[" + (1...40).map { reassessment(id: "big\($0)") }.joined(separator: ",") + "]"
            try await client.execute(uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch))
            { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk), body: body(reassessment(id: "small"))
            ) { #expect($0.status == .ok) }
            #expect(try headSeq(office) == 10)
        }
    }

    @Test("appends are counted in the metrics: records stored and the latency histogram")
    func metrics() async throws {
        try await withOffice { office, client in
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.clerk), body: body(reassessment(id: "x1"))
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get, headers: office.headers(.auditor)) { response in
                let exposition = text(response)
                #expect(exposition.contains("sunledger_records_stored 10\n"))
                #expect(exposition.contains("sunledger_events_appended_total 1\n"))
                #expect(exposition.contains("sunledger_append_seconds_count 1\n"))
                #expect(exposition.contains("sunledger_append_seconds_bucket{le=\"+Inf\"} 1\n"))
                // Ten records, fewer than the stored fold's lag: none has put it yet.
                #expect(exposition.contains("sunledger_projection_lag_records 10\n"))
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
        }
    }
}

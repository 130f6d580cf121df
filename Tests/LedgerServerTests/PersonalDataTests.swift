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

let purpose = HTTPField.Name("X-Purpose")!

@Suite("Personal data")
struct PersonalDataTests {
    @Test("a clerk cannot read personal data, not even masked")
    func clerkSeesNone() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/streams/person-P1", method: .get, headers: office.headers(.clerk)) {
                response in
                #expect(response.status == .ok)
                #expect(!text(response).contains("piiMasked"))
                #expect(!text(response).contains("\"pii\""))
            }
            try await client.execute(uri: "/export", method: .get, headers: office.headers(.clerk)) { response in
                #expect(!text(response).contains("piiMasked"))
            }
            for mode in ["masked", "full"] {
                try await client.execute(
                    uri: "/export?pii=\(mode)", method: .get, headers: office.headers(.clerk, [purpose: "audit"])
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(text(response).contains("a clerk may not read personal data"))
                }
            }
        }
    }

    @Test("an auditor's export is masked, and asking for it in full is refused")
    func auditorSeesMasked() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/export", method: .get, headers: office.headers(.auditor)) { response in
                let body = text(response)
                #expect(body.contains("\"piiMasked\":{\"idNumber\":\"310114********0025\",\"name\":\"王**\"}"))
                #expect(!body.contains("王芳"))
            }
            try await client.execute(
                uri: "/export?pii=full", method: .get, headers: office.headers(.auditor, [purpose: "audit"])
            ) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try AccessLog.entries(of: office.ledger).isEmpty)
        }
    }

    @Test("personal data needs a purpose, and every reading is written to the access log before it is read")
    func purposeLogged() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/export?pii=full", method: .get, headers: office.headers(.privacy)) {
                response in
                #expect(response.status == .badRequest)
                #expect(text(response).contains("say why in the X-Purpose header"))
            }
            try await client.execute(
                uri: "/export?pii=full", method: .get, headers: office.headers(.privacy, [purpose: "   "])
            ) { #expect($0.status == .badRequest) }
            // A line break (or NUL) in the purpose could forge a line of the log: refused.
            for forged in ["audit%0a9  2020-01-01T00:00:00.000Z  auditor-1  GET /export", "%00", "a%09b"] {
                try await client.execute(
                    uri: "/export?pii=full", method: .get, headers: office.headers(.privacy, [purpose: forged])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(text(response).contains("without line breaks or other control characters"))
                }
            }
            #expect(try AccessLog.entries(of: office.ledger).isEmpty)

            // A purpose in Chinese travels percent-encoded.
            let why = "核对残疾证 subsidy check"
            let encoded = why.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await client.execute(
                uri: "/export?pii=full", method: .get, headers: office.headers(.privacy, [purpose: encoded])
            ) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains("\"pii\":{\"idNumber\":\"310114198002290025\",\"name\":\"王芳\"}"))
                #expect(text(response).contains("\"piiSalt\""))
            }
            try await client.execute(
                uri: "/streams/person-P2?pii=full", method: .get, headers: office.headers(.privacy, [purpose: "appeal"])
            ) { response in
                #expect(text(response).contains("李强"))
            }
            let entries = try AccessLog.entries(of: office.ledger)
            #expect(entries.map(\.who) == ["privacy-1", "privacy-1"])
            #expect(entries.map(\.purpose) == [why, "appeal"])
            #expect(entries.map(\.what) == ["GET /export pii seq 1–end", "GET /streams/person-P2"])
            // The export's trace names the seq it reached, so that a person's readings can be found.
            let head = try office.ledger.log.head().seq
            #expect(entries.map(\.scope) == [.seqs(from: 1, through: head), .stream("person-P2")])
            #expect(try AccessLog.entries(of: office.ledger, concerning: "person-P2").count == 2)
            // The same trace over HTTP, as `access-log --json` prints it.
            try await client.execute(uri: "/access-log?person=P2", method: .get, headers: office.headers(.auditor)) {
                response in
                #expect(response.status == .ok)
                #expect(text(response) == entries.map { $0.json + "\n" }.joined())
            }
            for (query, words) in [
                ("person=P2&stream=person-P2", "give person or stream, not both"),
                ("stream=P2", "stream must be <kind>-<key>"),
            ] {
                try await client.execute(uri: "/access-log?\(query)", method: .get, headers: office.headers(.privacy)) {
                    response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(text(response).contains(words), "\(query): \(text(response))")
                }
            }
        }
    }

    @Test(
        "a clerk's batch holding an erasure is refused (403), even with its type spelled in escapes, and stores nothing"
    )
    func clerkCannotErase() async throws {
        try await withOffice { office, client in
            let before = try office.ledger.digest()
            let erasure =
                #"{"id":"x-erase","stream":"person-P2","type":"PersonPiiErased","occurredAt":"2024-12-20","actor":"privacy-1","orgUnit":"malu","data":{"reason":"asked"}}"#
            let escaped = erasure.replacingOccurrences(of: "PersonPiiErased", with: #"PersonPii\u0045rased"#)
            for batch in [erasure, "[" + erasure + "]", escaped] {
                try await client.execute(
                    uri: "/events", method: .post, headers: office.headers(.clerk), body: body(batch)
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(text(response).contains("a clerk may not erase personal data"))
                }
            }
            #expect(try office.ledger.digest() == before)
        }
    }

    @Test("a clerk re-sending a stored event with personal data gets one answer, whether the data is right or not")
    func noPersonalDataOracle() async throws {
        try await withOffice { office, client in
            let registration =
                #"{"id":"e1","stream":"person-P1","type":"PersonRegistered","occurredAt":"2020-03-01","recordedAt":"2020-03-02T01:00:00Z","actor":"staff-001","orgUnit":"anting","data":{"sex":"F","birthDate":"1980-02-29","category":"physical","grade":3,"residence":"anting"},"pii":{"name":"王芳","idNumber":"ID"}}"#
            var answers: [String] = []
            for guess in ["310114198002290025", "310114198002290041"] {
                let event = registration.replacingOccurrences(of: #""ID""#, with: "\"\(guess)\"")
                try await client.execute(
                    uri: "/events", method: .post, headers: office.headers(.clerk), body: body(event)
                ) { response in
                    #expect(response.status == .conflict)
                    answers.append(text(response))
                }
            }
            #expect(answers.count == 2 && answers[0] == answers[1])
            #expect(answers.first?.contains("is already stored as seq 1") == true)
            // The privacy officer's role may read the data, so its resend is judged as usual.
            let right = registration.replacingOccurrences(of: #""ID""#, with: #""310114198002290025""#)
            try await client.execute(
                uri: "/events", method: .post, headers: office.headers(.admin), body: body(right)
            ) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains("\"duplicate\":true"))
            }
        }
    }

    @Test("a privacy officer erases a person's personal data; every hash still verifies")
    func erasure() async throws {
        try await withOffice { office, client in
            let given = try office.ledger.log.history(of: "person-P1").filter { $0.record.piiCommitment != nil }.count
            #expect(given > 0)
            try await client.execute(
                uri: "/erasures", method: .post, headers: office.headers(.privacy),
                body: body(#"{"person": "P1", "reason": "the person asked for erasure"}"#)
            ) { response in
                #expect(response.status == .ok)
                let answer = try object(response)
                #expect(answer["seq"] == .integer(10))
                #expect(answer["personalDataErased"] == .integer(Int64(given)))
            }
            try await client.execute(
                uri: "/erasures", method: .post, headers: office.headers(.privacy),
                body: body(#"{"person": "P1", "reason": "asked again"}"#)
            ) { response in
                let answer = try object(response)
                #expect(answer["seq"] == .integer(11) && answer["personalDataErased"] == .integer(0))
            }
            let erased = try #require(try office.ledger.log.record(at: 10))
            #expect(erased.record.type == "PersonPiiErased")
            #expect(erased.record.actor == "privacy-1")
            try await client.execute(
                uri: "/streams/person-P1?pii=full", method: .get, headers: office.headers(.privacy, [purpose: "check"])
            ) { response in
                #expect(!text(response).contains("王芳"))
            }
            _ = try office.ledger.verify()
            try await client.execute(
                uri: "/erasures", method: .post, headers: office.headers(.privacy), body: body(#"{"person": "P1"}"#)
            ) { #expect($0.status == .badRequest) }
            for (bad, words) in [
                (#"{"person": "P2", "reason": "asked", "on": 5}"#, #"on\" must be a string"#),
                (#"{"person": "P2", "reason": "asked", "extra": "x"}"#, #"extra\" is not one of its fields"#),
                (#"{"person": "P2", "reason": "asked",}"#, "the body is not JSON"),
                (#"{"person": "P 2", "reason": "asked"}"#, "the person must be given by their personId"),
            ] {
                try await client.execute(
                    uri: "/erasures", method: .post, headers: office.headers(.privacy), body: body(bad)
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(text(response).contains(words), "\(text(response))")
                }
            }
            try await client.execute(
                uri: "/erasures", method: .post, headers: office.headers(.privacy),
                body: body(#"{"person": "P77", "reason": "unknown"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                let problem = try #require(try object(response)["problems"]?.arrayValue?.first?.objectValue)
                #expect(problem["field"] == .string("person"))
                #expect(problem["rule"]?.stringValue?.hasPrefix("names no one in the ledger (person-P77") == true)
            }
        }
    }
}

import EventStore
import Foundation
import LedgerValues
import Testing

@testable import LedgerApp

@Suite("the access log: whose personal data each reading covered", .serialized)
struct AccessLogTests {
    /// The numbers of the entries `access-log` lists with `arguments`.
    func listed(_ arguments: [String], ledger: String) throws -> [Int64] {
        let listing = try run(sunledgerPath, ["access-log", "--json"] + arguments + ["--ledger", ledger])
        #expect(listing.status == 0, "\(listing.stderr)")
        return try listing.stdout.split(separator: "\n").map { line in
            let entry = try #require(try JSONParser.parse(Array(line.utf8)).objectValue)
            return try #require(entry["number"]?.integerValue)
        }
    }

    /// Runs `body` with a scratch directory and a ledger in it holding the
    /// worked example: seq 1 registers P1 and seq 3 registers P2, each with
    /// personal data; 9 records.
    func withWorkedExample(_ body: (_ dir: String, _ ledger: String) throws -> Void) throws {
        try withScratch { dir in
            let ledger = dir + "/ledger"
            #expect(try sunledger("import", workedExample, "--ledger", ledger).status == 0)
            try body(dir, ledger)
        }
    }

    @Test(
        "a person's readings are those of their stream and of the exports and bundles whose seqs hold their personal data"
    )
    func readingsOfOnePerson() throws {
        try withWorkedExample { dir, ledger in
            let readings: [[String]] = [
                ["export", "--pii", "--purpose", "backup", "--to-seq", "2", "--out", dir + "/a.jsonl"],  // 1: P1
                ["export", "--pii", "--purpose", "backup", "--from-seq", "3", "--out", dir + "/b.jsonl"],  // 2: P2
                ["history", "person-P2", "--purpose", "a callback"],  // 3: P2
                // 4: both
                ["bundle", "--pii", "--purpose", "audit", "--from-seq", "1", "--to-seq", "9", "--out", dir + "/c"],
                ["bundle", "--pii", "--purpose", "court", "--person", "P1", "--out", dir + "/d"],  // 5: P1
                ["export", "--pii", "--purpose", "late", "--from-seq", "4", "--out", dir + "/e.jsonl"],  // 6: nobody's
            ]
            for reading in readings {
                let done = try run(sunledgerPath, reading + ["--ledger", ledger])
                #expect(done.status == 0, "\(reading): \(done.stderr)")
            }
            #expect(try listed(["--person", "P1"], ledger: ledger) == [1, 4, 5])
            #expect(try listed(["--person", "person-P2"], ledger: ledger) == [2, 3, 4])
            #expect(try listed(["--stream", "person-P2"], ledger: ledger) == [2, 3, 4])
            #expect(try listed([], ledger: ledger) == [1, 2, 3, 4, 5, 6])

            // An export to the end names the seq it reached, and reads no further.
            let entries = try AccessLog.entries(of: Ledger(path: ledger, create: false))
            #expect(entries[1].scope == .seqs(from: 3, through: 9))
            #expect(entries[1].json.contains(#""fromSeq":3"#) && entries[1].json.contains(#""toSeq":9"#))
            #expect(entries[2].scope == .stream("person-P2"))
            #expect(try jsonLines(dir + "/b.jsonl").count == 7)

            let table = try sunledger("access-log", "--person", "P1", "--ledger", ledger)
            #expect(table.stdout.hasPrefix("3 readings covered personal data of person-P1:\n"), "\(table.stdout)")
            let nobody = try sunledger("access-log", "--person", "P9", "--ledger", ledger)
            #expect(nobody.stdout == "no personal data of person-P9 has been read\n")
        }
    }

    @Test("an entry that does not say what it covered is listed for every person, marked as such")
    func entryWithoutScope() throws {
        try withWorkedExample { _, path in
            let ledger = try Ledger(path: path, create: false)
            let legacy =
                #"{"at":"2025-01-01T00:00:00.000Z","number":1,"purpose":"old","what":"export --pii","who":"a"}"#
            try ledger.log.updatingProjections { access in
                try access.put(Array(legacy.utf8), forKey: bigEndianKey(1), in: AccessLog.space)
            }
            #expect(try AccessLog.entries(of: ledger).map(\.scope) == [nil])
            #expect(try listed(["--person", "P1"], ledger: path) == [1])
            let table = try sunledger("access-log", "--person", "P1", "--ledger", path)
            #expect(
                table.stdout.contains("purpose: old  (kept before readings named their records)"), "\(table.stdout)")
        }
    }

    @Test("access-log refuses --person with --stream, and a name that is no stream's")
    func refusals() throws {
        try withWorkedExample { _, ledger in
            let both = try sunledger("access-log", "--person", "P1", "--stream", "person-P1", "--ledger", ledger)
            #expect(both.status == 2 && both.stderr.contains("give --person or --stream, not both"), "\(both.stderr)")
            let bare = try sunledger("access-log", "--stream", "P1", "--ledger", ledger)
            #expect(bare.status == 2 && bare.stderr.contains("--stream must be <kind>-<key>"), "\(bare.stderr)")
            let odd = try sunledger("access-log", "--person", "P 1", "--ledger", ledger)
            #expect(odd.status == 2 && odd.stderr.contains("--person gives the stream person-P 1, which must be"))
        }
    }
}

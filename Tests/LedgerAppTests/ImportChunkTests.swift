import EventStore
import Foundation
import Testing

@testable import LedgerApp

/// The lines of a small synthetic district, then one of them again (a duplicate).
private func districtLines() throws -> [String] {
    var bytes: [UInt8] = []
    try SyntheticDistrict(persons: 12, seed: 0xC4_0001, fromYear: 2022, toYear: 2023).write { bytes += $0 }
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    return lines + [lines[lines.count / 2]]
}

/// An importer into a new ledger at `path`, which parses `chunkSize` lines at a time and keeps every outcome.
private func chunkedImporter(chunkSize: Int, at path: String) throws -> Importer {
    var importer = Importer(ledger: try Ledger(path: path, create: true))
    importer.keepsOutcomes = true
    importer.chunkSize = chunkSize
    return importer
}

/// Imports `lines` as one batch.
private func importLines(_ lines: [String], with importer: Importer) throws -> ImportReport {
    try importer.importLines(Array((lines.joined(separator: "\n") + "\n").utf8), name: "batch")
}

/// Imports `lines` into a new ledger at `path`, parsed `chunkSize` lines at a time.
private func importInChunks(_ lines: [String], chunkSize: Int, at path: String) throws -> (Ledger, ImportReport) {
    let importer = try chunkedImporter(chunkSize: chunkSize, at: path)
    return (importer.ledger, try importLines(lines, with: importer))
}

// The server parses a request's lines in small chunks (`AppendQueue.chunkLines`),
// a file in large ones: what is stored and said must not depend on where the
// chunks end.
@Suite("an import parsed in chunks of any size")
struct ImportChunkTests {
    @Test("the same lines store the same events and say the same of each line", arguments: [1, 3, 64])
    func sameOutcomes(chunkSize: Int) throws {
        try withScratch { dir in
            let lines = try districtLines()
            let (wholeLedger, whole) = try importInChunks(lines, chunkSize: 2048, at: dir + "/whole")
            let (chunkedLedger, chunked) = try importInChunks(lines, chunkSize: chunkSize, at: dir + "/chunked")
            #expect(whole.stored == lines.count - 1 && whole.duplicates == 1)
            #expect(chunked.stored == whole.stored && chunked.duplicates == whole.duplicates)
            func said(_ report: ImportReport) -> [String] {
                report.outcomes.map { "\($0.line) \($0.id) \($0.seq) \($0.duplicate)" }
            }
            #expect(said(chunked) == said(whole))
            #expect(said(chunked).count == lines.count)
            // Salts are drawn afresh, so the hashes differ; the records' order and streams do not.
            #expect(try chunkedLedger.log.head().seq == wholeLedger.log.head().seq)
            _ = try chunkedLedger.verify()
        }
    }

    @Test("a refused line is named by its number in the request, and nothing is stored", arguments: [1, 3, 64])
    func refusedLine(chunkSize: Int) throws {
        try withScratch { dir in
            var lines = try districtLines()
            let bad = 70
            lines[bad - 1] = lines[bad - 1].replacingOccurrences(of: "\"occurredAt\":\"", with: "\"occurredAt\":\"x")
            func refusal(_ chunkSize: Int, _ name: String) throws -> [String] {
                let importer = try chunkedImporter(chunkSize: chunkSize, at: dir + "/" + name)
                let error = #expect(throws: ImportRejected.self) { try importLines(lines, with: importer) }
                #expect(try importer.ledger.log.head().seq == 0)
                return error?.errors.map { "\($0.line) \($0.field): \($0.rule)" } ?? []
            }
            let whole = try refusal(2048, "whole")
            #expect(whole.first?.hasPrefix("\(bad) occurredAt: ") == true, "\(whole)")
            #expect(try refusal(chunkSize, "chunked") == whole)
        }
    }
}

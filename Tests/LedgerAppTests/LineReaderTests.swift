import Foundation
import Testing

@testable import LedgerApp

@Suite("reading an input file line by line")
struct LineReaderTests {
    /// What `forEachLine` gives for `bytes`: each kept line's number and bytes, each overlong line's number and length.
    private func read(_ bytes: [UInt8]) throws -> (lines: [(Int, [UInt8])], overlong: [(Int, Int)]) {
        var lines: [(Int, [UInt8])] = []
        var overlong: [(Int, Int)] = []
        try InputFile(name: "test", bytes: bytes).forEachLine(
            { number, line in lines.append((number, Array(line))) },
            overlong: { number, length in overlong.append((number, length)) })
        return (lines, overlong)
    }

    @Test("a line longer than 1 MiB is given by its number and length only, wherever it starts and ends")
    func overlongLines() throws {
        let limit = InputFile.longestLine
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(repeating: UInt8(ascii: "x"), count: limit - 2) + [0x0A]
        bytes += Array("short\r\n".utf8)
        bytes += Array(repeating: UInt8(ascii: "y"), count: limit) + [0x0A]  // exactly the limit: kept
        bytes += Array(" \t\n".utf8)  // blank: skipped, but counted
        // Across the reader's chunks, with no line break at the end.
        bytes += Array(repeating: UInt8(ascii: "z"), count: 3 * (4 << 20) + 1)
        let (lines, overlong) = try read(bytes)
        #expect(lines.map(\.0) == [2, 3])
        #expect(lines[0].1 == Array("short".utf8))
        #expect(lines[1].1.count == limit)
        #expect(overlong.map(\.0) == [1, 5])
        #expect(overlong.map(\.1) == [limit + 1, 3 * (4 << 20) + 1])

        // In chunks, an overlong line keeps its place among the others, with no bytes.
        var chunks: [LineChunk] = []
        try InputFile(name: "test", bytes: bytes).forEachChunk(of: 2) { chunks.append($0) }
        #expect(chunks.flatMap { $0.lines.map(\.number) } == [1, 2, 3, 5])
        #expect(chunks[0].overlong == [1: limit + 1] && chunks[0].lines[0].range.isEmpty)
        #expect(chunks[1].overlong == [5: 3 * (4 << 20) + 1])
        #expect(chunks[0].bytes.count == "short".utf8.count)
    }

    @Test("import refuses each overlong line by number, stores nothing, and judges the lines around it")
    func importRefusesOverlongLines() throws {
        try withScratch { dir in
            let good = syntheticEvents(persons: 2, perPerson: 1)
            let long = #"{"id":""# + String(repeating: "a", count: InputFile.longestLine) + #""}"#
            try write([good[0], long, "{}", good[1], long], to: dir + "/e.jsonl")
            let ledger = dir + "/ledger"
            let result = try sunledger("import", dir + "/e.jsonl", "--ledger", ledger)
            #expect(result.status == 1)
            let length = (InputFile.longestLine + 9).formatted()
            #expect(
                result.stderr.contains("e.jsonl:2: line: longer than 1 MiB (\(length) bytes), which no event is"),
                "\(result.stderr)")
            #expect(result.stderr.contains("e.jsonl:3: id: is required"), "\(result.stderr)")
            #expect(result.stderr.contains("e.jsonl:5: line: longer than 1 MiB"), "\(result.stderr)")
            #expect(result.stderr.contains("3 lines rejected; nothing was stored"), "\(result.stderr)")
            #expect(try sunledger("digest", "--ledger", ledger).stdout.hasPrefix(#"{"seq":0,"#))
        }
    }

    @Test("restore refuses an overlong line by number, and restores nothing")
    func restoreRefusesOverlongLines() throws {
        try withScratch { dir in
            try write(syntheticEvents(persons: 2, perPerson: 1), to: dir + "/e.jsonl")
            #expect(try sunledger("import", dir + "/e.jsonl", "--ledger", dir + "/ledger").status == 0)
            var export = try sunledger("export", "--ledger", dir + "/ledger").stdout.split(separator: "\n").map(
                String.init)
            export.insert(String(repeating: " ", count: InputFile.longestLine + 1), at: 1)
            try write(export, to: dir + "/export.jsonl")
            let result = try sunledger("restore", dir + "/export.jsonl", "--ledger", dir + "/copy")
            #expect(result.status == 1)
            #expect(result.stderr.contains("export.jsonl:2: longer than 1 MiB"), "\(result.stderr)")
            #expect(result.stderr.contains("nothing was restored"))
            #expect(try sunledger("digest", "--ledger", dir + "/copy").stdout.hasPrefix(#"{"seq":0,"#))
        }
    }
}

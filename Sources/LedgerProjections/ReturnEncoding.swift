import LedgerDomain
import LedgerValues

/// What a set of returns was computed from, so that an auditor can replay it:
/// the year, the instant T, the last record taken into account with its hash,
/// the Merkle root of the records up to it, and the versions of the KPI
/// catalogue and of the program.
public struct ReturnStamp: Equatable, Sendable {
    /// The year Y.
    public let year: Int
    /// D: 31 December of Y.
    public let asOf: LocalDate
    /// The instant T asked for; nil when the returns take everything stored.
    public let knownAt: Instant?
    /// The last seq taken into account (0 for none).
    public let throughSeq: Int64
    /// The hash of record `throughSeq`, in lowercase hex; nil when it is 0.
    public let headHash: String?
    /// The recordedAt of record `throughSeq`; nil when it is 0.
    public let recordedAt: Instant?
    /// The RFC 6962 root of the first `throughSeq` records, in lowercase hex;
    /// nil for a ledger made before it kept a Merkle tree and not appended to since.
    public let merkleRoot: String?
    /// The `version` of `seeds/kpis.json`, whose definitions the shared figures follow.
    public let kpiCatalogueVersion: Int64
    /// The program's version.
    public let programVersion: String

    /// The stamp of returns for `year`, as known at `knownAt`, through `throughSeq`.
    public init(
        year: Int, knownAt: Instant?, throughSeq: Int64, headHash: String?, recordedAt: Instant?,
        merkleRoot: String?, kpiCatalogueVersion: Int64, programVersion: String
    ) {
        self.year = year
        asOf = LocalDate(year: year, month: 12, day: 31)!
        self.knownAt = knownAt
        self.throughSeq = throughSeq
        self.headHash = headHash
        self.recordedAt = recordedAt
        self.merkleRoot = merkleRoot
        self.kpiCatalogueVersion = kpiCatalogueVersion
        self.programVersion = programVersion
    }

    /// The stamp as the fields of one CSV row, each a Chinese and English
    /// name and its value: `统计标记 stamp`, through seq, head hash, Merkle root,
    /// as of, known at, KPI catalogue version, program.
    public var csvFields: [String] {
        [
            "统计标记 stamp",
            "截至记录 through seq \(throughSeq)",
            "记录哈希 head hash \(headHash ?? "none")",
            "默克尔根 Merkle root \(merkleRoot ?? "none")",
            "统计时点 as of \(asOf)",
            "知悉时点 known at \(knownAt?.description ?? "all recorded")",
            "指标目录版本 KPI catalogue version \(kpiCatalogueVersion)",
            "程序 program sunledger \(programVersion)",
        ]
    }

    /// The stamp as a JSON object, keys in the order of the declaration (program first).
    var jsonObject: JSONObject {
        JSONObject([
            ("program", .string("sunledger")),
            ("programVersion", .string(programVersion)),
            ("kpiCatalogueVersion", .integer(kpiCatalogueVersion)),
            ("year", .integer(Int64(year))),
            ("asOf", .string(asOf.description)),
            ("knownAt", knownAt.map { .string($0.description) } ?? .null),
            ("throughSeq", .integer(throughSeq)),
            ("headHash", headHash.map(JSONValue.string) ?? .null),
            ("recordedAt", recordedAt.map { .string($0.description) } ?? .null),
            ("merkleRoot", merkleRoot.map(JSONValue.string) ?? .null),
        ])
    }

    /// `manifest.json` of a directory of returns: the stamp and, for each file
    /// written, its name, its size in bytes and the SHA-256 of its bytes in
    /// lowercase hex. One line of JSON and a line feed.
    public func manifest(files: [(name: String, bytes: Int, sha256: String)]) -> [UInt8] {
        let entries = files.map { file in
            JSONValue.object(
                JSONObject([
                    ("name", .string(file.name)), ("bytes", .integer(Int64(file.bytes))),
                    ("sha256", .string(file.sha256)),
                ]))
        }
        let document = JSONObject([("stamp", .object(jsonObject)), ("files", .array(entries))])
        return Array((orderedJSON(.object(document)) + "\n").utf8)
    }
}

extension ReturnTable {
    /// The table as a CSV file for spreadsheets: UTF-8 with a byte-order mark
    /// (so that Excel reads the Chinese correctly), a heading row of Chinese and
    /// English names, RFC 4180 quoting, and CRLF after every row.
    public var csv: [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        appendCSVRows(to: &out)
        return out
    }

    /// The table as a stamped CSV file, as a statistical return is laid out:
    /// its title (Chinese and English, with the year), then the stamp of the
    /// ledger it was computed from (`ReturnStamp.csvFields`), then the
    /// heading row and the rows as in `csv`. A reader that wants the bare
    /// table skips the first two rows.
    public func csv(stamp: ReturnStamp) -> [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        ReturnTable.appendCSVLine(
            ["\(title.chinese) \(title.english)", "\(stamp.year)年度 year \(stamp.year)"], to: &out)
        ReturnTable.appendCSVLine(stamp.csvFields, to: &out)
        appendCSVRows(to: &out)
        return out
    }

    private func appendCSVRows(to out: inout [UInt8]) {
        ReturnTable.appendCSVLine(columns.map(\.heading), to: &out)
        for row in rows { ReturnTable.appendCSVLine(row.map(\.text), to: &out) }
    }

    private static func appendCSVLine(_ fields: [String], to out: inout [UInt8]) {
        out += Array(fields.map(csvField).joined(separator: ",").utf8)
        out += [0x0D, 0x0A]
    }

    /// The table as a JSON object: name, title, columns (key, zh, en) and rows
    /// (arrays of values in column order: texts as strings, counts as integers,
    /// shares as numbers or null).
    var jsonObject: JSONObject {
        let columns = columns.map { column in
            JSONValue.object(
                JSONObject([
                    ("key", .string(column.key)), ("zh", .string(column.label.chinese)),
                    ("en", .string(column.label.english)),
                ]))
        }
        let rows = rows.map { row in
            JSONValue.array(
                row.map { value in
                    switch value {
                    case .text(let text): .string(text)
                    case .count(let count): .integer(count)
                    case .share(let share): share.map(jsonNumber) ?? .null
                    }
                })
        }
        return JSONObject([
            ("name", .string(name)),
            ("title", .object(JSONObject([("zh", .string(title.chinese)), ("en", .string(title.english))]))),
            ("columns", .array(columns)), ("rows", .array(rows)),
        ])
    }
}

extension ComplianceReturns {
    /// The JSON document of the returns: `{"stamp": {…}, "tables": [{…}, …]}`,
    /// tables in file order. One line of JSON and a line feed; the same query
    /// gives the same bytes.
    public func json(stamp: ReturnStamp) -> [UInt8] {
        let document = JSONObject([
            ("stamp", .object(stamp.jsonObject)), ("tables", .array(tables.map { .object($0.jsonObject) })),
        ])
        return Array((orderedJSON(.object(document)) + "\n").utf8)
    }
}

/// One CSV field as RFC 4180 writes it: as it is, or, when it holds a comma,
/// a double quote, a carriage return or a line feed, in double quotes with
/// each double quote doubled.
public func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
        return text
    }
    var quoted = "\""
    for character in text {
        if character == "\"" { quoted.append("\"") }
        quoted.append(character)
    }
    quoted.append("\"")
    return quoted
}

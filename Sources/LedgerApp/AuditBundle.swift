import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues

/// What a document handed out of the ledger says of where it came from: the
/// ledger as it stood (last seq, its hash, the Merkle root of every record up
/// to it), the KPI catalogue and the program that made it.
public struct LedgerStamp: Equatable, Sendable {
    /// The last seq the document takes into account.
    public let throughSeq: Int64
    /// The hash of that record.
    public let headHash: [UInt8]
    /// The Merkle root of records 1…throughSeq (events.md §7).
    public let merkleRoot: [UInt8]
    /// The version of `seeds/kpis.json`.
    public let kpiCatalogueVersion: Int64
    /// The version of this program.
    public let programVersion: String

    /// The version of Sunledger this build is.
    public static let currentProgramVersion = "0.6.0"

    /// The stamp of the ledger as `digest` describes it.
    public init(digest: LedgerDigest, kpiCatalogueVersion: Int64) {
        throughSeq = digest.seq
        headHash = digest.hash
        merkleRoot = digest.merkleRoot ?? []
        self.kpiCatalogueVersion = kpiCatalogueVersion
        programVersion = LedgerStamp.currentProgramVersion
    }

    /// The stamp as a JSON object (hashes in lowercase hex).
    public var jsonObject: JSONObject {
        var object = JSONObject()
        object["throughSeq"] = .integer(throughSeq)
        object["headHash"] = .string(Hex.encode(headHash))
        object["merkleRoot"] = .string(Hex.encode(merkleRoot))
        object["kpiCatalogueVersion"] = .integer(kpiCatalogueVersion)
        object["programVersion"] = .string(programVersion)
        return object
    }
}

/// An audit bundle: records handed to an auditor with everything needed to
/// check them without trusting this program, and nothing of anyone else.
///
/// The directory holds `records.jsonl` (the selected records as `export` writes
/// them), `proofs.jsonl` (an RFC 6962 inclusion proof of each against the
/// digest, events.md §7), `digest.json`, `kpi.json` when an as-of date is asked
/// for, and `manifest.json`: the selection, the stamp and the SHA-256 of every
/// other file. Digest, records and proofs are read in one transaction, so they
/// agree whatever is appended meanwhile. `tools/verify-export --bundle DIR`
/// checks it all with the Python standard library.
public struct AuditBundle {
    /// Which records go into the bundle.
    public enum Selection: Equatable, Sendable {
        /// The events of one stream.
        case stream(String)
        /// The events of one person's stream (`person-P`).
        case person(String)
        /// The records with seq from…to (to cut at the last record).
        case seqs(from: Int64, to: Int64)
    }

    /// What was asked for.
    public struct Request: Sendable {
        /// Which records.
        public var selection: Selection
        /// The as-of date of the KPI document to include; none when nil.
        public var asOf: LocalDate?
        /// Only the records recorded at or before this instant (and the KPI document as then known).
        public var knownAt: Instant?
        /// Whether the records carry their personal data (`pii`, `piiSalt`).
        public var personalData: Bool
        /// Why personal data is handed out (logged); required with it.
        public var purpose: String?
        /// Who asks, for the access log.
        public var who: String

        /// A request for `selection`; personal data only when asked, with a purpose.
        public init(
            selection: Selection, asOf: LocalDate? = nil, knownAt: Instant? = nil, personalData: Bool = false,
            purpose: String? = nil, who: String
        ) {
            self.selection = selection
            self.asOf = asOf
            self.knownAt = knownAt
            self.personalData = personalData
            self.purpose = purpose
            self.who = who
        }
    }

    /// What was written.
    public struct Written: Equatable, Sendable {
        /// The records in the bundle.
        public let records: Int
        /// The digest the proofs are against.
        public let digest: LedgerDigest
        /// The files written, manifest last.
        public let files: [String]
    }

    /// The ledger read.
    public let ledger: Ledger

    /// Bundles of `ledger`.
    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Writes the bundle `request` asks for into the new directory `directory`
    /// (made beside it and renamed into place, so it is whole or absent).
    public func write(_ request: Request, to directory: String) throws -> Written {
        if FileManager.default.fileExists(atPath: directory) {
            throw AppError.usage("--out \(directory) already exists: a bundle goes into a new directory")
        }
        if request.personalData {
            let purpose = try AccessLog.checkPurpose(request.purpose, for: "bundle --pii")
            let scope: AccessLog.Scope =
                switch request.selection {
                case .seqs(let from, let to): .seqs(from: from, through: to)
                case .stream, .person: .stream(AuditBundle.streamName(request.selection)!)
                }
            try AccessLog.record(
                in: ledger, who: request.who, what: "bundle --pii \(AuditBundle.describe(request.selection))",
                purpose: purpose, scope: scope)
        }
        let catalogue = try KPIReport.loadCatalogue()
        let limit = try request.knownAt.map { instant in
            try ledger.log.readingProjections { try KPIReport.lastSeq(within: .knownAt(instant), $0) }
        }
        var records: [UInt8] = []
        var proofs: [UInt8] = []
        let (digest, count) = try ledger.log.auditing { view -> (LedgerDigest, Int) in
            let digest = view.digest
            let seqs = try selectedSeqs(request.selection, view).filter { $0 <= (limit ?? digest.seq) }
            var line: [UInt8] = []
            for seq in seqs {
                line.removeAll(keepingCapacity: true)
                try view.withRecord(at: seq, withVault: request.personalData) { hash, canonical, vault in
                    Exporter.appendLine(
                        hash: hash, canonical: canonical, vault: vault, pii: request.personalData ? .full : .none,
                        to: &line)
                }
                records += line
                let proof = try Ledger.inclusionDocument(
                    view.proofs, seq: seq, treeSize: digest.seq, root: digest.merkleRoot ?? [])
                proofs += Array((proof + "\n").utf8)
            }
            return (digest, seqs.count)
        }
        var files: [(name: String, bytes: [UInt8])] = [
            ("digest.json", Array((digest.json + "\n").utf8)), ("proofs.jsonl", proofs), ("records.jsonl", records),
        ]
        if let asOf = request.asOf {
            let through = min(limit ?? digest.seq, digest.seq)
            let figures = try KPIReport(ledger: ledger).projection(within: .throughSeq(through)).figures(asOf: asOf)
            let document = KPIDocument(figures: figures, knownAt: request.knownAt, catalogue: catalogue)
            files.append(("kpi.json", Array((document.json + "\n").utf8)))
        }
        var hashes = JSONObject()
        for file in files.sorted(by: { $0.name < $1.name }) {
            hashes[file.name] = .string(Hex.encode(sha256(file.bytes)))
        }
        var manifest = JSONObject()
        manifest["bundle"] = .integer(1)
        manifest["selection"] = .object(AuditBundle.selectionObject(request))
        manifest["records"] = .integer(Int64(count))
        manifest["pii"] = .bool(request.personalData)
        manifest["purpose"] = request.personalData ? .string(request.purpose ?? "") : .null
        manifest["stamp"] = .object(LedgerStamp(digest: digest, kpiCatalogueVersion: catalogue.version).jsonObject)
        manifest["files"] = .object(hashes)
        files.append(("manifest.json", CanonicalJSON.encode(.object(manifest)) + [0x0A]))
        try AuditBundle.writeDirectory(directory, files: files)
        return Written(records: count, digest: digest, files: files.map(\.name))
    }

    private func selectedSeqs(_ selection: Selection, _ view: AuditView) throws -> [Int64] {
        switch selection {
        case .stream(let stream), .person(let stream):
            let name = AuditBundle.streamName(selection) ?? stream
            guard StreamKind.parse(streamName: name) != nil else {
                if case .person = selection {
                    throw AppError.usage(
                        "--person must be a person's key, such as P000123 or person-P000123, matching"
                            + " \(CodePattern.streamKey.expression) (got \(Echo.quoted(stream)))")
                }
                throw AppError.usage("--stream " + StreamKind.rule(refusing: stream))
            }
            let seqs = try view.seqs(ofStream: name)
            guard !seqs.isEmpty else { throw AppError.usage("\(name) has no events in the ledger") }
            return seqs
        case .seqs(let from, let to):
            let last = view.digest.seq
            guard from >= 1, from <= to else {
                throw AppError.usage("--from-seq must be at least 1 and not above --to-seq (got \(from)–\(to))")
            }
            guard from <= last else {
                throw AppError.usage("--from-seq \(from) is beyond the last record (seq \(last))")
            }
            return Array(from...min(to, last))
        }
    }

    static func streamName(_ selection: Selection) -> String? {
        switch selection {
        case .stream(let stream): stream
        case .person(let person): StreamKind.personStream(person)
        case .seqs: nil
        }
    }

    static func describe(_ selection: Selection) -> String {
        switch selection {
        case .stream, .person: streamName(selection)!
        case .seqs(let from, let to): "seq \(from)–\(to)"
        }
    }

    static func selectionObject(_ request: Request) -> JSONObject {
        var object = JSONObject()
        switch request.selection {
        case .stream(let stream): object["stream"] = .string(stream)
        case .person(let person):
            object["person"] = .string(person.hasPrefix("person-") ? String(person.dropFirst(7)) : person)
        case .seqs(let from, let to):
            object["fromSeq"] = .integer(from)
            object["toSeq"] = .integer(to)
        }
        if let asOf = request.asOf { object["asOf"] = .string(asOf.description) }
        if let knownAt = request.knownAt { object["knownAt"] = .string(knownAt.description) }
        return object
    }

    /// Writes `files` into a directory beside `directory`, syncs them and
    /// renames it into place.
    static func writeDirectory(_ directory: String, files: [(name: String, bytes: [UInt8])]) throws {
        let partial = directory + ".partial"
        let manager = FileManager.default
        try? manager.removeItem(atPath: partial)
        do {
            try manager.createDirectory(atPath: partial, withIntermediateDirectories: true)
            for file in files {
                let out = try OutputStream(path: partial + "/" + file.name)
                try out.write(file.bytes)
                try out.finish()
            }
            guard rename(partial, directory) == 0 else {
                throw AppError.io("cannot move \(partial) to \(directory): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? manager.removeItem(atPath: partial)
            throw error
        }
    }
}

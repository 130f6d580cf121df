import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues

/// How the returns are written.
public enum ReturnFormat: String, CaseIterable, Sendable {
    /// One CSV file per table, and `manifest.json`.
    case csv
    /// One JSON document holding every table and the stamp.
    case json
}

/// The year-end statistical returns of one ledger (`sunledger report`): the
/// KPI fold of the asked-for prefix, the year's other facts from one scan of
/// the same records, and the stamp that says which records they were.
public struct ComplianceReport {
    /// The ledger read.
    public let ledger: Ledger

    /// The returns of `ledger`.
    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// The name of the JSON document in a directory of returns.
    public static let documentName = "report.json"
    /// The name of the stamp and file hashes in a directory of returns.
    public static let manifestName = "manifest.json"

    /// The returns of `year` from what the ledger knew at `knownAt` (everything
    /// stored when nil), and their stamp.
    ///
    /// The KPI fold and the scan read the same records in one read transaction:
    /// the fold comes from the stored figures (the live fold, or the nearest
    /// snapshot and a replay), the rest from one pass over the records up to the
    /// last one known at T (`yearEndFacts`). The live figures are only read.
    public func returns(year: Int, knownAt: Instant?) throws -> (returns: ComplianceReturns, stamp: ReturnStamp) {
        guard (1900...2100).contains(year) else {
            throw AppError.usage("--year must be a year of the ledger's dates, 1900–2100 (got \(year))")
        }
        let limit: RecordLimit = knownAt.map(RecordLimit.knownAt) ?? .everything
        let labels = ReturnLabels(units: try KPIReport.loadUnitLabels(), vocabulary: ledger.vocabulary)
        let catalogue = try KPIReport.loadCatalogue()
        let (fold, facts, recordedAt) = try ledger.log.readingProjections {
            access -> (KPIProjection, YearEndFacts, Instant?) in
            let seq = try KPIReport.lastSeq(within: limit, access)
            let fold = try ledger.figures.fold(through: seq, access)
            let facts = try yearEndFacts(year: year, through: seq, access)
            return (fold, facts, seq > 0 ? try access.recordedAt(ofSeq: seq) : nil)
        }
        let seq = fold.throughSeq
        // Records are never changed once stored: the hash and the root of the
        // first `seq` records read now are those of the transaction above.
        let headHash = seq > 0 ? try ledger.log.hash(at: seq).map { Hex.encode($0) } : nil
        var merkleRoot: String?
        do {
            merkleRoot = Hex.encode(try ledger.log.merkleProofs { try $0.root(size: seq) })
        } catch LedgerError.noMerkleTree {
            merkleRoot = nil
        }
        let stamp = ReturnStamp(
            year: year, knownAt: knownAt, throughSeq: seq, headHash: headHash, recordedAt: recordedAt,
            merkleRoot: merkleRoot, kpiCatalogueVersion: catalogue.version,
            programVersion: LedgerStamp.currentProgramVersion)
        return (ComplianceReturns(fold: fold, facts: facts, labels: labels), stamp)
    }

    /// The year's facts from one scan of the records with seq ≤ `seq`: each
    /// record's type and date are read from its bytes, and only the records
    /// that can change the facts are decoded.
    func yearEndFacts(year: Int, through seq: Int64, _ access: ProjectionAccess) throws -> YearEndFacts {
        var facts = YearEndFacts(year: year)
        let units = ledger.units
        try access.forEachRecord(from: 1, through: seq) { seq, canonical in
            guard let view = RecordView(seq: seq, canonical: canonical),
                let type = EventType.named(view.type.bindMemory(to: UInt8.self))
            else {
                throw LedgerError.damaged(seq: seq, reason: "the stored record is not a well-formed chained record")
            }
            if facts.reads(type, datedOn: view.occurredAt) {
                facts.apply(try RecordReplay.event(seq: seq, canonical: canonical, units: units))
            } else {
                facts.passOver(seq)
            }
        }
        return facts
    }

    /// The files of the returns in `format`: a CSV file per table (`01-population.csv`, …),
    /// each stamped, or `report.json`.
    public static func files(
        of returns: ComplianceReturns, stamp: ReturnStamp, format: ReturnFormat
    ) -> [(name: String, bytes: [UInt8])] {
        switch format {
        case .csv: returns.tables.map { ($0.name + ".csv", $0.csv(stamp: stamp)) }
        case .json: [(documentName, returns.json(stamp: stamp))]
        }
    }

    /// Every name a directory of returns may hold: the CSV files, the JSON
    /// document and the manifest. Only these are ever replaced or removed.
    public static func reportFileNames(_ returns: ComplianceReturns) -> Set<String> {
        Set(returns.tables.map { $0.name + ".csv" } + [documentName, manifestName])
    }

    /// Writes `files` and `manifest.json` (the stamp and each file's SHA-256)
    /// into `directory`, made when missing.
    ///
    /// A directory holding anything but the files of returns is refused (a
    /// usage error naming what is there), so that a return never mixes with
    /// other papers or overwrites them; files of earlier returns are replaced,
    /// and those this run does not write (the other format's) are removed, so
    /// that the manifest describes the whole directory. Each file is written to
    /// a temporary name and renamed; the manifest comes last.
    /// - Returns: the manifest's bytes.
    @discardableResult
    public static func write(
        _ files: [(name: String, bytes: [UInt8])], stamp: ReturnStamp, into directory: String,
        reportFiles: Set<String>
    ) throws -> [UInt8] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw AppError.usage("--out \(directory) is a file; give a directory for the returns")
            }
            let present = try manager.contentsOfDirectory(atPath: directory)
            let foreign = present.filter { !reportFiles.contains($0) }.sorted()
            guard foreign.isEmpty else {
                let shown = foreign.prefix(5).joined(separator: ", ") + (foreign.count > 5 ? ", …" : "")
                throw AppError.usage(
                    "--out \(directory) holds files that are not returns (\(shown)); give an empty or new directory, or one holding only earlier returns, which are replaced"
                )
            }
            for name in present where !files.contains(where: { $0.name == name }) {
                try manager.removeItem(atPath: directory + "/" + name)
            }
        } else {
            // The directory and its missing parents are made, under a parent that must be a directory.
            var ancestor = parentDirectory(of: directory)
            while !ancestor.isEmpty, !manager.fileExists(atPath: ancestor) {
                ancestor = parentDirectory(of: ancestor)
            }
            if !ancestor.isEmpty, manager.fileExists(atPath: ancestor, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                throw AppError.usage("--out \(directory): \(ancestor) is a file, not a directory")
            }
            do { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw AppError.io("cannot make \(directory): \(error.localizedDescription)")
            }
        }
        let manifest = stamp.manifest(
            files: files.map { ($0.name, $0.bytes.count, Hex.encode(sha256($0.bytes))) })
        for (name, bytes) in files + [(manifestName, manifest)] {
            let path = directory + "/" + name
            do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw AppError.io("cannot write \(path): \(error.localizedDescription)")
            }
        }
        return manifest
    }
}

import ArgumentParser
import EventStore
import Foundation
import LedgerApp
import LedgerValues

extension Sunledger {
    struct Bundle: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "bundle",
            abstract: "Write an audit bundle: selected records with a Merkle proof each, the digest and a manifest.",
            discussion: """
                Select one stream (--stream), one person's stream (--person) or a range of seqs \
                (--from-seq and --to-seq). The new directory --out receives records.jsonl (as export \
                writes them), proofs.jsonl (an RFC 6962 inclusion proof of each record against \
                digest.json), digest.json, kpi.json with --as-of (the KPI document, as known at \
                --known-at), and manifest.json: the selection, the stamp (throughSeq, headHash, \
                merkleRoot, kpiCatalogueVersion, programVersion) and the SHA-256 of every other file. \
                --known-at keeps only the records recorded by then. Personal data travels only with \
                --pii, which needs --purpose and is written to the access log first. \
                tools/verify-export --bundle DIR checks a bundle without this program.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(help: "The stream whose events to bundle, e.g. case-C12.") var stream: String?
        @Option(help: "The person whose stream to bundle: P000123 or person-P000123.") var person: String?
        @Option(name: .customLong("from-seq"), parsing: .unconditional, help: "The first seq of a range.") var fromSeq:
            Int64?
        @Option(name: .customLong("to-seq"), parsing: .unconditional, help: "The last seq of a range.") var toSeq:
            Int64?
        @Option(name: .customLong("as-of"), help: "Include the KPI document as of this date (YYYY-MM-DD).")
        var asOf: String?
        @Option(name: .customLong("known-at"), help: "Only what was recorded at or before this RFC 3339 instant.")
        var knownAt: String?
        @Flag(help: "Include personal data (pii, piiSalt) where the vault holds it; needs --purpose.") var pii = false
        @Option(help: "Why personal data is handed out (written to the access log).") var purpose: String?
        @Option(help: "Who asks, for the access log; default: the login name.") var actor: String?
        @Option(help: "The new directory to write the bundle into.") var out: String

        func validate() throws {
            let chosen = [stream != nil, person != nil, fromSeq != nil || toSeq != nil].filter { $0 }.count
            guard chosen == 1 else {
                throw ValidationError("choose one of --stream S, --person P, or --from-seq A --to-seq B")
            }
            if (fromSeq == nil) != (toSeq == nil) { throw ValidationError("--from-seq and --to-seq go together") }
            if !pii && purpose != nil { throw ValidationError("--purpose goes with --pii") }
        }

        func run() throws {
            let selection: AuditBundle.Selection =
                if let stream { .stream(stream) } else if let person { .person(person) } else {
                    .seqs(from: fromSeq!, to: toSeq!)
                }
            var request = AuditBundle.Request(
                selection: selection, personalData: pii, purpose: purpose, who: pii ? try readerName(actor) : "")
            if let asOf {
                guard let date = LocalDate(iso: asOf) else {
                    throw ValidationError("--as-of must be a date YYYY-MM-DD (got \(asOf))")
                }
                request.asOf = date
            }
            if let knownAt {
                guard let instant = Instant(rfc3339: knownAt) else {
                    throw ValidationError(FigureQuery.notAnInstant(knownAt, given: "--known-at"))
                }
                request.knownAt = instant
            }
            let written = try AuditBundle(ledger: try open()).write(request, to: out)
            print(
                "\(out): \(written.records) record\(written.records == 1 ? "" : "s") with inclusion proofs against the digest at seq \(written.digest.seq); \(written.files.joined(separator: ", "))"
            )
        }
    }

    struct AccessLogCommand: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "access-log",
            abstract: "List every reading of personal data: when, who, what and why.",
            discussion: """
                With --person or --stream, only the readings that covered that stream's personal data: \
                readings of the stream itself, and exports or bundles whose seqs hold one of its records \
                that carried personal data.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(help: "Only the readings of this person's data: P000123 or person-P000123.") var person: String?
        @Option(help: "Only the readings of this stream's personal data, e.g. person-P000123.") var stream: String?
        @Flag(help: "Print the entries as JSON Lines.") var json = false

        func validate() throws {
            do { _ = try AccessLog.stream(person: person, stream: stream) } catch let error as AppError {
                throw ValidationError(error.description)
            }
        }

        func run() throws {
            let ledger = try open()
            let concerning = try AccessLog.stream(person: person, stream: stream)
            let entries =
                try concerning.map { try AccessLog.entries(of: ledger, concerning: $0) }
                ?? AccessLog.entries(of: ledger)
            if json {
                for entry in entries { print(entry.json) }
                return
            }
            guard !entries.isEmpty else {
                print(concerning.map { "no personal data of \($0) has been read" } ?? "no personal data has been read")
                return
            }
            if let concerning {
                print(
                    "\(entries.count) reading\(entries.count == 1 ? "" : "s") covered personal data of \(concerning):")
            }
            for entry in entries {
                let unknown =
                    entry.scope == nil && concerning != nil ? "  (kept before readings named their records)" : ""
                print("\(entry.number)  \(entry.at)  \(entry.who)  \(entry.what)  purpose: \(entry.purpose)\(unknown)")
            }
        }
    }
}

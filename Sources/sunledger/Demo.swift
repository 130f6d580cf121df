import ArgumentParser
import EventStore
import Foundation
import LedgerApp
import LedgerDomain
import LedgerSeeds
import LedgerValues

extension Sunledger {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the ledger at work on the embedded example: import, verify, digest, history, masked export."
        )

        @Option(
            name: .customLong("ledger"),
            help: "Where to build the demonstration ledger (made afresh; default ./demo-ledger).")
        var demoLedger: String?
        @ParentCommand var root: Sunledger

        /// The demonstration's directory: `--ledger` here or before `demo`, else ./demo-ledger.
        var ledger: String { demoLedger ?? root.global.ledger ?? "./demo-ledger" }

        /// Marks a directory as a demonstration ledger, so a later demo may replace it.
        static let marker = ".sunledger-demo"

        func run() throws {
            try prepareFreshDirectory()
            let opened = try Ledger(path: ledger, create: true)
            _ = FileManager.default.createFile(atPath: ledger + "/" + Demo.marker, contents: Data())

            let events = try Seeds.data(named: "worked-example.jsonl")
            let input = NSTemporaryDirectory() + "sunledger-demo-\(getpid()).jsonl"
            try events.write(to: URL(fileURLWithPath: input))
            defer { try? FileManager.default.removeItem(atPath: input) }

            step("Importing the worked example of kpis.md (9 service events of two persons)")
            let report = try Importer(ledger: opened).importFile(input)
            print("  \(report.stored) stored, \(report.duplicates) duplicates")
            let again = try Importer(ledger: opened).importFile(input)
            print(
                "  the same file again: \(again.stored) stored, \(again.duplicates) duplicates (nothing is ever stored twice)"
            )

            step("Verifying: every record re-hashed, every link, index and pii commitment checked")
            let verified = try opened.verify()
            print(
                "  verified \(verified.records) records in \(verified.streams) streams, \(verified.piiCommitments) pii commitments"
            )

            step("The digest an auditor keeps")
            print("  " + (try opened.digest().json))

            step("History of person-P1, as recorded (personal data masked)")
            for entry in try opened.log.history(of: "person-P1", withVault: true) {
                let r = entry.record
                let person =
                    entry.vault.map { vault in
                        "  "
                            + Masking.mask(vault.pii).map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(
                                separator: " ")
                    } ?? ""
                print(
                    "  seq \(r.seq)  v\(r.version)  occurred \(r.occurredAt)  recorded \(r.recordedAt)  \(r.type)\(person)"
                )
            }

            step("Next, try:")
            let flag = "--ledger \(ledger)"
            let program = CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "sunledger"
            for command in [
                "\(program) history person-P2 \(flag)",
                "\(program) history person-P1 --known-at 2025-01-15T00:00:00Z \(flag)",
                "\(program) export --masked \(flag)",
                "\(program) export \(flag) --out backup.jsonl && tools/verify-export backup.jsonl",
                "\(program) verify \(flag)",
            ] {
                print("  \(command)")
            }
        }

        private func step(_ title: String) {
            print("\n== \(title)")
        }

        /// The demo always starts from nothing: it replaces an earlier demo ledger,
        /// and refuses to touch a directory that is anything else.
        private func prepareFreshDirectory() throws {
            let files = FileManager.default
            guard files.fileExists(atPath: ledger) else { return }
            let contents = try files.contentsOfDirectory(atPath: ledger)
            guard contents.isEmpty || contents.contains(Demo.marker) else {
                throw ValidationError("\(ledger) exists and is not a demonstration ledger; give another --ledger")
            }
            try files.removeItem(atPath: ledger)
        }
    }
}

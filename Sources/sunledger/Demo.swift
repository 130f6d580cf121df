import ArgumentParser
import EventStore
import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues

#if canImport(Glibc)
    import Glibc
#endif

extension Sunledger {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract:
                "The main job: generate a synthetic Jiading, import it, verify it, and print the federation's KPIs.",
            discussion: """
                Builds a fresh demonstration ledger (./demo-ledger unless --ledger is given) from the                 default synthetic district of `sunledger generate`, shows progress, and ends with the                 commands to try next.
                """
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
            let started = Instant.now()

            let lastYear = SyntheticDistrict.defaultToYear()
            let district = try SyntheticDistrict(
                persons: SyntheticDistrict.defaultPersons, seed: 1, fromYear: SyntheticDistrict.defaultFromYear,
                toYear: lastYear)
            step(
                "Generating a synthetic Jiading: \(district.persons.formatted()) persons in twelve streets and towns, \(district.fromYear)–\(lastYear) (sunledger generate)"
            )
            let input = NSTemporaryDirectory() + "sunledger-demo-\(getpid()).jsonl"
            defer { try? FileManager.default.removeItem(atPath: input) }
            let summary = try writeDistrict(district, to: input)
            print(
                "  \(summary.events.formatted()) service events, \(summary.registeredAtEnd.formatted()) persons on the register at the end of \(lastYear) (\(seconds(since: started)))"
            )

            step("Importing them: every line checked against every rule of events.md §6, chained and stored")
            let importing = Instant.now()
            let report = try Importer(ledger: opened).importFile(
                input,
                progress: { read in
                    progress("  \(read.formatted()) of \(summary.events.formatted()) lines")
                })
            endProgress()
            print(
                "  \(report.stored.formatted()) stored, \(report.duplicates) duplicates (\(seconds(since: importing)), \(rate(report.stored, since: importing)))"
            )

            step("Verifying: every record re-hashed, every link, index and personal-data commitment checked")
            let verifying = Instant.now()
            let verified = try opened.verify { seq in
                progress("  \(seq.formatted()) of \(report.stored.formatted()) records")
            }
            endProgress()
            print(
                "  verified \(verified.records.formatted()) records in \(verified.streams.formatted()) streams, \(verified.piiCommitments.formatted()) pii commitments (\(seconds(since: verifying)))"
            )
            print("  digest: " + (try opened.digest().json))

            let kpis = try KPIReport(ledger: opened)
            let projection = try kpis.projection(within: .everything)
            for (title, day) in [
                ("at the end of \(lastYear)", LocalDate(year: lastYear, month: 12, day: 31)!),
                ("today", Instant.now().localDate),
            ] {
                step("The federation's figures \(title) (sunledger kpi --as-of \(day))")
                if day.year > lastYear {
                    print(
                        "  (the district was generated through \(lastYear): this year's services are not in it, so its counts are empty)"
                    )
                }
                try printKPITables(
                    KPIDocument(figures: projection.figures(asOf: day), knownAt: nil, catalogue: kpis.catalogue),
                    catalogue: kpis.catalogue)
            }

            step("Done in \(seconds(since: started)). Next, try:")
            let flag = "--ledger \(ledger)"
            let program = CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "sunledger"
            let person = try opened.log.record(at: 1000).map { $0.record.stream } ?? "person-P1"
            for command in [
                "\(program) history \(person) \(flag)",
                "\(program) kpi --as-of \(lastYear)-06-30 --known-at \(lastYear)-07-15T00:00:00+08:00 \(flag)",
                "\(program) caseload \(flag)",
                "\(program) export --masked --to-seq 20 \(flag)",
                "\(program) export \(flag) --out backup.jsonl && tools/verify-export backup.jsonl",
                "\(program) bundle --person \(person.dropFirst("person-".count)) --out audit-bundle \(flag) && tools/verify-export --bundle audit-bundle",
                "\(program) report --year \(lastYear) --format csv --out returns-\(lastYear) \(flag) && tools/kpi-reference --compare returns-\(lastYear) backup.jsonl",
                "\(program) restatement --as-of \(lastYear)-06-30 --known-at \(lastYear)-07-15T00:00:00+08:00 --known-at \(lastYear)-08-15T00:00:00+08:00 \(flag)",
                "\(program) restatement --as-of \(lastYear)-06-30 --known-at \(lastYear)-07-15T00:00:00+08:00 --known-at \(lastYear)-08-15T00:00:00+08:00 --json \(flag) > restatement.json && tools/kpi-reference --compare restatement.json backup.jsonl",
                "\(program) verify \(flag)",
                "\(program) rebuild \(flag)",
            ] {
                print("  \(command)")
            }
        }

        /// Writes the district's lines to `path`.
        private func writeDistrict(_ district: SyntheticDistrict, to path: String) throws -> SynthesisSummary {
            guard let file = fopen(path, "w") else {
                throw AppError.io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            defer { fclose(file) }
            var written = 0
            let summary = try district.write { block in
                guard fwrite(block.baseAddress, 1, block.count, file) == block.count else {
                    throw AppError.io("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                written += block.count
                progress("  \((written >> 20).formatted()) MiB written")
            }
            endProgress()
            return summary
        }

        private func step(_ title: String) {
            print("\n== \(title)")
        }

        /// Progress on one line of a terminal, rewritten in place; nothing when not a terminal.
        private func progress(_ text: String) {
            guard isatty(STDOUT_FILENO) == 1 else { return }
            print("\r\u{1B}[K" + text, terminator: "")
            fflush(nil)
        }

        private func endProgress() {
            guard isatty(STDOUT_FILENO) == 1 else { return }
            print("\r\u{1B}[K", terminator: "")
            fflush(nil)
        }

        private func seconds(since start: Instant) -> String {
            String(format: "%.1f s", start.secondsUntilNow)
        }

        private func rate(_ count: Int, since start: Instant) -> String {
            let elapsed = start.secondsUntilNow
            return elapsed > 0 ? "\(Int(Double(count) / elapsed).formatted()) events/s" : ""
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

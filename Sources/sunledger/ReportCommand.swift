import ArgumentParser
import Foundation
import LedgerApp
import LedgerProjections
import LedgerValues

/// `--format`: the forms of `ReturnFormat`, as the command line reads them.
enum ReturnFormatOption: String, ExpressibleByArgument, CaseIterable {
    case csv, json

    var format: ReturnFormat {
        switch self {
        case .csv: .csv
        case .json: .json
        }
    }
}

extension Sunledger {
    struct Report: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "The year-end statistical returns (统计年报) of a year, as CSV files or one JSON document.",
            discussion: """
                D is 31 December of --year; "in the year" means occurredAt from 1 January to D \
                inclusive (kpis.md's year window at D); "at year end" means in the effective history \
                at D (kpis.md's time rules). Only records known at --known-at count (everything \
                stored without it). As kpis.md says, person-based figures count only persons \
                registered at D, under their residence at D; figures shared with the KPIs follow \
                their definitions and agree with `kpi --as-of D`. Every table lists every code, \
                zeros included, and `all` rows (合计; 全区 for the district): persons are counted \
                once in an `all` row, events and sums add up.

                01-population: registered persons by residence, category and grade at D; of them \
                working-age capable (employment_rate's denominator). 02-employment, by form: \
                persons with an employment running at D (start ≤ D < end), of them working-age \
                capable (employment_rate's numerator), employments running, EmploymentStarted \
                dated in the year, persons placed (new_employment). 03a-rehabilitation, \
                03b-assistive-devices: services or devices in the year by kind, and persons. \
                03c-home-modifications, by programme: works, costYuan, households \
                (home_modifications). 03d-health-checks: check-ups, persons checked, registered \
                persons. 03e-family-doctors: persons whose contract is active at D, contracts \
                signed in the year, persons who signed. 03f-care: persons in care at D, \
                enrolments in the year, persons with mental disabilities aged 60 or more at D and \
                of them in care. 04-caseload, by the case's unit at D (kpis.md) and service type: \
                open at D, opened in the year, closed in the year by outcome. 05-call-centre, \
                calls received in the year by topic and channel: of them resolved by D, within \
                3 days, satisfied, satisfied ÷ resolved (empty when none). 06a-projects, by \
                category: running at D, of them evaluated for the year, launched, evaluations, \
                eliminated, adoptions and their amountYuan in the year. 06b-volunteers, by \
                alliance: registered by D, party members, registered in the year, services and \
                minutes logged in the year (by the logged event's date), party members' minutes. \
                07a-rights-cases, by kind: opened in the year, of them closed within 15 days, \
                open at D, closed in the year by resolution. 07b-legal-education, by orgUnit: \
                sessions and attendees in the year.

                --format csv (the default) writes one file per table into --out (UTF-8 with a \
                byte-order mark, CRLF, RFC 4180 quoting, headings in Chinese and English) and \
                manifest.json: the stamp (year, asOf, knownAt, throughSeq, the hash and \
                recordedAt of that record, the Merkle root of the records through it, the KPI \
                catalogue's version, the program's version) and each file's name, size and \
                SHA-256. --format json prints one document {"stamp", "tables"} (or writes \
                report.json and manifest.json into --out). --out may be new, empty, or hold only \
                earlier returns, which are replaced; a directory holding other files is refused.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(parsing: .unconditional, help: "The year Y of the returns (1900–2100); D is 31 December of Y.")
        var year: Int
        @Option(
            name: .customLong("known-at"),
            help: "Only what the ledger had recorded at this RFC 3339 instant (e.g. 2025-01-15T00:00:00Z).")
        var knownAt: String?
        @Option(help: "csv (one file per table, needs --out) or json (one document).")
        var format: ReturnFormatOption = .csv
        @Option(help: "The directory to write into (made when missing).")
        var out: String?

        func validate() throws {
            guard (1900...2100).contains(year) else {
                throw ValidationError("--year must be a year of the ledger's dates, 1900–2100 (got \(year))")
            }
            if let knownAt, Instant(rfc3339: knownAt) == nil {
                throw ValidationError(FigureQuery.notAnInstant(knownAt, given: "--known-at"))
            }
            if format == .csv && out == nil {
                throw ValidationError(
                    "--format csv writes one file per table: give --out DIR, or --format json for one document on standard output"
                )
            }
        }

        func run() throws {
            let report = ComplianceReport(ledger: try open())
            let (returns, stamp) = try report.returns(year: year, knownAt: knownAt.flatMap(Instant.init(rfc3339:)))
            let files = ComplianceReport.files(of: returns, stamp: stamp, format: format.format)
            guard let out else {
                FileHandle.standardOutput.write(Data(files[0].bytes))
                return
            }
            try ComplianceReport.write(
                files, stamp: stamp, into: out, reportFiles: ComplianceReport.reportFileNames(returns))
            printError(
                "wrote \(files.count) file\(files.count == 1 ? "" : "s") and \(ComplianceReport.manifestName) into \(out) (through seq \(stamp.throughSeq))"
            )
        }
    }
}

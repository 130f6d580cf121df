import ArgumentParser
import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues

extension Sunledger {
    struct Restatement: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "restatement",
            abstract:
                "The KPI figures of a date that changed between two known-at instants, and the late events that changed each.",
            discussion: """
                Compares the KPI document of kpis.md for the as-of date as the ledger knew it at T1 (the \
                first --known-at) with the one it knew at T2 (the second); T1 must be earlier than T2. \
                Every number that differs is listed: a KPI's district numerator, denominator and value, \
                its other breakdowns, each unit's figures, and the four indices (a number the document \
                leaves out is zero). Each is listed with the late events (recorded after T1, at or before \
                T2) that changed it: an event is named when the figure's share from the event's stream \
                changed between T1 and T2 and the event moved that share when the stream's late events \
                are applied one at a time in seq order; a rate's value is named with the events of its \
                numerator and denominator, an index with those of its KPIs whose score changed.

                Order: KPIs in the catalogue's order, then the indices (service, smart, open, \
                rule_of_law); within each, the district before the units, units in the order of \
                seeds/units.json; then the field: numerator, denominator, value, then the breakdowns in \
                the document's order (keys sorted), then partyMember. --json prints {"asOf", "knownAt": \
                [T1, T2], "throughSeq": [s1, s2], "changes": [{"kpi", "unit" (null for the district), \
                "field", "before", "after", "events": [{"seq", "stream", "type", "occurredAt", \
                "recordedAt"}]}]} with changes in that order; "kpi" is the index's id and "field" is \
                "index" for an index. Exits 0 whether or not a figure changed.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(name: .customLong("as-of"), help: "The as-of date D, YYYY-MM-DD (default: today in Shanghai, UTC+8).")
        var asOf: String?
        @Option(
            name: .customLong("known-at"),
            help: "Give it twice: T1, then T2, RFC 3339 instants with T1 earlier than T2 (e.g. 2025-01-15T00:00:00Z).")
        var knownAt: [String] = []
        @Flag(help: "Print one JSON document instead of tables.")
        var json = false

        func validate() throws {
            if let asOf, LocalDate(iso: asOf) == nil {
                throw ValidationError(FigureQuery.notADate(asOf, given: "--as-of"))
            }
            guard knownAt.count == 2 else {
                throw ValidationError(
                    "--known-at must be given exactly twice, T1 then T2 (got it \(knownAt.count) time\(knownAt.count == 1 ? "" : "s"))"
                )
            }
            for text in knownAt where Instant(rfc3339: text) == nil {
                throw ValidationError(FigureQuery.notAnInstant(text, given: "--known-at"))
            }
            let (first, second) = (Instant(rfc3339: knownAt[0])!, Instant(rfc3339: knownAt[1])!)
            guard first < second else {
                throw ValidationError(
                    "--known-at: the first instant (T1, \(knownAt[0])) must be earlier than the second (T2, \(knownAt[1])); "
                        + (first == second ? "they are the same instant" : "give the earlier one first"))
            }
        }

        func run() throws {
            let report = try KPIReport(ledger: try open())
            let date = asOf.flatMap { LocalDate(iso: $0) } ?? Instant.now().localDate
            let restatement = try report.restatement(
                asOf: date, knownAt: Instant(rfc3339: knownAt[0])!, Instant(rfc3339: knownAt[1])!)
            if json {
                print(restatement.json)
            } else {
                try printRestatement(restatement, catalogue: report.catalogue)
            }
        }
    }
}

/// Prints a restatement for a reader: every changed number with the KPI's
/// Chinese and English names, the unit, before and after and the seqs of the
/// events that changed it; then those events.
private func printRestatement(_ restatement: LedgerApp.Restatement, catalogue: KPICatalogue) throws {
    let units = try KPIReport.loadUnitLabels()
    let late = restatement.throughSeqAfter - restatement.throughSeqBefore
    print(
        "Restatement as of \(restatement.asOf): known at \(restatement.knownBefore) (through seq \(restatement.throughSeqBefore))"
            + " → known at \(restatement.knownAfter) (through seq \(restatement.throughSeqAfter));"
            + " \(late) event\(late == 1 ? "" : "s") recorded between")
    print()
    guard !restatement.changes.isEmpty else {
        print("no figure changed")
        return
    }
    let rows = restatement.changes.map { change -> [String] in
        let label: Label =
            switch change.place.subject {
            case .kpi(let kpi): catalogue.entry(kpi).label
            case .index(let index): catalogue.indexLabels[index]!
            }
        let unit =
            change.place.unit.map { code in
                units.first { $0.code == code }.map { "\($0.label.chinese) \(code)" } ?? code
            } ?? "全区 district"
        let (before, after) = readings(change)
        return [
            label.chinese, label.english, unit, change.place.field.name, before, after,
            change.events.map { String($0.seq) }.joined(separator: " "),
        ]
    }
    printTable(header: ["指标", "KPI / index", "unit", "field", "before", "after", "late events (seq)"], rows: rows)

    var named: [Int64: LateEvent] = [:]
    for change in restatement.changes {
        for event in change.events { named[event.seq] = event }
    }
    print()
    print("The late events named above (\(named.count) of \(late) recorded between the two instants):")
    let eventRows = named.keys.sorted().map { seq -> [String] in
        let event = named[seq]!
        return [String(seq), event.stream, event.type, event.occurredAt.description, event.recordedAt.description]
    }
    printTable(header: ["seq", "stream", "type", "occurredAt", "recordedAt"], rows: eventRows)
}

/// Before and after for a reader: integers as they are; a rate's value as a
/// percentage with one decimal (more when one decimal would not show the
/// change), rounded half up on its exact quotient as `kpi` prints it; an
/// index with one decimal; null as –.
private func readings(_ change: RestatedFigure) -> (String, String) {
    func text(_ number: FigureNumber, decimals: Int) -> String {
        switch number {
        case .integer(let value): String(value)
        case .rate(let figure): figure.percentage(decimals: decimals) ?? "–"
        case .real(nil): "–"
        case .real(let value?): String(format: "%.\(decimals)f", value)
        }
    }
    for decimals in 1...6 {
        let pair = (text(change.before, decimals: decimals), text(change.after, decimals: decimals))
        if pair.0 != pair.1 { return pair }
    }
    return (change.before.description, change.after.description)
}

extension Sunledger.Restatement: RepeatableOptions {
    /// T1 and T2.
    var repeatable: Set<String> { ["--known-at"] }
}

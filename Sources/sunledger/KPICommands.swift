import ArgumentParser
import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues

/// The options of every figure query: the as-of date, what the ledger knew, and the output form.
struct FigureQueryOptions: ParsableArguments {
    @Option(name: .customLong("as-of"), help: "The as-of date D, YYYY-MM-DD (default: today in Shanghai, UTC+8).")
    var asOf: String?
    @Option(
        name: .customLong("known-at"),
        help: "Only what the ledger had recorded at this RFC 3339 instant (e.g. 2025-01-15T00:00:00Z).")
    var knownAt: String?
    @Option(name: .customLong("through-seq"), parsing: .unconditional, help: "Only the records with seq ≤ N.")
    var throughSeq: Int64?
    @Flag(help: "Print the JSON document instead of a table.")
    var json = false

    func validate() throws {
        do { _ = try parsed } catch let error as AppError { throw ValidationError(error.description) }
    }

    /// The query as `FigureQuery` reads it, in the command line's words.
    var parsed: FigureQuery {
        get throws {
            try FigureQuery(
                asOf: asOf, knownAt: knownAt, throughSeq: throughSeq.map(String.init), spelling: .commandLine)
        }
    }

    /// D: the date given, else today's date in Shanghai.
    var date: LocalDate { (try? parsed.asOf) ?? Instant.now().localDate }

    /// The part of the ledger asked for.
    var limit: RecordLimit { (try? parsed.limit) ?? .everything }
}

/// The heading of a figure query: the date, the instant and the last seq.
private func heading(_ title: String, asOf: LocalDate, knownAt: Instant?, throughSeq: Int64) -> String {
    "\(title) as of \(asOf)" + (knownAt.map { ", known at \($0)" } ?? "") + " (through seq \(throughSeq))"
}

/// The units in the order of seeds/units.json (district first), then any other code met, sorted.
private func unitOrder(_ codes: Set<String>, labels: [(code: String, label: Label)]) -> [String] {
    let known = labels.map(\.code).filter(codes.contains)
    return known + codes.subtracting(known).sorted()
}

private func unitHeader(_ code: String, labels: [(code: String, label: Label)]) -> String {
    labels.first { $0.code == code }?.label.chinese ?? code
}

/// A rate's target as a percentage with one decimal.
private func percent(_ target: Double) -> String {
    String(format: "%.1f%%", target * 100)
}

/// A figure for a reader: a count, or a rate as "38.5% (507/1318)" (– for null).
private func reading(_ figure: Figure) -> String {
    guard let denominator = figure.denominator else { return String(figure.numerator) }
    return "\(figure.percentage ?? "–") (\(figure.numerator)/\(denominator))"
}

extension Sunledger {
    struct Kpi: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "kpi",
            abstract: "The KPIs and the four-type federation indices (kpis.md) as of a date.",
            discussion: """
                Figures are for the as-of date (effective time) from what the ledger knew at \
                --known-at (recorded time), or through --through-seq; by default from everything \
                stored. --json prints the document of kpis.md; targets come from seeds/kpis.json.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @OptionGroup var query: FigureQueryOptions

        func run() throws {
            let report = try KPIReport(ledger: try open())
            let fold = try report.projection(within: query.limit)
            let document = KPIDocument(
                figures: fold.figures(asOf: query.date), knownAt: query.limit.knownAt, catalogue: report.catalogue)
            if query.json {
                print(document.json)
            } else {
                try printKPITables(document, catalogue: report.catalogue)
            }
            endKeeping(fold)
        }
    }
}

/// Ends the process successfully without freeing `fold`: the fold of a large
/// ledger is hundreds of thousands of small allocations, which take a tenth of
/// a second to free one by one, while the system takes back the whole process
/// at once. Standard output is flushed first.
func endKeeping(_ fold: KPIProjection) -> Never {
    withExtendedLifetime(fold) {
        fflush(nil)
        exit(0)
    }
}

/// Prints a KPI document for a reader: every KPI with its Chinese and English
/// names, district value and target; the KPIs by unit; the four indices.
func printKPITables(_ document: KPIDocument, catalogue: KPICatalogue) throws {
    let units = try KPIReport.loadUnitLabels()
    print(heading("KPIs", asOf: document.asOf, knownAt: document.knownAt, throughSeq: document.throughSeq))
    print()
    let rows = document.figures.results.map { result -> [String] in
        let entry = catalogue.entry(result.kpi)
        var target = ""
        if let goal = entry.target {
            let amount =
                result.kpi.kind == .rate
                ? percent(goal) : goal.formatted(.number.grouping(.automatic)) + " a year"
            target = amount + (entry.targetType.map { " (\($0.rawValue))" } ?? "")
        }
        return [entry.label.chinese, entry.label.english, reading(result.district), target]
    }
    printTable(header: ["指标", "KPI", "全区 district", "目标 target"], rows: rows)

    print()
    print("By unit (rates as numerator/denominator; units with no figure are left out):")
    var codes = Set<String>()
    for result in document.figures.results { codes.formUnion(result.byUnit.keys) }
    let order = unitOrder(codes, labels: units)
    let unitRows = document.figures.results.map { result -> [String] in
        [catalogue.entry(result.kpi).label.chinese]
            + order.map { code in
                guard let figure = result.byUnit[code] else { return "·" }
                return figure.denominator.map { "\(figure.numerator)/\($0)" } ?? String(figure.numerator)
            }
    }
    printTable(header: ["指标 KPI"] + order.map { unitHeader($0, labels: units) }, rows: unitRows)

    print()
    print("四型残联指数 The four-type federation indices (score = min(1, value ÷ target), counts pro-rated):")
    let indexRows = document.indices.map { index -> [String] in
        let label = catalogue.indexLabels[index.index]!
        let members = index.members.map { member in
            "\(member.kpi.rawValue) " + (member.score.map { String(format: "%.2f", $0) } ?? "left out")
        }
        return [
            label.chinese, label.english, index.value.map { String(format: "%.1f", $0) } ?? "–",
            members.joined(separator: ", "),
        ]
    }
    printTable(header: ["指数", "index", "value", "scores"], rows: indexRows)
}

extension Sunledger {
    struct Caseload: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "caseload",
            abstract: "Open cases as of a date, by unit, service type and worker.",
            discussion: """
                A case is open when its effective history has CaseOpened and no CaseClosed; its unit \
                and worker are those of CaseOpened, then of the latest CaseReassigned.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @OptionGroup var query: FigureQueryOptions

        func run() throws {
            let ledger = try open()
            let report = try KPIReport(ledger: ledger)
            let fold = try report.projection(within: query.limit)
            let caseload = fold.caseload(asOf: query.date)
            if query.json {
                print(caseload.json(knownAt: query.limit.knownAt))
                endKeeping(fold)
            }
            let vocabulary = ledger.vocabulary
            let units = try KPIReport.loadUnitLabels()
            print(
                heading(
                    "Open cases", asOf: caseload.asOf, knownAt: query.limit.knownAt, throughSeq: caseload.throughSeq)
                    + ": \(caseload.openCases)")
            guard caseload.openCases > 0 else { return }
            print()
            let types = CaseServiceType.allCases.filter { caseload.byServiceType[$0.rawValue] != nil }
            let order = unitOrder(Set(caseload.byUnit.keys), labels: units)
            var rows = order.map { code -> [String] in
                let unit = caseload.byUnit[code]!
                let label = units.first { $0.code == code }?.label
                return [label.map { "\($0.chinese) \($0.english)" } ?? code, String(unit.openCases)]
                    + types.map { unit.byServiceType[$0.rawValue].map(String.init) ?? "·" }
            }
            rows.append(
                ["全区 district", String(caseload.openCases)]
                    + types.map { String(caseload.byServiceType[$0.rawValue] ?? 0) })
            let typeHeaders = types.map { type in
                let label = vocabulary.label(type)
                return "\(label.chinese) \(label.english)"
            }
            printTable(header: ["unit", "open"] + typeHeaders, rows: rows)

            print()
            var workerRows: [[String]] = []
            for code in order {
                for (worker, count) in caseload.byUnit[code]!.byWorker.sorted(by: { $0.key < $1.key }) {
                    workerRows.append([worker, unitHeader(code, labels: units), String(count)])
                }
            }
            printTable(header: ["worker", "unit", "open"], rows: workerRows)
        }
    }
}

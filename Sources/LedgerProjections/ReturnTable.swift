import LedgerDomain
import LedgerValues

/// A column of a return table: its key in the JSON document and its Chinese
/// and English heading.
public struct ReturnColumn: Equatable, Sendable {
    /// The key in the JSON document (`registeredPersons`).
    public let key: String
    /// The heading's names (`持证残疾人数`, `registered persons`).
    public let label: Label

    /// A column keyed `key`, headed in Chinese and English.
    public init(_ key: String, _ chinese: String, _ english: String) {
        self.key = key
        label = Label(chinese: chinese, english: english)
    }

    /// The CSV heading: the Chinese name, a space, the English name (`街镇 unit`).
    public var heading: String { "\(label.chinese) \(label.english)" }
}

/// One cell of a return table.
public enum ReturnValue: Equatable, Sendable {
    /// A code or a name.
    case text(String)
    /// A number of persons, events, yuan or minutes.
    case count(Int64)
    /// A share (numerator ÷ denominator at full precision); nil when the denominator is 0.
    case share(Double?)

    /// The cell as CSV writes it, before quoting: a share as Swift's shortest
    /// description that reads back as the same double, an empty field for none.
    public var text: String {
        switch self {
        case .text(let text): text
        case .count(let count): String(count)
        case .share(let share): share.map(\.description) ?? ""
        }
    }
}

/// One table of the year-end statistical returns: a name (also its file's
/// stem), a title, columns, and rows of cells, one per column.
public struct ReturnTable: Equatable, Sendable {
    /// The file stem, numbered by area (`01-population`, `03b-assistive-devices`).
    public let name: String
    /// The table's Chinese and English title.
    public let title: Label
    /// The columns: dimension codes and names first, then the figures.
    public let columns: [ReturnColumn]
    /// The rows, each with one value per column.
    public let rows: [[ReturnValue]]

    /// A table of `rows`, each with one value per column.
    public init(name: String, title: Label, columns: [ReturnColumn], rows: [[ReturnValue]]) {
        precondition(rows.allSatisfy { $0.count == columns.count }, "every row has a value per column")
        self.name = name
        self.title = title
        self.columns = columns
        self.rows = rows
    }
}

/// The code of a total row in any dimension: every unit, every category…
public let returnTotalCode = "all"

/// A row dimension: a code column and a name column.
struct ReturnDimension {
    let code: ReturnColumn
    let name: ReturnColumn
    /// The codes of the rows in order, the total (`all`) last.
    let codes: [String]
    /// The Chinese name of a code.
    let label: (String) -> String
}

/// Figures kept by row key (one code per dimension) and column, before they become rows.
struct ReturnGrid {
    let width: Int
    private(set) var cells: [[String]: [Int64]] = [:]

    init(width: Int) {
        self.width = width
    }

    /// Adds `amount` to column `column` of the row `key`.
    mutating func add(_ amount: Int64, _ column: Int, at key: [String]) {
        guard amount != 0 else { return }
        cells[key, default: [Int64](repeating: 0, count: width)][column] += amount
    }

    /// Adds `amount` under the unit's row and under the district's (`all`) row for the same `rest`.
    mutating func add(_ amount: Int64, _ column: Int, unit: String, _ rest: String...) {
        add(amount, column, at: [unit] + rest)
        add(amount, column, at: [returnTotalCode] + rest)
    }

    subscript(key: [String]) -> [Int64] { cells[key] ?? [Int64](repeating: 0, count: width) }

    /// The table: a row for every combination of the dimensions' codes, in
    /// their order (zeros included, so that every year's return has the same
    /// shape); `derived` adds computed columns after the figures.
    func table(
        _ name: String, _ title: Label, dimensions: [ReturnDimension], figures: [ReturnColumn],
        derived: [(column: ReturnColumn, value: ([Int64]) -> ReturnValue)] = [],
        rows keys: [[String]]? = nil
    ) -> ReturnTable {
        precondition(figures.count == width, "one column per figure")
        var all: [[String]] = [[]]
        for dimension in dimensions { all = all.flatMap { prefix in dimension.codes.map { prefix + [$0] } } }
        let rows = (keys ?? all).map { key -> [ReturnValue] in
            var row: [ReturnValue] = []
            for (dimension, code) in zip(dimensions, key) {
                row.append(.text(code))
                row.append(.text(dimension.label(code)))
            }
            let values = self[key]
            row += values.map(ReturnValue.count)
            row += derived.map { $0.value(values) }
            return row
        }
        let columns = dimensions.flatMap { [$0.code, $0.name] } + figures + derived.map(\.column)
        return ReturnTable(name: name, title: title, columns: columns, rows: rows)
    }
}

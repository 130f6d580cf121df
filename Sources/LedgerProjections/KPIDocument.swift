import LedgerDomain
import LedgerValues

/// One KPI's part in an index.
public struct IndexMember: Equatable, Sendable {
    /// The KPI.
    public let kpi: KPI
    /// The target it was scored against: the annual target, pro-rated to the
    /// as-of date for a count.
    public let goal: Double
    /// min(1, value ÷ goal); nil when the KPI's value is null (it is left out).
    public let score: Double?
}

/// One of the four indices at an as-of date.
public struct IndexResult: Equatable, Sendable {
    /// The index.
    public let index: FederationIndex
    /// 100 × the mean of the members' scores, rounded to one decimal; nil when
    /// every member was left out.
    public let value: Double?
    /// The KPIs that feed it, in the catalogue's order.
    public let members: [IndexMember]

    /// Scores `figures` against the targets of `catalogue` (kpis.md, the four-type indices).
    ///
    /// A count's target is pro-rated: annual target × day of year of D ÷ days in
    /// D's year. Rounding is to the nearest tenth, a half rounded up, decided on
    /// the exact mean (`ExactFraction`): the scores shown are binary fractions,
    /// the value is not rounded from them.
    public init(_ index: FederationIndex, figures: KPIFigures, catalogue: KPICatalogue) {
        let window = YearWindow(asOf: figures.asOf)
        let entries = catalogue.members(of: index)
        self.index = index
        members = entries.map { entry in
            // The catalogue gives every member of an index a target.
            let target = entry.target!
            let goal =
                entry.kpi.kind == .count
                ? target * Double(window.dayOfYear) / Double(window.daysInYear) : target
            let score = figures[entry.kpi].district.value.map { min(1, $0 / goal) }
            return IndexMember(kpi: entry.kpi, goal: goal, score: score)
        }
        let exactScores = entries.compactMap { IndexResult.exactScore(figures[$0.kpi].district, $0, window) }
        value =
            exactScores.isEmpty
            ? nil
            : Double(
                exactScores.reduce(ExactFraction.zero, +).rounded(times: 1000, dividedBy: UInt64(exactScores.count)))
                / 10
    }

    /// min(1, value ÷ goal) as an exact fraction; nil when the value is null.
    /// A rate's value is numerator ÷ denominator, a count's goal its target
    /// × day of year ÷ days in the year.
    private static func exactScore(
        _ figure: Figure, _ entry: KPICatalogue.Entry, _ window: YearWindow
    ) -> ExactFraction? {
        let target = entry.exactTarget!
        // Figures are never negative: counts of persons, minutes, yuan.
        let value = Natural(UInt64(max(0, figure.numerator)))
        if let denominator = figure.denominator {
            guard denominator > 0 else { return nil }
            // (n ÷ d) ÷ (a ÷ b) = n·b ÷ (d·a)
            return ExactFraction(
                value * target.denominator, over: Natural(UInt64(denominator)) * target.numerator
            ).atMostOne
        }
        // v ÷ ((a ÷ b) · day ÷ days) = v·b·days ÷ (a·day)
        return ExactFraction(
            value * target.denominator * Natural(UInt64(window.daysInYear)),
            over: target.numerator * Natural(UInt64(window.dayOfYear))
        ).atMostOne
    }
}

/// The KPI document of kpis.md: every KPI's figures and the four indices, for
/// an as-of date and what the ledger knew at an instant (or through a seq).
///
/// Its JSON (`json`) is what `sunledger kpi --json` prints: keys in the order of
/// kpis.md's example (asOf, knownAt, throughSeq, kpis, indices; numerator,
/// denominator, value, byUnit, then the other breakdowns), KPIs and indices in
/// the catalogue's order, breakdown keys sorted. The same query gives the same
/// bytes.
public struct KPIDocument: Equatable, Sendable {
    /// The as-of date D.
    public let asOf: LocalDate
    /// The instant T the query asked for; nil when it was not given.
    public let knownAt: Instant?
    /// The last seq taken into account.
    public let throughSeq: Int64
    /// Every KPI's figures.
    public let figures: KPIFigures
    /// The four indices, in `FederationIndex`'s order.
    public let indices: [IndexResult]

    /// The document of `figures`, scored against `catalogue`.
    public init(figures: KPIFigures, knownAt: Instant?, catalogue: KPICatalogue) {
        asOf = figures.asOf
        self.knownAt = knownAt
        throughSeq = figures.throughSeq
        self.figures = figures
        indices = FederationIndex.allCases.map { IndexResult($0, figures: figures, catalogue: catalogue) }
    }

    /// The index `index`.
    public func index(_ index: FederationIndex) -> IndexResult {
        indices[FederationIndex.allCases.firstIndex(of: index)!]
    }

    /// The document as one line of JSON (see the type's description for the order).
    public var json: String {
        var kpis = JSONObject()
        for result in figures.results { kpis[result.kpi.rawValue] = .object(result.jsonObject) }
        var indexValues = JSONObject()
        for index in indices { indexValues[index.index.rawValue] = index.value.map(jsonNumber) ?? .null }
        var document = JSONObject()
        document["asOf"] = .string(asOf.description)
        document["knownAt"] = knownAt.map { .string($0.description) } ?? .null
        document["throughSeq"] = .integer(throughSeq)
        document["kpis"] = .object(kpis)
        document["indices"] = .object(indexValues)
        return orderedJSON(.object(document))
    }
}

extension KPIResult {
    /// The KPI's member of the document's `kpis` object.
    var jsonObject: JSONObject {
        var object = district.jsonObject(withValue: true)
        object["byUnit"] = .object(sortedObject(byUnit) { .object($0.jsonObject(withValue: false)) })
        for breakdown in kpi.breakdowns {
            object[breakdown.rawValue] = .object(
                sortedObject(self.breakdown(breakdown)) { figure in
                    figure.denominator == nil
                        ? .integer(figure.numerator) : .object(figure.jsonObject(withValue: false))
                })
        }
        if let partyMember { object["partyMember"] = .integer(partyMember) }
        return object
    }
}

extension Figure {
    /// `{"value": n}` for a count; `{"numerator": a, "denominator": b}` for a
    /// rate, with `"value"` (the quotient or null) when `withValue`.
    func jsonObject(withValue: Bool) -> JSONObject {
        var object = JSONObject()
        guard let denominator else {
            object["value"] = .integer(numerator)
            return object
        }
        object["numerator"] = .integer(numerator)
        object["denominator"] = .integer(denominator)
        if withValue { object["value"] = value.map(jsonNumber) ?? .null }
        return object
    }
}

extension Caseload {
    /// The caseload as one line of JSON: asOf, knownAt, throughSeq, openCases,
    /// byUnit (each with openCases, byServiceType, byWorker), byServiceType, byWorker.
    public func json(knownAt: Instant?) -> String {
        func counts(_ counts: [String: Int64]) -> JSONValue { .object(sortedObject(counts) { .integer($0) }) }
        var document = JSONObject()
        document["asOf"] = .string(asOf.description)
        document["knownAt"] = knownAt.map { .string($0.description) } ?? .null
        document["throughSeq"] = .integer(throughSeq)
        document["openCases"] = .integer(openCases)
        document["byUnit"] = .object(
            sortedObject(byUnit) { unit in
                .object(
                    JSONObject([
                        ("openCases", .integer(unit.openCases)), ("byServiceType", counts(unit.byServiceType)),
                        ("byWorker", counts(unit.byWorker)),
                    ]))
            })
        document["byServiceType"] = counts(byServiceType)
        document["byWorker"] = counts(byWorker)
        return orderedJSON(.object(document))
    }
}

/// A double as a JSON number: Swift's shortest description that reads back as
/// the same double (`0.38467`, `25.0`, `1e-06`), which is valid JSON.
func jsonNumber(_ value: Double) -> JSONValue { .number(value.description) }

/// `dictionary` as a JSON object with its keys sorted.
func sortedObject<V>(_ dictionary: [String: V], _ encode: (V) -> JSONValue) -> JSONObject {
    JSONObject(dictionary.keys.sorted().map { ($0, encode(dictionary[$0]!)) })
}

/// `value` as compact JSON, members in the order they were added (unlike the
/// canonical form, which sorts them).
func orderedJSON(_ value: JSONValue) -> String {
    var out: [UInt8] = []
    writeOrdered(value, into: &out)
    return String(decoding: out, as: UTF8.self)
}

private func writeOrdered(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .array(let elements):
        out.append(UInt8(ascii: "["))
        for (position, element) in elements.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            writeOrdered(element, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    case .object(let object):
        out.append(UInt8(ascii: "{"))
        for (position, member) in object.members.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            CanonicalJSON.writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            writeOrdered(member.value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    default:
        CanonicalJSON.write(value, into: &out)
    }
}

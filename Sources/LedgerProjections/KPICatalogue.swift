import LedgerDomain
import LedgerValues

/// Whether a target is binding (约束性) or expected (预期性), as a federation's
/// plan marks it. The indices treat both alike; the mark is shown beside the target.
public enum TargetType: String, Sendable {
    /// 约束性: an obligation the federation is held to.
    case binding
    /// 预期性: an aim the federation works towards.
    case expected
}

/// The KPI catalogue as reference data: every KPI's names, the index it feeds
/// and its annual target, and the four indices' names, read from
/// `seeds/kpis.json`.
///
/// The file is checked against the code: it must list every KPI of `KPI` once,
/// with the kind and unit basis the code computes, and every index of
/// `FederationIndex` once. What the file is free to change is the names, which
/// index a KPI feeds, and the targets.
public struct KPICatalogue: Sendable {
    /// One KPI as the catalogue describes it.
    public struct Entry: Sendable {
        /// The KPI.
        public let kpi: KPI
        /// Its Chinese and English names.
        public let label: Label
        /// The index it feeds, if any.
        public let index: FederationIndex?
        /// Its annual target: a fraction in (0, 1] for a rate, a number > 0 for a
        /// count (pro-rated to the as-of date when scored). Present when the KPI feeds an index.
        public let target: Double?
        /// Whether the target is binding or expected.
        public let targetType: TargetType?
        /// The target exactly as written (0.95 is 95/100): the indices are scored with it.
        let exactTarget: ExactFraction?
    }

    /// The version of the catalogue file.
    public let version: Int64
    /// The KPIs, in `KPI`'s order.
    public let entries: [Entry]
    /// The indices' Chinese and English names, in `FederationIndex`'s order.
    public let indexLabels: [FederationIndex: Label]

    /// The entry of `kpi`.
    public func entry(_ kpi: KPI) -> Entry { entries[KPI.allCases.firstIndex(of: kpi)!] }

    /// The KPIs that feed `index`, in the catalogue's order.
    public func members(of index: FederationIndex) -> [Entry] { entries.filter { $0.index == index } }

    /// Reads the catalogue from the bytes of `seeds/kpis.json`.
    public init(json bytes: [UInt8]) throws(KPICatalogueError) {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw KPICatalogueError("is not JSON: \(error)") }
        guard case .object(let object) = root else { throw KPICatalogueError("must be a JSON object") }
        for key in object.keys where !["version", "indices", "kpis"].contains(key) {
            throw KPICatalogueError("has an unknown key \(Echo.quoted(key)) (the keys are version, indices, kpis)")
        }
        guard case .integer(let version)? = object["version"], version >= 1 else {
            throw KPICatalogueError("needs \"version\": an integer ≥ 1")
        }
        self.version = version

        guard case .array(let indexList)? = object["indices"] else {
            throw KPICatalogueError("needs \"indices\": a list of the four indices")
        }
        var indexLabels: [FederationIndex: Label] = [:]
        for (position, item) in indexList.enumerated() {
            let place = "indices[\(position)]"
            guard case .object(let fields) = item else { throw KPICatalogueError("\(place) must be an object") }
            try Self.onlyKeys(["id", "zh", "en"], in: fields, at: place)
            let id = try Self.text("id", in: fields, at: place)
            guard let index = FederationIndex(rawValue: id) else {
                throw KPICatalogueError(
                    "\(place): \(Echo.quoted(id)) is not an index (the indices are \(FederationIndex.allCases.map(\.rawValue).joined(separator: " ")))"
                )
            }
            guard indexLabels[index] == nil else { throw KPICatalogueError("\(place): index \(id) is listed twice") }
            indexLabels[index] = Label(
                chinese: try Self.text("zh", in: fields, at: place), english: try Self.text("en", in: fields, at: place)
            )
        }
        let missingIndices = FederationIndex.allCases.filter { indexLabels[$0] == nil }.map(\.rawValue)
        guard missingIndices.isEmpty else {
            throw KPICatalogueError("does not list the index \(missingIndices.joined(separator: ", "))")
        }
        self.indexLabels = indexLabels

        guard case .array(let kpiList)? = object["kpis"] else {
            throw KPICatalogueError("needs \"kpis\": a list of the KPIs")
        }
        var found: [KPI: Entry] = [:]
        for (position, item) in kpiList.enumerated() {
            var place = "kpis[\(position)]"
            guard case .object(let fields) = item else { throw KPICatalogueError("\(place) must be an object") }
            try Self.onlyKeys(
                ["id", "zh", "en", "kind", "unitBasis", "index", "target", "targetType"], in: fields, at: place)
            let id = try Self.text("id", in: fields, at: place)
            guard let kpi = KPI(rawValue: id) else {
                throw KPICatalogueError("\(place): \(Echo.quoted(id)) is not a KPI this program computes")
            }
            place += " (\(id))"
            guard found[kpi] == nil else { throw KPICatalogueError("\(place) is listed twice") }
            let kind = try Self.text("kind", in: fields, at: place)
            guard kind == kpi.kind.rawValue else {
                throw KPICatalogueError("\(place): kind must be \(kpi.kind.rawValue), not \(kind)")
            }
            let basis = try Self.text("unitBasis", in: fields, at: place)
            guard basis == kpi.unitBasis.rawValue else {
                throw KPICatalogueError("\(place): unitBasis must be \(kpi.unitBasis.rawValue), not \(basis)")
            }
            var index: FederationIndex?
            switch fields["index"] {
            case nil, .null?: index = nil
            case .string(let name)?:
                guard let named = FederationIndex(rawValue: name) else {
                    throw KPICatalogueError("\(place): index \(Echo.quoted(name)) is not one of the four indices")
                }
                index = named
            case let other?:
                throw KPICatalogueError("\(place): index must be an index's id or null, not \(other.kindName)")
            }
            let target = try Self.number("target", in: fields, at: place)
            var targetType: TargetType?
            switch fields["targetType"] {
            case nil, .null?: targetType = nil
            case .string(let name)?:
                guard let type = TargetType(rawValue: name) else {
                    throw KPICatalogueError(
                        "\(place): targetType must be binding or expected, not \(Echo.quoted(name))")
                }
                targetType = type
            case let other?:
                throw KPICatalogueError("\(place): targetType must be binding, expected or null, not \(other.kindName)")
            }
            if let target {
                guard target > 0, kpi.kind == .count || target <= 1 else {
                    throw KPICatalogueError(
                        "\(place): target must be " + (kpi.kind == .rate ? "a fraction > 0 and ≤ 1" : "a number > 0")
                            + ", not \(target)")
                }
                guard targetType != nil else {
                    throw KPICatalogueError("\(place): a target needs a targetType (binding or expected)")
                }
            } else if index != nil {
                throw KPICatalogueError("\(place): a KPI that feeds the \(index!.rawValue) index needs a target")
            }
            found[kpi] = Entry(
                kpi: kpi,
                label: Label(
                    chinese: try Self.text("zh", in: fields, at: place),
                    english: try Self.text("en", in: fields, at: place)),
                index: index, target: target, targetType: target == nil ? nil : targetType,
                exactTarget: target == nil ? nil : try Self.exactNumber("target", in: fields, at: place))
        }
        let missing = KPI.allCases.filter { found[$0] == nil }.map(\.rawValue)
        guard missing.isEmpty else {
            throw KPICatalogueError("does not list the KPI \(missing.joined(separator: ", "))")
        }
        entries = KPI.allCases.map { found[$0]! }
    }

    private static func onlyKeys(_ allowed: [String], in fields: JSONObject, at place: String) throws(KPICatalogueError)
    {
        for key in fields.keys where !allowed.contains(key) {
            throw KPICatalogueError(
                "\(place) has an unknown key \(Echo.quoted(key)) (the keys are \(allowed.joined(separator: ", ")))")
        }
    }

    private static func text(_ key: String, in fields: JSONObject, at place: String) throws(KPICatalogueError) -> String
    {
        guard case .string(let text)? = fields[key], !text.isEmpty else {
            throw KPICatalogueError("\(place) needs \(Echo.quoted(key)): a non-empty string")
        }
        return text
    }

    /// The positive number under `key` exactly as written, digits, fraction
    /// and exponent (`0.95`, `3000000`, `3e6`), as a fraction.
    private static func exactNumber(
        _ key: String, in fields: JSONObject, at place: String
    ) throws(KPICatalogueError) -> ExactFraction {
        let written: String
        switch fields[key] {
        case .integer(let value)?: written = String(value)
        case .number(let text)?: written = text
        default: throw KPICatalogueError("\(place): \(key) must be a number")
        }
        let parts = written.lowercased().split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
        var numerator = Natural(0)
        var power = 0
        var point = false
        for character in parts[0].utf8 {
            if character == UInt8(ascii: "."), !point {
                point = true
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character) {
                numerator = numerator * Natural(10) + Natural(UInt64(character - UInt8(ascii: "0")))
                if point { power -= 1 }
            } else {
                throw KPICatalogueError("\(place): \(key) \(written) is not a positive decimal number")
            }
        }
        if parts.count == 2 {
            guard let exponent = Int(parts[1]), abs(exponent) <= 64 else {
                throw KPICatalogueError("\(place): \(key) \(written) has an exponent out of range")
            }
            power += exponent
        }
        var scale = Natural(1)
        for _ in 0..<abs(power) { scale = scale * Natural(10) }
        return power >= 0 ? ExactFraction(numerator * scale, over: Natural(1)) : ExactFraction(numerator, over: scale)
    }

    private static func number(
        _ key: String, in fields: JSONObject, at place: String
    ) throws(KPICatalogueError)
        -> Double?
    {
        switch fields[key] {
        case nil, .null?: return nil
        case .integer(let value)?: return Double(value)
        case .number(let written)?:
            guard let value = Double(written), value.isFinite else {
                throw KPICatalogueError("\(place): \(key) \(written) is not a number")
            }
            return value
        case let other?:
            throw KPICatalogueError("\(place): \(key) must be a number or null, not \(other.kindName)")
        }
    }
}

/// `seeds/kpis.json` is malformed or does not match the KPIs the program computes.
public struct KPICatalogueError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, naming the entry and the key.
    public let description: String
    init(_ problem: String) { description = "seeds/kpis.json \(problem)" }
}

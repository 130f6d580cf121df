import LedgerValues

/// A code's names for people: Chinese first, English beside it.
public struct Label: Equatable, Sendable {
    /// The Chinese name (`肢体残疾`).
    public let chinese: String
    /// The English name (`physical`).
    public let english: String

    public init(chinese: String, english: String) {
        self.chinese = chinese
        self.english = english
    }
}

/// The labels of every enumeration of the catalogue, read from
/// `seeds/enumerations.json` and checked against the codes the ledger knows:
/// a seed file that misses a code, adds one, or lists them out of order is refused.
public struct Vocabulary: Sendable {
    private let labels: [String: [String: Label]]

    /// Reads the vocabulary from the JSON of `seeds/enumerations.json`.
    public init(json bytes: [UInt8]) throws(VocabularyError) {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw VocabularyError("is not JSON: \(error)") }
        guard case .object(let object) = root else { throw VocabularyError("must be a JSON object") }
        var labels: [String: [String: Label]] = [:]
        var expected: [(String, [String])] = catalogueEnumerations.map { ($0.catalogueName, $0.codes) }
        expected.append((DisabilityGrade.catalogueName, DisabilityGrade.allCases.map { String($0.rawValue) }))
        for (name, codes) in expected {
            guard case .array(let entries)? = object[name] else {
                throw VocabularyError("has no list \(Echo.quoted(name))")
            }
            var listed: [String] = []
            var table: [String: Label] = [:]
            for entry in entries {
                guard case .object(let fields) = entry, let code = fields["code"],
                    case .string(let chinese)? = fields["zh"], case .string(let english)? = fields["en"],
                    !chinese.isEmpty, !english.isEmpty
                else {
                    throw VocabularyError("\(name): every entry needs a code and non-empty zh and en labels")
                }
                let key: String
                switch code {
                case .string(let text): key = text
                case .integer(let number): key = String(number)
                default: throw VocabularyError("\(name): a code is a string or an integer")
                }
                listed.append(key)
                table[key] = Label(chinese: chinese, english: english)
            }
            guard listed == codes else {
                throw VocabularyError(
                    "\(name) lists \(listed.joined(separator: " ")), but the catalogue's codes are \(codes.joined(separator: " ")) (in that order)"
                )
            }
            labels[name] = table
        }
        let unknown = object.map(\.key).filter { labels[$0] == nil }
        guard unknown.isEmpty else {
            throw VocabularyError("names enumerations the catalogue does not have: \(unknown.joined(separator: ", "))")
        }
        self.labels = labels
    }

    /// The label of `value`.
    public func label<E: CatalogueEnumeration>(_ value: E) -> Label {
        labels[E.catalogueName]![value.rawValue]!
    }

    /// The label of a grade.
    public func label(_ grade: DisabilityGrade) -> Label {
        labels[DisabilityGrade.catalogueName]![String(grade.rawValue)]!
    }

    /// The label of code `code` of the enumeration named `enumeration`, if both exist.
    public func label(of code: String, in enumeration: String) -> Label? {
        labels[enumeration]?[code]
    }
}

/// `seeds/enumerations.json` does not match the catalogue.
public struct VocabularyError: Error, CustomStringConvertible {
    public let description: String
    init(_ problem: String) { description = "seeds/enumerations.json \(problem)" }
}

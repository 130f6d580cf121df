import LedgerValues

/// What a figure query asks for (kpis.md): the as-of date D and how much of
/// the ledger to take into account. The command line and the HTTP API read it
/// from their own spellings of the same three parameters, and refuse bad input
/// in the same words.
public struct FigureQuery: Equatable, Sendable {
    /// How a front end spells the three parameters in its messages.
    public struct Spelling: Sendable {
        /// The name of the as-of date (`--as-of`, `asOf`).
        public let asOf: String
        /// The name of the known-at instant (`--known-at`, `knownAt`).
        public let knownAt: String
        /// The name of the seq limit (`--through-seq`, `throughSeq`).
        public let throughSeq: String

        public init(asOf: String, knownAt: String, throughSeq: String) {
            self.asOf = asOf
            self.knownAt = knownAt
            self.throughSeq = throughSeq
        }

        /// The command line's options.
        public static let commandLine = Spelling(asOf: "--as-of", knownAt: "--known-at", throughSeq: "--through-seq")
        /// The HTTP API's query parameters.
        public static let query = Spelling(asOf: "asOf", knownAt: "knownAt", throughSeq: "throughSeq")
    }

    /// D: the date given, else today's date in Shanghai when the query was read.
    public let asOf: LocalDate
    /// The part of the ledger asked for.
    public let limit: RecordLimit

    /// Reads a query as given; throws `AppError.usage` saying what is wrong.
    /// - Parameters:
    ///   - today: the date used when no as-of date is given.
    public init(
        asOf: String?, knownAt: String?, throughSeq: String?, spelling: Spelling,
        today: LocalDate = Instant.now().localDate
    ) throws {
        var date = today
        if let asOf {
            guard let given = LocalDate(iso: asOf) else {
                throw AppError.usage(FigureQuery.notADate(asOf, given: spelling.asOf))
            }
            date = given
        }
        if knownAt != nil && throughSeq != nil {
            throw AppError.usage(
                "\(spelling.knownAt) and \(spelling.throughSeq) exclude each other: give one or neither")
        }
        var limit = RecordLimit.everything
        if let knownAt {
            guard let instant = Instant(rfc3339: knownAt) else {
                throw AppError.usage(FigureQuery.notAnInstant(knownAt, given: spelling.knownAt))
            }
            limit = .knownAt(instant)
        }
        if let throughSeq {
            guard let seq = Int64(throughSeq) else {
                throw AppError.usage("\(spelling.throughSeq) must be a whole number (got \(Echo.quoted(throughSeq)))")
            }
            guard seq >= 0 else { throw AppError.usage("\(spelling.throughSeq) must be 0 or more (got \(seq))") }
            limit = .throughSeq(seq)
        }
        self.asOf = date
        self.limit = limit
    }

    /// What is wrong with `text`, given as the date `option` (`--as-of`,
    /// `asOf`), which is not a real date: the same words wherever a date is read.
    public static func notADate(_ text: String, given option: String) -> String {
        "\(option) must be a real date written YYYY-MM-DD, such as 2024-12-31 (got \(Echo.quoted(text)))"
    }

    /// What is wrong with `text`, given as the instant `option` (`--known-at`,
    /// `knownAt`), which is not an RFC 3339 instant.
    public static func notAnInstant(_ text: String, given option: String) -> String {
        "\(option) " + Instant.rule(refusing: text, example: "2025-01-15T00:00:00Z or 2025-01-15T08:00:00+08:00")
    }
}

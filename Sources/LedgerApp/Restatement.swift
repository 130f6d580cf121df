import EventStore
import LedgerDomain
import LedgerProjections
import LedgerValues

/// A number of the KPI document: a count, numerator or denominator, or a
/// quotient (a rate's value, an index) that may be null.
public enum FigureNumber: Equatable, Sendable, CustomStringConvertible {
    /// A count, a numerator or a denominator.
    case integer(Int64)
    /// A rate's value, kept as its numerator and denominator (so that a reader
    /// can be shown it rounded on the exact quotient); null when the
    /// denominator is 0. Equal to any quotient of the same value.
    case rate(Figure)
    /// An index, or a quotient the document leaves out; nil is the document's `null`.
    case real(Double?)

    /// The quotient (a rate's value); nil for an integer, or a null.
    var quotient: Double? {
        switch self {
        case .integer: nil
        case .rate(let figure): figure.value
        case .real(let value): value
        }
    }

    /// The number as the JSON documents write it.
    public var json: JSONValue {
        switch self {
        case .integer(let value): .integer(value)
        case .rate, .real: quotient.map { .number($0.description) } ?? .null
        }
    }

    /// Integers by value; quotients by value, whatever fraction gave them.
    public static func == (a: FigureNumber, b: FigureNumber) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): x == y
        case (.integer, _), (_, .integer): false
        default: a.quotient == b.quotient
        }
    }

    /// The number as JSON text (`12`, `0.5`, `null`).
    public var description: String { String(decoding: CanonicalJSON.encode(json), as: UTF8.self) }
}

/// Where one number sits in the KPI document of kpis.md: a KPI's or an index's,
/// the district's or a unit's, and which field of it.
///
/// Places sort in the order a restatement lists them: the catalogue's KPIs in
/// its order, then the four indices; within each, the district before the units
/// (units in `unitOrder`); within those, the field (`Field`'s order).
public struct FigurePlace: Hashable, Sendable {
    /// A KPI or an index.
    public enum Subject: Hashable, Sendable {
        /// A KPI of the catalogue.
        case kpi(KPI)
        /// One of the four-type federation indices.
        case index(FederationIndex)

        /// The id the documents use (`employment_rate`, `service`).
        public var id: String {
            switch self {
            case .kpi(let kpi): kpi.rawValue
            case .index(let index): index.rawValue
            }
        }
    }

    /// A part of a figure: a count's value or a rate's numerator, denominator or value.
    public enum Part: Int, Hashable, Sendable, Comparable {
        /// A rate's numerator.
        case numerator
        /// A rate's denominator.
        case denominator
        /// A count's value, or a rate's quotient.
        case value

        /// Its key in the document.
        public var name: String {
            switch self {
            case .numerator: "numerator"
            case .denominator: "denominator"
            case .value: "value"
            }
        }

        /// Numerator, denominator, value: the document's order.
        public static func < (lhs: Part, rhs: Part) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Which number of the district's or a unit's figure.
    public enum Field: Hashable, Sendable {
        /// `value` of a count; `numerator`, `denominator` or (district only) `value` of a rate.
        case part(Part)
        /// A key of a breakdown other than `byUnit` (district only): a count's
        /// number (part nil) or a rate's numerator or denominator.
        case breakdown(KPI.Breakdown, key: String, part: Part?)
        /// `partyMember` of `volunteer_minutes`.
        case partyMember
        /// An index's value.
        case index

        /// The field's path inside its KPI's object of the document (inside
        /// `byUnit.<unit>` for a unit), dot-separated: `numerator`,
        /// `byCategory.mental.denominator`, `partyMember`; `index` for an index.
        public var name: String {
            switch self {
            case .part(let part): part.name
            case .breakdown(let breakdown, let key, let part):
                breakdown.rawValue + "." + key + (part.map { "." + $0.name } ?? "")
            case .partyMember: "partyMember"
            case .index: "index"
            }
        }
    }

    /// The KPI or index.
    public let subject: Subject
    /// The unit's code, or nil for the district.
    public let unit: String?
    /// The number.
    public let field: Field

    /// The place of `field` of `subject`, for `unit` (nil: the district).
    public init(_ subject: Subject, unit: String?, _ field: Field) {
        self.subject = subject
        self.unit = unit
        self.field = field
    }

    /// Whether the number is a sum over streams (every integer of the document),
    /// rather than a quotient computed from such sums.
    var isSum: Bool {
        switch field {
        case .index: false
        case .part(.value): subject.kpi?.kind == .count
        default: true
        }
    }

    /// The number a place holds when the document leaves it out: zero, or null
    /// for a quotient.
    var absent: FigureNumber { isSum ? .integer(0) : .real(nil) }

    /// The key that sorts places in a restatement's order.
    func sortKey(unitRank: (String) -> (Int, String)) -> [SortPart] {
        var key: [SortPart] = []
        switch subject {
        case .kpi(let kpi): key.append(.number(KPI.allCases.firstIndex(of: kpi)!))
        case .index(let index):
            key.append(.number(KPI.allCases.count + FederationIndex.allCases.firstIndex(of: index)!))
        }
        if let unit {
            let (rank, code) = unitRank(unit)
            key += [.number(1 + rank), .text(code)]
        } else {
            key += [.number(0), .text("")]
        }
        switch field {
        case .part(let part): key += [.number(0), .text(""), .number(part.rawValue)]
        case .breakdown(let breakdown, let code, let part):
            let position = subject.kpi.flatMap { $0.breakdowns.firstIndex(of: breakdown) } ?? 0
            key += [.number(1 + position), .text(code), .number(part?.rawValue ?? 0)]
        case .partyMember: key += [.number(100), .text(""), .number(0)]
        case .index: key += [.number(0), .text(""), .number(0)]
        }
        return key
    }

    /// One part of a sort key.
    enum SortPart: Comparable {
        case number(Int)
        case text(String)
    }
}

extension FigurePlace.Subject {
    /// The KPI, when the subject is one.
    var kpi: KPI? {
        if case .kpi(let kpi) = self { return kpi }
        return nil
    }
}

/// An event recorded after T1 and at or before T2, as a restatement names it.
public struct LateEvent: Hashable, Sendable {
    /// Its place in the log.
    public let seq: Int64
    /// Its stream.
    public let stream: String
    /// Its type (`PersonMoved`).
    public let type: String
    /// When it happened.
    public let occurredAt: LocalDate
    /// When the ledger learned it.
    public let recordedAt: Instant

    /// An event with these coordinates.
    public init(seq: Int64, stream: String, type: String, occurredAt: LocalDate, recordedAt: Instant) {
        self.seq = seq
        self.stream = stream
        self.type = type
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
    }
}

/// One stream touched by late events: its events as known at T1, and the ones
/// recorded after T1 and at or before T2, each in seq order.
public struct StreamRevision: Sendable {
    /// The stream.
    public let stream: String
    /// Its events with seq ≤ the last seq known at T1.
    public let known: [RecordedEvent]
    /// Its events recorded after T1 and at or before T2, with their types.
    public let late: [(event: RecordedEvent, type: String)]

    /// The revision of `stream`: `known` and `late`, each in seq order.
    public init(stream: String, known: [RecordedEvent], late: [(event: RecordedEvent, type: String)]) {
        self.stream = stream
        self.known = known
        self.late = late
    }
}

/// One number of the KPI document that differs between T1 and T2, with the
/// late events that changed it.
public struct RestatedFigure: Equatable, Sendable {
    /// Where the number sits.
    public let place: FigurePlace
    /// What was known at T1.
    public let before: FigureNumber
    /// What was known at T2.
    public let after: FigureNumber
    /// The late events that changed it, in seq order.
    public let events: [LateEvent]
}

/// What changed in the KPI figures of one as-of date D between what the ledger
/// knew at T1 and what it knew at T2 (T1 < T2), and which late-recorded events
/// (recorded after T1, at or before T2) changed each figure.
///
/// Which figures changed comes from the two KPI documents themselves, compared
/// number by number (a number the document leaves out is zero). Which events
/// changed them comes from the fold being a sum over streams: every integer of
/// the document (a count, numerator, denominator, breakdown key, unit figure)
/// is the sum of each stream's contribution, and a stream's contribution is
/// the figures of a fold of that stream alone. For each stream with late
/// events, its contribution is computed from its events known at T1, then again
/// after each of its late events in seq order. A late event is named against a
/// number when
/// - the stream's contribution to that number differs at T2 from T1, and
/// - applying the event changed that contribution, after the last point of the
///   replay where the contribution stood at its T1 value (so an event whose
///   effect a later late event of the stream undid is not named).
/// A rate's value is named with the events named against its numerator and
/// denominator (none from one that did not change); an index with those of
/// the district values of its KPIs whose score changed.
/// Every changed number names at least one event, and the streams named
/// against an integer are exactly those whose contribution to it changed.
public struct Restatement: Equatable, Sendable {
    /// The as-of date D.
    public let asOf: LocalDate
    /// T1, the earlier instant.
    public let knownBefore: Instant
    /// T2, the later instant.
    public let knownAfter: Instant
    /// The last seq known at T1.
    public let throughSeqBefore: Int64
    /// The last seq known at T2.
    public let throughSeqAfter: Int64
    /// Every number that differs, in `FigurePlace`'s order.
    public let changes: [RestatedFigure]

    /// The restatement between `before` (the document at T1) and `after` (at
    /// T2), both for the same as-of date, with the streams that late events
    /// touched. Both documents carry their known-at instant. `unitOrder` lists
    /// the unit codes in the order of `seeds/units.json`.
    public init(
        before: KPIDocument, after: KPIDocument, revisions: [StreamRevision], unitOrder: [String]
    ) {
        precondition(before.asOf == after.asOf, "both documents are for the same as-of date")
        guard let knownBefore = before.knownAt, let knownAfter = after.knownAt else {
            preconditionFailure("both documents say what the ledger knew at")
        }
        asOf = before.asOf
        self.knownBefore = knownBefore
        self.knownAfter = knownAfter
        throughSeqBefore = before.throughSeq
        throughSeqAfter = after.throughSeq

        let old = Restatement.numbers(of: before)
        let new = Restatement.numbers(of: after)
        var changed: [FigurePlace: (before: FigureNumber, after: FigureNumber)] = [:]
        for place in Set(old.keys).union(new.keys) {
            let was = old[place] ?? place.absent
            let now = new[place] ?? place.absent
            if was != now { changed[place] = (was, now) }
        }

        // The late events behind each changed sum, stream by stream.
        var named: [FigurePlace: Set<LateEvent>] = [:]
        for revision in revisions {
            for (place, events) in Restatement.attribution(of: revision, asOf: before.asOf)
            where changed[place] != nil {
                named[place, default: []].formUnion(events)
            }
        }
        func events(of place: FigurePlace) -> Set<LateEvent> {
            switch place.field {
            case .part(.value) where !place.isSum:
                // A rate's value moves with its numerator and denominator.
                return (named[FigurePlace(place.subject, unit: place.unit, .part(.numerator))] ?? [])
                    .union(named[FigurePlace(place.subject, unit: place.unit, .part(.denominator))] ?? [])
            case .index:
                guard case .index(let index) = place.subject else { return [] }
                let was = before.index(index).members
                let now = after.index(index).members
                var union: Set<LateEvent> = []
                for (old, new) in zip(was, now) where old.score != new.score {
                    union.formUnion(events(of: FigurePlace(.kpi(old.kpi), unit: nil, .part(.value))))
                }
                return union
            default:
                return named[place] ?? []
            }
        }

        let unitRanks = Dictionary(unitOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let rank: (String) -> (Int, String) = { code in
            unitRanks[code].map { ($0, "") } ?? (unitOrder.count, code)
        }
        changes = changed.map { place, numbers in
            (
                key: place.sortKey(unitRank: rank),
                change: RestatedFigure(
                    place: place, before: numbers.before, after: numbers.after,
                    events: events(of: place).sorted { $0.seq < $1.seq })
            )
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.change)
    }

    /// Every number of `document`, by place; breakdown and unit keys the
    /// document leaves out (all zero) are left out here too.
    public static func numbers(of document: KPIDocument) -> [FigurePlace: FigureNumber] {
        var numbers = sums(of: document.figures).mapValues(FigureNumber.integer)
        for result in document.figures.results where result.kpi.kind == .rate {
            numbers[FigurePlace(.kpi(result.kpi), unit: nil, .part(.value))] = .rate(result.district)
        }
        for index in document.indices {
            numbers[FigurePlace(.index(index.index), unit: nil, .index)] = .real(index.value)
        }
        return numbers
    }

    /// The integers of `figures` (every number but a rate's value and the
    /// indices), by place; zero entries of the breakdowns are left out.
    static func sums(of figures: KPIFigures) -> [FigurePlace: Int64] {
        var sums: [FigurePlace: Int64] = [:]
        for result in figures.results {
            let subject = FigurePlace.Subject.kpi(result.kpi)
            func put(_ figure: Figure, unit: String?) {
                if let denominator = figure.denominator {
                    sums[FigurePlace(subject, unit: unit, .part(.numerator))] = figure.numerator
                    sums[FigurePlace(subject, unit: unit, .part(.denominator))] = denominator
                } else {
                    sums[FigurePlace(subject, unit: unit, .part(.value))] = figure.numerator
                }
            }
            put(result.district, unit: nil)
            for (unit, figure) in result.byUnit { put(figure, unit: unit) }
            for breakdown in result.kpi.breakdowns {
                for (key, figure) in result.breakdown(breakdown) {
                    if let denominator = figure.denominator {
                        sums[FigurePlace(subject, unit: nil, .breakdown(breakdown, key: key, part: .numerator))] =
                            figure.numerator
                        sums[FigurePlace(subject, unit: nil, .breakdown(breakdown, key: key, part: .denominator))] =
                            denominator
                    } else {
                        sums[FigurePlace(subject, unit: nil, .breakdown(breakdown, key: key, part: nil))] =
                            figure.numerator
                    }
                }
            }
            if let partyMember = result.partyMember {
                sums[FigurePlace(subject, unit: nil, .partyMember)] = partyMember
            }
        }
        return sums.filter { $0.value != 0 }
    }

    /// The late events of one stream named against each number its
    /// contribution changed (see the type's description): the stream's facts
    /// at T1 are folded, then its late events one at a time, and the
    /// contribution after each step is compared with the one before.
    ///
    /// An event dated after D is in no effective history at D (kpis.md), so
    /// the step it makes is taken to leave the contribution as it was, without
    /// computing the figures again: a stream costs one figure computation,
    /// plus one per late event dated on or before D.
    static func attribution(of revision: StreamRevision, asOf day: LocalDate) -> [FigurePlace: [LateEvent]] {
        guard !revision.late.isEmpty else { return [:] }
        var fold = KPIProjection(revision.known)
        var steps = [sums(of: fold.figures(asOf: day))]
        for late in revision.late {
            fold.apply(late.event)
            if late.event.occurredAt > day {
                steps.append(steps[steps.count - 1])
            } else {
                steps.append(sums(of: fold.figures(asOf: day)))
            }
        }
        let initial = steps[0]
        let final = steps[steps.count - 1]
        var places = Set(initial.keys).union(final.keys)
        for step in steps { places.formUnion(step.keys) }

        var named: [FigurePlace: [LateEvent]] = [:]
        for place in places {
            let start = initial[place] ?? 0
            guard (final[place] ?? 0) != start else { continue }
            // The last step at which the contribution stood where it started.
            let lastAtStart = steps.lastIndex { ($0[place] ?? 0) == start }!
            var events: [LateEvent] = []
            for step in (lastAtStart + 1)..<steps.count where (steps[step][place] ?? 0) != (steps[step - 1][place] ?? 0)
            {
                let late = revision.late[step - 1]
                events.append(
                    LateEvent(
                        seq: late.event.seq, stream: late.event.stream, type: late.type,
                        occurredAt: late.event.occurredAt, recordedAt: late.event.recordedAt))
            }
            named[place] = events
        }
        return named
    }

    /// The restatement as one line of JSON: `asOf`, `knownAt` [T1, T2],
    /// `throughSeq` [s1, s2], `changes`, each with `kpi` (a KPI's or an index's
    /// id), `unit` (null for the district), `field`, `before`, `after` and
    /// `events` (`seq`, `stream`, `type`, `occurredAt`, `recordedAt`), in the
    /// order of `changes`.
    public var json: String {
        var out: [UInt8] = []
        func key(_ name: String) {
            CanonicalJSON.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func comma() { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "{"))
        key("asOf")
        CanonicalJSON.write(.string(asOf.description), into: &out)
        comma()
        key("knownAt")
        CanonicalJSON.write(.array([.string(knownBefore.description), .string(knownAfter.description)]), into: &out)
        comma()
        key("throughSeq")
        CanonicalJSON.write(.array([.integer(throughSeqBefore), .integer(throughSeqAfter)]), into: &out)
        comma()
        key("changes")
        out.append(UInt8(ascii: "["))
        for (position, change) in changes.enumerated() {
            if position > 0 { comma() }
            out.append(UInt8(ascii: "{"))
            key("kpi")
            CanonicalJSON.writeString(change.place.subject.id, into: &out)
            comma()
            key("unit")
            CanonicalJSON.write(change.place.unit.map(JSONValue.string) ?? .null, into: &out)
            comma()
            key("field")
            CanonicalJSON.writeString(change.place.field.name, into: &out)
            comma()
            key("before")
            CanonicalJSON.write(change.before.json, into: &out)
            comma()
            key("after")
            CanonicalJSON.write(change.after.json, into: &out)
            comma()
            key("events")
            out.append(UInt8(ascii: "["))
            for (index, event) in change.events.enumerated() {
                if index > 0 { comma() }
                out.append(UInt8(ascii: "{"))
                key("seq")
                CanonicalJSON.writeInteger(event.seq, into: &out)
                comma()
                key("stream")
                CanonicalJSON.writeString(event.stream, into: &out)
                comma()
                key("type")
                CanonicalJSON.writeString(event.type, into: &out)
                comma()
                key("occurredAt")
                CanonicalJSON.writeString(event.occurredAt.description, into: &out)
                comma()
                key("recordedAt")
                CanonicalJSON.writeString(event.recordedAt.description, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension KPIReport {
    /// The restatement of the figures as of `asOf` between what the ledger knew
    /// at `before` (T1) and at `after` (T2); T1 must be earlier than T2.
    ///
    /// Reads the two seqs known at T1 and T2 and the streams of the records
    /// between them in one read transaction, then each such stream's history
    /// through T2, and the two folds (`projection(within:)`) through those seqs.
    public func restatement(asOf: LocalDate, knownAt before: Instant, _ after: Instant) throws -> Restatement {
        guard before < after else {
            throw AppError.usage(
                "--known-at: the first instant (T1, \(before)) must be earlier than the second (T2, \(after))")
        }
        var seqs: (before: Int64, after: Int64) = (0, 0)
        var streams: [String] = []
        try ledger.log.readingProjections { access in
            seqs = (
                try KPIReport.lastSeq(within: .knownAt(before), access),
                try KPIReport.lastSeq(within: .knownAt(after), access)
            )
            var seen = Set<String>()
            try access.forEachRecord(from: seqs.before + 1, through: seqs.after) { seq, canonical in
                guard let view = RecordView(seq: seq, canonical: canonical) else {
                    throw LedgerError.damaged(seq: seq, reason: "the stored record is not a well-formed chained record")
                }
                let stream = String(decoding: view.stream, as: UTF8.self)
                if seen.insert(stream).inserted { streams.append(stream) }
            }
        }
        var revisions: [StreamRevision] = []
        revisions.reserveCapacity(streams.count)
        for stream in streams {
            var known: [RecordedEvent] = []
            var late: [(event: RecordedEvent, type: String)] = []
            for entry in try ledger.log.history(of: stream) where entry.record.seq <= seqs.after {
                let record = entry.record
                let event = try KPIReport.recordedEvent(record, units: ledger.units)
                if record.seq <= seqs.before { known.append(event) } else { late.append((event, record.type)) }
            }
            revisions.append(StreamRevision(stream: stream, known: known, late: late))
        }
        let documents = try [(before, seqs.before), (after, seqs.after)].map { instant, seq in
            KPIDocument(
                figures: try projection(within: .throughSeq(seq)).figures(asOf: asOf), knownAt: instant,
                catalogue: catalogue)
        }
        let unitOrder = try KPIReport.loadUnitLabels().map(\.code)
        return Restatement(before: documents[0], after: documents[1], revisions: revisions, unitOrder: unitOrder)
    }

    /// What the fold reads of a record the stream index gave, decoded from its
    /// already parsed `data` (the log's replay decodes the stored bytes instead).
    static func recordedEvent(_ record: LedgerRecord, units: UnitDirectory) throws -> RecordedEvent {
        guard let type = EventType.named(record.type) else {
            throw LedgerError.damaged(seq: record.seq, reason: "the stored type \(record.type) is not in the catalogue")
        }
        let context = FieldReader.Context(type: type, occurredAt: record.occurredAt, units: units)
        switch Payload.read(record.data, context: context) {
        case .success(let payload):
            return RecordedEvent(
                seq: record.seq, stream: record.stream, occurredAt: record.occurredAt, recordedAt: record.recordedAt,
                orgUnit: record.orgUnit, payload: payload)
        case .failure(let errors):
            throw LedgerError.damaged(
                seq: record.seq,
                reason: "the stored data does not read: " + errors.all.map(\.description).joined(separator: "; "))
        }
    }
}

import Dispatch
import LedgerDomain
import LedgerValues

// The snapshot of the KPI fold, version 1.
//
//     "SLKP" 0x01                     tag and version
//     throughSeq                      signed
//     lastRecordedAt                  0, or 1 then the milliseconds (signed)
//     units, workers                  count, then each name in the order of its number
//     length of the persons section   in bytes, so that it can be read beside the rest
//     persons, cases, calls,          count, then each stream in the order of its name's
//     projects, volunteers, rights    UTF-8 bytes: the name, then its facts (below)
//     adoptions, legalEducation       count, then each (day, unit) in order: the day
//                                     (the first signed, each next as days after the
//                                     one before), the unit, the amount (signed)
//     volunteerMinutes                likewise, keyed (day, unit, alliance, party member)
//
// Numbers are LEB128 varints, written in as few bytes as they need; "signed" is
// zigzag first. A string is its UTF-8 length, then its bytes. A date is signed:
// its day number for the first date of a stream's facts, and the others as days
// after that one; an optional date is 0 when absent, else 1 + the zigzag of the
// days. A timeline is its count, then each entry's date and value in order.
//
//     person     registered, birth year and month-day (signed), deregistered?,
//                residence (unit), category (code), assessment (bits: 1 can work,
//                2 needs rehabilitation, 4 needs a device), employments (count,
//                then id, start, end? counted from the start), rehabilitation,
//                devices, home modifications, health checks (count, dates),
//                family doctor, care (timelines of 0 or 1), smart-skills trainings
//                (count, dates)
//     case       opened, service type (code), closed?, assignment (worker, unit)
//     call       received, unit, bits (1 online, 2 satisfied), resolved?
//     project    launched, unit, eliminated?, evaluations (count, then year
//                (signed) and date)
//     volunteer  alliance (code), party member (0 or 1)
//     rights     opened, unit, closed?
//
// The codes of the enumerations are fixed below, independent of the order of
// their cases. Reading refuses what would leave two readings of the same state
// or a fold that cannot answer: numbers written longer than they need, names
// or keys out of order or twice, flags and codes out of range, unit and worker
// numbers beyond their tables, timelines out of date order, two first dates
// of one year, a person without residence and category at registration, a
// case without an assignment at its opening. So whatever reads writes back to
// the same bytes.

/// The tag that starts every snapshot of the KPI fold.
private let snapshotTag: [UInt8] = [0x53, 0x4C, 0x4B, 0x50]  // "SLKP"
/// The version of the snapshot's form written and read by this build.
private let snapshotVersion: UInt8 = 1

/// Why bytes could not be read as a snapshot of the KPI fold: what is wrong, and where.
public struct SnapshotError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kinds of fault a snapshot can have.
    public enum Fault: Equatable, Sendable {
        /// The bytes do not start with the tag of a KPI snapshot.
        case notASnapshot
        /// The version byte names a form that this build does not read.
        case unsupportedVersion(UInt8)
        /// The bytes end before the snapshot does.
        case truncated
        /// A code that no value of its enumeration (or flag) has.
        case unknownValue
        /// Bytes that no fold writes: a number out of range or written too long,
        /// names or keys out of order or twice, a date out of order, text that is not UTF-8.
        case malformed
        /// Bytes left over after the snapshot's end (how many).
        case trailingBytes(Int)
    }

    /// What is wrong.
    public let fault: Fault
    /// The position of the byte at which the fault was found.
    public let offset: Int
    /// What was being read: `header`, `units`, `persons`, `adoptions`….
    public let section: String
    /// The stream whose facts were being read, if any.
    public internal(set) var stream: String?
    /// The fault in words, e.g. "disability category code 9".
    public let detail: String

    init(fault: Fault, offset: Int, section: String, detail: String) {
        self.fault = fault
        self.offset = offset
        self.section = section
        self.detail = detail
    }

    /// The fault, the byte, and the section and stream being read.
    public var description: String {
        let place = stream.map { "\(section), \($0)" } ?? section
        return "KPI snapshot: \(detail) at byte \(offset) (\(place))"
    }
}

extension KPIProjection {
    /// Sorts the names of the streams folded since this was last called, and
    /// keeps the order: `snapshot()` writes names in that order, and would
    /// otherwise sort every name of the fold every time. Changes no figure and
    /// no byte of a snapshot; a fold that takes snapshots as it goes calls it
    /// before each.
    public mutating func orderStreamNames() {
        persons.orderNames()
        cases.orderNames()
        calls.orderNames()
        projects.orderNames()
        volunteers.orderNames()
        rights.orderNames()
    }

    /// The fold's state as bytes: the same state always gives the same bytes
    /// (streams and sums written in sorted key order), so two folds can be compared
    /// and hashed by their snapshots. Starts with a format tag and version byte.
    public func snapshot() -> [UInt8] {
        let parts = snapshotParts()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { bytes += part }
        return bytes
    }

    /// `snapshot()` in the parts it is written in, to be taken one after
    /// another: the same bytes, without the copy that joins them, for a
    /// caller that hashes and stores them part by part (an import's
    /// snapshots, which a large fold would otherwise hold twice).
    public func snapshotParts() -> [[UInt8]] {
        var head = SnapshotWriter(capacity: 64 + namesSize)
        head.bytes.append(contentsOf: snapshotTag)
        head.bytes.append(snapshotVersion)
        head.signed(throughSeq)
        if let lastRecordedAt {
            head.bytes.append(1)
            head.signed(lastRecordedAt.milliseconds)
        } else {
            head.bytes.append(0)
        }
        head.names(units)
        head.names(workers)
        // The persons, about half the bytes, are written on another core meanwhile.
        let persons = self.persons
        let personsPart = Background {
            var part = SnapshotWriter(capacity: persons.count * 110)
            part.streams(persons, kind: .person) { $0.person($1) }
            return part.bytes
        }
        var rest = SnapshotWriter(capacity: estimatedSnapshotSize - persons.count * 100)
        rest.streams(cases, kind: .case) { $0.case($1) }
        rest.streams(calls, kind: .call) { $0.call($1) }
        rest.streams(projects, kind: .project) { $0.project($1) }
        rest.streams(volunteers, kind: .volunteer) { $0.volunteer($1) }
        rest.streams(rights, kind: .rights) { $0.rights($1) }
        rest.sums(adoptions)
        rest.sums(legalEducation)
        rest.minutes(volunteerMinutes)
        let personsBytes = personsPart.value()
        head.count(personsBytes.count)
        return [head.bytes, personsBytes, rest.bytes]
    }

    /// Reads a snapshot written by `snapshot()`. Throws `SnapshotError` naming
    /// what is wrong (bad tag/version, truncated, unknown enumeration value, trailing bytes).
    public init(snapshot: UnsafeRawBufferPointer) throws(SnapshotError) {
        guard let address = snapshot.baseAddress, !snapshot.isEmpty else {
            throw SnapshotError(fault: .truncated, offset: 0, section: "header", detail: "no bytes at all")
        }
        var reader = SnapshotReader(address.assumingMemoryBound(to: UInt8.self), count: snapshot.count)
        try reader.header()
        let throughSeq = try reader.signed()
        let lastRecordedAt: Instant? =
            switch try reader.byte() {
            case 0: nil
            case 1: Instant(milliseconds: try reader.signed())
            case let flag: throw reader.error(.unknownValue, "presence flag \(flag) of lastRecordedAt", back: 1)
            }
        self.init(throughSeq: throughSeq, lastRecordedAt: lastRecordedAt)
        reader.section = "units"
        units = try reader.names()
        reader.units = units.names.count
        reader.section = "workers"
        workers = try reader.names()
        reader.workers = workers.names.count
        reader.section = "persons"
        let personsLength = try reader.count()
        guard personsLength <= reader.end - reader.position else { throw reader.truncated }
        // The persons are read on another core while this one reads the rest.
        var personsSection = reader
        personsSection.end = reader.position + personsLength
        let personsReader = personsSection
        let personsPart = Background { () -> Result<StreamTable<PersonFacts>, SnapshotError> in
            var part = personsReader
            return Result { () throws(SnapshotError) in
                let persons = try part.streams(kind: .person) { reader throws(SnapshotError) in try reader.person() }
                try part.finish()
                return persons
            }
        }
        reader.position += personsLength
        defer { _ = personsPart.value() }
        reader.section = "cases"
        cases = try reader.streams(kind: .case) { reader throws(SnapshotError) in try reader.case() }
        reader.section = "calls"
        calls = try reader.streams(kind: .call) { reader throws(SnapshotError) in try reader.call() }
        reader.section = "projects"
        projects = try reader.streams(kind: .project) { reader throws(SnapshotError) in try reader.project() }
        reader.section = "volunteers"
        volunteers = try reader.streams(kind: .volunteer) { reader throws(SnapshotError) in try reader.volunteer() }
        reader.section = "rights"
        rights = try reader.streams(kind: .rights) { reader throws(SnapshotError) in try reader.rights() }
        reader.section = "adoptions"
        adoptions = try reader.sums()
        reader.section = "legalEducation"
        legalEducation = try reader.sums()
        reader.section = "volunteerMinutes"
        volunteerMinutes = try reader.minutes()
        reader.section = "end"
        try reader.finish()
        persons = try personsPart.value().get()
    }

    /// The seq a snapshot's fold has reached, read from its header alone.
    public static func throughSeq(ofSnapshot snapshot: UnsafeRawBufferPointer) throws(SnapshotError) -> Int64 {
        guard let address = snapshot.baseAddress, !snapshot.isEmpty else {
            throw SnapshotError(fault: .truncated, offset: 0, section: "header", detail: "no bytes at all")
        }
        var reader = SnapshotReader(address.assumingMemoryBound(to: UInt8.self), count: snapshot.count)
        try reader.header()
        return try reader.signed()
    }

    /// Reads a snapshot written by `snapshot()` from `bytes`. Throws as `init(snapshot:)`
    /// for a buffer.
    public init(snapshot bytes: [UInt8]) throws(SnapshotError) {
        let read = bytes.withUnsafeBytes { buffer in
            Result { () throws(SnapshotError) in try KPIProjection(snapshot: buffer) }
        }
        self = try read.get()
    }

    /// What differs between two folds, in words, at most `limit` lines
    /// (e.g. "person-P000123: facts differ", "stream case-C9 only in the first",
    /// "adoptions on 2024-03-01 in unit 3: 500 against 700", "throughSeq 10 against 12").
    /// Empty when the snapshots are equal.
    public func differences(from other: KPIProjection, limit: Int = 20) -> [String] {
        var report = DifferenceReport(limit: limit, units: units)
        if throughSeq != other.throughSeq { report.add("throughSeq \(throughSeq) against \(other.throughSeq)") }
        if lastRecordedAt != other.lastRecordedAt {
            report.add(
                "lastRecordedAt \(lastRecordedAt?.description ?? "none") against \(other.lastRecordedAt?.description ?? "none")"
            )
        }
        report.names("unit", units, other.units)
        report.names("worker", workers, other.workers)
        report.streams(persons, other.persons, kind: .person, parts: PersonFacts.differingParts)
        report.streams(cases, other.cases, kind: .case, parts: CaseFacts.differingParts)
        report.streams(calls, other.calls, kind: .call, parts: CallFacts.differingParts)
        report.streams(projects, other.projects, kind: .project, parts: ProjectFacts.differingParts)
        report.streams(volunteers, other.volunteers, kind: .volunteer, parts: VolunteerFacts.differingParts)
        report.streams(rights, other.rights, kind: .rights, parts: RightsFacts.differingParts)
        report.sums("adoptions", adoptions, other.adoptions)
        report.sums("legal education attendees", legalEducation, other.legalEducation)
        report.minutes(volunteerMinutes, other.volunteerMinutes)
        return report.lines
    }

    /// About the bytes of the units' and workers' names.
    private var namesSize: Int { (units.names + workers.names).reduce(0) { $0 + 2 + $1.utf8.count } }

    /// Room for the snapshot, so that writing it seldom grows the array: the
    /// sizes seen in a synthetic district of ten years, and an eighth more.
    private var estimatedSnapshotSize: Int {
        let names = namesSize
        let streams =
            persons.count * 100 + cases.count * 28 + calls.count * 26 + projects.count * 48 + volunteers.count * 20
            + rights.count * 24
        let sums = (adoptions.count + legalEducation.count + volunteerMinutes.count) * 8
        return 64 + names + (streams + sums) * 9 / 8
    }
}

// MARK: - Codes of the enumerations

extension DisabilityCategory {
    /// The category's code in a snapshot, and in a person's facts.
    var snapshotCode: UInt8 {
        switch self {
        case .visual: 0
        case .hearing: 1
        case .speech: 2
        case .physical: 3
        case .intellectual: 4
        case .mental: 5
        case .multiple: 6
        }
    }

    /// The category of `code`, if any.
    init?(snapshotCode code: UInt8) {
        switch code {
        case 0: self = .visual
        case 1: self = .hearing
        case 2: self = .speech
        case 3: self = .physical
        case 4: self = .intellectual
        case 5: self = .mental
        case 6: self = .multiple
        default: return nil
        }
    }
}

extension CaseServiceType {
    /// The service type's code in a snapshot.
    fileprivate var snapshotCode: UInt8 {
        switch self {
        case .rehab: 0
        case .employment: 1
        case .assistiveDevice: 2
        case .homeModification: 3
        case .care: 4
        case .rights: 5
        case .other: 6
        }
    }

    /// The service type of `code`, if any.
    fileprivate init?(snapshotCode code: UInt8) {
        switch code {
        case 0: self = .rehab
        case 1: self = .employment
        case 2: self = .assistiveDevice
        case 3: self = .homeModification
        case 4: self = .care
        case 5: self = .rights
        case 6: self = .other
        default: return nil
        }
    }
}

extension Alliance {
    /// The alliance's code in a snapshot.
    fileprivate var snapshotCode: UInt8 {
        switch self {
        case .jiading: 0
        case .kunshan: 1
        case .taicang: 2
        }
    }

    /// The alliance of `code`, if any.
    fileprivate init?(snapshotCode code: UInt8) {
        switch code {
        case 0: self = .jiading
        case 1: self = .kunshan
        case 2: self = .taicang
        default: return nil
        }
    }
}

// MARK: - Writing

/// The zigzag form of `value`: small magnitudes, either sign, give small numbers.
@inline(__always)
private func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

/// Writes the parts of a snapshot into one growing array.
/// How many streams ahead a snapshot's writer asks for a stream's facts,
/// and for what they point to (a person's dated facts).
private enum SnapshotLookahead {
    static let facts = 8
    static let inner = 4
}

private struct SnapshotWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    mutating func unsigned(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func unsigned(_ value: UInt32) { unsigned(UInt64(value)) }

    @inline(__always)
    mutating func count(_ value: Int) { unsigned(UInt64(value)) }

    @inline(__always)
    mutating func signed(_ value: Int64) { unsigned(zigzag(value)) }

    mutating func string(_ text: String) {
        count(text.utf8.count)
        bytes.append(contentsOf: text.utf8)
    }

    @inline(__always)
    mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A date on its own: its day number.
    @inline(__always)
    mutating func date(_ day: LocalDate) { signed(Int64(day.dayNumber)) }

    /// A date as the days after `anchor` (negative if before).
    @inline(__always)
    mutating func date(_ day: LocalDate, from anchor: LocalDate) {
        signed(Int64(day.dayNumber) - Int64(anchor.dayNumber))
    }

    @inline(__always)
    mutating func optionalDate(_ day: LocalDate?, from anchor: LocalDate) {
        guard let day else { return bytes.append(0) }
        unsigned(zigzag(Int64(day.dayNumber) - Int64(anchor.dayNumber)) + 1)
    }

    mutating func timeline<Value>(
        _ timeline: Timeline<Value>, from anchor: LocalDate, _ value: (inout SnapshotWriter, Value) -> Void
    ) {
        count(timeline.count)
        timeline.forEach { entry in
            date(entry.date, from: anchor)
            value(&self, entry.value)
        }
    }

    mutating func names(_ names: Names) {
        count(names.names.count)
        for name in names.names { string(name) }
    }

    /// Writes a table of streams of `kind` in the order of their names, each
    /// name written whole (the table keeps it without the kind: the order is the same).
    mutating func streams<Facts>(
        _ streams: StreamTable<Facts>, kind: StreamKind,
        _ facts: (inout SnapshotWriter, borrowing Facts) -> Void
    ) {
        count(streams.count)
        let names = streams.names
        let prefix = Array(kind.streamName("").utf8)
        let order = streams.placesInNameOrder()
        for (index, place) in order.enumerated() {
            // The facts lie in the order first seen, and are written in the
            // order of names: each a cache miss, asked for some streams ahead.
            if index + SnapshotLookahead.facts < order.count {
                streams.prefetchFacts(at: Int(order[index + SnapshotLookahead.facts]))
            }
            if index + SnapshotLookahead.inner < order.count {
                streams.prefetchInner(at: Int(order[index + SnapshotLookahead.inner]))
            }
            let name = names[Int(place)].utf8
            count(prefix.count + name.count)
            bytes.append(contentsOf: prefix)
            bytes.append(contentsOf: name)
            streams.withFacts(at: Int(place)) { facts(&self, $0) }
        }
    }

    mutating func person(_ person: PersonFacts) {
        let anchor = person.registered
        date(anchor)
        signed(Int64(person.birth.year))
        signed(Int64(person.birth.monthDay))
        optionalDate(person.deregistered, from: anchor)
        // One pass over the facts: they are grouped in the order written.
        let dated = person.dated
        var next = 0
        for number in PersonFactKind.residence.rawValue...PersonFactKind.smartTraining.rawValue {
            let kind = PersonFactKind(rawValue: number)!
            if kind == .rehab {
                count(person.employments.count)
                for employment in person.employments {
                    string(employment.id)
                    date(employment.start, from: anchor)
                    optionalDate(employment.end, from: employment.start)
                }
            }
            let start = next
            while next < dated.count && dated[next].kindNumber == number { next += 1 }
            count(next - start)
            for place in start..<next {
                let fact = dated[place]
                date(fact.date, from: anchor)
                switch kind {
                case .residence: unsigned(fact.value)
                // Codes and bits below 256, kept as they are written.
                case .category, .assessment: bytes.append(UInt8(fact.value))
                case .familyDoctor, .care: flag(fact.value == 1)
                case .rehab, .device, .homeModification, .healthCheck, .smartTraining: break
                }
            }
        }
    }

    mutating func `case`(_ facts: CaseFacts) {
        date(facts.opened)
        bytes.append(facts.serviceType.snapshotCode)
        optionalDate(facts.closed, from: facts.opened)
        timeline(facts.assignment, from: facts.opened) {
            $0.unsigned($1.worker)
            $0.unsigned($1.unit)
        }
    }

    mutating func call(_ call: CallFacts) {
        date(call.received)
        unsigned(call.unit)
        let bits: UInt8 = (call.online ? 1 : 0) | (call.satisfied ? 2 : 0)
        bytes.append(bits)
        optionalDate(call.resolved, from: call.received)
    }

    mutating func project(_ project: ProjectFacts) {
        date(project.launched)
        unsigned(project.unit)
        optionalDate(project.eliminated, from: project.launched)
        count(project.evaluations.count)
        for evaluation in project.evaluations {
            signed(evaluation.year)
            date(evaluation.date, from: project.launched)
        }
    }

    mutating func volunteer(_ volunteer: VolunteerFacts) {
        bytes.append(volunteer.alliance.snapshotCode)
        flag(volunteer.partyMember)
    }

    mutating func rights(_ rights: RightsFacts) {
        date(rights.opened)
        unsigned(rights.unit)
        optionalDate(rights.closed, from: rights.opened)
    }

    /// A day of a sorted list of sums: the first on its own, the others as the days after the one before.
    @inline(__always)
    mutating func sumDay(_ day: LocalDate, after previous: LocalDate?) {
        if let previous { unsigned(UInt64(Int64(day.dayNumber) - Int64(previous.dayNumber))) } else { date(day) }
    }

    mutating func sums(_ sums: [DayAndUnit: Int64]) {
        count(sums.count)
        var previous: LocalDate?
        for (key, amount) in sums.sorted(by: { ($0.key.day, $0.key.unit) < ($1.key.day, $1.key.unit) }) {
            sumDay(key.day, after: previous)
            unsigned(key.unit)
            signed(amount)
            previous = key.day
        }
    }

    mutating func minutes(_ minutes: [MinutesKey: Int64]) {
        count(minutes.count)
        var previous: LocalDate?
        let ordered = minutes.map { (order: $0.key.snapshotOrder, key: $0.key, logged: $0.value) }
        for (_, key, logged) in ordered.sorted(by: { $0.order < $1.order }) {
            sumDay(key.day, after: previous)
            unsigned(key.unit)
            bytes.append(key.alliance.snapshotCode)
            flag(key.partyMember)
            signed(logged)
            previous = key.day
        }
    }
}

extension MinutesKey {
    /// The key's place in a snapshot: by day, unit, alliance, then non-members before members.
    fileprivate var snapshotOrder: (Int32, UInt32, UInt8, UInt8) {
        (day.dayNumber, unit, alliance.snapshotCode, partyMember ? 1 : 0)
    }
}

// MARK: - Reading

/// Reads the parts of a snapshot from a buffer, checking each as it goes.
private struct SnapshotReader: @unchecked Sendable {
    let base: UnsafePointer<UInt8>
    var end: Int
    var position = 0
    /// The section being read, for errors.
    var section: StaticString = "header"
    /// How many units and workers there are: every number of one must be below.
    var units = 0
    var workers = 0
    /// The dated facts of the person being read, gathered here before they
    /// are copied into an array of their own size.
    var personFacts: [DatedFact] = []

    init(_ base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        end = count
    }

    func error(_ fault: SnapshotError.Fault, _ detail: String, back: Int = 0) -> SnapshotError {
        SnapshotError(fault: fault, offset: position - back, section: section.description, detail: detail)
    }

    var truncated: SnapshotError { error(.truncated, "the bytes end (\(end) bytes)") }

    mutating func header() throws(SnapshotError) {
        for (offset, expected) in snapshotTag.enumerated() {
            guard position < end else { throw truncated }
            guard base[offset] == expected else {
                throw error(.notASnapshot, "no KPI snapshot tag (SLKP)")
            }
            position += 1
        }
        let version = try byte()
        guard version == snapshotVersion else {
            throw error(
                .unsupportedVersion(version), "version \(version), this build reads \(snapshotVersion)", back: 1)
        }
    }

    mutating func finish() throws(SnapshotError) {
        guard position == end else {
            throw error(.trailingBytes(end - position), "\(end - position) bytes after the snapshot's end")
        }
    }

    @inline(__always)
    mutating func byte() throws(SnapshotError) -> UInt8 {
        guard position < end else { throw truncated }
        defer { position += 1 }
        return base[position]
    }

    @inline(__always)
    mutating func unsigned() throws(SnapshotError) -> UInt64 {
        guard position < end else { throw truncated }
        let first = base[position]
        position += 1
        if first < 0x80 { return UInt64(first) }
        return try unsignedTail(first)
    }

    /// The rest of a number of more than one byte.
    mutating func unsignedTail(_ first: UInt8) throws(SnapshotError) -> UInt64 {
        var value = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < end else { throw truncated }
            let byte = base[position]
            position += 1
            if shift == 63 && byte > 1 { throw error(.malformed, "a number beyond 64 bits", back: 1) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                guard byte != 0 else { throw error(.malformed, "a number written longer than it needs", back: 1) }
                return value
            }
            shift += 7
        }
    }

    @inline(__always)
    mutating func signed() throws(SnapshotError) -> Int64 {
        let value = try unsigned()
        return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// A count of items each at least one byte long: beyond the bytes left, the snapshot is cut short.
    @inline(__always)
    mutating func count() throws(SnapshotError) -> Int {
        let value = try unsigned()
        guard value <= UInt64(end - position) else { throw truncated }
        return Int(value)
    }

    /// A number of `what` below `limit`.
    @inline(__always)
    mutating func number(below limit: Int, _ what: StaticString) throws(SnapshotError) -> UInt32 {
        let value = try unsigned()
        guard value < UInt64(limit) else {
            throw error(.malformed, "\(what) number \(value), of \(limit) \(what)s", back: 1)
        }
        return UInt32(value)
    }

    @inline(__always)
    mutating func unit() throws(SnapshotError) -> UInt32 { try number(below: units, "unit") }

    @inline(__always)
    mutating func flag(_ what: StaticString) throws(SnapshotError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let value: throw error(.unknownValue, "\(what) flag \(value)", back: 1)
        }
    }

    /// The next string, with where its bytes are.
    mutating func string() throws(SnapshotError) -> String {
        let span = try span()
        return try text(at: span.start, count: span.count)
    }

    /// Where the next counted run of bytes (a name) lies, stepping past it.
    mutating func span() throws(SnapshotError) -> (start: Int, count: Int) {
        let count = try count()
        defer { position += count }
        return (position, count)
    }

    /// The `count` bytes at `start` (already stepped past) as text: ASCII, as the
    /// ledger's names are, is UTF-8 as it stands; anything else is checked, and
    /// refused at `start`.
    func text(at start: Int, count: Int) throws(SnapshotError) -> String {
        let bytes = UnsafeBufferPointer(start: base + start, count: count)
        for byte in bytes where byte >= 0x80 {
            guard let valid = String(validating: bytes, as: UTF8.self) else {
                throw error(.malformed, "a name that is not UTF-8", back: position - start)
            }
            return valid
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the bytes at `a` come before those at `b`.
    func precedes(_ a: (start: Int, count: Int), _ b: (start: Int, count: Int)) -> Bool {
        let common = min(a.count, b.count)
        var offset = 0
        while offset < common {
            let x = base[a.start + offset]
            let y = base[b.start + offset]
            if x != y { return x < y }
            offset += 1
        }
        return a.count < b.count
    }

    @inline(__always)
    mutating func date() throws(SnapshotError) -> LocalDate {
        let days = try signed()
        guard let dayNumber = Int32(exactly: days) else { throw error(.malformed, "day number \(days)") }
        return LocalDate(dayNumber: dayNumber)
    }

    @inline(__always)
    mutating func date(from anchor: LocalDate) throws(SnapshotError) -> LocalDate {
        try date(days: try signed(), from: anchor)
    }

    @inline(__always)
    func date(days: Int64, from anchor: LocalDate) throws(SnapshotError) -> LocalDate {
        let (sum, overflow) = Int64(anchor.dayNumber).addingReportingOverflow(days)
        guard !overflow, let dayNumber = Int32(exactly: sum) else {
            throw error(.malformed, "\(days) days from \(anchor)")
        }
        return LocalDate(dayNumber: dayNumber)
    }

    @inline(__always)
    mutating func optionalDate(from anchor: LocalDate) throws(SnapshotError) -> LocalDate? {
        let value = try unsigned()
        guard value != 0 else { return nil }
        let days = value - 1
        return try date(days: Int64(bitPattern: (days >> 1) ^ (0 &- (days & 1))), from: anchor)
    }

    /// Reads a person's facts of `kind` (their count, then each one's date
    /// and, for a timeline, its value, read by `value`) into `personFacts`,
    /// after those of the kinds before: a timeline's dates must not go back,
    /// the first dates of the years must go forward, trainings may come in any order.
    mutating func facts(
        _ kind: PersonFactKind, from anchor: LocalDate,
        _ value: (inout SnapshotReader) throws(SnapshotError) -> UInt32 = { _ throws(SnapshotError) in 0 }
    ) throws(SnapshotError) {
        let count = try count()
        var last: LocalDate?
        for _ in 0..<count {
            let day = try date(from: anchor)
            if let last {
                if kind.isYearFirsts, last >= day {
                    throw error(.malformed, "the first dates of the years out of order")
                }
                if kind.isYearFirsts, last.year == day.year {
                    throw error(.malformed, "two first dates of the year \(day.year)")
                }
                if kind != .smartTraining, last > day { throw error(.malformed, "a timeline out of date order") }
            }
            last = day
            personFacts.append(DatedFact(kind, try value(&self), on: day))
        }
    }

    mutating func timeline<Value>(
        from anchor: LocalDate, _ value: (inout SnapshotReader) throws(SnapshotError) -> Value
    ) throws(SnapshotError) -> Timeline<Value> {
        let count = try count()
        var timeline = Timeline<Value>()
        var last: LocalDate?
        for _ in 0..<count {
            let day = try date(from: anchor)
            if let last, last > day { throw error(.malformed, "a timeline out of date order") }
            last = day
            timeline.append((day, try value(&self)))
        }
        return timeline
    }

    mutating func names() throws(SnapshotError) -> Names {
        let count = try count()
        var names: [String] = []
        names.reserveCapacity(count)
        for _ in 0..<count { names.append(try string()) }
        guard let table = Names(names: names) else { throw error(.malformed, "a name twice") }
        return table
    }

    /// Reads a table of streams of `kind`: every name must be of that kind,
    /// and is kept without it.
    mutating func streams<Facts>(
        kind: StreamKind, _ facts: (inout SnapshotReader) throws(SnapshotError) -> Facts
    ) throws(SnapshotError) -> StreamTable<Facts> {
        let count = try count()
        var streams = StreamTable<Facts>()
        // Room for these and no more: a fold read for figures gets no more
        // streams, and one that goes on folding grows as it needs.
        streams.reserveCapacity(count)
        var previous: (start: Int, count: Int)?
        // The names of a kind's streams all begin `<kind>-`; a stream is kept under the rest of its name.
        let prefix = Array(kind.streamName("").utf8)
        for _ in 0..<count {
            let (start, length) = try span()
            // The whole name, made only to be shown in an error.
            func name() -> String {
                String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self)
            }
            if let previous, !precedes(previous, (start, length)) {
                var unordered = error(.malformed, "a stream out of the order of names")
                unordered.stream = name()
                throw unordered
            }
            previous = (start, length)
            let ofKind =
                length > prefix.count
                && UnsafeBufferPointer(start: base + start, count: prefix.count).elementsEqual(prefix)
            guard ofKind else {
                var foreign = error(.malformed, "a stream that is not a \(kind.rawValue) stream")
                foreign.stream = name()
                throw foreign
            }
            let key = try text(at: start + prefix.count, count: length - prefix.count)
            let value: Facts
            do { value = try facts(&self) } catch {
                var named = error
                named.stream = name()
                throw named
            }
            // Names of distinct bytes are distinct streams, unless Unicode deems them the same.
            guard streams.put(consume value, for: TableKey(consume key)) else {
                var twice = error(.malformed, "a stream whose name Unicode deems the same as another's")
                twice.stream = name()
                throw twice
            }
        }
        // Each name was checked to follow the one before.
        streams.noteNamesAddedInOrder()
        return streams
    }

    mutating func person() throws(SnapshotError) -> PersonFacts {
        let anchor = try date()
        let year = try signed()
        let monthDay = try signed()
        guard let year = Int16(exactly: year), let monthDay = Int16(exactly: monthDay) else {
            throw error(.malformed, "birth \(year) \(monthDay)")
        }
        let deregistered = try optionalDate(from: anchor)
        personFacts.removeAll(keepingCapacity: true)
        try facts(.residence, from: anchor) { reader throws(SnapshotError) in try reader.unit() }
        try facts(.category, from: anchor) { reader throws(SnapshotError) in
            let code = try reader.byte()
            guard DisabilityCategory(snapshotCode: code) != nil else {
                throw reader.error(.unknownValue, "disability category code \(code)", back: 1)
            }
            return UInt32(code)
        }
        // The fold's figures read a residence and a category for every registered day.
        guard personFacts.contains(where: { $0.kindNumber == PersonFactKind.residence.rawValue && $0.date <= anchor }),
            personFacts.contains(where: { $0.kindNumber == PersonFactKind.category.rawValue && $0.date <= anchor })
        else { throw error(.malformed, "a person without residence or category at registration") }
        try facts(.assessment, from: anchor) { reader throws(SnapshotError) in
            let bits = try reader.byte()
            guard bits < 8 else { throw reader.error(.unknownValue, "assessment bits \(bits)", back: 1) }
            return UInt32(bits)
        }
        var employments: [Employment] = []
        let employmentCount = try count()
        if employmentCount > 0 {
            employments.reserveCapacity(employmentCount)
            for _ in 0..<employmentCount {
                let id = try string()
                let start = try date(from: anchor)
                employments.append(Employment(id: id, start: start, end: try optionalDate(from: start)))
            }
        }
        try facts(.rehab, from: anchor)
        try facts(.device, from: anchor)
        try facts(.homeModification, from: anchor)
        try facts(.healthCheck, from: anchor)
        try facts(.familyDoctor, from: anchor) { reader throws(SnapshotError) in
            try reader.flag("family doctor") ? 1 : 0
        }
        try facts(.care, from: anchor) { reader throws(SnapshotError) in try reader.flag("care") ? 1 : 0 }
        try facts(.smartTraining, from: anchor)
        // The person's own array, of the facts' size.
        return PersonFacts(
            registered: anchor, birth: Birth(year: year, monthDay: monthDay), deregistered: deregistered,
            dated: Array(personFacts), employments: employments)
    }

    mutating func `case`() throws(SnapshotError) -> CaseFacts {
        let opened = try date()
        let code = try byte()
        guard let serviceType = CaseServiceType(snapshotCode: code) else {
            throw error(.unknownValue, "service type code \(code)", back: 1)
        }
        let closed = try optionalDate(from: opened)
        let assignment = try timeline(from: opened) { reader throws(SnapshotError) in
            let worker = try reader.number(below: reader.workers, "worker")
            return Assignment(worker: worker, unit: try reader.unit())
        }
        // The caseload reads a worker and unit for every day the case is open.
        guard let first = assignment.earliest, first.date <= opened else {
            throw error(.malformed, "a case without an assignment at its opening")
        }
        return CaseFacts(opened: opened, serviceType: serviceType, closed: closed, assignment: assignment)
    }

    mutating func call() throws(SnapshotError) -> CallFacts {
        let received = try date()
        let unit = try unit()
        let bits = try byte()
        guard bits < 4 else { throw error(.unknownValue, "call bits \(bits)", back: 1) }
        return CallFacts(
            received: received, unit: unit, online: bits & 1 != 0, resolved: try optionalDate(from: received),
            satisfied: bits & 2 != 0)
    }

    mutating func project() throws(SnapshotError) -> ProjectFacts {
        let launched = try date()
        var project = ProjectFacts(launched: launched, unit: try unit())
        project.eliminated = try optionalDate(from: launched)
        let evaluations = try count()
        if evaluations > 0 {
            project.evaluations.reserveCapacity(evaluations)
            for _ in 0..<evaluations {
                let year = try signed()
                project.evaluations.append((year, try date(from: launched)))
            }
        }
        return project
    }

    mutating func volunteer() throws(SnapshotError) -> VolunteerFacts {
        let alliance = try alliance()
        return VolunteerFacts(partyMember: try flag("party member"), alliance: alliance)
    }

    mutating func alliance() throws(SnapshotError) -> Alliance {
        let code = try byte()
        guard let alliance = Alliance(snapshotCode: code) else {
            throw error(.unknownValue, "alliance code \(code)", back: 1)
        }
        return alliance
    }

    mutating func rights() throws(SnapshotError) -> RightsFacts {
        let opened = try date()
        let unit = try unit()
        return RightsFacts(opened: opened, unit: unit, closed: try optionalDate(from: opened))
    }

    @inline(__always)
    mutating func sumDay(after previous: LocalDate?) throws(SnapshotError) -> LocalDate {
        guard let previous else { return try date() }
        let days = try unsigned()
        guard days <= UInt64(Int32.max) else { throw error(.malformed, "a day \(days) days after \(previous)") }
        return try date(days: Int64(days), from: previous)
    }

    mutating func sums() throws(SnapshotError) -> [DayAndUnit: Int64] {
        let count = try count()
        var sums: [DayAndUnit: Int64] = [:]
        sums.reserveCapacity(count)
        var previous: DayAndUnit?
        for _ in 0..<count {
            let key = DayAndUnit(day: try sumDay(after: previous?.day), unit: try unit())
            if let previous, (previous.day, previous.unit) >= (key.day, key.unit) {
                throw error(.malformed, "sums out of order at \(key.day), unit \(key.unit)")
            }
            sums[key] = try signed()
            previous = key
        }
        return sums
    }

    mutating func minutes() throws(SnapshotError) -> [MinutesKey: Int64] {
        let count = try count()
        var minutes: [MinutesKey: Int64] = [:]
        minutes.reserveCapacity(count)
        var previous: MinutesKey?
        for _ in 0..<count {
            let day = try sumDay(after: previous?.day)
            let unit = try unit()
            let alliance = try alliance()
            let key = MinutesKey(day: day, unit: unit, alliance: alliance, partyMember: try flag("party member"))
            if let previous, previous.snapshotOrder >= key.snapshotOrder {
                throw error(.malformed, "minutes out of order at \(key.day), unit \(key.unit)")
            }
            minutes[key] = try signed()
            previous = key
        }
        return minutes
    }
}

// MARK: - Differences

extension PersonFacts {
    /// The names of the parts in which two persons' facts differ.
    fileprivate static func differingParts(_ a: PersonFacts, _ b: PersonFacts) -> [String] {
        var parts: [String] = []
        if a.registered != b.registered { parts.append("registered") }
        if a.birth != b.birth { parts.append("birth") }
        if a.deregistered != b.deregistered { parts.append("deregistered") }
        func compare(_ kind: PersonFactKind, _ part: String) {
            if a.facts(of: kind) != b.facts(of: kind) { parts.append(part) }
        }
        compare(.residence, "residence")
        compare(.category, "category")
        compare(.assessment, "assessment")
        if a.employments != b.employments { parts.append("employments") }
        compare(.rehab, "rehabilitation")
        compare(.device, "devices")
        compare(.homeModification, "home modifications")
        compare(.healthCheck, "health checks")
        compare(.familyDoctor, "family doctor")
        compare(.care, "care")
        compare(.smartTraining, "smart-skills trainings")
        return parts
    }
}

extension CaseFacts {
    /// The names of the parts in which two cases' facts differ.
    fileprivate static func differingParts(_ a: CaseFacts, _ b: CaseFacts) -> [String] {
        var parts: [String] = []
        if a.opened != b.opened { parts.append("opened") }
        if a.serviceType != b.serviceType { parts.append("service type") }
        if a.closed != b.closed { parts.append("closed") }
        if a.assignment != b.assignment { parts.append("assignment") }
        return parts
    }
}

extension CallFacts {
    /// The names of the parts in which two calls' facts differ.
    fileprivate static func differingParts(_ a: CallFacts, _ b: CallFacts) -> [String] {
        var parts: [String] = []
        if a.received != b.received { parts.append("received") }
        if a.unit != b.unit { parts.append("unit") }
        if a.online != b.online { parts.append("channel") }
        if a.resolved != b.resolved { parts.append("resolved") }
        if a.satisfied != b.satisfied { parts.append("satisfaction") }
        return parts
    }
}

extension ProjectFacts {
    /// The names of the parts in which two projects' facts differ.
    fileprivate static func differingParts(_ a: ProjectFacts, _ b: ProjectFacts) -> [String] {
        var parts: [String] = []
        if a.launched != b.launched { parts.append("launched") }
        if a.unit != b.unit { parts.append("unit") }
        if a.eliminated != b.eliminated { parts.append("eliminated") }
        if !a.evaluations.elementsEqual(b.evaluations, by: { $0.year == $1.year && $0.date == $1.date }) {
            parts.append("evaluations")
        }
        return parts
    }
}

extension VolunteerFacts {
    /// The names of the parts in which two volunteers' facts differ.
    fileprivate static func differingParts(_ a: VolunteerFacts, _ b: VolunteerFacts) -> [String] {
        var parts: [String] = []
        if a.partyMember != b.partyMember { parts.append("party membership") }
        if a.alliance != b.alliance { parts.append("alliance") }
        return parts
    }
}

extension RightsFacts {
    /// The names of the parts in which two rights cases' facts differ.
    fileprivate static func differingParts(_ a: RightsFacts, _ b: RightsFacts) -> [String] {
        var parts: [String] = []
        if a.opened != b.opened { parts.append("opened") }
        if a.unit != b.unit { parts.append("unit") }
        if a.closed != b.closed { parts.append("closed") }
        return parts
    }
}

/// The lines of `differences(from:limit:)`, up to the limit.
private struct DifferenceReport {
    let limit: Int
    /// The first fold's units, to name the units of the sums.
    let units: Names
    private(set) var lines: [String] = []

    init(limit: Int, units: Names) {
        self.limit = limit
        self.units = units
    }

    var isFull: Bool { lines.count >= limit }

    mutating func add(_ line: String) {
        if !isFull { lines.append(line) }
    }

    /// `unit 3 (anting)`, or `unit 3` for a number that `units` does not have.
    static func unit(_ number: UInt32, of units: Names) -> String {
        Int(number) < units.names.count ? "unit \(number) (\(units[number]))" : "unit \(number)"
    }

    mutating func names(_ what: String, _ a: Names, _ b: Names) {
        guard a != b else { return }
        if a.names.count != b.names.count { add("\(what)s: \(a.names.count) names against \(b.names.count)") }
        for (number, (x, y)) in zip(a.names, b.names).enumerated() where x != y {
            add("\(what) \(number): \(x) against \(y)")
            return
        }
    }

    mutating func streams<Facts: Equatable>(
        _ a: StreamTable<Facts>, _ b: StreamTable<Facts>, kind: StreamKind, parts: (Facts, Facts) -> [String]
    ) {
        guard !isFull, a != b else { return }
        let first = a.placesInNameOrder().map(Int.init)
        let second = b.placesInNameOrder().map(Int.init)
        func name(_ key: String) -> String { kind.streamName(key) }
        func entry(_ table: StreamTable<Facts>, _ place: Int) -> (key: String, value: Facts) {
            (table.names[place], table.values[place])
        }
        var i = 0
        var j = 0
        while !isFull && (i < first.count || j < second.count) {
            let x = i < first.count ? entry(a, first[i]) : nil
            let y = j < second.count ? entry(b, second[j]) : nil
            if let x, y == nil || StreamNameOrder.precedes(x.key, y!.key) {
                add("stream \(name(x.key)) only in the first")
                i += 1
            } else if let y, x == nil || StreamNameOrder.precedes(y.key, x!.key) {
                add("stream \(name(y.key)) only in the second")
                j += 1
            } else if let x, let y {
                if x.value != y.value {
                    add("\(name(x.key)): facts differ (\(parts(x.value, y.value).joined(separator: ", ")))")
                }
                i += 1
                j += 1
            }
        }
    }

    /// Walks two sorted lists of keyed amounts, reporting each key whose amounts differ.
    mutating func merge<Key>(
        _ a: [(key: Key, value: Int64)], _ b: [(key: Key, value: Int64)], before: (Key, Key) -> Bool,
        describe: (Key) -> String
    ) {
        var i = 0
        var j = 0
        while !isFull && (i < a.count || j < b.count) {
            if j == b.count || (i < a.count && before(a[i].key, b[j].key)) {
                add("\(describe(a[i].key)): \(a[i].value) against none")
                i += 1
            } else if i == a.count || before(b[j].key, a[i].key) {
                add("\(describe(b[j].key)): none against \(b[j].value)")
                j += 1
            } else {
                if a[i].value != b[j].value { add("\(describe(a[i].key)): \(a[i].value) against \(b[j].value)") }
                i += 1
                j += 1
            }
        }
    }

    mutating func sums(_ what: String, _ a: [DayAndUnit: Int64], _ b: [DayAndUnit: Int64]) {
        guard !isFull, a != b else { return }
        let units = units
        let before: (DayAndUnit, DayAndUnit) -> Bool = { ($0.day, $0.unit) < ($1.day, $1.unit) }
        merge(
            a.sorted { before($0.key, $1.key) }, b.sorted { before($0.key, $1.key) }, before: before,
            describe: { "\(what) on \($0.day) in \(DifferenceReport.unit($0.unit, of: units))" })
    }

    mutating func minutes(_ a: [MinutesKey: Int64], _ b: [MinutesKey: Int64]) {
        guard !isFull, a != b else { return }
        let units = units
        let before: (MinutesKey, MinutesKey) -> Bool = { $0.snapshotOrder < $1.snapshotOrder }
        merge(
            a.sorted { before($0.key, $1.key) }, b.sorted { before($0.key, $1.key) }, before: before,
            describe: {
                "volunteer minutes on \($0.day) in \(DifferenceReport.unit($0.unit, of: units)), \($0.alliance.rawValue), "
                    + ($0.partyMember ? "party members" : "not party members")
            })
    }
}

/// A value computed on another thread while the caller goes on; `value()`
/// waits for it.
final class Background<Value>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchGroup()

    init(_ work: @escaping @Sendable () -> Value) {
        done.enter()
        DispatchQueue.global().async { [self] in
            result = work()
            done.leave()
        }
    }

    func value() -> Value {
        done.wait()
        return result!
    }
}

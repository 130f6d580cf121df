import LedgerValues

/// The part an event type plays in its stream (events.md §5).
public enum StreamRole: Sendable, Equatable {
    /// Must be the stream's first event, and only ever first.
    case opener
    /// May occur once; nothing dated after it is accepted afterwards.
    case closer
    /// Any other event.
    case ordinary
}

/// An event that has passed the shape rules and is offered to the ledger.
///
/// The store knows no catalogue: whoever builds a `NewEvent` tells it the
/// event's role in its stream and whether the stream's kind has an opener, and
/// the store enforces identity, time, stream order and effective dates
/// (events.md §6 rules 2–5) from that.
public struct NewEvent: Sendable {
    /// The idempotency key.
    public var id: String { didSet { preparation = nil } }
    /// `<kind>-<key>`.
    public var stream: String { didSet { streamHash = StreamName.hash(of: stream) } }
    /// The hash of `stream`, made where the event is made (on the parsing
    /// thread) so that the ledger's writer does not hash it again.
    public private(set) var streamHash = 0
    /// The event type.
    public var type: String
    /// The payload version of the type.
    public var schema: Int64
    /// When it happened (effective time).
    public var occurredAt: LocalDate { didSet { preparation = nil } }
    /// When the federation learned it; nil takes the store's clock.
    public var recordedAt: Instant?
    /// Who recorded it.
    public var actor: String { didSet { preparation = nil } }
    /// The unit that recorded it.
    public var orgUnit: String { didSet { preparation = nil } }
    /// The stream's version this event expects to follow (0: a new stream).
    public var expectedVersion: Int64?
    /// The RFC 8785 form of `data` and of `pii`. An event keeps only these: they
    /// are made where the event is made (on whichever thread parses it), so that
    /// appending copies bytes and no JSON tree travels between threads.
    public private(set) var canonicalData: [UInt8] { didSet { preparation = nil } }
    /// See `canonicalData`.
    public private(set) var canonicalPII: [UInt8]? { didSet { preparation = nil } }

    /// The type's payload.
    public var data: JSONObject {
        get { (try? JSONParser.parse(canonicalData))?.objectValue ?? JSONObject() }
        set { canonicalData = CanonicalJSON.encode(.object(newValue)) }
    }

    /// Personal data, kept in the vault and only committed to in the chain.
    public var pii: JSONObject? {
        get { canonicalPII.flatMap { (try? JSONParser.parse($0))?.objectValue } }
        set { canonicalPII = newValue.map { CanonicalJSON.encode(.object($0)) } }
    }
    /// The event's role in its stream.
    public var role: StreamRole
    /// Whether streams of this kind must begin with an opener (and its name, for messages).
    public var streamOpener: String?
    /// Appending it removes every vault entry of its stream (`PersonPiiErased`).
    public var erasesStreamPII: Bool
    /// Streams the event names, each of which must already be stored (events.md §6 rule 7).
    public var references: [StreamReference] = []
    /// Something in the stream that the event starts or ends (an employment): a
    /// started item's key is new to the stream; an ended one was started, is not
    /// ended yet, and started on or before this event's date (events.md §6 rule 6).
    public var item: StreamItem?
    /// Set when the event is a record being restored from an export: what the
    /// stored record must turn out to be.
    public var restoration: Restoration?
    /// The part of the record made ahead of time (see `prepareRecord(salts:)`);
    /// changing a field it was made from drops it.
    public private(set) var preparation: RecordPreparation?

    /// Makes ahead of time the part of the record that does not depend on its
    /// place in the ledger: draws the salt and commits to the personal data,
    /// writes the canonical keys that sort before `prevHash`, and runs SHA-256
    /// over them. Appending then only hashes the rest. Whoever parses events
    /// calls this on their own thread, so that this work runs beside the
    /// ledger's single writer instead of on it. Call it last: changing the
    /// event afterwards drops the preparation.
    public mutating func prepareRecord(salts: inout SaltSource) {
        guard restoration == nil else { return }
        preparation = preparation(salts: &salts)
    }

    /// A preparation with a fresh salt for the personal data, if any.
    func preparation(salts: inout SaltSource) -> RecordPreparation {
        guard let canonical = canonicalPII else { return preparation(committing: nil, vault: nil) }
        let salt = salts.next()
        return preparation(
            committing: piiCommitment(salt: salt, pii: canonical),
            vault: VaultEntry(salt: salt, canonicalPII: canonical))
    }

    /// A preparation whose record carries `commitment`, with `vault` to store beside it.
    func preparation(committing commitment: String?, vault: VaultEntry?) -> RecordPreparation {
        var prefix: [UInt8] = []
        prefix.reserveCapacity(canonicalData.count + 400)
        LedgerRecord.writePrefix(
            actor: actor, canonicalData: canonicalData, id: id, occurredAt: occurredAt, orgUnit: orgUnit,
            piiCommitment: commitment, into: &prefix)
        var hasher = SHA256()
        prefix.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return RecordPreparation(prefix: prefix, hasher: hasher, piiCommitment: commitment, vault: vault)
    }

    /// A chained record carried over from an export: its position, link and hash,
    /// and its personal-data commitment with, where the export had them, the salt
    /// that opens it.
    public struct Restoration: Sendable, Equatable {
        /// The record's seq.
        public var seq: Int64
        /// Its version in its stream.
        public var version: Int64
        /// The hash it links to.
        public var prevHash: [UInt8]
        /// Its hash, which the rebuilt record must have.
        public var hash: [UInt8]
        /// Its personal-data commitment, if any.
        public var piiCommitment: String?
        /// The salt that opens the commitment, when the export carried the personal data.
        public var piiSalt: [UInt8]?

        public init(
            seq: Int64, version: Int64, prevHash: [UInt8], hash: [UInt8], piiCommitment: String?,
            piiSalt: [UInt8]?
        ) {
            self.seq = seq
            self.version = version
            self.prevHash = prevHash
            self.hash = hash
            self.piiCommitment = piiCommitment
            self.piiSalt = piiSalt
        }
    }

    public init(
        id: String, stream: String, type: String, schema: Int64 = 1, occurredAt: LocalDate,
        recordedAt: Instant?, actor: String, orgUnit: String, expectedVersion: Int64? = nil,
        data: JSONObject, pii: JSONObject? = nil, role: StreamRole = .ordinary, streamOpener: String? = nil,
        erasesStreamPII: Bool = false, references: [StreamReference] = [], item: StreamItem? = nil,
        restoration: Restoration? = nil
    ) {
        self.init(
            id: id, stream: stream, type: type, schema: schema, occurredAt: occurredAt, recordedAt: recordedAt,
            actor: actor, orgUnit: orgUnit, expectedVersion: expectedVersion,
            canonicalData: CanonicalJSON.encode(.object(data)),
            canonicalPII: pii.map { CanonicalJSON.encode(.object($0)) }, role: role, streamOpener: streamOpener,
            erasesStreamPII: erasesStreamPII, references: references, item: item, restoration: restoration)
    }

    /// An event whose `data` and `pii` are given as their RFC 8785 bytes, as
    /// whoever read the line already made them.
    public init(
        id: String, stream: String, type: String, schema: Int64 = 1, occurredAt: LocalDate,
        recordedAt: Instant?, actor: String, orgUnit: String, expectedVersion: Int64? = nil,
        canonicalData: [UInt8], canonicalPII: [UInt8]? = nil, role: StreamRole = .ordinary, streamOpener: String? = nil,
        erasesStreamPII: Bool = false, references: [StreamReference] = [], item: StreamItem? = nil,
        restoration: Restoration? = nil
    ) {
        self.id = id
        self.stream = stream
        streamHash = StreamName.hash(of: stream)
        self.type = type
        self.schema = schema
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.actor = actor
        self.orgUnit = orgUnit
        self.expectedVersion = expectedVersion
        self.canonicalData = canonicalData
        self.canonicalPII = canonicalPII
        self.role = role
        self.streamOpener = streamOpener
        self.erasesStreamPII = erasesStreamPII
        self.references = references
        self.item = item
        self.restoration = restoration
    }
}

/// The keys of a record that sort before `prevHash`, their SHA-256 state, and
/// the personal-data commitment among them (see `NewEvent.prepareRecord`).
public struct RecordPreparation: Sendable {
    let prefix: [UInt8]
    let hasher: SHA256
    let piiCommitment: String?
    let vault: VaultEntry?
}

/// A stream's name with its hash made beforehand: the key of the writer's
/// table of streams.
struct StreamName: Hashable {
    let name: String
    let hash: Int

    init(_ name: String, hash: Int) {
        self.name = name
        self.hash = hash
    }

    init(_ name: String) {
        self.init(name, hash: StreamName.hash(of: name))
    }

    static func hash(of name: String) -> Int {
        var hasher = Hasher()
        hasher.combine(name)
        return hasher.finalize()
    }

    static func == (a: StreamName, b: StreamName) -> Bool { a.hash == b.hash && a.name == b.name }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// A stream an event names, which must already be stored.
public struct StreamReference: Sendable, Equatable {
    /// The input field that names it (`data.personId`).
    public var field: String
    /// The stream named (`person-P1`).
    public var stream: String

    public init(field: String, stream: String) {
        self.field = field
        self.stream = stream
    }
}

/// Something inside a stream that one event starts and a later one ends.
public struct StreamItem: Sendable, Equatable {
    /// Whether the event starts or ends the item.
    public enum Change: Sendable, Equatable {
        case starts, ends
    }

    public var change: Change
    /// The item's key within the stream (an employment id).
    public var key: String
    /// The input field that holds the key (`data.employmentId`).
    public var field: String
    /// What the item is, in messages (`employment`).
    public var noun: String

    public init(_ change: Change, key: String, field: String, noun: String) {
        self.change = change
        self.key = key
        self.field = field
        self.noun = noun
    }
}

/// What the ledger remembers of an item: when it started, and whether it ended.
struct ItemState: Equatable {
    var startedOn: LocalDate
    var ended: Bool

    /// 5 bytes: the start's day number, then 1 when ended.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        appendBigEndian(UInt64(UInt32(bitPattern: startedOn.dayNumber)), count: 4, to: &out)
        out.append(ended ? 1 : 0)
        return out
    }

    init(startedOn: LocalDate, ended: Bool) {
        self.startedOn = startedOn
        self.ended = ended
    }

    init?(encoded buffer: UnsafeRawBufferPointer) {
        guard buffer.count == 5 else { return nil }
        startedOn = LocalDate(dayNumber: Int32(bitPattern: UInt32(readBigEndian(buffer, count: 4))))
        ended = buffer[4] == 1
    }
}

/// One broken rule: the field at fault and the rule in a clerk's words.
public struct RuleViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of rule, so that callers (the HTTP API) can answer a version
    /// conflict differently from bad data.
    public enum Kind: Sendable, Equatable {
        case identity, time, streamOrder, versionConflict, effectiveDate, person, reference, chain
    }

    /// What kind of rule was broken.
    public let kind: Kind
    /// The input key at fault (`occurredAt`, `id`, `expectedVersion`, …).
    public let field: String
    /// The rule, with the values that break it.
    public let rule: String

    public init(_ kind: Kind, field: String, rule: String) {
        self.kind = kind
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}

/// What the ledger remembers of each stream to judge the next event in it.
struct StreamState: Equatable {
    /// The number of events stored in the stream (its current version).
    var version: Int64
    /// `occurredAt` of the stream's first event.
    var openedOn: LocalDate
    /// The latest `occurredAt` in the stream.
    var latestOn: LocalDate
    /// `occurredAt` of the closer, once stored.
    var closedOn: LocalDate?

    init(version: Int64, openedOn: LocalDate, latestOn: LocalDate, closedOn: LocalDate?) {
        self.version = version
        self.openedOn = openedOn
        self.latestOn = latestOn
        self.closedOn = closedOn
    }

    /// The state after `event`, dated `occurredAt`, is appended.
    func appending(_ occurredAt: LocalDate, role: StreamRole) -> StreamState {
        StreamState(
            version: version + 1, openedOn: openedOn, latestOn: max(latestOn, occurredAt),
            closedOn: role == .closer ? occurredAt : closedOn)
    }

    /// The state of a stream whose first event is dated `occurredAt`.
    static func opened(on occurredAt: LocalDate, role: StreamRole) -> StreamState {
        StreamState(
            version: 1, openedOn: occurredAt, latestOn: occurredAt, closedOn: role == .closer ? occurredAt : nil)
    }

    private static let notClosed = Int32.min

    /// 20 bytes: version (8), openedOn, latestOn, closedOn (4 each, day numbers).
    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(20)
        appendBigEndian(UInt64(version), to: &out)
        for day in [openedOn.dayNumber, latestOn.dayNumber, closedOn?.dayNumber ?? StreamState.notClosed] {
            appendBigEndian(UInt64(UInt32(bitPattern: day)), count: 4, to: &out)
        }
        return out
    }

    init?(encoded buffer: UnsafeRawBufferPointer) {
        guard buffer.count == 20 else { return nil }
        func day(_ offset: Int) -> Int32 { Int32(bitPattern: UInt32(readBigEndian(buffer, at: offset, count: 4))) }
        version = Int64(readBigEndian(buffer))
        openedOn = LocalDate(dayNumber: day(8))
        latestOn = LocalDate(dayNumber: day(12))
        let closed = day(16)
        closedOn = closed == StreamState.notClosed ? nil : LocalDate(dayNumber: closed)
    }
}

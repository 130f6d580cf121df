import LedgerValues

/// What the ledger decides for one offered event.
public enum Admission: Sendable, Equatable {
    /// It will be stored at `seq`, as `version` of its stream, recorded at `recordedAt`.
    case append(seq: Int64, version: Int64, recordedAt: Instant)
    /// The same event is already stored at `seq` (or earlier in the same run): skipped.
    case duplicate(seq: Int64)
    /// It breaks these rules and changes nothing.
    case rejected([RuleViolation])
}

/// Judges offered events against the ledger as one write transaction sees it,
/// plus the events it has admitted in that transaction whose index entries are
/// not put yet (events.md §6 rules 2–5).
///
/// Every way into the ledger (an import, a restore, a batch of the API) goes
/// through this one judge, so a line means the same whichever way it comes.
///
/// A class, not a struct: the session asks it something for every event, and
/// a question put to a struct held in a class property copies the whole
/// struct (its tables included) for the call.
final class Sequencer {
    private let lookup: StoreTransaction
    /// The store's clock for this run.
    let clock: Instant
    private(set) var headSeq: Int64
    private(set) var headRecordedAt: Instant?
    /// The last seq stored before this run: records after it were admitted in
    /// this run, from the same append, and are not stored until it commits.
    private let storedThrough: Int64
    /// Streams touched in this run whose state is not yet put, with their state
    /// after its admitted events.
    private(set) var touchedStreams = TouchedStreams()
    /// Ids admitted in this run that are not yet in the id index and did not
    /// rise above every id before them, with their seqs. Their records are
    /// already in the transaction, so a repeat is judged against the stored
    /// record, exactly like a repeat of an older event.
    private var admittedIDs: [String: Int64] = [:]
    /// Admitted ids not yet in the id index that each rose above every id
    /// before them; they are kept nowhere but in the session's pending index
    /// entries, since no new id can repeat them while ids keep rising.
    private(set) var risingIDsPending = 0

    /// How long after the store's clock a stated `recordedAt` may lie.
    static let clockTolerance: Int64 = 5 * 60 * 1000

    /// The greatest id stored or admitted. An id that sorts after it cannot be
    /// a repeat, so it is judged new without any lookup: files whose ids rise
    /// (most do) never search for a new event's id.
    /// Empty while there is none (an id is never empty).
    private var greatestID: [UInt8] = []

    init(lookup: StoreTransaction, clock: Instant) throws {
        self.lookup = lookup
        self.clock = clock
        let head = try lookup.head()
        headSeq = head.seq
        storedThrough = head.seq
        headRecordedAt = head.recordedAt
        greatestID = try lookup.greatestID() ?? []
    }

    /// The ids admitted in this run are now all in the id index.
    func idsIndexed() {
        admittedIDs.removeAll(keepingCapacity: true)
        risingIDsPending = 0
    }

    /// The touched streams' states are now all put.
    func streamStatesStored() {
        touchedStreams.removeAll()
    }

    /// Whether judging `id` needs the pending index entries of rising ids put
    /// first: it does not rise, so it might repeat one of them.
    func needsPendingIDsIndexed(before id: String) -> Bool {
        risingIDsPending > 0 && !rises(id)
    }

    /// The state of `stream` as this run sees it.
    func streamState(_ stream: StreamName) throws -> StreamState? {
        if let place = touchedStreams.place(of: stream) { return touchedStreams[place] }
        return try lookup.streamState(stream.name)
    }

    /// Decides `event`'s fate and, when it is appended, takes its effects into account
    /// for the events that follow.
    func admit(_ event: NewEvent) throws -> Admission {
        if let duplicate = try identity(of: event) { return duplicate }

        var violations: [RuleViolation] = []
        let recordedAt = event.recordedAt ?? max(clock, headRecordedAt ?? clock)
        if let given = event.recordedAt {
            if let last = headRecordedAt, given < last {
                violations.append(
                    RuleViolation(
                        .time, field: "recordedAt",
                        rule:
                            "\(given) is before the last stored recordedAt \(last); recorded time never goes backwards")
                )
            }
            if given.milliseconds > clock.milliseconds + Sequencer.clockTolerance {
                violations.append(
                    RuleViolation(
                        .time, field: "recordedAt",
                        rule: "\(given) is more than five minutes after the store's clock (\(clock))"))
            }
        }
        if event.occurredAt > recordedAt.localDate {
            violations.append(
                RuleViolation(
                    .time, field: "occurredAt",
                    rule: "\(event.occurredAt) is after the local (UTC+8) date of recordedAt (\(recordedAt.localDate))")
            )
        }

        let stream = StreamName(event.stream, hash: event.streamHash)
        // Found once, read now and written below: nothing in between adds a stream.
        let touched = touchedStreams.place(of: stream)
        let state = try touched.map { touchedStreams[$0] } ?? lookup.streamState(stream.name)
        violations += Sequencer.streamRules(event, state: state)
        if let item = event.item, let problem = try itemRule(item, of: event) { violations.append(problem) }
        for reference in event.references where try streamState(StreamName(reference.stream)) == nil {
            violations.append(
                RuleViolation(
                    .reference, field: reference.field,
                    rule: "names \(reference.stream), which is not in the ledger (register the person first)"))
        }
        guard violations.isEmpty else { return .rejected(violations) }

        let seq = headSeq + 1
        let next =
            state.map { $0.appending(event.occurredAt, role: event.role) }
            ?? StreamState.opened(on: event.occurredAt, role: event.role)
        if let touched { touchedStreams[touched] = next } else { touchedStreams.add(stream, next) }
        headSeq = seq
        headRecordedAt = recordedAt
        if rises(event.id) {
            greatestID.removeAll(keepingCapacity: true)
            greatestID.append(contentsOf: event.id.utf8)
            risingIDsPending += 1
        } else {
            admittedIDs[event.id] = seq
        }
        return .append(seq: seq, version: next.version, recordedAt: recordedAt)
    }

    /// Rule 6 for an item (an employment) that `event` starts or ends.
    private func itemRule(_ item: StreamItem, of event: NewEvent) throws -> RuleViolation? {
        let stored = try lookup.itemState(event.stream, key: item.key)
        switch (item.change, stored) {
        case (.starts, nil):
            return nil
        case (.starts, let state?):
            return RuleViolation(
                .person, field: item.field,
                rule:
                    "\(item.noun) \"\(item.key)\" was already started in \(event.stream) (on \(state.startedOn)); each \(item.noun) needs an id new to the stream"
            )
        case (.ends, nil):
            return RuleViolation(
                .person, field: item.field,
                rule: "no \(item.noun) \"\(item.key)\" was started in \(event.stream)")
        case (.ends, let state?):
            if state.ended {
                return RuleViolation(
                    .person, field: item.field,
                    rule: "\(item.noun) \"\(item.key)\" of \(event.stream) has already ended")
            }
            if event.occurredAt < state.startedOn {
                return RuleViolation(
                    .person, field: "occurredAt",
                    rule:
                        "\(event.occurredAt) is before \(item.noun) \"\(item.key)\" started (\(state.startedOn))")
            }
            return nil
        }
    }

    /// Rule 2: nil when the id is new; a duplicate or a conflict otherwise.
    /// (The caller has put the pending entries of rising ids when this id does
    /// not rise; see `needsPendingIDsIndexed`.)
    private func identity(of event: NewEvent) throws -> Admission? {
        if rises(event.id) { return nil }
        if let seq = admittedIDs[event.id] { return try sameEvent(at: seq, as: event) }
        guard let seq = try lookup.seq(ofID: event.id) else { return nil }
        return try sameEvent(at: seq, as: event)
    }

    /// Whether `id` sorts after every id stored or admitted (byte order, as the index sorts).
    private func rises(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { bytes in greatestID.withUnsafeBytes { sortsAfter(UnsafeRawBufferPointer(bytes), $0) } }
    }

    /// A duplicate when the record at `seq` (which has `event`'s id) is the same
    /// event, a conflict otherwise.
    private func sameEvent(at seq: Int64, as event: NewEvent) throws -> Admission {
        guard let stored = try lookup.record(at: seq) else {
            return .rejected([
                RuleViolation(.identity, field: "id", rule: "the id index names seq \(seq), which is missing")
            ])
        }
        if let field = try differingField(stored: stored, event: event) {
            // An append is stored whole or not at all: an id it already gave is not stored yet.
            let holder =
                seq > storedThrough ? "given earlier in this append (as seq \(seq))" : "already stored as seq \(seq)"
            let difference = "\(field == "data" || field == "pii" ? "other" : "a different") \(field)"
            return .rejected([
                RuleViolation(.identity, field: "id", rule: "\"\(event.id)\" is \(holder) with \(difference)")
            ])
        }
        return .duplicate(seq: seq)
    }

    /// The first input key in which `event` differs from the stored record of the same id.
    private func differingField(stored: LedgerRecord, event: NewEvent) throws -> String? {
        if stored.stream != event.stream { return "stream" }
        if stored.type != event.type { return "type" }
        if stored.schema != event.schema { return "schema" }
        if stored.occurredAt != event.occurredAt { return "occurredAt" }
        if let given = event.recordedAt, given != stored.recordedAt { return "recordedAt" }
        if stored.actor != event.actor { return "actor" }
        if stored.orgUnit != event.orgUnit { return "orgUnit" }
        if let expected = event.expectedVersion, expected != stored.version - 1 { return "expectedVersion" }
        if CanonicalJSON.encode(.object(stored.data)) != event.canonicalData { return "data" }
        switch (stored.piiCommitment, event.canonicalPII) {
        case (nil, nil): return nil
        case (nil, _?), (_?, nil): return "pii"
        case (let commitment?, let pii?):
            // Erased personal data cannot be compared; the rest of the event matched.
            guard let vault = try lookup.vaultEntry(at: stored.seq) else { return nil }
            return piiCommitment(salt: vault.salt, pii: pii) == commitment ? nil : "pii"
        }
    }

    /// Rules 4 and 5 for `event` in a stream whose state is `state` (nil: new stream).
    static func streamRules(_ event: NewEvent, state: StreamState?) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        guard let state else {
            if let opener = event.streamOpener, event.role != .opener {
                violations.append(
                    RuleViolation(
                        .streamOrder, field: "type",
                        rule:
                            "\(event.stream) has no events yet, so its first event must be \(opener), not \(event.type)"
                    ))
            }
            if let expected = event.expectedVersion, expected != 0 {
                violations.append(
                    RuleViolation(
                        .versionConflict, field: "expectedVersion",
                        rule: "is \(expected) but \(event.stream) has no events yet (version 0)"))
            }
            return violations
        }
        if event.role == .opener {
            violations.append(
                RuleViolation(
                    .streamOrder, field: "type",
                    rule:
                        "\(event.type) opens a stream and is only ever first, but \(event.stream) already has \(state.version) event\(state.version == 1 ? "" : "s")"
                ))
        }
        if event.role == .closer, let closed = state.closedOn {
            violations.append(
                RuleViolation(
                    .streamOrder, field: "type",
                    rule: "\(event.stream) was already closed (on \(closed)); \(event.type) occurs only once"))
        }
        if let expected = event.expectedVersion, expected != state.version {
            violations.append(
                RuleViolation(
                    .versionConflict, field: "expectedVersion",
                    rule: "is \(expected) but \(event.stream) is at version \(state.version)"))
        }
        // A kind without an opener (org streams) has no opening date to respect.
        if event.streamOpener != nil, event.occurredAt < state.openedOn {
            violations.append(
                RuleViolation(
                    .effectiveDate, field: "occurredAt",
                    rule: "\(event.occurredAt) is before the first event of \(event.stream) (\(state.openedOn))"))
        }
        if event.role == .closer, event.occurredAt < state.latestOn {
            violations.append(
                RuleViolation(
                    .effectiveDate, field: "occurredAt",
                    rule:
                        "a closer dated \(event.occurredAt) is before an event already in \(event.stream) (dated \(state.latestOn))"
                ))
        }
        if let closed = state.closedOn, event.occurredAt > closed {
            violations.append(
                RuleViolation(
                    .effectiveDate, field: "occurredAt",
                    rule: "\(event.occurredAt) is after \(event.stream) was closed on \(closed)"))
        }
        return violations
    }

}

/// The streams touched in a run whose state is not yet put, with their state
/// after its admitted events: a table of places (`HashPlaces`) over arrays of
/// names and states, found by the hash the event's parsing made of its
/// stream's name, and changed in place. (A dictionary hashed that hash again,
/// and was searched twice an event: once to read the state, once to write it.)
struct TouchedStreams {
    private var places = HashPlaces()
    /// The streams, in the order first touched.
    private(set) var names: [StreamName] = []
    /// Their states, by the same place.
    private(set) var states: [StreamState] = []

    var count: Int { names.count }

    /// The place of `stream`'s state, when it is touched.
    func place(of stream: StreamName) -> Int? {
        names.withUnsafeBufferPointer { names in places.place(hash: stream.hash) { names[$0] == stream } }
    }

    /// The state at `place`.
    subscript(place: Int) -> StreamState {
        get { states[place] }
        set { states[place] = newValue }
    }

    /// Notes `stream`, not touched so far, at `state`.
    mutating func add(_ stream: StreamName, _ state: StreamState) {
        do {
            // Let go of before `names` grows, which would copy it otherwise.
            let held = names
            places.add(hash: stream.hash, place: held.count) { held[$0].hash }
        }
        names.append(stream)
        states.append(state)
    }

    /// Forgets every stream (their states are put).
    mutating func removeAll() {
        places = HashPlaces()
        names.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
    }
}

/// Lowercase hex SHA-256(salt ‖ JCS(pii)): what a record commits to about its
/// personal data (events.md §3). `canonical` is the RFC 8785 form of the pii object.
public func piiCommitment(salt: [UInt8], pii canonical: [UInt8]) -> String {
    Hex.encode(sha256(salt + canonical))
}

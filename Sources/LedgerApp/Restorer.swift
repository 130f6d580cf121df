import EventStore
import LedgerDomain
import LedgerValues

/// An export that cannot be restored: where it breaks and why. Nothing was stored.
public struct RestoreRefused: Error, CustomStringConvertible {
    /// The export's name.
    public let file: String
    /// The 1-based line where it breaks.
    public let line: Int
    /// The seq of that line, when it could be read.
    public let seq: Int64?
    /// What is wrong there.
    public let reason: String

    public var description: String {
        "\(file):\(line): " + (seq.map { "seq \($0): " } ?? "") + reason + "\nnothing was restored"
    }
}

/// What a restore did.
public struct RestoreReport: Equatable, Sendable {
    /// Records newly stored.
    public var restored = 0
    /// Records the ledger already held, identical to the export's.
    public var alreadyPresent = 0
    /// The first seq restored.
    public var firstSeq: Int64?
    /// The last seq restored.
    public var lastSeq: Int64?
    /// Restored records that commit to personal data and brought it (`pii` and
    /// `piiSalt`) into the vault.
    public var personalDataRestored = 0
    /// Restored records that commit to personal data the export did not carry,
    /// their person's erasure following them in the export.
    public var personalDataErased = 0
    /// Restored records that commit to personal data the export did not carry,
    /// with no erasure after them in it: most likely an export made without
    /// `--pii`. The restored ledger does not hold that personal data.
    public var personalDataMissing = 0
}

/// Loads an export (chained records, events.md §2) into an empty ledger or one
/// it continues: the backup path.
///
/// The whole export is one write transaction. Every line's hash is recomputed
/// from its fields and every link checked, and each record must still obey the
/// catalogue's shape and the ledger's rules; the first line where the export
/// breaks abandons the transaction, so nothing is stored. Records the ledger
/// already holds must be identical and are skipped, so a restore into a ledger
/// that holds a prefix of the export completes it.
public struct Restorer {
    /// The ledger restored into.
    public let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    private struct Line {
        let record: LedgerRecord
        let hash: [UInt8]
        let event: NewEvent?
    }

    /// Restores the export at `path` (`-`: standard input).
    /// - Parameter waiting: called when another writer holds the ledger and we wait for it.
    public func restore(_ path: String, waiting: (String) -> Void = { _ in }) throws -> RestoreReport {
        let input = try InputFile(path: path)
        return try ledger.log.exclusively(doing: "restore \(input.name)", waiting: waiting) {
            let head = try ledger.log.head()
            let report = try ledger.log.appending(clock: .now(), expectedBytes: input.size * 2) { session in
                try restore(input, onto: head, in: session)
            }
            try ledger.log.sync()
            return report
        }
    }

    private func restore(_ input: InputFile, onto head: LedgerHead, in session: AppendSession) throws -> RestoreReport {
        var report = RestoreReport()
        var previous: (seq: Int64, hash: [UInt8])?
        var withoutPersonalData: [String: Int] = [:]  // stream → restored records that came without theirs
        try input.forEachLine { number, bytes in
            func refuse(_ reason: String, seq: Int64? = nil) -> RestoreRefused {
                RestoreRefused(file: input.name, line: number, seq: seq, reason: reason)
            }
            let line = try decode(bytes, headSeq: head.seq, refuse: refuse)
            let record = line.record
            if let previous {
                guard record.seq == previous.seq + 1 else {
                    throw refuse(
                        "expected seq \(previous.seq + 1) here: the export is reordered or has a gap", seq: record.seq)
                }
                guard record.prevHash == previous.hash else {
                    throw refuse("prevHash does not link to the hash of seq \(previous.seq)", seq: record.seq)
                }
            } else {
                guard record.seq <= head.seq + 1 else {
                    throw refuse(
                        "the ledger ends at seq \(head.seq), so an export starting at seq \(record.seq) does not continue it",
                        seq: record.seq)
                }
                let predecessor = record.seq == 1 ? genesisHash : try session.storedHash(at: record.seq - 1)
                guard record.prevHash == predecessor else {
                    throw refuse("prevHash does not link to the ledger's record \(record.seq - 1)", seq: record.seq)
                }
            }
            previous = (record.seq, line.hash)
            guard let event = line.event else {
                guard try session.storedHash(at: record.seq) == line.hash else {
                    throw refuse("the ledger already holds a different record at this seq", seq: record.seq)
                }
                report.alreadyPresent += 1
                return
            }
            let admitted: Admission
            do {
                admitted = try session.offer(event)
            } catch LedgerError.rejected(_, let violations) {
                throw refuse(violations.map(\.description).joined(separator: "; "), seq: record.seq)
            }
            guard case .append(record.seq, record.version, record.recordedAt) = admitted else {
                let reason: String =
                    switch admitted {
                    case .rejected(let violations): violations.map(\.description).joined(separator: "; ")
                    case .duplicate(let seq): "its id is already stored at seq \(seq)"
                    case .append(let seq, let version, _): "the ledger would store it as seq \(seq), version \(version)"
                    }
                throw refuse(reason, seq: record.seq)
            }
            report.restored += 1
            if record.piiCommitment != nil {
                if event.restoration?.piiSalt != nil {
                    report.personalDataRestored += 1
                } else {
                    withoutPersonalData[record.stream, default: 0] += 1
                }
            }
            if EventType(rawValue: record.type)?.erasesPersonalData == true {
                report.personalDataErased += withoutPersonalData.removeValue(forKey: record.stream) ?? 0
            }
            report.firstSeq = report.firstSeq ?? record.seq
            report.lastSeq = record.seq
        } overlong: { number, length in
            throw RestoreRefused(file: input.name, line: number, seq: nil, reason: InputFile.overlongRule(length))
        }
        report.personalDataMissing = withoutPersonalData.values.reduce(0, +)
        return report
    }

    /// Reads one export line: the record, its stated hash (checked against the
    /// recomputed one) and, for records the ledger does not hold yet, the event
    /// that restores it.
    private func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, headSeq: Int64, refuse: (String, Int64?) -> RestoreRefused
    ) throws -> Line {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw refuse(error.description, nil) }
        guard case .object(var object) = value else { throw refuse("a line must be a JSON object", nil) }
        let seqHint = object["seq"]?.integerValue
        guard case .string(let hashText)? = object["hash"], hashText.utf8.count == 64, let hash = Hex.decode(hashText)
        else {
            throw refuse("hash: must be 64 lowercase hex digits", seqHint)
        }
        let pii = object["pii"]
        let saltText = object["piiSalt"]
        let masked = object["piiMasked"] != nil
        for key in ["hash", "pii", "piiSalt", "piiMasked"] { object[key] = nil }
        let record: LedgerRecord
        do { record = try LedgerRecord(json: object) } catch { throw refuse(error.description, seqHint) }
        guard record.computedHash == hash else {
            throw refuse("hash does not match the record (the line was changed)", record.seq)
        }
        // The export-only keys are judged as tools/verify-export judges them.
        if pii != nil && masked {
            throw refuse("pii and piiMasked: an export line carries one or the other", record.seq)
        }
        if masked && record.piiCommitment == nil {
            throw refuse("piiMasked: the record has no piiCommitment", record.seq)
        }
        if record.seq <= headSeq { return Line(record: record, hash: hash, event: nil) }

        var salt: [UInt8]?
        if let saltText {
            guard case .string(let text) = saltText, text.utf8.count == 32, let bytes = Hex.decode(text) else {
                throw refuse("piiSalt: must be 32 lowercase hex digits", record.seq)
            }
            salt = bytes
        }
        guard (pii == nil) == (salt == nil) else { throw refuse("pii and piiSalt come together", record.seq) }
        // Whether the pii opens the commitment is checked where the record is
        // appended, like every other link of the chain.
        if pii != nil && record.piiCommitment == nil {
            throw refuse("pii: the record has no piiCommitment", record.seq)
        }

        var interchange = JSONObject()
        interchange["id"] = .string(record.id)
        interchange["stream"] = .string(record.stream)
        interchange["type"] = .string(record.type)
        interchange["occurredAt"] = .string(record.occurredAt.description)
        interchange["recordedAt"] = .string(record.recordedAt.description)
        interchange["actor"] = .string(record.actor)
        interchange["orgUnit"] = .string(record.orgUnit)
        interchange["data"] = .object(record.data)
        if let pii { interchange["pii"] = pii }
        switch InterchangeEvent.validate(
            .object(interchange), units: ledger.units, piiWithheld: record.piiCommitment != nil)
        {
        case .failure(let errors):
            throw refuse(errors.all.map(\.description).joined(separator: "; "), record.seq)
        case .success(let valid):
            guard valid.type.schema == record.schema else {
                throw refuse(
                    "schema \(record.schema) is not the schema of \(record.type) (\(valid.type.schema))", record.seq)
            }
            var event = Ledger.newEvent(valid)
            event.restoration = NewEvent.Restoration(
                seq: record.seq, version: record.version, prevHash: record.prevHash, hash: hash,
                piiCommitment: record.piiCommitment, piiSalt: salt)
            return Line(record: record, hash: hash, event: event)
        }
    }
}

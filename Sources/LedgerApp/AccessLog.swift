import EventStore
import Foundation
import LedgerDomain
import LedgerValues

/// The trace left by every reading of personal data: who read what, when and
/// why. It is kept beside the chain in its own database, not in the chain:
/// reading is not a service action, and the trace must not itself become
/// personal data the chain can never forget.
///
/// An entry is committed, durably, before the personal data is handed out, so
/// there is no reading without its trace.
public enum AccessLog {
    /// The name of its database in the ledger's environment.
    static let space = "access-log"

    /// The records a reading of personal data covered, so that the readings
    /// of one person's data can be found again.
    public enum Scope: Equatable, Sendable {
        /// The records of one stream (`history`, `GET /streams/…`, a bundle of a stream or person).
        case stream(String)
        /// The records from seq `from` through seq `through`, as far as the
        /// ledger then reached (an export, a bundle of seqs); none when
        /// `through` is below `from`.
        case seqs(from: Int64, through: Int64)
    }

    /// One reading of personal data.
    public struct Entry: Equatable, Sendable {
        /// Its number, from 1 in the order written.
        public let number: Int64
        /// When it was read.
        public let at: Instant
        /// Who read it: the member of staff, or the login name.
        public let who: String
        /// What was read: the command and what it selected (`export --pii seq 1–200`).
        public let what: String
        /// Why, in the reader's words.
        public let purpose: String
        /// The records it covered; nil in an entry written before readings kept it.
        public let scope: Scope?

        /// The entry as one line of canonical JSON: `number`, `at`, `who`,
        /// `what`, `purpose`, and its scope as `stream` or `fromSeq` and `toSeq`.
        public var json: String {
            var object = JSONObject()
            object["number"] = .integer(number)
            object["at"] = .string(at.description)
            object["who"] = .string(who)
            object["what"] = .string(what)
            object["purpose"] = .string(purpose)
            switch scope {
            case .stream(let stream): object["stream"] = .string(stream)
            case .seqs(let from, let through):
                object["fromSeq"] = .integer(from)
                object["toSeq"] = .integer(through)
            case nil: break
            }
            return String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self)
        }

        /// Whether this reading covered any of `records`, the seqs of `stream`'s
        /// records that carried personal data; nil when the entry does not
        /// say what it covered.
        public func covers(stream: String, records: [Int64]) -> Bool? {
            switch scope {
            case .stream(let read): read == stream
            case .seqs(let from, let through): records.contains { from <= $0 && $0 <= through }
            case nil: nil
            }
        }
    }

    /// Checks a purpose as given on the command line: 1–256 characters, not
    /// only spaces; refuses (as wrong usage) a reading without one.
    /// `option` is how the front end asks for it (`--purpose`, or a header).
    public static func checkPurpose(
        _ purpose: String?, for what: String, option: String = "--purpose"
    ) throws -> String {
        guard let purpose else {
            let how = option.hasPrefix("--") ? "with \(option) TEXT" : "in the \(option) header"
            throw AppError.usage("\(what) reads personal data: say why \(how) (it is logged)")
        }
        let trimmed = purpose.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, purpose.count <= 256 else {
            throw AppError.usage("\(option) must be 1–256 characters, not only spaces (got \(purpose.count))")
        }
        // One line of plain text: a line break or other control character could forge log entries.
        guard !purpose.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AppError.usage("\(option) must be one line of text, without line breaks or other control characters")
        }
        return purpose
    }

    /// Writes the trace of a reading of the records `scope` names and makes it
    /// durable; returns its entry.
    @discardableResult
    public static func record(
        in ledger: Ledger, who: String, what: String, purpose: String, scope: Scope, at: Instant = .now()
    ) throws -> Entry {
        let entry = try ledger.log.updatingProjections { access -> Entry in
            let last = try access.withEntry(atOrBefore: [UInt8](repeating: 0xFF, count: 8), in: space) { key, _ in
                Int64(readBigEndian(key))
            }
            let entry = Entry(number: (last ?? 0) + 1, at: at, who: who, what: what, purpose: purpose, scope: scope)
            try access.put(Array(entry.json.utf8), forKey: bigEndianKey(entry.number), in: space)
            return entry
        }
        try ledger.log.sync()
        return entry
    }

    /// Every entry, oldest first.
    public static func entries(of ledger: Ledger) throws -> [Entry] {
        try ledger.log.readingProjections { access in
            var entries: [Entry] = []
            try access.forEachEntry(withPrefix: [], in: space) { key, value in
                guard let object = try? JSONParser.parse(value.bindMemory(to: UInt8.self)).objectValue,
                    let at = object["at"]?.stringValue.flatMap(Instant.init(rfc3339:)),
                    let who = object["who"]?.stringValue, let what = object["what"]?.stringValue,
                    let purpose = object["purpose"]?.stringValue
                else {
                    throw AppError.io("access log entry \(readBigEndian(key)) cannot be read")
                }
                var scope: Scope?
                if let stream = object["stream"]?.stringValue {
                    scope = .stream(stream)
                } else if case .integer(let from)? = object["fromSeq"], case .integer(let through)? = object["toSeq"] {
                    scope = .seqs(from: from, through: through)
                }
                entries.append(
                    Entry(
                        number: Int64(readBigEndian(key)), at: at, who: who, what: what, purpose: purpose, scope: scope)
                )
            }
            return entries
        }
    }

    /// The stream whose readings are asked for by a person (`P000123` or
    /// `person-P000123`) or a stream, given as the options (or query
    /// parameters) named `options`; nil when neither is given. Throws
    /// `AppError.usage` for both, or for a name that is no stream's.
    public static func stream(
        person: String?, stream: String?, options: (person: String, stream: String) = ("--person", "--stream")
    ) throws -> String? {
        if person != nil, stream != nil {
            throw AppError.usage("give \(options.person) or \(options.stream), not both")
        }
        if let stream {
            guard StreamKind.parse(streamName: stream) != nil else {
                throw AppError.usage("\(options.stream) " + StreamKind.rule(refusing: stream))
            }
            return stream
        }
        guard let person else { return nil }
        let named = StreamKind.personStream(person)
        guard StreamKind.parse(streamName: named) != nil else {
            throw AppError.usage(
                "\(options.person) gives the stream \(Echo.bare(named)), which " + StreamKind.rule(refusing: named))
        }
        return named
    }

    /// The entries of readings that covered personal data of `stream`: those
    /// of the stream itself, and those of runs of seqs holding one of its
    /// records that carried personal data (whether or not it had been erased
    /// by then). An entry that does not say what it covered is kept too, so
    /// that no reading is missed.
    public static func entries(of ledger: Ledger, concerning stream: String) throws -> [Entry] {
        let records = try ledger.log.history(of: stream).filter { $0.record.piiCommitment != nil }.map(\.record.seq)
        return try entries(of: ledger).filter { $0.covers(stream: stream, records: records) ?? true }
    }

    /// The login name of the user running the program, if it has one.
    public static func loginName() -> String? {
        if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty { return user }
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}

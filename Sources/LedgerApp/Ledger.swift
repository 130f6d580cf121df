import EventStore
import Foundation
import LedgerDomain
import LedgerSeeds
import LedgerValues

/// An error of the application layer, in words a clerk or an auditor understands.
public enum AppError: Error, CustomStringConvertible {
    /// Reading or writing a file failed.
    case io(String)
    /// A seed file is missing or malformed.
    case seeds(String)
    /// The user asked for something that cannot be done as asked.
    case usage(String)
    /// The stored KPI figures cannot be read; `rebuild` makes them again from the log.
    case figures(String)

    public var description: String {
        switch self {
        case .io(let message), .seeds(let message), .usage(let message): message
        case .figures(let message): message + "; run `sunledger rebuild` to make them again from the log"
        }
    }
}

/// One ledger directory opened with the federation's catalogue and reference
/// data: what every command works on.
public final class Ledger: @unchecked Sendable {
    /// The event log underneath.
    public let log: EventLog
    /// The units of the district, from `seeds/units.json`.
    public let units: UnitDirectory
    /// The Chinese and English labels of the catalogue's codes, from `seeds/enumerations.json`.
    public let vocabulary: Vocabulary
    /// The KPI fold kept in the ledger beside the log.
    public let figures: LiveFigures

    /// The directory used when neither `--ledger` nor `$SUNLEDGER_LEDGER` is given.
    public static let defaultPath = "./ledger"

    /// The ledger directory a command uses: `explicit`, else `$SUNLEDGER_LEDGER`, else `./ledger`.
    public static func resolvePath(_ explicit: String?) -> String {
        explicit ?? ProcessInfo.processInfo.environment["SUNLEDGER_LEDGER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? defaultPath
    }

    /// The files a ledger directory may hold before its ledger is made: the
    /// master key put there ahead of the first import, what a first write
    /// stopped before making `data.mdb` left behind, and the `lost+found` of a
    /// file system made for the ledger alone (mounted at its directory).
    static let filesBeforeLedger: Set<String> = ["master.key", "lock.mdb", "writer.lock", "vault-keys", "lost+found"]

    /// Refuses, in words, a ledger path that cannot be a ledger directory: an
    /// empty one, a file, or (when the ledger is to be made) one whose parent
    /// directory does not exist, or a directory holding files of something else:
    /// a mistyped `--ledger .` would otherwise scatter a ledger among them.
    static func checkPath(_ path: String, create: Bool) throws {
        guard !path.isEmpty else { throw AppError.usage("the ledger path is empty: give --ledger PATH") }
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw AppError.usage("\(path) is a file, not a ledger directory: give --ledger a directory")
            }
            if create, access(path + "/data.mdb", F_OK) != 0,
                let other = (try? FileManager.default.contentsOfDirectory(atPath: path))?
                    .filter({ !filesBeforeLedger.contains($0) }).min()
            {
                throw AppError.usage(
                    "\(path) holds no ledger but other files (\(other) among them): give --ledger a new or empty directory"
                )
            }
            return
        }
        guard create, errno == ENOENT else { return }
        let parent = parentDirectory(of: path)
        var parentInfo = stat()
        if !parent.isEmpty, stat(parent, &parentInfo) != 0 || parentInfo.st_mode & S_IFMT != S_IFDIR {
            throw AppError.usage(
                "cannot make the ledger \(path): \(parent) is not an existing directory (the parent is not made)")
        }
    }

    /// Opens the ledger at `path`; `create` makes it when missing (writing commands do).
    /// `snapshotEvery` spaces the stored snapshots of the KPI fold, and
    /// `stateLag` the puts of the fold itself (tests make them small);
    /// `defersStatePuts` has those puts encoded off the appending thread (a server's).
    public init(
        path: String, create: Bool, snapshotEvery: Int64 = LiveFigures.defaultSnapshotEvery,
        stateLag: Int64 = LiveFigures.defaultStateLag, defersStatePuts: Bool = false
    ) throws {
        try Ledger.checkPath(path, create: create)
        units = try Ledger.loadUnits()
        vocabulary = try Ledger.loadVocabulary()
        figures = LiveFigures(
            units: units, snapshotEvery: snapshotEvery, stateLag: stateLag, defersStatePuts: defersStatePuts)
        log = try EventLog(
            path: path, create: create, projectionSpaces: LiveFigures.spaces + [AccessLog.space, AccessTokens.space],
            projector: figures)
    }

    /// Reads the units from the seed data.
    public static func loadUnits() throws -> UnitDirectory {
        struct File: Decodable {
            struct Unit: Decodable { let code: String }
            struct District: Decodable { let code: String }
            let district: District
            let units: [Unit]
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: try Seeds.data(named: "units.json"))
            return UnitDirectory(district: file.district.code, units: Set(file.units.map(\.code)))
        } catch {
            throw AppError.seeds("cannot read the units from seeds/units.json: \(error)")
        }
    }

    /// Reads the enumerations' labels from the seed data, checked against the catalogue.
    public static func loadVocabulary() throws -> Vocabulary {
        do {
            return try Vocabulary(json: Array(try Seeds.data(named: "enumerations.json")))
        } catch let error as VocabularyError {
            throw AppError.seeds(error.description)
        } catch {
            throw AppError.seeds("cannot read seeds/enumerations.json: \(error)")
        }
    }

    /// The event types that open streams, for rebuilding stream state.
    public static let openerTypes = Set(EventType.allCases.filter { $0.role == .opener }.map(\.rawValue))
    /// The event types that close streams.
    public static let closerTypes = Set(EventType.allCases.filter { $0.role == .closer }.map(\.rawValue))

    /// Checks the shape of one interchange line, given as its bytes. Plain lines
    /// are read straight from their bytes; anything else is parsed in full, which
    /// is also where every error is worded.
    func interchangeEvent(fromLine line: UnsafeBufferPointer<UInt8>) -> Result<InterchangeEvent, FieldErrors> {
        if let plain = InterchangeEvent.decodePlain(line, units: units) { return .success(plain) }
        do {
            return InterchangeEvent.validate(try JSONParser.parse(line), units: units)
        } catch {
            return .failure(FieldErrors([FieldError(field: "line", rule: error.description)]))
        }
    }

    /// The store's view of a validated interchange event.
    static func newEvent(_ event: InterchangeEvent) -> NewEvent {
        let role: StreamRole =
            switch event.type.role {
            case .opener: .opener
            case .closer: .closer
            case .ordinary: .ordinary
            }
        return NewEvent(
            id: event.id, stream: event.stream, type: event.type.rawValue, schema: event.type.schema,
            occurredAt: event.occurredAt, recordedAt: event.recordedAt, actor: event.actor, orgUnit: event.orgUnit,
            expectedVersion: event.expectedVersion, canonicalData: event.canonicalData,
            canonicalPII: event.canonicalPII, role: role,
            streamOpener: event.kind.opener?.rawValue, erasesStreamPII: event.type.erasesPersonalData,
            references: event.payload.personReferences.map {
                StreamReference(field: $0.field, stream: StreamKind.person.streamName($0.personID))
            },
            item: event.payload.employment.map(employmentItem))
    }

    /// The digest of the ledger as it stands: `{"seq":N,"hash":"…","recordedAt":"…","merkleRoot":"…"}`.
    public func digest() throws -> LedgerDigest {
        try log.digest()
    }

    /// How many stored records lie past the stored KPI fold, which a reading of
    /// the figures replays: fewer than `LiveFigures.stateLag` while appends keep
    /// it (each append folds its records, and puts the fold again once that
    /// many have come); more for a ledger whose figures were made before some of
    /// its records (they catch up on the next append).
    public func figuresLag() throws -> Int64 {
        try log.readingProjections { access in
            let generation = try LiveFigures.liveGeneration(access)
            return try access.lastSeq - (LiveFigures.checkpoint(access, generation: generation) ?? 0)
        }
    }

    /// Verifies the whole ledger (see `EventLog.verify`).
    public func verify(digest: LedgerDigest? = nil, progress: (Int64) -> Void = { _ in }) throws -> VerificationReport {
        let units = self.units
        return try log.verify(
            closerTypes: Ledger.closerTypes, openerTypes: Ledger.openerTypes,
            items: (Ledger.itemTypes, { Ledger.item(of: $0, units: units) }), digest: digest, progress: progress)
    }

    /// Checks the KPI folds stored beside the log (`LiveFigures.checkStoredFolds`):
    /// `verify` does so once the log has passed.
    public func checkStoredFigures() throws -> LiveFigures.StoredFoldCheck {
        try log.readingProjections { try LiveFigures.checkStoredFolds($0) }
    }

    /// The event types that start or end an item of their stream (employments).
    static let itemTypes: Set<String> = [EventType.employmentStarted.rawValue, EventType.employmentEnded.rawValue]

    /// The item a stored record starts or ends, read from its payload.
    static func item(of record: LedgerRecord, units: UnitDirectory) -> StreamItem? {
        guard let type = EventType.named(record.type),
            case .success(let payload) = Payload.read(
                record.data, context: FieldReader.Context(type: type, occurredAt: record.occurredAt, units: units)),
            let employment = payload.employment
        else { return nil }
        return employmentItem(employment)
    }

    /// The store's view of an employment started or ended.
    static func employmentItem(_ employment: (id: String, starts: Bool)) -> StreamItem {
        StreamItem(
            employment.starts ? .starts : .ends, key: employment.id, field: "data.employmentId", noun: "employment")
    }
}

extension LedgerDigest {
    /// The digest as one line of JSON, keys in the order seq, hash, recordedAt, merkleRoot.
    public var json: String {
        let recorded = recordedAt.map { "\"\($0)\"" } ?? "null"
        let root = merkleRoot.map { ",\"merkleRoot\":\"\(Hex.encode($0))\"" } ?? ""
        return "{\"seq\":\(seq),\"hash\":\"\(Hex.encode(hash))\",\"recordedAt\":\(recorded)\(root)}"
    }

    /// Reads a digest from its JSON; `merkleRoot` may be absent (a digest kept
    /// before the ledger had a Merkle tree), and other keys are ignored. A
    /// refusal names the key and its rule, with what was given.
    public init(json text: String) throws {
        guard case .object(let object) = try JSONParser.parse(text) else {
            throw AppError.usage(
                "a digest is a JSON object {\"seq\":N,\"hash\":\"<64 hex digits>\",\"recordedAt\":\"…\"}"
                    + " (got \(Echo.bare(text)))")
        }
        func refuse(_ key: String, _ rule: String) -> AppError {
            let given = object[key].map { Echo.bare(String(decoding: CanonicalJSON.encode($0), as: UTF8.self)) }
            return AppError.usage("the digest's \(key) \(rule) (got \(given ?? "nothing"))")
        }
        guard case .integer(let seq)? = object["seq"], seq >= 0 else {
            throw refuse("seq", "must be the whole number of records it covers, 0 or more")
        }
        guard case .string(let hashText)? = object["hash"], hashText.utf8.count == 64, let hash = Hex.decode(hashText)
        else { throw refuse("hash", "must be the last record's hash, 64 hex digits") }
        var recordedAt: Instant?
        switch object["recordedAt"] {
        case .string(let raw)?:
            guard let instant = Instant(rfc3339: raw) else {
                throw AppError.usage("the digest's recordedAt " + Instant.rule(refusing: raw))
            }
            recordedAt = instant
        case nil, .null?: break
        case .some: throw refuse("recordedAt", "must be an RFC 3339 instant, or null for an empty ledger")
        }
        var merkleRoot: [UInt8]?
        if let value = object["merkleRoot"] {
            guard case .string(let text) = value, text.utf8.count == 64, let root = Hex.decode(text) else {
                throw refuse("merkleRoot", "must be 64 hex digits")
            }
            merkleRoot = root
        }
        self.init(seq: seq, hash: hash, recordedAt: recordedAt, merkleRoot: merkleRoot)
    }
}

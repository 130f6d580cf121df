import LedgerValues

/// The 64 zeros that stand for "no previous record" in the `prevHash` of seq 1.
public let genesisHash = [UInt8](repeating: 0, count: 32)

/// One chained record: an event as the ledger stored it, with the position,
/// time and link the store gave it (events.md §2).
///
/// Its hash is SHA-256 over the RFC 8785 form of exactly these fields; personal
/// data is never among them, only a salted commitment to it.
public struct LedgerRecord: Equatable, Sendable {
    /// Global position, 1, 2, 3, … with no gaps.
    public var seq: Int64
    /// The event's idempotency key, unique in the ledger.
    public var id: String
    /// `<kind>-<key>`, e.g. `person-P1`.
    public var stream: String
    /// Position in the stream, 1, 2, …
    public var version: Int64
    /// The event type, e.g. `PersonRegistered`.
    public var type: String
    /// The payload version of the type.
    public var schema: Int64
    /// When it happened in the world (effective time).
    public var occurredAt: LocalDate
    /// When the federation learned it (recorded time), UTC milliseconds.
    public var recordedAt: Instant
    /// Who recorded it.
    public var actor: String
    /// The unit that recorded it.
    public var orgUnit: String
    /// The type's payload.
    public var data: JSONObject
    /// Lowercase hex SHA-256(salt ‖ JCS(pii)) when the event carried personal data.
    public var piiCommitment: String?
    /// The hash of record `seq - 1` (32 raw bytes).
    public var prevHash: [UInt8]

    public init(
        seq: Int64, id: String, stream: String, version: Int64, type: String, schema: Int64,
        occurredAt: LocalDate, recordedAt: Instant, actor: String, orgUnit: String, data: JSONObject,
        piiCommitment: String?, prevHash: [UInt8]
    ) {
        self.seq = seq
        self.id = id
        self.stream = stream
        self.version = version
        self.type = type
        self.schema = schema
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.actor = actor
        self.orgUnit = orgUnit
        self.data = data
        self.piiCommitment = piiCommitment
        self.prevHash = prevHash
    }

    /// The exact bytes that are hashed: the record in RFC 8785 form.
    ///
    /// Written key by key in canonical order (actor, data, id, occurredAt,
    /// orgUnit, piiCommitment, prevHash, recordedAt, schema, seq, stream, type,
    /// version) rather than by sorting a dictionary, since this runs once per
    /// event; a test holds it equal to the generic canonicaliser.
    public func canonicalBytes() -> [UInt8] {
        LedgerRecord.canonicalBytes(
            seq: seq, id: id, stream: stream, version: version, type: type, schema: schema, occurredAt: occurredAt,
            recordedAt: recordedAt, actor: actor, orgUnit: orgUnit, canonicalData: CanonicalJSON.encode(.object(data)),
            piiCommitment: piiCommitment, prevHash: prevHash)
    }

    /// The canonical bytes of a record whose `data` is already in canonical form.
    static func canonicalBytes(
        seq: Int64, id: String, stream: String, version: Int64, type: String, schema: Int64, occurredAt: LocalDate,
        recordedAt: Instant, actor: String, orgUnit: String, canonicalData: [UInt8], piiCommitment: String?,
        prevHash: [UInt8]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(canonicalData.count + 384)
        writePrefix(
            actor: actor, canonicalData: canonicalData, id: id, occurredAt: occurredAt, orgUnit: orgUnit,
            piiCommitment: piiCommitment, into: &out)
        writeSuffix(
            prevHash: prevHash, recordedAt: recordedAt, schema: schema, seq: seq, stream: stream, type: type,
            version: version, into: &out)
        return out
    }

    /// The keys that sort before `prevHash`, all known before the event is
    /// sequenced: `{"actor":…,"data":…,"id":…,"occurredAt":…,"orgUnit":…[,"piiCommitment":…]`.
    static func writePrefix(
        actor: String, canonicalData: [UInt8], id: String, occurredAt: LocalDate, orgUnit: String,
        piiCommitment: String?, into out: inout [UInt8]
    ) {
        append("{\"actor\":", to: &out)
        CanonicalJSON.writeString(actor, into: &out)
        append(",\"data\":", to: &out)
        out.append(contentsOf: canonicalData)
        append(",\"id\":", to: &out)
        CanonicalJSON.writeString(id, into: &out)
        append(",\"occurredAt\":\"", to: &out)
        occurredAt.write(into: &out)
        append("\",\"orgUnit\":", to: &out)
        CanonicalJSON.writeString(orgUnit, into: &out)
        if let piiCommitment {
            append(",\"piiCommitment\":\"", to: &out)
            out.append(contentsOf: piiCommitment.utf8)
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The keys from `prevHash` on, which the ledger assigns when it appends.
    static func writeSuffix(
        prevHash: [UInt8], recordedAt: Instant, schema: Int64, seq: Int64, stream: String, type: String,
        version: Int64, into out: inout [UInt8]
    ) {
        append(",\"prevHash\":\"", to: &out)
        Hex.write(prevHash, into: &out)
        append("\",\"recordedAt\":\"", to: &out)
        recordedAt.write(into: &out)
        append("\",\"schema\":", to: &out)
        CanonicalJSON.writeInteger(schema, into: &out)
        append(",\"seq\":", to: &out)
        CanonicalJSON.writeInteger(seq, into: &out)
        append(",\"stream\":", to: &out)
        CanonicalJSON.writeString(stream, into: &out)
        append(",\"type\":", to: &out)
        CanonicalJSON.writeString(type, into: &out)
        append(",\"version\":", to: &out)
        CanonicalJSON.writeInteger(version, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// SHA-256 of `canonicalBytes()`: the record's hash, computed afresh.
    public var computedHash: [UInt8] { sha256(canonicalBytes()) }

    /// The record as a JSON object (what `canonicalBytes` serialises).
    public var jsonObject: JSONObject {
        var object = JSONObject()
        object["seq"] = .integer(seq)
        object["id"] = .string(id)
        object["stream"] = .string(stream)
        object["version"] = .integer(version)
        object["type"] = .string(type)
        object["schema"] = .integer(schema)
        object["occurredAt"] = .string(occurredAt.description)
        object["recordedAt"] = .string(recordedAt.description)
        object["actor"] = .string(actor)
        object["orgUnit"] = .string(orgUnit)
        object["data"] = .object(data)
        if let piiCommitment { object["piiCommitment"] = .string(piiCommitment) }
        object["prevHash"] = .string(Hex.encode(prevHash))
        return object
    }

    /// The keys a record has, in the order events.md §2 lists them.
    public static let keys: [String] = [
        "seq", "id", "stream", "version", "type", "schema", "occurredAt", "recordedAt", "actor", "orgUnit",
        "data", "piiCommitment", "prevHash",
    ]

    /// Reads a record back from its JSON object; the reason when a key is missing,
    /// unknown or of the wrong kind.
    public init(json object: JSONObject) throws(RecordFormatError) {
        for key in object.keys where !LedgerRecord.keys.contains(key) {
            throw RecordFormatError(field: Echo.key(key), reason: "is not a key of a chained record")
        }
        func string(_ key: String) throws(RecordFormatError) -> String {
            guard let value = object[key] else { throw RecordFormatError(field: key, reason: "is missing") }
            guard case .string(let s) = value else {
                throw RecordFormatError(field: key, reason: "must be a string, not \(value.kindName)")
            }
            return s
        }
        func integer(_ key: String) throws(RecordFormatError) -> Int64 {
            guard let value = object[key] else { throw RecordFormatError(field: key, reason: "is missing") }
            guard case .integer(let i) = value, i >= 1 else {
                throw RecordFormatError(field: key, reason: "must be an integer ≥ 1, not \(value.quoted)")
            }
            return i
        }
        func hash(_ key: String) throws(RecordFormatError) -> [UInt8] {
            let text = try string(key)
            guard text.utf8.count == 64, let bytes = Hex.decode(text) else {
                throw RecordFormatError(field: key, reason: "must be 64 lowercase hex digits")
            }
            return bytes
        }
        seq = try integer("seq")
        id = try string("id")
        stream = try string("stream")
        version = try integer("version")
        type = try string("type")
        schema = try integer("schema")
        guard let occurred = LocalDate(iso: try string("occurredAt")) else {
            throw RecordFormatError(field: "occurredAt", reason: "must be a date YYYY-MM-DD")
        }
        occurredAt = occurred
        let recordedText = try string("recordedAt")
        guard let recorded = Instant(rfc3339: recordedText), recorded.description == recordedText else {
            throw RecordFormatError(field: "recordedAt", reason: "must be a UTC instant YYYY-MM-DDTHH:MM:SS.mmmZ")
        }
        recordedAt = recorded
        actor = try string("actor")
        orgUnit = try string("orgUnit")
        guard case .object(let payload)? = object["data"] else {
            throw RecordFormatError(field: "data", reason: "must be an object")
        }
        data = payload
        if object["piiCommitment"] != nil {
            piiCommitment = Hex.encode(try hash("piiCommitment"))
        } else {
            piiCommitment = nil
        }
        prevHash = try hash("prevHash")
    }
}

/// A stored or exported record that is not in the chained-record form.
public struct RecordFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key at fault.
    public let field: String
    /// What is wrong with it.
    public let reason: String

    public var description: String { "\(field): \(reason)" }
}

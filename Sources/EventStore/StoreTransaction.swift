import LMDBKit
import LedgerValues

/// The named databases of a ledger, all in one LMDB environment so that one
/// transaction covers the records, their indexes and the vault together.
struct LedgerDatabases: Sendable {
    /// seq (8 bytes big-endian) → SHA-256 of the record (32 bytes) ‖ its canonical JSON.
    let records: LMDBDatabase
    /// id (UTF-8) → seq.
    let ids: LMDBDatabase
    /// stream (UTF-8) ‖ 0x00 ‖ version (4 bytes big-endian) → seq.
    let streamIndex: LMDBDatabase
    /// stream (UTF-8) → `StreamState`.
    let streams: LMDBDatabase
    /// seq → the personal-data vault entry: salt (16 bytes) ‖ canonical JSON of
    /// the pii, sealed under its stream's key (see `VaultKeys`).
    let vault: LMDBDatabase
    /// "head" → seq ‖ hash ‖ recordedAt.
    let meta: LMDBDatabase
    /// stream (UTF-8) ‖ 0x00 ‖ item key → `ItemState`: what an event started in a
    /// stream and a later one ends (a person's employments).
    let items: LMDBDatabase
    /// Merkle node number (8 bytes big-endian, see `MerkleTree`) → the hash of that complete subtree.
    let merkle: LMDBDatabase
    /// Slot (8 bytes big-endian) → nothing: stream keys erased whose slots may
    /// not yet have been overwritten (a crash between commit and shredding).
    let vaultShreds: LMDBDatabase

    /// The database every ledger has from its first write: the records.
    static let recordsName = "records"

    static let names = [
        recordsName, "ids", "stream-index", "streams", "vault", "meta", "items", "merkle", "vault-shreds",
    ]

    /// Every one of them, in the order of `names`.
    let all: [LMDBDatabase]

    init(_ handles: [LMDBDatabase]) {
        all = handles
        records = handles[0]
        ids = handles[1]
        streamIndex = handles[2]
        streams = handles[3]
        vault = handles[4]
        meta = handles[5]
        items = handles[6]
        merkle = handles[7]
        vaultShreds = handles[8]
    }
}

/// The last record of the ledger: what the next one links to.
public struct LedgerHead: Equatable, Sendable {
    /// Its seq; 0 for an empty ledger.
    public var seq: Int64
    /// Its hash; 32 zero bytes for an empty ledger.
    public var hash: [UInt8]
    /// Its recordedAt; nil for an empty ledger.
    public var recordedAt: Instant?

    /// The head of an empty ledger.
    public static let empty = LedgerHead(seq: 0, hash: genesisHash, recordedAt: nil)

    var encoded: [UInt8] {
        var out: [UInt8] = []
        appendBigEndian(UInt64(seq), to: &out)
        out += hash
        appendBigEndian(UInt64(bitPattern: recordedAt?.milliseconds ?? 0), to: &out)
        return out
    }

    init(seq: Int64, hash: [UInt8], recordedAt: Instant?) {
        self.seq = seq
        self.hash = hash
        self.recordedAt = recordedAt
    }

    init?(encoded buffer: UnsafeRawBufferPointer) {
        guard buffer.count == 48 else { return nil }
        seq = Int64(readBigEndian(buffer))
        hash = Array(buffer[8..<40])
        // An empty ledger's head (stored by an append that stored nothing) has no recordedAt.
        recordedAt = seq == 0 ? nil : Instant(milliseconds: Int64(bitPattern: readBigEndian(buffer, at: 40)))
    }
}

/// A vault entry: the salt of a record's commitment and its personal data.
public struct VaultEntry: Equatable, Sendable {
    /// The 16 random bytes drawn when the record was appended.
    public let salt: [UInt8]
    /// The canonical JSON of the pii object.
    public let canonicalPII: [UInt8]

    /// The pii as an object.
    public var pii: JSONObject {
        (try? JSONParser.parse(canonicalPII))?.objectValue ?? JSONObject()
    }

    init(salt: [UInt8], canonicalPII: [UInt8]) {
        self.salt = salt
        self.canonicalPII = canonicalPII
    }

    init?(encoded buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 16 else { return nil }
        salt = Array(buffer[0..<16])
        canonicalPII = Array(buffer[16...])
    }

    var encoded: [UInt8] { salt + canonicalPII }
}

/// Reads and writes of the ledger's own structures inside one LMDB transaction.
struct StoreTransaction {
    let txn: LMDBTransaction
    let dbs: LedgerDatabases
    let keys: VaultKeys

    static let headKey = Array("head".utf8)

    func head() throws -> LedgerHead {
        let stored = try txn.withValue(in: dbs.meta, forKey: StoreTransaction.headKey) { LedgerHead(encoded: $0) }
        return (stored ?? nil) ?? .empty
    }

    func seq(ofID id: String) throws -> Int64? {
        var id = id
        return try id.withUTF8 { key in
            try txn.get(UnsafeRawBufferPointer(key), in: dbs.ids).map { Int64(readBigEndian($0)) }
        }
    }

    /// The greatest key of the id index, or nil when it is empty.
    func greatestID() throws -> [UInt8]? {
        try txn.withLast(in: dbs.ids) { key, _ in Array(key) }
    }

    func streamState(_ stream: String) throws -> StreamState? {
        var stream = stream
        return try stream.withUTF8 { key in
            try txn.get(UnsafeRawBufferPointer(key), in: dbs.streams).flatMap { StreamState(encoded: $0) }
        }
    }

    /// The state of item `key` of `stream`, if it was ever started.
    func itemState(_ stream: String, key: String) throws -> ItemState? {
        try txn.withValue(in: dbs.items, forKey: StoreTransaction.itemKey(stream, key)) { ItemState(encoded: $0) }
            ?? nil
    }

    func putItemState(_ state: ItemState, stream: String, key: String) throws {
        try txn.put(state.encoded, forKey: StoreTransaction.itemKey(stream, key), in: dbs.items)
    }

    static func itemKey(_ stream: String, _ key: String) -> [UInt8] {
        Array(stream.utf8) + [0] + Array(key.utf8)
    }

    /// The personal data of record `seq`, opened; nil when the vault holds none.
    func vaultEntry(at seq: Int64) throws -> VaultEntry? {
        guard let stored = try txn.value(in: dbs.vault, forKey: bigEndianKey(seq)) else { return nil }
        let entry = try stored.withUnsafeBytes { try keys.open($0, seq: seq, sealed: keys.isSealed(self), self) }
        guard let entry else {
            throw LedgerError.damaged(seq: seq, reason: "the vault entry cannot be opened with its key")
        }
        return entry
    }

    /// The stored record at `seq`, decoded in full.
    func record(at seq: Int64) throws -> LedgerRecord? {
        try txn.withValue(in: dbs.records, forKey: bigEndianKey(seq)) { value -> LedgerRecord? in
            guard value.count > 32 else { return nil }
            return try? LedgerRecord(stored: UnsafeRawBufferPointer(rebasing: value[32...]))
        } ?? nil
    }

    /// The stored hash of the record at `seq`.
    func hash(at seq: Int64) throws -> [UInt8]? {
        try txn.withValue(in: dbs.records, forKey: bigEndianKey(seq)) { Array($0.prefix(32)) }
    }

    /// The seqs of `stream`'s events, in version order.
    func seqs(ofStream stream: String) throws -> [Int64] {
        let prefix = StoreTransaction.streamIndexPrefix(stream)
        var seqs: [Int64] = []
        try txn.scan(dbs.streamIndex, from: prefix) { key, value in
            guard key.count == prefix.count + 4, key.starts(with: prefix) else { return .stop }
            seqs.append(Int64(readBigEndian(value)))
            return .next
        }
        return seqs
    }

    /// What every stream-index key of `stream` starts with: `stream ‖ 0x00`.
    static func streamIndexPrefix(_ stream: String) -> [UInt8] { Array(stream.utf8) + [0] }

    static func streamIndexKey(_ stream: String, version: Int64) -> [UInt8] {
        var key = streamIndexPrefix(stream)
        appendBigEndian(UInt64(version), count: 4, to: &key)
        return key
    }
}

extension LedgerRecord {
    /// Decodes a record from its stored canonical bytes.
    init(stored bytes: UnsafeRawBufferPointer) throws {
        guard case .object(let object) = try JSONParser.parse(bytes.bindMemory(to: UInt8.self)) else {
            throw RecordFormatError(field: "record", reason: "is not a JSON object")
        }
        try self.init(json: object)
    }
}

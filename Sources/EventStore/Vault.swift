import LMDBKit
import LedgerValues
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The keys that lock the personal-data vault: a master key, and one key per
/// stream (per person) wrapped by it.
///
/// Every vault entry is sealed with AES-256-GCM under its stream's key, so the
/// LMDB data file never holds personal data in the clear. The stream keys are
/// not kept in LMDB, whose copy-on-write pages outlive a delete: they live in a
/// file of fixed 64-byte slots, `vault-keys`, each the key sealed under the
/// master key. Erasing a person overwrites their slot with zeros in place, so
/// what stale pages of the data file still hold can no longer be opened by
/// anyone, the federation included.
///
/// The master key is 64 hexadecimal digits, from `SUNLEDGER_MASTER_KEY`, else
/// from the file `SUNLEDGER_MASTER_KEY_FILE` names, else from `master.key` in the
/// ledger directory, which the first write of personal data creates with mode
/// 0600. A key file that others may read is refused.
///
/// The class is `@unchecked Sendable`: its mutable state is behind a mutex.
public final class VaultKeys: @unchecked Sendable {
    /// Why the vault's keys could not be had.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// Personal data is stored but no master key is to be found.
        case noMasterKey(path: String)
        /// The master key given is not the one the vault was locked with.
        case wrongMasterKey(source: String)
        /// The master key (or its file) is not 64 hexadecimal digits, or the file is open to others.
        case unusableMasterKey(source: String, reason: String)
        /// A stream key's slot cannot be read or written.
        case keyFile(path: String, reason: String)

        public var description: String {
            switch self {
            case .noMasterKey(let path):
                "the vault holds personal data but its master key is missing: put it back at \(path), or give it in SUNLEDGER_MASTER_KEY"
            case .wrongMasterKey(let source):
                "the master key from \(source) is not the one this ledger's vault was locked with"
            case .unusableMasterKey(let source, let reason):
                "the master key from \(source) \(reason)"
            case .keyFile(let path, let reason):
                "the vault's key file \(path): \(reason)"
            }
        }
    }

    /// The ledger directory.
    let ledgerPath: String
    private let environment: [String: String]
    private let state = Mutex(State())

    private struct State {
        var master: [UInt8]?
        var masterSource = ""
        /// Stream keys by slot, as unwrapped in this process: at most
        /// `limits.keysKept`, so that a process that opens every entry of a large
        /// vault (`verify`, `export --pii`) or an import that registers a great
        /// many persons does not hold a key for each.
        var keys: [UInt64: [UInt8]] = [:]
        var slotFile: Int32 = -1
        /// The next slot to draw in the current transaction; nil outside one.
        var nextSlot: UInt64?
        /// The first slot drawn in it and not yet written, and the sealed keys
        /// drawn since, in slot order.
        var firstPendingSlot: UInt64 = 0
        var pendingSlots: [UInt8] = []
    }

    /// How many stream keys a process holds in memory.
    public struct Limits: Sendable {
        /// The most stream keys kept unwrapped; one more and they are all let
        /// go (a key let go is read from its slot again when next needed).
        public var keysKept: Int
        /// The most sealed keys drawn and held before they are written to
        /// their slots (durable only once `persist(_:)` syncs them).
        public var pendingSlotsHeld: Int

        /// Limits of at least one key each.
        public init(keysKept: Int, pendingSlotsHeld: Int) {
            self.keysKept = max(keysKept, 1)
            self.pendingSlotsHeld = max(pendingSlotsHeld, 1)
        }

        /// 65,536 keys kept, about 6 MB, and 4,096 drawn keys (256 KiB) held.
        public static let standard = Limits(keysKept: 1 << 16, pendingSlotsHeld: 1 << 12)
    }

    /// How many keys this process holds.
    let limits: Limits

    /// Bytes of one slot of `vault-keys`: nonce ‖ sealed key ‖ tag, then 4 zero bytes.
    static let slotSize = 64

    /// The keys of the ledger at `ledgerPath`, with the master key looked for
    /// in `environment` first.
    public init(ledgerPath: String, environment: [String: String], limits: Limits = .standard) {
        self.ledgerPath = ledgerPath
        self.environment = environment
        self.limits = limits
    }

    deinit {
        state.withLock { if $0.slotFile >= 0 { close($0.slotFile) } }
    }

    var slotFilePath: String { ledgerPath + "/vault-keys" }

    /// Where the master key is kept when not given in the environment.
    public var masterKeyPath: String {
        environment["SUNLEDGER_MASTER_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? ledgerPath + "/master.key"
    }

    // MARK: The master key

    /// The master key, checked against the vault's check value in `store`;
    /// created (with its check value) when `creating` and none exists yet.
    private func masterKey(_ store: StoreTransaction, creating: Bool) throws -> [UInt8] {
        if let known = state.withLock({ $0.master }) { return known }
        let check = try store.txn.value(in: store.dbs.meta, forKey: VaultKeys.checkKey)
        var (key, source) = try loadMasterKey()
        if key == nil {
            guard creating, check == nil else { throw Problem.noMasterKey(path: masterKeyPath) }
            key = try createMasterKeyFile()
            source = masterKeyPath
        }
        let master = key!
        if let check {
            let opened = check.withUnsafeBytes {
                AESGCM.open($0, key: master, associated: VaultKeys.checkAssociated)
            }
            guard opened == VaultKeys.checkPlaintext else { throw Problem.wrongMasterKey(source: source) }
        } else if creating {
            let sealed = try AESGCM.seal(VaultKeys.checkPlaintext, key: master, associated: VaultKeys.checkAssociated)
            try store.txn.put(sealed, forKey: VaultKeys.checkKey, in: store.dbs.meta)
        }
        state.withLock {
            $0.master = master
            $0.masterSource = source
        }
        return master
    }

    /// Loads and checks the master key now, so that entries can then be
    /// opened on other threads without touching the transaction.
    func unlock(_ store: StoreTransaction) throws {
        _ = try masterKey(store, creating: false)
    }

    private static let checkKey = Array("vault-check".utf8)
    private static let checkPlaintext = Array("Sunledger vault master key".utf8)
    private static let checkAssociated = Array("vault-check".utf8)

    /// The master key from the environment or its file; nil when there is none.
    private func loadMasterKey() throws -> (key: [UInt8]?, source: String) {
        if let hex = environment["SUNLEDGER_MASTER_KEY"], !hex.isEmpty {
            return (try VaultKeys.parseMasterKey(hex, source: "SUNLEDGER_MASTER_KEY"), "SUNLEDGER_MASTER_KEY")
        }
        let path = masterKeyPath
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return (nil, path) }
            throw Problem.unusableMasterKey(source: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Problem.unusableMasterKey(source: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o077 != 0 {
            throw Problem.unusableMasterKey(
                source: path,
                reason: "may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it")
        }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &bytes, bytes.count)
        guard count >= 0 else {
            throw Problem.unusableMasterKey(source: path, reason: "cannot be read: \(String(cString: strerror(errno)))")
        }
        let text = String(decoding: bytes[0..<count], as: UTF8.self).trimmingWhitespace
        return (try VaultKeys.parseMasterKey(text, source: path), path)
    }

    static func parseMasterKey(_ hex: String, source: String) throws -> [UInt8] {
        guard hex.utf8.count == 64, let key = Hex.decode(hex) else {
            throw Problem.unusableMasterKey(source: source, reason: "is not 64 hexadecimal digits")
        }
        return key
    }

    /// Draws a master key and writes it, durably, to a new file of mode 0600.
    private func createMasterKeyFile() throws -> [UInt8] {
        let path = masterKeyPath
        let key = try AESGCM.randomBytes(AESGCM.keySize)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Problem.unusableMasterKey(
                source: path, reason: "cannot be created: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let text = Array((Hex.encode(key) + "\n").utf8)
        guard write(fd, text, text.count) == text.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw Problem.unusableMasterKey(source: path, reason: "cannot be written: \(reason)")
        }
        VaultKeys.syncDirectory(of: path)
        return key
    }

    // MARK: Stream keys

    /// Draws a key for a new slot and seals it under the master key; the
    /// slot's number comes from the session's count (see `beginSession`).
    ///
    /// The sealed keys of a session are written to their slots every
    /// `limits.pendingSlotsHeld` keys and at the end, and made durable by
    /// `persist(_:)` before the transaction that refers to them commits; a
    /// slot written by a transaction that never commits is simply written
    /// again by the next one, and until then no committed entry refers to it.
    func newSlot(_ store: StoreTransaction) throws -> UInt64 {
        let master = try masterKey(store, creating: true)
        let key = try AESGCM.randomBytes(AESGCM.keySize)
        return try state.withLock { state in
            if state.nextSlot == nil {
                state.nextSlot =
                    try store.txn.withValue(in: store.dbs.meta, forKey: VaultKeys.nextSlotKey) { readBigEndian($0) }
                    ?? 0
                state.firstPendingSlot = state.nextSlot!
                state.pendingSlots.removeAll()
            }
            let slot = state.nextSlot!
            state.nextSlot = slot + 1
            state.pendingSlots += try AESGCM.seal(key, key: master, associated: VaultKeys.slotAssociated(slot))
            state.pendingSlots += [UInt8](repeating: 0, count: 4)
            if state.pendingSlots.count >= limits.pendingSlotsHeld * VaultKeys.slotSize {
                try writePendingSlots(&state)
            }
            try remember(key, slot: slot, &state)
            return slot
        }
    }

    /// Writes the sealed keys drawn and not yet written to their slots.
    private func writePendingSlots(_ state: inout State) throws {
        guard !state.pendingSlots.isEmpty else { return }
        try writeSlots(from: state.firstPendingSlot, state.pendingSlots, &state)
        state.firstPendingSlot += UInt64(state.pendingSlots.count / VaultKeys.slotSize)
        state.pendingSlots.removeAll(keepingCapacity: true)
    }

    /// Keeps `key`, the key in `slot`, unwrapped; lets every key go first when
    /// `limits.keysKept` are kept, having written the pending ones to their slots,
    /// where they are read again when next needed.
    private func remember(_ key: [UInt8], slot: UInt64, _ state: inout State) throws {
        if state.keys.count >= limits.keysKept {
            try writePendingSlots(&state)
            state.keys.removeAll(keepingCapacity: true)
        }
        state.keys[slot] = key
    }

    /// Forgets the slots drawn by a transaction that did not commit: the next
    /// one counts from what is stored.
    func beginSession() {
        state.withLock { state in
            state.nextSlot = nil
            state.pendingSlots.removeAll()
        }
    }

    private static let nextSlotKey = Array("vault-next-slot".utf8)

    /// The slot the next new stream key will take, as committed (0 before any).
    func committedNextSlot(_ store: StoreTransaction) throws -> UInt64 {
        try store.txn.withValue(in: store.dbs.meta, forKey: VaultKeys.nextSlotKey) { readBigEndian($0) } ?? 0
    }

    private static func slotAssociated(_ slot: UInt64) -> [UInt8] {
        var associated = Array("vault-slot".utf8)
        appendBigEndian(slot, to: &associated)
        return associated
    }

    /// The key in `slot`, unwrapped once per process.
    private func key(inSlot slot: UInt64, _ store: StoreTransaction) throws -> [UInt8]? {
        if let known = state.withLock({ $0.keys[slot] }) { return known }
        let master = try masterKey(store, creating: false)
        let record = try readSlot(slot)
        let key = record.withUnsafeBytes {
            AESGCM.open(
                UnsafeRawBufferPointer(rebasing: $0[0..<(AESGCM.nonceSize + AESGCM.keySize + AESGCM.tagSize)]),
                key: master, associated: VaultKeys.slotAssociated(slot))
        }
        if let key { try state.withLock { try remember(key, slot: slot, &$0) } }
        return key
    }

    /// Writes the slots drawn in this transaction, makes them durable and
    /// puts the next slot's number in `store`: called before it commits.
    func persist(_ store: StoreTransaction) throws {
        let next = try state.withLock { state in
            defer {
                state.nextSlot = nil
                state.pendingSlots.removeAll()
            }
            try writePendingSlots(&state)
            return state.nextSlot
        }
        guard let next else { return }
        try syncSlots()
        var stored: [UInt8] = []
        appendBigEndian(next, to: &stored)
        try store.txn.put(stored, forKey: VaultKeys.nextSlotKey, in: store.dbs.meta)
    }

    private func syncSlots() throws {
        try state.withLock { state in
            guard state.slotFile >= 0 else { return }
            guard fdatasync(state.slotFile) == 0 else {
                throw Problem.keyFile(path: slotFilePath, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Overwrites `slots` with zeros in place and makes that durable: the keys
    /// are gone, and with them every copy of what they locked.
    func shred(_ slots: [UInt64]) throws {
        guard !slots.isEmpty else { return }
        let zeros = [UInt8](repeating: 0, count: VaultKeys.slotSize)
        for slot in slots {
            try state.withLock { state in
                state.keys.removeValue(forKey: slot)
                try writeSlots(from: slot, zeros, &state)
            }
        }
        try syncSlots()
    }

    private func slotFileDescriptor(_ state: inout State) throws -> Int32 {
        if state.slotFile >= 0 { return state.slotFile }
        var fd = Glibc.open(slotFilePath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        // On a read-only file system the keys are only read (the ledger cannot be written there).
        if fd < 0 && errno == EROFS { fd = Glibc.open(slotFilePath, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw Problem.keyFile(path: slotFilePath, reason: String(cString: strerror(errno))) }
        state.slotFile = fd
        return fd
    }

    /// Writes `records` (whole slots) from slot `first` on.
    private func writeSlots(from first: UInt64, _ records: [UInt8], _ state: inout State) throws {
        let fd = try slotFileDescriptor(&state)
        let offset = off_t(first) * off_t(VaultKeys.slotSize)
        guard pwrite(fd, records, records.count, offset) == records.count else {
            throw Problem.keyFile(path: slotFilePath, reason: String(cString: strerror(errno)))
        }
    }

    private func readSlot(_ slot: UInt64) throws -> [UInt8] {
        try state.withLock { state in
            let fd = try slotFileDescriptor(&state)
            var record = [UInt8](repeating: 0, count: VaultKeys.slotSize)
            let offset = off_t(slot) * off_t(VaultKeys.slotSize)
            guard pread(fd, &record, record.count, offset) == record.count else {
                throw Problem.keyFile(path: slotFilePath, reason: "slot \(slot) cannot be read")
            }
            return record
        }
    }

    private static func syncDirectory(of path: String) {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let fd = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    // MARK: Sealing entries

    /// Whether `store`'s vault entries are sealed (a ledger made before the
    /// vault was encrypted holds them in the clear until its next append).
    func isSealed(_ store: StoreTransaction) throws -> Bool {
        try store.txn.value(in: store.dbs.meta, forKey: VaultKeys.formatKey) != nil
    }

    static let formatKey = Array("vault-sealed".utf8)

    /// The stored form of `entry` for record `seq`: slot (8 bytes big-endian)
    /// ‖ nonce ‖ AES-GCM of salt ‖ canonical pii ‖ tag, bound to seq and slot.
    func seal(_ entry: VaultEntry, seq: Int64, slot: UInt64, _ store: StoreTransaction) throws -> [UInt8] {
        guard let key = try key(inSlot: slot, store) else {
            throw LedgerError.damaged(seq: seq, reason: "the key of slot \(slot) of the vault cannot be opened")
        }
        var stored: [UInt8] = []
        appendBigEndian(slot, to: &stored)
        stored += try AESGCM.seal(entry.encoded, key: key, associated: VaultKeys.entryAssociated(seq: seq, slot: slot))
        return stored
    }

    /// The slot of a sealed stored entry.
    static func slot(of stored: UnsafeRawBufferPointer) -> UInt64? {
        stored.count > 8 ? readBigEndian(stored) : nil
    }

    /// The entry `stored` holds for record `seq`; nil when it cannot be opened
    /// (its key shredded, or the bytes changed).
    func open(
        _ stored: UnsafeRawBufferPointer, seq: Int64, sealed: Bool, _ store: StoreTransaction
    ) throws
        -> VaultEntry?
    {
        guard sealed else { return VaultEntry(encoded: stored) }
        guard let slot = VaultKeys.slot(of: stored), let key = try key(inSlot: slot, store) else { return nil }
        let plaintext = AESGCM.open(
            UnsafeRawBufferPointer(rebasing: stored[8...]), key: key,
            associated: VaultKeys.entryAssociated(seq: seq, slot: slot))
        return plaintext.flatMap { bytes in bytes.withUnsafeBytes { VaultEntry(encoded: $0) } }
    }

    private static func entryAssociated(seq: Int64, slot: UInt64) -> [UInt8] {
        var associated: [UInt8] = []
        appendBigEndian(UInt64(seq), to: &associated)
        appendBigEndian(slot, to: &associated)
        return associated
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

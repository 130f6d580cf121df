internal import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error returned by an LMDB call or by the operating system underneath it.
///
/// LMDB reports both its own conditions (`MDB_MAP_FULL`, `MDB_KEYEXIST`, …) and
/// plain `errno` values (`ENOSPC` when the disk is full) through the same
/// integer; this type keeps that integer and names the cases callers act on, so
/// that `catch LMDBError.mapFull` reads as what it means.
public struct LMDBError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    /// The return code of the failing call: an `MDB_*` code or an `errno` value.
    public let code: Int32
    /// The LMDB function that returned it, for the message.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The key or data item was not found (`MDB_NOTFOUND`).
    public static let notFound = LMDBError(code: MDB_NOTFOUND, operation: "")
    /// A key that must be new exists already (`MDB_KEYEXIST`).
    public static let keyExists = LMDBError(code: MDB_KEYEXIST, operation: "")
    /// The memory map is full (`MDB_MAP_FULL`); the environment grows and retries.
    public static let mapFull = LMDBError(code: MDB_MAP_FULL, operation: "")
    /// Another process grew the map (`MDB_MAP_RESIZED`); this one adopts the size and retries.
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED, operation: "")
    /// Too many named databases are open (`MDB_DBS_FULL`).
    public static let databasesFull = LMDBError(code: MDB_DBS_FULL, operation: "")
    /// Every reader slot is taken (`MDB_READERS_FULL`).
    public static let readersFull = LMDBError(code: MDB_READERS_FULL, operation: "")
    /// The disk has no space left (`ENOSPC`).
    public static let diskFull = LMDBError(code: ENOSPC, operation: "")
    /// The file may not grow any further under the process's limits (`EFBIG`).
    public static let fileTooLarge = LMDBError(code: EFBIG, operation: "")
    /// The file system is mounted read-only (`EROFS`).
    public static let readOnlyFileSystem = LMDBError(code: EROFS, operation: "")
    /// The disk quota is exhausted (`EDQUOT`).
    public static let quotaExceeded = LMDBError(code: EDQUOT, operation: "")

    /// True when the failure means the storage has no room left: a full disk,
    /// an exhausted quota, or a file-size limit. Nothing committed before is lost.
    public var isOutOfSpace: Bool {
        code == ENOSPC || code == EFBIG || code == EDQUOT
    }

    /// True when LMDB found its own file damaged: a page that is not where a
    /// B-tree says it is (`MDB_PAGE_NOTFOUND`), a page of the wrong kind
    /// (`MDB_CORRUPTED`), or a file that is no longer an LMDB file (`MDB_INVALID`).
    public var isStorageDamage: Bool {
        code == MDB_PAGE_NOTFOUND || code == MDB_CORRUPTED || code == MDB_INVALID
    }

    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// Lets `catch LMDBError.mapFull` and `case LMDBError.notFound` match by code.
    public static func ~= (pattern: LMDBError, value: any Error) -> Bool {
        (value as? LMDBError)?.code == pattern.code
    }

    public var description: String {
        let text = String(cString: mdb_strerror(code))
        let said = operation.isEmpty ? text : "\(operation): \(text)"
        guard isStorageDamage else { return said }
        return
            "the data file is damaged (\(said)): a page of its own B-trees is not what LMDB expects, so what it holds cannot all be read. Restore the ledger from an export (`sunledger restore`) or a whole copy"
    }
}

/// The one funnel every LMDB return code passes through.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if rc != MDB_SUCCESS { throw LMDBError(code: rc, operation: operation()) }
}

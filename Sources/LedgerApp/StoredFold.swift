import EventStore
import Foundation
import LedgerProjections

/// A KPI fold as the ledger stores it: its snapshot (`KPIProjection.snapshot()`)
/// sealed with the snapshot's SHA-256, so that a page of the fold damaged on
/// disk is found when the fold is read, and by `verify`, instead of being
/// served as figures. The snapshot's own reader refuses most damage but not
/// all: a flipped bit inside a count or a date still reads as a fold.
///
/// Stored form: the tag `SLKS`, the 32-byte SHA-256 of the snapshot, then the
/// snapshot. A fold stored by a build before seals starts with the snapshot's
/// own tag (`SLKP`); it is read as it is, and sealed when it is next put or
/// rebuilt. No single flipped bit turns one tag into the other.
enum StoredFold {
    /// The tag of a sealed fold ("SLKS").
    static let tag: [UInt8] = [0x53, 0x4C, 0x4B, 0x53]
    /// The tag that starts a bare snapshot ("SLKP"), as earlier builds stored it.
    static let bareTag: [UInt8] = [0x53, 0x4C, 0x4B, 0x50]
    /// Bytes before the snapshot: the tag and the hash.
    static let headerCount = tag.count + 32

    /// The seal of a snapshot written in `parts`: the tag, then the SHA-256 of the parts one after another.
    private static func seal(of parts: [[UInt8]]) -> [UInt8] {
        tag + sha256(pieces: parts)
    }

    /// `snapshot` sealed for storing.
    static func sealed(_ snapshot: [UInt8]) -> [UInt8] {
        var stored = seal(of: [snapshot])
        stored.reserveCapacity(headerCount + snapshot.count)
        stored += snapshot
        return stored
    }

    /// `fold`'s snapshot sealed for storing, in the parts it was written in
    /// (`KPIProjection.snapshotParts()`): hashed part by part and put the
    /// same way, its bytes are held once, where joining them would hold
    /// them twice (the fold of 10 million events of the bench's district is some 55 MB).
    static func sealed(_ fold: KPIProjection) -> Pieces {
        let parts = fold.snapshotParts()
        return Pieces([seal(of: parts)] + parts)
    }

    /// A sealed fold as pieces to be taken one after another: the seal, then the snapshot.
    struct Pieces: Sendable {
        let pieces: [[UInt8]]

        /// The sealed fold `bytes`, in one piece.
        init(_ bytes: [UInt8]) { pieces = [bytes] }

        init(_ pieces: [[UInt8]]) { self.pieces = pieces }

        /// Puts the sealed fold under `key` in `space` (`ProjectionAccess.put(pieces:forKey:in:)`).
        func put(forKey key: [UInt8], in space: String, _ access: ProjectionAccess) throws {
            try access.put(pieces: pieces, forKey: key, in: space)
        }
    }

    /// The SHA-256 of the snapshot inside a sealed fold: the rebuild's content hash.
    static func contentHash(of sealed: [UInt8]) -> [UInt8] {
        Array(sealed[tag.count..<headerCount])
    }

    /// Why stored bytes are not a fold that can be trusted.
    enum Damage: Error, CustomStringConvertible {
        /// Neither a sealed fold nor a bare snapshot.
        case untagged
        /// Sealed, but the snapshot no longer hashes to the seal.
        case sealBroken

        var description: String {
            switch self {
            case .untagged: "they start with neither the tag of a sealed fold (SLKS) nor that of a snapshot (SLKP)"
            case .sealBroken: "their SHA-256 no longer matches the seal they were stored with: the data file is damaged"
            }
        }
    }

    /// The snapshot inside `stored`, its seal checked; a bare snapshot of an earlier build as it is.
    static func snapshot(in stored: UnsafeRawBufferPointer) throws(Damage) -> UnsafeRawBufferPointer {
        if stored.starts(with: bareTag) { return stored }
        guard stored.count >= headerCount, stored.starts(with: tag) else { throw .untagged }
        let snapshot = UnsafeRawBufferPointer(rebasing: stored[headerCount...])
        guard sha256(snapshot).elementsEqual(stored[tag.count..<headerCount]) else { throw .sealBroken }
        return snapshot
    }

    /// How a live stored fold differs from its rebuild (sealed, as this build
    /// stores it), in words; nil when both hold the same snapshot. Equal bytes
    /// need no hashing; a live fold stored bare by an earlier build is compared
    /// by its snapshot, and a damaged one is said to be so.
    static func mismatch(live: UnsafeRawBufferPointer, rebuilt: UnsafeRawBufferPointer) -> String? {
        if sameBytes(live, rebuilt) { return nil }
        do {
            let snapshot = try snapshot(in: live)
            return sameBytes(snapshot, (try? self.snapshot(in: rebuilt)) ?? rebuilt) ? nil : "differed from the log's"
        } catch {
            return "of the live figures could not be read: \(error)"
        }
    }

    private static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let first = a.baseAddress, let second = b.baseAddress else { return true }
        return memcmp(first, second, a.count) == 0
    }

    /// Whether `stored` is sealed (rather than a bare snapshot of an earlier build).
    static func isSealed(_ stored: UnsafeRawBufferPointer) -> Bool {
        stored.starts(with: tag)
    }
}

import LMDBKit

/// The Merkle tree of the records' hashes (events.md §7, RFC 6962 §2.1): leaf
/// i is the hash of record seq i+1; leaf hash = SHA-256(0x00 ‖ leaf), node hash
/// = SHA-256(0x01 ‖ left ‖ right).
///
/// Every complete subtree's hash is stored, keyed by the order in which the
/// subtrees complete as leaves are appended: leaf j is node 2j − popcount(j),
/// and the subtrees it completes (one per trailing 1 bit of j) follow it. So
/// appending puts at the end of the database, and the hash of any complete
/// subtree is one read: a root, an inclusion proof or a consistency proof is
/// O(log n) reads.
enum MerkleTree {
    /// The hash of the empty tree: SHA-256 of nothing.
    static let emptyRoot = [UInt8](
        Hex.decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")!)

    /// The key of the complete subtree at `level` whose leaves are `index·2^level ..< (index+1)·2^level`.
    static func nodeKey(level: Int, index: UInt64) -> [UInt8] {
        let last = (index + 1) << UInt64(level) - 1
        return bigEndianKey(Int64(2 * last - UInt64(last.nonzeroBitCount) + UInt64(level)))
    }

    static func leafHash(_ recordHash: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: recordHash)
        return hasher.finalize()
    }

    static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(1)) { hasher.update(bufferPointer: $0) }
        left.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        right.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    /// Builds the whole tree from the stored records' hashes, in `store`'s write transaction.
    static func plant(_ store: StoreTransaction) throws {
        var frontier = MerkleFrontier()
        try store.txn.scan(store.dbs.records) { _, value in
            guard value.count >= 32 else {
                throw LedgerError.damaged(seq: Int64(frontier.count) + 1, reason: "the stored record is truncated")
            }
            try frontier.append(UnsafeRawBufferPointer(rebasing: value[0..<32])) { key, node in
                try store.txn.put(node, forKey: key, in: store.dbs.merkle, options: .append)
            }
            return .next
        }
    }

    /// The largest power of two below `n` (n ≥ 2).
    static func split(_ n: UInt64) -> UInt64 {
        1 << UInt64(63 - (n - 1).leadingZeroBitCount)
    }
}

/// The right edge of the tree while leaves are appended: the hash of the
/// complete subtree of each set bit of the leaf count, in the order they
/// complete. Appending a leaf combines it with the subtrees it completes.
struct MerkleFrontier {
    /// Leaves so far.
    private(set) var count: UInt64 = 0
    /// The complete subtrees' hashes, from the largest (leftmost) to the smallest.
    private var subtrees: [[UInt8]] = []

    /// The frontier of the stored tree of `count` leaves.
    init(count: UInt64, node: (_ level: Int, _ index: UInt64) throws -> [UInt8]) throws {
        self.count = count
        for level in stride(from: 63, through: 0, by: -1) where count & (1 << UInt64(level)) != 0 {
            subtrees.append(try node(level, (count >> UInt64(level)) - 1))
        }
    }

    init() {}

    /// Appends the leaf of a record whose hash is `recordHash`; calls `completed`
    /// with each node it completes, in key order: the leaf's own, then its parents.
    mutating func append(
        _ recordHash: UnsafeRawBufferPointer, _ completed: (_ key: [UInt8], _ hash: [UInt8]) throws -> Void
    ) rethrows {
        let leaf = count
        var hash = MerkleTree.leafHash(recordHash)
        try completed(MerkleTree.nodeKey(level: 0, index: leaf), hash)
        var level = 0
        while leaf & (1 << UInt64(level)) != 0 {
            hash = MerkleTree.nodeHash(subtrees.removeLast(), hash)
            level += 1
            try completed(MerkleTree.nodeKey(level: level, index: leaf >> UInt64(level)), hash)
        }
        subtrees.append(hash)
        count += 1
    }

    /// The root of the leaves so far.
    var root: [UInt8] {
        guard var root = subtrees.last else { return MerkleTree.emptyRoot }
        for subtree in subtrees.dropLast().reversed() { root = MerkleTree.nodeHash(subtree, root) }
        return root
    }
}

/// Roots and proofs of the stored tree, as one transaction sees it.
public struct MerkleProofs {
    private let store: StoreTransaction
    private let node: (_ level: Int, _ index: UInt64) throws -> [UInt8]
    /// Leaves stored: the ledger's last seq.
    public let leaves: Int64

    init(store: StoreTransaction, leaves: Int64) {
        self.store = store
        self.leaves = leaves
        node = { level, index in
            guard
                let hash = try store.txn.value(
                    in: store.dbs.merkle, forKey: MerkleTree.nodeKey(level: level, index: index)),
                hash.count == 32
            else {
                throw LedgerError.damaged(
                    seq: Int64((index + 1) << UInt64(level)),
                    reason: "the Merkle tree lacks the node of level \(level), index \(index)")
            }
            return hash
        }
    }

    /// The hash of leaves `start ..< start+size`, a range RFC 6962's recursion
    /// gives: a power of two aligned on itself is one stored node, anything else
    /// splits at the largest power of two below its size.
    private func subtree(_ start: UInt64, _ size: UInt64) throws -> [UInt8] {
        if size & (size - 1) == 0 && start % size == 0 {
            return try node(size.trailingZeroBitCount, start / size)
        }
        let k = MerkleTree.split(size)
        return MerkleTree.nodeHash(try subtree(start, k), try subtree(start + k, size - k))
    }

    private func check(_ size: Int64) throws -> UInt64 {
        guard size >= 0, size <= leaves else {
            throw LedgerError.noSuchTreeSize(size, leaves: leaves)
        }
        return UInt64(size)
    }

    /// The leaf of record `seq`: its stored hash.
    public func leaf(seq: Int64) throws -> [UInt8] {
        guard seq >= 1, seq <= leaves, let hash = try store.hash(at: seq) else {
            throw LedgerError.noSuchLeaf(seq, treeSize: leaves)
        }
        return hash
    }

    /// The root of the first `size` leaves (the records seq 1…size).
    public func root(size: Int64) throws -> [UInt8] {
        let n = try check(size)
        return n == 0 ? MerkleTree.emptyRoot : try subtree(0, n)
    }

    /// RFC 6962's audit path of record `seq` in the tree of `size` leaves, from the leaf upwards.
    public func inclusionPath(seq: Int64, size: Int64) throws -> [[UInt8]] {
        let n = try check(size)
        guard seq >= 1, seq <= size else { throw LedgerError.noSuchLeaf(seq, treeSize: size) }
        var path: [[UInt8]] = []
        func walk(_ m: UInt64, _ start: UInt64, _ size: UInt64) throws {
            guard size > 1 else { return }
            let k = MerkleTree.split(size)
            if m < k {
                try walk(m, start, k)
                path.append(try subtree(start + k, size - k))
            } else {
                try walk(m - k, start + k, size - k)
                path.append(try subtree(start, k))
            }
        }
        try walk(UInt64(seq - 1), 0, n)
        return path
    }

    /// RFC 6962's consistency proof that the tree of `size` leaves extends the one of `from` leaves.
    public func consistencyProof(from: Int64, size: Int64) throws -> [[UInt8]] {
        let n = try check(size)
        guard from >= 0, from <= size else { throw LedgerError.noSuchTreeSize(from, leaves: size) }
        let m = UInt64(from)
        guard m > 0, m < n else { return [] }
        var proof: [[UInt8]] = []
        func subproof(_ m: UInt64, _ start: UInt64, _ size: UInt64, _ whole: Bool) throws {
            if m == size {
                if !whole { proof.append(try subtree(start, size)) }
                return
            }
            let k = MerkleTree.split(size)
            if m <= k {
                try subproof(m, start, k, whole)
                proof.append(try subtree(start + k, size - k))
            } else {
                try subproof(m - k, start + k, size - k, false)
                proof.append(try subtree(start, k))
            }
        }
        try subproof(m, 0, n, true)
        return proof
    }
}

extension EventLog {
    /// The digest of the ledger as it stands: its last record and the Merkle root of all records.
    public func digest() throws -> LedgerDigest {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            let head = try store.head()
            return LedgerDigest(head, merkleRoot: try MerkleProofs(store: store, leaves: head.seq).root(size: head.seq))
        }
    }

    /// Runs `body` with the stored Merkle tree as one read transaction sees it.
    public func merkleProofs<T>(_ body: (MerkleProofs) throws -> T) throws -> T {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs)
            return try body(MerkleProofs(store: store, leaves: try store.head().seq))
        }
    }
}

import Dispatch
import LMDBKit

/// The Merkle tree of the records' hashes (events.md §7, RFC 6962 §2.1): leaf
/// i is the hash of record seq i+1; leaf hash = SHA-256(0x00 ‖ leaf), node hash
/// = SHA-256(0x01 ‖ left ‖ right).
///
/// The hash of every complete subtree of 16 leaves or more is stored, keyed by
/// the order in which those subtrees complete as leaves are appended: the
/// subtree of leaves 16b … 16b+15 is node 2b − popcount(b), and the larger
/// subtrees it completes (one per trailing 1 bit of b) follow it. So appending
/// puts at the end of the database, and a root, an inclusion proof or a
/// consistency proof is O(log n) reads: a subtree of fewer than 16 leaves is
/// hashed from its records' hashes, read side by side.
///
/// Storing the small subtrees too would double the tree (a node for every
/// record, and one more for every two) for proofs that need at most four of
/// them. A ledger written before kept them all (`MerkleLayout.everyLevel`);
/// it is read as it stands, and its next append stores its tree anew.
enum MerkleTree {
    /// The hash of the empty tree: SHA-256 of nothing.
    static let emptyRoot = [UInt8](
        Hex.decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")!)

    /// The height of the smallest stored subtrees: 2^4 = 16 leaves.
    static let lowestStoredLevel = 4

    /// The meta key whose presence says the tree is stored from `lowestStoredLevel` up.
    static let layoutKey = Array("merkle-from-level-4".utf8)

    /// How many nodes the stored tree of `leaves` leaves holds: the number of the
    /// next node to complete. With b whole subtrees of 16 leaves, 2b − popcount(b).
    static func storedNodes(leaves: UInt64) -> UInt64 {
        let blocks = leaves >> UInt64(lowestStoredLevel)
        return 2 * blocks - UInt64(blocks.nonzeroBitCount)
    }

    /// The numbers of the stored nodes that appending leaves `first…last`
    /// completes, in the order they complete (and are stored): one range,
    /// empty when those leaves complete no subtree of 16.
    static func nodeNumbers(completedByLeaves first: UInt64, through last: UInt64) -> Range<UInt64> {
        storedNodes(leaves: first)..<storedNodes(leaves: last + 1)
    }

    /// The number of the complete subtree at `level` whose leaves are
    /// `index·2^level ..< (index+1)·2^level`, among subtrees of at least
    /// 2^`lowest` leaves: where it comes in the order in which they complete.
    static func nodeNumber(level: Int, index: UInt64, lowest: Int = lowestStoredLevel) -> UInt64 {
        let height = UInt64(level - lowest)
        let last = (index + 1) << height - 1
        return 2 * last - UInt64(last.nonzeroBitCount) + height
    }

    /// SHA-256(0x00 ‖ the record's hash).
    static func leafHash(_ recordHash: UnsafeRawBufferPointer) -> HashValue {
        hashing(prefix: 0) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: recordHash[0..<32])) }
    }

    /// SHA-256(0x01 ‖ left ‖ right).
    static func nodeHash(_ left: HashValue, _ right: HashValue) -> HashValue {
        hashing(prefix: 1) { room in
            withUnsafeBytes(of: left.words) { room.copyMemory(from: $0) }
            withUnsafeBytes(of: right.words) {
                UnsafeMutableRawBufferPointer(rebasing: room[32...]).copyMemory(from: $0)
            }
        }
    }

    /// SHA-256 of `prefix` followed by the bytes `fill` writes (32 for a leaf,
    /// 64 for a node), built on the stack: nothing is allocated.
    private static func hashing(prefix: UInt8, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> HashValue {
        var room: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var digest = HashValue.zero
        withUnsafeMutableBytes(of: &room) { buffer in
            buffer[0] = prefix
            let body = UnsafeMutableRawBufferPointer(rebasing: buffer[1..<65])
            fill(body)
            let count = prefix == 0 ? 33 : 65
            withUnsafeMutableBytes(of: &digest.words) { out in
                SHA256.hash(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), into: out.baseAddress!)
            }
        }
        return digest
    }

    /// Stores the whole tree anew from the stored records' hashes, in
    /// `store`'s write transaction, and marks it stored in the current layout.
    static func plant(_ store: StoreTransaction) throws {
        try store.txn.removeAll(in: store.dbs.merkle)
        var frontier = MerkleFrontier()
        try store.txn.scan(store.dbs.records) { _, value in
            guard value.count >= 32 else {
                throw LedgerError.damaged(seq: Int64(frontier.count) + 1, reason: "the stored record is truncated")
            }
            try frontier.append(UnsafeRawBufferPointer(rebasing: value[0..<32])) { number, node in
                try store.txn.putMerkleNode(number, node, in: store.dbs.merkle)
            }
            return .next
        }
        try store.txn.put([1], forKey: layoutKey, in: store.dbs.meta)
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
    private var subtrees: [HashValue] = []

    /// The frontier of the stored tree of `count` leaves.
    init(count: UInt64, node: (_ level: Int, _ index: UInt64) throws -> HashValue) throws {
        self.count = count
        for level in stride(from: 63, through: 0, by: -1) where count & (1 << UInt64(level)) != 0 {
            subtrees.append(try node(level, (count >> UInt64(level)) - 1))
        }
    }

    init() {}

    /// Appends the leaf of a record whose hash is `recordHash`; calls `completed`
    /// with each stored node it completes, in number order.
    mutating func append(
        _ recordHash: UnsafeRawBufferPointer, _ completed: (_ number: UInt64, _ hash: HashValue) throws -> Void
    ) rethrows {
        try append(leaf: MerkleTree.leafHash(recordHash), completed)
    }

    /// Appends a leaf whose hash (`MerkleTree.leafHash`) was made beforehand,
    /// perhaps on another thread; calls `completed` as `append(_:_:)` does.
    mutating func append(
        leaf hash: HashValue, _ completed: (_ number: UInt64, _ hash: HashValue) throws -> Void
    ) rethrows {
        // A leaf is a subtree of one leaf, whose own node is never stored.
        _ = try append(subtree: hash, level: 0, completed)
    }

    /// Appends a complete subtree of 2^`level` leaves whose root is `hash`
    /// (its own nodes checked elsewhere); calls `completed` with each stored
    /// node above it that it completes, in number order. The leaves so far must
    /// be a multiple of 2^`level`; returns false, appending nothing, when they are not.
    mutating func append(
        subtree hash: HashValue, level: Int, _ completed: (_ number: UInt64, _ hash: HashValue) throws -> Void
    ) rethrows -> Bool {
        let size = UInt64(1) << UInt64(level)
        guard count % size == 0 else { return false }
        let last = count + size - 1
        var hash = hash
        var height = level
        while last & (1 << UInt64(height)) != 0 {
            hash = MerkleTree.nodeHash(subtrees.removeLast(), hash)
            height += 1
            if height >= MerkleTree.lowestStoredLevel {
                try completed(MerkleTree.nodeNumber(level: height, index: last >> UInt64(height)), hash)
            }
        }
        subtrees.append(hash)
        count += size
        return true
    }

    /// The root of the leaves so far.
    var root: [UInt8] { subtrees.isEmpty ? MerkleTree.emptyRoot : rootHash.bytes }

    /// The root of the leaves so far as a hash value (zero for no leaves).
    var rootHash: HashValue {
        guard var root = subtrees.last else { return .zero }
        for subtree in subtrees.dropLast().reversed() { root = MerkleTree.nodeHash(subtree, root) }
        return root
    }
}

extension LMDBTransaction {
    /// Puts a Merkle node: its number as an 8-byte big-endian key, its hash as the value.
    func putMerkleNode(_ number: UInt64, _ hash: HashValue, in db: LMDBDatabase) throws {
        try withUnsafeBytes(of: number.bigEndian) { key in
            try withUnsafeBytes(of: hash.words) { value in try append(value, forKey: key, in: db) }
        }
    }
}

/// How a ledger keeps its Merkle tree.
enum MerkleLayout: Equatable {
    /// Not at all: the ledger was made before it kept one, and not appended to since.
    case none
    /// Every complete subtree, from the leaves up, as a ledger written before kept it.
    case everyLevel
    /// Complete subtrees of 16 leaves and more (see `MerkleTree`).
    case fromLevel4

    /// The height of the smallest stored subtrees.
    var lowestLevel: Int { self == .everyLevel ? 0 : MerkleTree.lowestStoredLevel }
}

/// Roots and proofs of the stored tree, as one transaction sees it.
public struct MerkleProofs {
    private let store: StoreTransaction
    private let layout: MerkleLayout
    /// Leaves stored: the ledger's last seq.
    public let leaves: Int64

    init(store: StoreTransaction, leaves: Int64) throws {
        self.store = store
        self.leaves = leaves
        layout = try store.merkleLayout()
    }

    /// The hash of leaves `start ..< start+size`, a range RFC 6962's recursion
    /// gives: a power of two aligned on itself is one complete subtree, anything
    /// else splits at the largest power of two below its size.
    private func subtree(_ start: UInt64, _ size: UInt64) throws -> HashValue {
        if size & (size - 1) == 0 && start % size == 0 {
            return try store.merkleNode(level: size.trailingZeroBitCount, index: start / size, layout: layout)
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
        return n == 0 ? MerkleTree.emptyRoot : try subtree(0, n).bytes
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
                path.append(try subtree(start + k, size - k).bytes)
            } else {
                try walk(m - k, start + k, size - k)
                path.append(try subtree(start, k).bytes)
            }
        }
        try walk(UInt64(seq - 1), 0, n)
        return path
    }

    /// RFC 6962's consistency proof that the tree of `size` leaves extends the one of `from` leaves.
    public func consistencyProof(from: Int64, size: Int64) throws -> [[UInt8]] {
        let n = try check(size)
        guard from >= 0 else { throw LedgerError.noSuchTreeSize(from, leaves: leaves) }
        guard from <= size else { throw LedgerError.earlierSizeTooLarge(from, size: size) }
        let m = UInt64(from)
        guard m > 0, m < n else { return [] }
        var proof: [[UInt8]] = []
        func subproof(_ m: UInt64, _ start: UInt64, _ size: UInt64, _ whole: Bool) throws {
            if m == size {
                if !whole { proof.append(try subtree(start, size).bytes) }
                return
            }
            let k = MerkleTree.split(size)
            if m <= k {
                try subproof(m, start, k, whole)
                proof.append(try subtree(start + k, size - k).bytes)
            } else {
                try subproof(m - k, start + k, size - k, false)
                proof.append(try subtree(start, k).bytes)
            }
        }
        try subproof(m, 0, n, true)
        return proof
    }
}

extension EventLog {
    /// The digest of the ledger as it stands: its last record and the Merkle root of all records.
    /// A ledger made before it had a Merkle tree has its root computed from the records.
    public func digest() throws -> LedgerDigest {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
            let head = try store.head()
            guard try store.hasMerkleTree() else {
                var frontier = MerkleFrontier()
                try store.txn.scan(dbs.records) { _, value in
                    guard value.count >= 32 else {
                        throw LedgerError.damaged(
                            seq: Int64(frontier.count) + 1, reason: "the stored record is truncated")
                    }
                    frontier.append(UnsafeRawBufferPointer(rebasing: value[0..<32])) { _, _ in }
                    return .next
                }
                return LedgerDigest(head, merkleRoot: frontier.root)
            }
            return LedgerDigest(head, merkleRoot: try MerkleProofs(store: store, leaves: head.seq).root(size: head.seq))
        }
    }

    /// Runs `body` with the stored Merkle tree as one read transaction sees it.
    public func merkleProofs<T>(_ body: (MerkleProofs) throws -> T) throws -> T {
        try env.read { txn in
            let store = StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys)
            let leaves = try store.head().seq
            guard try store.hasMerkleTree() else { throw LedgerError.noMerkleTree }
            return try body(try MerkleProofs(store: store, leaves: leaves))
        }
    }
}

extension StoreTransaction {
    /// The hash of the complete subtree at `level` and `index` of a tree kept
    /// in `layout`: one read when it is stored, else hashed from its records'
    /// hashes. A missing one is damage, named by the last record under it.
    func merkleNode(level: Int, index: UInt64, layout: MerkleLayout) throws -> HashValue {
        guard level >= layout.lowestLevel else { return try subtreeOfRecords(level: level, index: index) }
        let number = MerkleTree.nodeNumber(level: level, index: index, lowest: layout.lowestLevel)
        let hash = try withUnsafeBytes(of: number.bigEndian) { key in
            try txn.get(key, in: dbs.merkle).flatMap { $0.count == 32 ? HashValue($0) : nil }
        }
        guard let hash else {
            throw LedgerError.damaged(
                seq: Int64((index + 1) << UInt64(level)),
                reason: "the Merkle tree lacks the node of level \(level), index \(index)")
        }
        return hash
    }

    /// The root of the 2^`level` records' hashes of the subtree at `index`,
    /// read in one pass along the records.
    private func subtreeOfRecords(level: Int, index: UInt64) throws -> HashValue {
        let first = Int64(index << UInt64(level)) + 1
        let size = UInt64(1) << UInt64(level)
        var frontier = MerkleFrontier()
        try txn.scan(dbs.records, from: bigEndianKey(first)) { key, value in
            let seq = first + Int64(frontier.count)
            guard key.count == 8, Int64(readBigEndian(key)) == seq else {
                throw LedgerError.damaged(seq: seq, reason: "the record is missing")
            }
            guard value.count >= 32 else {
                throw LedgerError.damaged(seq: seq, reason: "the stored record is truncated")
            }
            frontier.append(UnsafeRawBufferPointer(rebasing: value[0..<32])) { _, _ in }
            return frontier.count == size ? .stop : .next
        }
        guard frontier.count == size else {
            throw LedgerError.damaged(seq: first + Int64(frontier.count), reason: "the record is missing")
        }
        return frontier.rootHash
    }

    /// How this ledger keeps its Merkle tree: an empty one has nothing to keep yet.
    func merkleLayout() throws -> MerkleLayout {
        if try hasMerkleLayoutMark() { return .fromLevel4 }
        if try txn.count(in: dbs.merkle) > 0 { return .everyLevel }
        return try head().seq == 0 ? .fromLevel4 : .none
    }

    /// Whether the ledger is marked as keeping its tree from `MerkleTree.lowestStoredLevel` up
    /// (`MerkleTree.plant` marks it). An empty ledger keeps no node yet, marked or not.
    func hasMerkleLayoutMark() throws -> Bool {
        try txn.value(in: dbs.meta, forKey: MerkleTree.layoutKey) != nil
    }

    /// Whether the Merkle tree is stored: always, but for a ledger made before
    /// the tree existed and not appended to since.
    func hasMerkleTree() throws -> Bool {
        try merkleLayout() != .none
    }
}

/// The Merkle tree's share of a session's appends, hashed beside the writer.
///
/// The writer hands over each record's hash as it appends it; at every flush
/// of the session the hashes gathered since the last one are hashed into the
/// nodes they complete on a thread of its own, while the writer goes on with
/// the next records, and the writer puts the nodes of the batch before at the
/// next flush. Nodes complete in number order and batches are hashed one
/// after another, so every put is an append. When the session finishes, the
/// writer waits for the last batch and puts its nodes in the session's
/// transaction: the tree commits with its records.
final class MerkleAppends: @unchecked Sendable {
    /// The right edge of the tree; touched only on `queue`.
    private var frontier: MerkleFrontier
    /// Record hashes appended since the last handover; touched only by the writer.
    private var leaves: [HashValue] = []
    /// Nodes hashed and not yet put, in number order; written on `queue`, taken by the writer through it.
    private var hashed: [(number: UInt64, hash: HashValue)] = []
    private let queue = DispatchQueue(label: "sunledger.merkle")

    /// Appends to the stored tree whose right edge is `frontier`.
    init(_ frontier: MerkleFrontier) {
        self.frontier = frontier
    }

    /// Notes the record appended with hash `recordHash` (32 bytes).
    func append(_ recordHash: UnsafeRawBufferPointer) {
        leaves.append(HashValue(recordHash))
    }

    /// Puts the nodes hashed since the last call and hands over the record
    /// hashes gathered since then, to be hashed while the writer goes on.
    func flush(into txn: LMDBTransaction, _ db: LMDBDatabase) throws {
        try put(take(), into: txn, db)
        guard !leaves.isEmpty else { return }
        let batch = leaves
        leaves.removeAll(keepingCapacity: true)
        queue.async { [self] in hash(batch) }
    }

    /// Hashes what is still gathered and puts every node not yet put.
    func finish(into txn: LMDBTransaction, _ db: LMDBDatabase) throws {
        let batch = leaves
        leaves.removeAll(keepingCapacity: true)
        queue.sync { hash(batch) }
        try put(take(), into: txn, db)
    }

    private func hash(_ batch: [HashValue]) {
        for leaf in batch {
            withUnsafeBytes(of: leaf.words) { recordHash in
                frontier.append(recordHash) { number, node in hashed.append((number, node)) }
            }
        }
    }

    /// The nodes hashed so far, once every batch handed over is hashed.
    private func take() -> [(number: UInt64, hash: HashValue)] {
        queue.sync {
            let nodes = hashed
            hashed = []
            return nodes
        }
    }

    private func put(
        _ nodes: [(number: UInt64, hash: HashValue)], into txn: LMDBTransaction, _ db: LMDBDatabase
    )
        throws
    {
        for node in nodes { try txn.putMerkleNode(node.number, node.hash, in: db) }
    }
}

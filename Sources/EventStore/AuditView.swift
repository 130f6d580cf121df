import LMDBKit
import LedgerValues

/// The ledger as one read transaction sees it, for handing records to an
/// auditor: its digest, its records and their Merkle proofs all agree with one
/// another, whatever is appended meanwhile.
public struct AuditView {
    private let store: StoreTransaction
    /// The Merkle tree of every record in view.
    public let proofs: MerkleProofs
    /// The digest of the last record in view.
    public let digest: LedgerDigest

    init(store: StoreTransaction) throws {
        self.store = store
        let head = try store.head()
        guard try store.hasMerkleTree() else { throw LedgerError.noMerkleTree }
        proofs = try MerkleProofs(store: store, leaves: head.seq)
        digest = LedgerDigest(head, merkleRoot: try proofs.root(size: head.seq))
    }

    /// The seqs of `stream`'s events, in version order.
    public func seqs(ofStream stream: String) throws -> [Int64] {
        try store.seqs(ofStream: stream)
    }

    /// Calls `body` with the stored hash and canonical bytes of record `seq`
    /// and, when `withVault`, its personal data while the vault holds it.
    public func withRecord<T>(
        at seq: Int64, withVault: Bool,
        _ body: (_ hash: UnsafeRawBufferPointer, _ canonical: UnsafeRawBufferPointer, _ vault: VaultEntry?) throws -> T
    ) throws -> T {
        let vault = withVault ? try store.vaultEntry(at: seq) : nil
        let result = try store.txn.withValue(in: store.dbs.records, forKey: bigEndianKey(seq)) { value in
            guard value.count > 32 else {
                throw LedgerError.damaged(seq: seq, reason: "the stored record is truncated")
            }
            return try body(
                UnsafeRawBufferPointer(rebasing: value[0..<32]), UnsafeRawBufferPointer(rebasing: value[32...]), vault)
        }
        guard let result else { throw LedgerError.noSuchLeaf(seq, treeSize: proofs.leaves) }
        return result
    }
}

extension EventLog {
    /// Runs `body` with the ledger as one read transaction sees it. Throws
    /// `LedgerError.noMerkleTree` for a ledger made before it kept its tree.
    public func auditing<T>(_ body: (AuditView) throws -> T) throws -> T {
        try env.read { txn in try body(AuditView(store: StoreTransaction(txn: txn, dbs: dbs, keys: vaultKeys))) }
    }
}

import EventStore

extension Ledger {
    /// The inclusion proof of record `seq` in the tree of the first `treeSize`
    /// records (nil: every record), as the JSON document of events.md §7:
    /// `{"seq","treeSize","leaf","path","merkleRoot"}`.
    public func inclusionProof(seq: Int64, treeSize: Int64? = nil) throws -> String {
        try log.merkleProofs { proofs in
            let size = treeSize ?? proofs.leaves
            return try Ledger.inclusionDocument(proofs, seq: seq, treeSize: size, root: try proofs.root(size: size))
        }
    }

    /// The inclusion proof document of record `seq` in the tree of `treeSize`
    /// records whose root is `root` (known to the caller, which may prove many).
    static func inclusionDocument(_ proofs: MerkleProofs, seq: Int64, treeSize: Int64, root: [UInt8]) throws -> String {
        let path = try proofs.inclusionPath(seq: seq, size: treeSize)
        let leaf = try proofs.leaf(seq: seq)
        return
            #"{"seq":\#(seq),"treeSize":\#(treeSize),"leaf":"\#(Hex.encode(leaf))","path":\#(Ledger.hexList(path)),"merkleRoot":"\#(Hex.encode(root))"}"#
    }

    /// The proof that the tree of the first `treeSize` records (nil: every
    /// record) extends the tree of the first `fromSize`, as the JSON document of
    /// events.md §7: `{"fromSize","treeSize","proof","fromRoot","merkleRoot"}`.
    public func consistencyProof(fromSize: Int64, treeSize: Int64? = nil) throws -> String {
        try log.merkleProofs { proofs in
            let size = treeSize ?? proofs.leaves
            let root = Hex.encode(try proofs.root(size: size))
            let proof = try proofs.consistencyProof(from: fromSize, size: size)
            let fromRoot = Hex.encode(try proofs.root(size: fromSize))
            return
                #"{"fromSize":\#(fromSize),"treeSize":\#(size),"proof":\#(Ledger.hexList(proof)),"fromRoot":"\#(fromRoot)","merkleRoot":"\#(root)"}"#
        }
    }

    private static func hexList(_ hashes: [[UInt8]]) -> String {
        "[" + hashes.map { "\"\(Hex.encode($0))\"" }.joined(separator: ",") + "]"
    }
}

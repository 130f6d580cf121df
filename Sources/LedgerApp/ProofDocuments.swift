import EventStore

extension Ledger {
    /// The inclusion proof of record `seq` in the tree of the first `treeSize`
    /// records (nil: every record), as the JSON document of events.md §7:
    /// `{"seq","treeSize","leaf","path","merkleRoot"}`.
    public func inclusionProof(seq: Int64, treeSize: Int64? = nil) throws -> String {
        try log.merkleProofs { proofs in
            let size = treeSize ?? proofs.leaves
            let root = Hex.encode(try proofs.root(size: size))
            let path = try proofs.inclusionPath(seq: seq, size: size)
            let leaf = try proofs.leaf(seq: seq)
            return
                #"{"seq":\#(seq),"treeSize":\#(size),"leaf":"\#(Hex.encode(leaf))","path":\#(Ledger.hexList(path)),"merkleRoot":"\#(root)"}"#
        }
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

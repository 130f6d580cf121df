import Foundation
import LMDBKit
import Testing

@testable import EventStore
@testable import LedgerApp

/// The Merkle tree of events.md §7 against the independent verifier
/// (`tools/verify-export`, RFC 6962 written from the RFC in Python).
@Suite("Merkle tree and proofs (events.md §7)", .serialized)
struct MerkleProofTests {
    static let records = 300

    /// A ledger of 300 records and its export, from seq 1.
    private func ledger(in dir: String) throws -> (ledger: Ledger, export: String) {
        let file = dir + "/events.jsonl"
        try write(syntheticEvents(persons: 60, perPerson: 4, prefix: "mk"), to: file)
        let ledger = try Ledger(path: dir + "/ledger", create: true)
        _ = try Importer(ledger: ledger).importFile(file)
        let export = dir + "/export.jsonl"
        _ = try Exporter(ledger: ledger).export(to: export)
        return (ledger, export)
    }

    private func hexList(_ hashes: [[UInt8]]) -> String {
        "[" + hashes.map { "\"\(Hex.encode($0))\"" }.joined(separator: ",") + "]"
    }

    @Test("every inclusion proof of trees 1–300 and every consistency proof up to 64 holds in the independent verifier")
    func proofsHoldIndependently() throws {
        try withScratch { dir in
            let (ledger, export) = try ledger(in: dir)
            var lines: [String] = []
            try ledger.log.merkleProofs { proofs in
                #expect(proofs.leaves == Int64(MerkleProofTests.records))
                for size in 1...Int64(MerkleProofTests.records) {
                    let root = Hex.encode(try proofs.root(size: size))
                    for seq in 1...size {
                        let path = hexList(try proofs.inclusionPath(seq: seq, size: size))
                        let leaf = Hex.encode(try proofs.leaf(seq: seq))
                        lines.append(
                            #"{"seq":\#(seq),"treeSize":\#(size),"leaf":"\#(leaf)","path":\#(path),"merkleRoot":"\#(root)"}"#
                        )
                    }
                }
                for size in Int64(0)...64 {
                    for from in 0...size {
                        let proof = hexList(try proofs.consistencyProof(from: from, size: size))
                        let roots = (Hex.encode(try proofs.root(size: from)), Hex.encode(try proofs.root(size: size)))
                        lines.append(
                            #"{"fromSize":\#(from),"treeSize":\#(size),"proof":\#(proof),"fromRoot":"\#(roots.0)","merkleRoot":"\#(roots.1)"}"#
                        )
                    }
                }
            }
            let proofsFile = dir + "/proofs.jsonl"
            try write(lines, to: proofsFile)
            let digest = try ledger.digest().json
            let checked = try run(
                "/usr/bin/env",
                [
                    "python3", repositoryRoot + "/tools/verify-export", "--digest", digest, "--proofs", proofsFile,
                    export,
                ])
            #expect(checked.status == 0, "\(checked.stderr)")
            #expect(checked.stderr.contains("\(45_150 + 2_145) proofs hold, against the export's records"))
            // The verifier's own root of the export is the ledger's.
            #expect(checked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == digest)

            // A changed path element, root or leaf is refused, naming its line.
            let target = 4_000
            for key in [#""path":[""#, #""merkleRoot":""#, #""leaf":""#] {
                var tampered = lines
                tampered[target] = flippingDigit(after: key, in: tampered[target])
                #expect(tampered[target] != lines[target])
                try write(tampered, to: proofsFile)
                let refused = try run(
                    "/usr/bin/env",
                    ["python3", repositoryRoot + "/tools/verify-export", "--proofs", proofsFile, export])
                #expect(refused.status == 1, "\(key): \(refused.stderr)")
                #expect(refused.stderr.contains("proofs.jsonl:\(target + 1):"), "\(key): \(refused.stderr)")
            }
        }
    }

    /// `line` with the hex digit that follows `key` changed to another one.
    private func flippingDigit(after key: String, in line: String) -> String {
        guard let range = line.range(of: key) else { return line }
        let digit = line[range.upperBound]
        var changed = line
        changed.replaceSubrange(range.upperBound...range.upperBound, with: digit == "0" ? "1" : "0")
        return changed
    }

    @Test("verify finds a changed Merkle node, and names the record it belongs to")
    func verifyFindsAChangedNode() throws {
        try withScratch { dir in
            let (ledger, _) = try ledger(in: dir)
            #expect(try ledger.verify().records == Int64(MerkleProofTests.records))
            // A digest whose root is not the records' is refused, naming its seq.
            var digest = try ledger.digest()
            #expect(try ledger.verify(digest: digest).merkleTreeChecked)
            digest.merkleRoot = [UInt8](repeating: 0xAB, count: 32)
            #expect {
                try ledger.verify(digest: digest)
            } throws: { error in
                "\(error)".contains("merkleRoot") && (error as? VerificationFailure)?.seq == digest.seq
            }
            // The subtree of leaves 96–111 (records 97–112) is stored node 2b − popcount(b) for b = 6.
            let number = Int64(2 * 6 - 6.nonzeroBitCount)
            #expect(MerkleTree.nodeNumbers(completedByLeaves: 111, through: 111) == 10..<11)
            try ledger.log.env.write { txn in
                try txn.put([UInt8](repeating: 7, count: 32), forKey: bigEndianKey(number), in: ledger.log.dbs.merkle)
            }
            #expect {
                try ledger.verify()
            } throws: { error in
                "\(error)".contains("seq 112") && "\(error)".contains("Merkle")
            }
        }
    }

    @Test(
        "verify compares every stored node with the recomputed one, across chunk edges: a node changed, missing, cut short or one too many",
        arguments: [(1, 10), (7, 2), (64, 0), (64, 3), (8192, 5), (8192, 10)])
    func verifyComparesEveryNode(chunkSize: Int, blockLevel: Int) throws {
        try withScratch { dir in
            let (ledger, _) = try ledger(in: dir)
            let merkle = ledger.log.dbs.merkle
            func verify(digest: LedgerDigest? = nil) throws -> VerificationReport {
                try ledger.log.verify(
                    closerTypes: Ledger.closerTypes, openerTypes: Ledger.openerTypes, digest: digest,
                    chunkSize: chunkSize, merkleBlockLevel: blockLevel)
            }
            // A digest of any earlier size, inside a block or at its end, proves its root.
            for seq: Int64 in [1, 150, 192, 255, 256, 300] {
                let hash = try ledger.log.env.read {
                    try $0.value(in: ledger.log.dbs.records, forKey: bigEndianKey(seq))
                }!
                let root = try ledger.log.merkleProofs { try $0.root(size: seq) }
                var digest = LedgerDigest(seq: seq, hash: Array(hash.prefix(32)), recordedAt: nil, merkleRoot: root)
                #expect(try verify(digest: digest).records == 300)
                digest.merkleRoot = root.map { $0 ^ 0x10 }
                #expect(throws: VerificationFailure.self) { try verify(digest: digest) }
            }
            func failure() -> VerificationFailure? {
                do {
                    _ = try verify()
                    return nil
                } catch {
                    return error as? VerificationFailure
                }
            }
            #expect(try verify().merkleTreeChecked)
            // Leaf 191 (seq 192) completes subtrees of 1, 2, … 64 leaves, up to leaves 128–191;
            // those of 16, 32 and 64 are stored. Leaves 192–207 complete no stored node.
            let leaf = UInt64(191)
            let numbers = MerkleTree.nodeNumbers(completedByLeaves: leaf, through: leaf)
            #expect(numbers.count == 3)
            #expect(MerkleTree.nodeNumbers(completedByLeaves: 192, through: 206).isEmpty)
            let parent = bigEndianKey(Int64(numbers.upperBound - 1))
            let original = try ledger.log.env.read { try $0.value(in: merkle, forKey: parent) }!
            func damage(_ change: (LMDBTransaction) throws -> Void) throws {
                try ledger.log.env.write(change)
            }
            func restore() throws {
                try damage { try $0.put(original, forKey: parent, in: merkle) }
                #expect(failure() == nil)
            }
            try damage { try $0.put(original.map { $0 ^ 1 }, forKey: parent, in: merkle) }
            #expect(failure()?.seq == 192)
            try restore()
            try damage { _ = try $0.delete(parent, in: merkle) }
            #expect(failure()?.seq == 192)
            try restore()
            try damage { try $0.put(Array(original.prefix(31)), forKey: parent, in: merkle) }
            #expect(failure()?.seq == 192)
            try restore()
            // The 300 leaves hold 18 whole subtrees of 16: 2·18 − popcount(18) = 34 stored nodes, numbered 0…33.
            #expect(try ledger.log.env.read { try $0.count(in: merkle) } == 34)
            try damage { try $0.put(original, forKey: bigEndianKey(34), in: merkle) }
            #expect(failure()?.seq == 301)
            #expect(failure()?.reason.contains("1 nodes beyond the last record") == true)
            try damage { _ = try $0.delete(bigEndianKey(34), in: merkle) }
            // The last node missing (leaves 256–287, completed by record 288): that record's nodes no longer match.
            let last = bigEndianKey(33)
            let kept = try ledger.log.env.read { try $0.value(in: merkle, forKey: last) }!
            try damage { _ = try $0.delete(last, in: merkle) }
            #expect(failure()?.seq == 288)
            try damage { try $0.put(kept, forKey: last, in: merkle) }
            #expect(failure() == nil)
        }
    }

    @Test("a ledger without a Merkle tree verifies and digests from its records, and gets one on its next append")
    func plantedOnAppend() throws {
        try withScratch { dir in
            let (ledger, _) = try ledger(in: dir)
            let before = try ledger.digest()
            try ledger.log.env.write { txn in
                try txn.removeAll(in: ledger.log.dbs.merkle)
                #expect(try txn.delete(MerkleTree.layoutKey, in: ledger.log.dbs.meta))
            }
            // As a ledger made before the tree: it verifies (saying so), its digest's root is the
            // records' own, and a proof waits for the next append.
            let report = try ledger.verify(digest: before)
            #expect(!report.merkleTreeChecked)
            #expect(try ledger.digest() == before)
            #expect(throws: LedgerError.noMerkleTree) { try ledger.log.merkleProofs { try $0.root(size: 1) } }
            let late = dir + "/late.jsonl"
            try write(
                syntheticEvents(persons: 1, perPerson: 0, prefix: "late", start: "2021-01-01T00:00:00Z"), to: late)
            _ = try Importer(ledger: ledger).importFile(late)
            #expect(try ledger.verify().records == Int64(MerkleProofTests.records + 1))
            let root = try ledger.log.merkleProofs { try $0.root(size: before.seq) }
            #expect(root == before.merkleRoot)
            #expect(try ledger.verify(digest: before).merkleTreeChecked)
        }
    }

    @Test(
        "a ledger that keeps every level of its tree, as written before, proves and digests as it stands, and its next append stores the tree anew"
    )
    func everyLevelLayoutIsReadThenStoredAnew() throws {
        try withScratch { dir in
            let (ledger, _) = try ledger(in: dir)
            let before = try ledger.digest()
            let sizes: [Int64] = [1, 5, 15, 16, 17, 100, 255, 256, 300]
            func proofs() throws -> [[[UInt8]]] {
                try ledger.log.merkleProofs { proofs in
                    try sizes.map { size in
                        [try proofs.root(size: size)] + (try proofs.inclusionPath(seq: (size + 1) / 2, size: size))
                            + (try proofs.consistencyProof(from: size / 3, size: size))
                    }
                }
            }
            let expected = try proofs()
            // The tree as it was once kept: every complete subtree, numbered 2j − popcount(j) for leaf j
            // with its completed parents after it, and no layout mark.
            try ledger.log.env.write { txn in
                let records = try (1...MerkleProofTests.records).map { seq in
                    try txn.value(in: ledger.log.dbs.records, forKey: bigEndianKey(Int64(seq)))!.prefix(32)
                }
                func subtree(_ level: Int, _ index: Int) -> HashValue {
                    if level == 0 { return Array(records[index]).withUnsafeBytes { MerkleTree.leafHash($0) } }
                    return MerkleTree.nodeHash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1))
                }
                try txn.removeAll(in: ledger.log.dbs.merkle)
                for level in 0...8 {
                    for index in 0..<(MerkleProofTests.records >> level) {
                        let last = UInt64((index + 1) << level - 1)
                        let number = 2 * last - UInt64(last.nonzeroBitCount) + UInt64(level)
                        try withUnsafeBytes(of: subtree(level, index).words) { hash in
                            try txn.put(Array(hash), forKey: bigEndianKey(Int64(number)), in: ledger.log.dbs.merkle)
                        }
                    }
                }
                #expect(try txn.count(in: ledger.log.dbs.merkle) == 2 * 300 - 4)
                #expect(try txn.delete(MerkleTree.layoutKey, in: ledger.log.dbs.meta))
            }
            #expect(try proofs() == expected)
            #expect(try ledger.digest() == before)
            // Its nodes are not compared, and the report says so.
            #expect(try !ledger.verify(digest: before).merkleTreeChecked)

            let late = dir + "/late.jsonl"
            try write(
                syntheticEvents(persons: 1, perPerson: 0, prefix: "late", start: "2021-01-01T00:00:00Z"), to: late)
            _ = try Importer(ledger: ledger).importFile(late)
            #expect(try ledger.log.env.read { try $0.count(in: ledger.log.dbs.merkle) } == 34)
            #expect(try ledger.verify(digest: before).merkleTreeChecked)
            #expect(try proofs() == expected)
        }
    }
}

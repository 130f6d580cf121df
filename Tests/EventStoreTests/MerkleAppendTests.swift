import Crypto
import EventStore
import Foundation
import Testing

/// The Merkle tree as an import builds it, its nodes hashed beside the writer
/// a batch at a time, against the tree of RFC 6962 §2.1 computed here afresh
/// with swift-crypto's SHA-256.
@Suite("Merkle tree of appended records")
struct MerkleAppendTests {
    private func sha256(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = Crypto.SHA256()
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }

    /// MTH(D[0:n]) of RFC 6962 over the leaves' data (the records' hashes).
    private func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.count == 1 { return sha256([0], leaves.first!) }
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let start = leaves.startIndex
        return sha256([1], root(leaves[start..<start + split]), root(leaves[(start + split)...]))
    }

    @Test(
        "a session that hands over its leaves every 7 records, and a second one after it, store the tree of every size 1…1,000"
    )
    func batchesMakeTheSameTree() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            func events(_ range: ClosedRange<Int>) -> [NewEvent] {
                range.map { i in
                    i == 1
                        ? registration("m1")
                        : personEvent("m\(i)", on: "2024-01-10", recorded: "2024-02-01T00:00:00Z")
                }
            }
            for batch in [events(1...950), events(951...1000)] {
                try log.appending(clock: laterClock, flushEvery: 7) { session in
                    for event in batch { _ = try session.offer(event) }
                }
            }
            let hashes = try (1...1000).map { try log.hash(at: Int64($0)) ?? [] }
            let sizes = [1, 2, 3, 7, 8, 9, 64, 500, 949, 950, 951, 999, 1000]
            let stored = try log.merkleProofs { proofs in try sizes.map { try proofs.root(size: Int64($0)) } }
            for (size, stored) in zip(sizes, stored) {
                #expect(stored == root(hashes[0..<size]), "size \(size)")
            }
            _ = try log.verify(closerTypes: closers, openerTypes: openers)
        }
    }
}

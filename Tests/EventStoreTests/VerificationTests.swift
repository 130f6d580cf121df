import Crypto
import EventStore
import Foundation
import LMDBKit
import LedgerValues
import Testing

/// Builds a small ledger, lets `tamper` change the raw LMDB databases behind the
/// store's back, and returns what verify then says.
func verifyAfterTampering(
    _ tamper: (LMDBTransaction, [String: LMDBDatabase]) throws -> Void, digest: LedgerDigest? = nil
) throws -> VerificationFailure? {
    try withLedgerDirectory { path in
        do {
            let log = try EventLog(path: path, create: true)
            var events = [registration("a1"), registration("b1", stream: "person-P2")]
            for i in 2...6 {
                events.append(personEvent("a\(i)", on: "2024-01-1\(i)", recorded: "2024-02-01T00:00:0\(i)Z"))
            }
            try log.append(events, clock: laterClock)
        }
        do {
            let env = try LMDBEnvironment(path: path)
            let names = ["records", "ids", "stream-index", "streams", "vault", "meta", "merkle"]
            let dbs = Dictionary(uniqueKeysWithValues: zip(names, try env.openDatabases(named: names)))
            try env.write { try tamper($0, dbs) }
        }
        let log = try EventLog(path: path, create: false)
        do {
            _ = try log.verify(closerTypes: closers, openerTypes: openers, digest: digest)
            return nil
        } catch let failure as VerificationFailure {
            return failure
        }
    }
}

func key(_ seq: Int64) -> [UInt8] { withUnsafeBytes(of: UInt64(seq).bigEndian) { Array($0) } }

@Suite("verify finds what was changed behind the store's back")
struct VerificationTests {
    @Test("an untouched ledger verifies")
    func clean() throws {
        #expect(try verifyAfterTampering { _, _ in } == nil)
    }

    @Test("one byte changed inside a stored record names that seq")
    func changedByte() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            var value = try #require(try txn.value(in: dbs["records"]!, forKey: key(4)))
            let index = value.firstIndex(of: UInt8(ascii: "s"))!
            value[index] = UInt8(ascii: "t")
            try txn.put(value, forKey: key(4), in: dbs["records"]!)
        }
        #expect(failure?.seq == 4)
    }

    @Test("a record rewritten with a matching stored hash still breaks the next link")
    func rewrittenRecord() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            let value = try #require(try txn.value(in: dbs["records"]!, forKey: key(3)))
            var canonical = Array(value[32...])
            let index = canonical.firstIndex(of: UInt8(ascii: "s"))!
            canonical[index] = UInt8(ascii: "t")
            let hash = Array(Crypto.SHA256.hash(data: canonical))
            try txn.put(hash + canonical, forKey: key(3), in: dbs["records"]!)
        }
        #expect(failure?.seq == 3 || failure?.seq == 4)
    }

    /// Rewrites record `seq`'s canonical text with `edit`, and hashes and links
    /// the chain from it to the last record (7) and the head again, so that
    /// only what the edit broke gives it away. The Merkle tree goes, as in a
    /// ledger made before it.
    private func rechain(
        _ txn: LMDBTransaction, _ dbs: [String: LMDBDatabase], at seq: Int64, _ edit: (inout String) -> Void
    ) throws {
        try txn.removeAll(in: dbs["merkle"]!)
        var previous = Array(try #require(try txn.value(in: dbs["records"]!, forKey: key(seq - 1))).prefix(32))
        for rewritten in seq...7 {
            let value = try #require(try txn.value(in: dbs["records"]!, forKey: key(rewritten)))
            var text = String(decoding: value[32...], as: UTF8.self)
            let link = try #require(text.range(of: #""prevHash":""#))
            let hex = link.upperBound..<text.index(link.upperBound, offsetBy: 64)
            text.replaceSubrange(hex, with: previous.map { String(format: "%02x", $0) }.joined())
            if rewritten == seq { edit(&text) }
            let canonical = Array(text.utf8)
            previous = Array(Crypto.SHA256.hash(data: canonical))
            try txn.put(previous + canonical, forKey: key(rewritten), in: dbs["records"]!)
        }
        var head = try #require(try txn.value(in: dbs["meta"]!, forKey: Array("head".utf8)))
        head.replaceSubrange(8..<40, with: previous)
        try txn.put(head, forKey: Array("head".utf8), in: dbs["meta"]!)
    }

    @Test("a version skipped in a stream is named, even when every hash after it is made again")
    func skippedVersion() throws {
        // Seq 5 is person-P1's fourth event: it is made to say version 5.
        let failure = try verifyAfterTampering { txn, dbs in
            try rechain(txn, dbs, at: 5) {
                $0 = $0.replacingOccurrences(of: #""version":4}"#, with: #""version":5}"#)
            }
        }
        #expect(failure?.seq == 5)
        #expect(failure?.reason == "person-P1 jumps from version 3 to 5")
    }

    @Test("each fault of a record is named for what it is, whichever the record")
    func faultsNamed() throws {
        let changed = try verifyAfterTampering { txn, dbs in
            var value = try #require(try txn.value(in: dbs["records"]!, forKey: key(4)))
            value[value.count - 2] ^= 1
            try txn.put(value, forKey: key(4), in: dbs["records"]!)
        }
        #expect(changed?.seq == 4)
        #expect(changed?.reason == "the stored record does not match its hash (it was changed)")
        let earlier = try verifyAfterTampering { txn, dbs in
            try rechain(txn, dbs, at: 6) {
                $0 = $0.replacingOccurrences(of: "2024-02-01T00:00:05.000Z", with: "2024-02-01T00:00:01.000Z")
            }
        }
        #expect(earlier?.seq == 6)
        #expect(
            earlier?.reason == "recordedAt 2024-02-01T00:00:01.000Z is before that of seq 5 (2024-02-01T00:00:04.000Z)")
        let misnumbered = try verifyAfterTampering { txn, dbs in
            try rechain(txn, dbs, at: 5) { $0 = $0.replacingOccurrences(of: #""seq":5,"#, with: #""seq":8,"#) }
        }
        #expect(misnumbered?.seq == 5)
        #expect(misnumbered?.reason == "the record says seq 8")
        let unlinked = try verifyAfterTampering { txn, dbs in
            let value = try #require(try txn.value(in: dbs["records"]!, forKey: key(3)))
            var canonical = Array(value[32...])
            let at = try #require(canonical.firstIndex(of: UInt8(ascii: "s")))
            canonical[at] = UInt8(ascii: "t")
            try txn.removeAll(in: dbs["merkle"]!)
            try txn.put(Array(Crypto.SHA256.hash(data: canonical)) + canonical, forKey: key(3), in: dbs["records"]!)
        }
        #expect(unlinked?.seq == 4)
        #expect(unlinked?.reason == "prevHash does not link to the hash of seq 3")
    }

    @Test("a missing record is named")
    func gap() throws {
        let failure = try verifyAfterTampering { txn, dbs in try txn.delete(key(5), in: dbs["records"]!) }
        #expect(failure?.seq == 5)
    }

    @Test("a missing id index entry names its record")
    func idIndex() throws {
        let failure = try verifyAfterTampering { txn, dbs in try txn.delete(Array("a3".utf8), in: dbs["ids"]!) }
        #expect(failure?.seq == 4)
        #expect(failure?.reason.contains("id index") == true)
    }

    @Test("an id index entry pointing elsewhere is found")
    func idIndexRedirected() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            try txn.put(key(6), forKey: Array("a3".utf8), in: dbs["ids"]!)
        }
        #expect(failure?.seq == 4)
    }

    @Test("an extra index entry is found")
    func extraEntry() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            try txn.put(key(99), forKey: Array("ghost".utf8), in: dbs["ids"]!)
        }
        #expect(failure?.seq == 99)
    }

    @Test("a stream index entry removed is found")
    func streamIndex() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            try txn.delete(Array("person-P2".utf8) + [0, 0, 0, 0, 1], in: dbs["stream-index"]!)
        }
        #expect(failure?.seq == 2)
        #expect(failure?.reason.contains("stream index") == true)
    }

    @Test("a stream's stored state that disagrees with its events is found")
    func streamState() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            try txn.delete(Array("person-P2".utf8), in: dbs["streams"]!)
        }
        #expect(failure != nil)
    }

    @Test("personal data changed in the vault no longer matches its commitment")
    func vault() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            var value = try #require(try txn.value(in: dbs["vault"]!, forKey: key(2)))
            value[value.count - 3] ^= 1
            try txn.put(value, forKey: key(2), in: dbs["vault"]!)
        }
        #expect(failure?.seq == 2)
    }

    @Test("personal data planted for a record without a commitment is found")
    func orphanVault() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            try txn.put([UInt8](repeating: 1, count: 20), forKey: key(5), in: dbs["vault"]!)
        }
        #expect(failure?.seq == 5)
    }

    @Test("a head that does not match the last record is found")
    func head() throws {
        let failure = try verifyAfterTampering { txn, dbs in
            var value = try #require(try txn.value(in: dbs["meta"]!, forKey: Array("head".utf8)))
            value[7] = 5
            try txn.put(value, forKey: Array("head".utf8), in: dbs["meta"]!)
        }
        #expect(failure != nil)
    }

    @Test("the ledger extends a digest it really had, and not one it never had")
    func digests() throws {
        let good = try withLedgerDirectory { path -> LedgerDigest in
            let log = try EventLog(path: path, create: true)
            try log.append([registration("a1")], clock: laterClock)
            return LedgerDigest(try log.head())
        }
        // Another ledger with other content at seq 1: the digest fails there.
        #expect(try verifyAfterTampering({ _, _ in }, digest: good)?.seq == 1)
        let beyond = LedgerDigest(seq: 100, hash: good.hash, recordedAt: nil)
        #expect(try verifyAfterTampering({ _, _ in }, digest: beyond)?.seq == 100)
    }
}

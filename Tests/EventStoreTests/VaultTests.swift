import Crypto
import Foundation
import LMDBKit
import LedgerValues
import Testing

@testable import EventStore

/// Every file of the ledger directory, as bytes, by name.
func ledgerFiles(_ path: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
    }
    return files
}

/// Whether `needle` occurs anywhere in `haystack`.
func holds(_ haystack: Data, _ needle: [UInt8]) -> Bool {
    haystack.range(of: Data(needle)) != nil
}

let name = Array("王芳".utf8)
let idNumber = Array("310114198002290025".utf8)

/// The raw value of the vault entry of `seq`, read behind the store's back.
func rawVaultEntry(_ path: String, seq: Int64) throws -> [UInt8]? {
    let env = try LMDBEnvironment(path: path)
    let vault = try env.openDatabases(named: ["vault"])[0]
    return try env.read { try $0.value(in: vault, forKey: key(seq)) }
}

func erasure(_ id: String, stream: String = "person-P1") -> NewEvent {
    var reason = JSONObject()
    reason["reason"] = .string("request of the person")
    return personEvent(
        id, stream: stream, type: "PersonPiiErased", on: "2024-01-11", recorded: "2024-01-11T00:00:00Z", data: reason)
}

@Suite("the vault is sealed at rest, one key per person, and erasure destroys the key")
struct VaultTests {
    @Test("verify refuses a slot counter set back below a slot in use, before a new key is written over it")
    func slotCounterSetBack() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            #expect(try log.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 2)
            // Behind the store's back: the counter says only slot 0 is in use; seq 2 uses slot 1.
            try log.env.write { txn in
                try txn.put(
                    [UInt8](repeating: 0, count: 7) + [1], forKey: Array("vault-next-slot".utf8), in: log.dbs.meta)
            }
            #expect {
                try log.verify(closerTypes: closers, openerTypes: openers)
            } throws: { error in
                let failure = error as? VerificationFailure
                return failure?.seq == 2 && failure?.reason.contains("slot counter (1) is not past slot 1") == true
            }
        }
    }

    @Test("neither a name nor an ID number ever reaches the data file; the pii still opens its commitment")
    func sealedAtRest() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            try log.sync()
            let files = try ledgerFiles(path)
            for (file, bytes) in files {
                #expect(!holds(bytes, name), "\(file) holds the name")
                #expect(!holds(bytes, idNumber), "\(file) holds the ID number")
            }
            let stored = try #require(try log.record(at: 1)?.vault)
            #expect(stored.canonicalPII == Array(#"{"idNumber":"310114198002290025","name":"王芳"}"#.utf8))
            #expect(try log.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 2)
            // Each person has a key of their own: two slots were drawn.
            #expect(files["vault-keys"]?.count == 2 * VaultKeys.slotSize)
            var info = stat()
            #expect(stat(path + "/master.key", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
    }

    @Test("an erasure overwrites the person's key: the stale ciphertext can no longer be opened by anyone")
    func erasureShredsTheKey() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            let sealedEntry = try #require(try rawVaultEntry(path, seq: 1))
            let slot = try #require(sealedEntry.withUnsafeBytes { VaultKeys.slot(of: $0) })
            let keysBefore = try #require(try ledgerFiles(path)["vault-keys"])
            let wrappedKey = Array(keysBefore[(Int(slot) * 64)..<(Int(slot) * 64 + 60)])
            let headBefore = try log.head()

            try log.append([erasure("a2")], clock: laterClock)
            try log.sync()
            let files = try ledgerFiles(path)
            let keysAfter = try #require(files["vault-keys"])
            #expect(keysAfter[(Int(slot) * 64)..<(Int(slot) * 64 + 64)].allSatisfy { $0 == 0 })
            for (file, bytes) in files { #expect(!holds(bytes, wrappedKey), "\(file) still holds the wrapped key") }
            #expect(try rawVaultEntry(path, seq: 1) == nil)
            // Even a copy of the old entry, put back, opens no more: its key is gone.
            do {
                let fresh = try EventLog(path: path, create: false, keyEnvironment: [:])
                let keys = fresh.vaultKeys
                try fresh.env.read { txn in
                    let store = StoreTransaction(txn: txn, dbs: fresh.dbs, keys: keys)
                    let opened = try sealedEntry.withUnsafeBytes { try keys.open($0, seq: 1, sealed: true, store) }
                    #expect(opened == nil)
                }
            }
            // The other person's data, the chain and its records are untouched.
            #expect(try log.record(at: 2)?.vault != nil)
            #expect(try log.hash(at: 2) == headBefore.hash)
            #expect(try log.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 1)
        }
    }

    @Test("an erasure whose key was not yet overwritten when the process stopped is finished by the next append")
    func shreddingResumes() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            let keysBefore = try #require(try ledgerFiles(path)["vault-keys"])
            try log.append([erasure("a2")], clock: laterClock)
            // As if the process had stopped between the commit and the overwrite.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/vault-keys"))
            try handle.write(contentsOf: keysBefore.prefix(64))
            try handle.close()
            #expect(try ledgerFiles(path)["vault-keys"]!.prefix(64) == keysBefore.prefix(64))
            try log.append(
                [personEvent("b2", stream: "person-P2", on: "2024-01-12", recorded: "2024-01-12T00:00:00Z")],
                clock: laterClock)
            #expect(try ledgerFiles(path)["vault-keys"]!.prefix(64).allSatisfy { $0 == 0 })
            #expect(try log.record(at: 2)?.vault != nil)
        }
    }

    @Test("a correction after an erasure is sealed under a new key")
    func correctionAfterErasure() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1")], clock: laterClock)
            let first = try #require(try rawVaultEntry(path, seq: 1)?.withUnsafeBytes { VaultKeys.slot(of: $0) })
            var pii = JSONObject()
            pii["phone"] = .string("13800000000")
            let correction = personEvent(
                "a3", type: "PersonPiiCorrected", on: "2024-01-12", recorded: "2024-01-12T00:00:00Z", pii: pii)
            try log.append([erasure("a2"), correction], clock: laterClock)
            #expect(try rawVaultEntry(path, seq: 1) == nil)
            let second = try #require(try rawVaultEntry(path, seq: 3)?.withUnsafeBytes { VaultKeys.slot(of: $0) })
            #expect(second != first)
            #expect(try log.record(at: 3)?.vault?.pii == pii)
        }
    }

    @Test("a wrong master key, or none, is refused with what to do; a key file open to others is refused")
    func masterKeyProblems() throws {
        try withLedgerDirectory { path in
            do {
                let log = try EventLog(path: path, create: true, keyEnvironment: [:])
                try log.append([registration("a1")], clock: laterClock)
            }
            let other = String(repeating: "ab", count: 32)
            let wrong = try EventLog(path: path, create: false, keyEnvironment: ["SUNLEDGER_MASTER_KEY": other])
            #expect(throws: VaultKeys.Problem.wrongMasterKey(source: "SUNLEDGER_MASTER_KEY")) {
                try wrong.record(at: 1)
            }
            let short = try EventLog(path: path, create: false, keyEnvironment: ["SUNLEDGER_MASTER_KEY": "abc"])
            #expect(throws: VaultKeys.Problem.self) { try short.record(at: 1) }

            // The key given by environment opens the vault wherever the file is.
            let hex = try String(contentsOfFile: path + "/master.key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try FileManager.default.moveItem(atPath: path + "/master.key", toPath: path + "/moved.key")
            let byEnvironment = try EventLog(path: path, create: false, keyEnvironment: ["SUNLEDGER_MASTER_KEY": hex])
            #expect(try byEnvironment.record(at: 1)?.vault != nil)
            let byFile = try EventLog(
                path: path, create: false, keyEnvironment: ["SUNLEDGER_MASTER_KEY_FILE": path + "/moved.key"])
            #expect(try byFile.record(at: 1)?.vault != nil)

            let missing = try EventLog(path: path, create: false, keyEnvironment: [:])
            // verify checks everything but the commitments, and says why.
            let report = try missing.verify(closerTypes: closers, openerTypes: openers)
            #expect(report.records == 1 && report.piiCommitments == 0)
            #expect(report.personalDataLocked?.contains("master key is missing") == true)
            #expect(throws: VaultKeys.Problem.noMasterKey(path: path + "/master.key")) { try missing.record(at: 1) }
            // Records without personal data, and the chain, need no key.
            #expect(try missing.hash(at: 1) != nil)
            // Nor may a new person be given a key the vault was not locked with.
            #expect(throws: VaultKeys.Problem.noMasterKey(path: path + "/master.key")) {
                try missing.append([registration("b1", stream: "person-P2")], clock: laterClock)
            }

            chmod(path + "/moved.key", 0o644)
            let exposed = try EventLog(
                path: path, create: false, keyEnvironment: ["SUNLEDGER_MASTER_KEY_FILE": path + "/moved.key"])
            #expect(throws: VaultKeys.Problem.self) { try exposed.record(at: 1) }
        }
    }

    @Test("a vault kept in the clear by an older ledger is sealed by its next append, and still verifies")
    func sealsAnOldVault() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:])
            try log.append([registration("a1"), registration("b1", stream: "person-P2")], clock: laterClock)
            // Make it what an older ledger was: entries in the clear, no mark.
            let clear = try [1, 2].map { try #require(try log.record(at: Int64($0))?.vault).encoded }
            try log.env.write { txn in
                for (index, entry) in clear.enumerated() {
                    try txn.put(entry, forKey: key(Int64(index + 1)), in: log.dbs.vault)
                }
                _ = try txn.delete(VaultKeys.formatKey, in: log.dbs.meta)
            }
            try log.sync()
            #expect(holds(try ledgerFiles(path)["data.mdb"]!, idNumber))
            let old = try EventLog(path: path, create: false, keyEnvironment: [:])
            #expect(try old.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 2)
            #expect(try old.record(at: 2)?.vault?.encoded == clear[1])

            try old.append([personEvent("a2")], clock: laterClock)
            for seq in [1, 2] {
                let raw = try #require(try rawVaultEntry(path, seq: Int64(seq)))
                #expect(!holds(Data(raw), idNumber))
                #expect(try old.record(at: Int64(seq))?.vault?.encoded == clear[seq - 1])
            }
            #expect(try old.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 2)
        }
    }

    @Test("a sealed entry changed by one bit, or moved to another seq, does not open")
    func tamperedEntries() throws {
        for change in ["bit", "move"] {
            let failure = try verifyAfterTampering { txn, dbs in
                var value = try #require(try txn.value(in: dbs["vault"]!, forKey: key(1)))
                if change == "bit" {
                    value[20] ^= 1
                    try txn.put(value, forKey: key(1), in: dbs["vault"]!)
                } else {
                    _ = try txn.delete(key(1), in: dbs["vault"]!)
                    try txn.put(value, forKey: key(2), in: dbs["vault"]!)
                }
            }
            #expect(failure?.seq == (change == "bit" ? 1 : 2), "\(change)")
        }
    }

    @Test("AES-256-GCM opens the published test vector (McGrew–Viega test case 14) and swift-crypto's boxes")
    func aesGCMVectors() throws {
        let box =
            [UInt8](repeating: 0, count: 12) + Hex.decode("cea7403d4d606b6e074ec5d3baf39d18")!
            + Hex.decode("d0d1c8a799996bf0265b98b5d48ab919")!
        let zeroKey = [UInt8](repeating: 0, count: 32)
        #expect(
            box.withUnsafeBytes { AESGCM.open($0, key: zeroKey, associated: []) } == [UInt8](repeating: 0, count: 16))
        let key = try AESGCM.randomBytes(32)
        let message = Array("姓名 idNumber 310114198002290025".utf8)
        let theirs = try Crypto.AES.GCM.seal(message, using: SymmetricKey(data: key), authenticating: [9, 9])
        let combined = try #require(theirs.combined)
        #expect(combined.withUnsafeBytes { AESGCM.open($0, key: key, associated: [9, 9]) } == message)
        let ours = try AESGCM.seal(message, key: key, associated: [9, 9])
        let opened = try Crypto.AES.GCM.open(
            Crypto.AES.GCM.SealedBox(combined: ours), using: SymmetricKey(data: key), authenticating: [9, 9])
        #expect(Array(opened) == message)
    }

    @Test("AES-256-GCM: a box opens with its key and associated data only")
    func aesGCM() throws {
        let key = try AESGCM.randomBytes(32)
        let box = try AESGCM.seal(Array("北京".utf8), key: key, associated: [1, 2])
        #expect(box.count == 12 + 6 + 16)
        #expect(box.withUnsafeBytes { AESGCM.open($0, key: key, associated: [1, 2]) } == Array("北京".utf8))
        #expect(box.withUnsafeBytes { AESGCM.open($0, key: key, associated: [1, 3]) } == nil)
        #expect(box.withUnsafeBytes { AESGCM.open($0, key: try! AESGCM.randomBytes(32), associated: [1, 2]) } == nil)
    }
}

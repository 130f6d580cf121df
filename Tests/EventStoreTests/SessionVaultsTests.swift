import Foundation
import LedgerValues
import Testing

@testable import EventStore

/// What an append session holds of the vault: each stream's slot and its
/// entries, in a compact table, and the stream keys, of which a process
/// keeps only so many in memory.
@Suite("an append session's vault slots and keys")
struct SessionVaultsTests {
    @Test("each stream keeps its own slot and entries, whatever names it shares a prefix with")
    func slotsAndEntries() {
        var vaults = SessionVaults()
        let names = (0..<3000).map { "person-P\($0)" } + ["person-P", "", "volunteer-V1", "person-P1\u{0}"]
        for (index, name) in names.enumerated() {
            #expect(vaults.slot(of: name) == nil)
            vaults.setSlot(UInt64(index * 7), for: name)
        }
        #expect(vaults.count == names.count)
        for (index, name) in names.enumerated() where index % 3 == 0 {
            vaults.noteEntry(seq: Int64(index), of: name)
            vaults.noteEntry(seq: Int64(index + 100_000), of: name)
        }
        for (index, name) in names.enumerated() {
            #expect(vaults.slot(of: name) == UInt64(index * 7), "\(name)")
        }
        #expect(vaults.forget("person-P3") == [100_003, 3])
        #expect(vaults.slot(of: "person-P3") == nil)
        #expect(vaults.forget("person-P3") == [])
        #expect(vaults.forget("person-P4") == [])
        #expect(vaults.forget("person-P30") == [100_030, 30])
        #expect(vaults.forget("person-P99999") == [])
        // A slot given again after an erasure starts with no entries.
        vaults.setSlot(5, for: "person-P3")
        vaults.noteEntry(seq: 200_000, of: "person-P3")
        #expect(vaults.slot(of: "person-P3") == 5)
        #expect(vaults.forget("person-P3") == [200_000])
        #expect(vaults.count == names.count)
        #expect(vaults.slot(of: "person-P6") == 42)
        #expect(vaults.forget("person-P6") == [100_006, 6])
    }

    /// A correction of `stream`'s personal data, recorded on `day`.
    private func correction(_ id: String, stream: String, on day: Int) -> NewEvent {
        var pii = JSONObject()
        pii["phone"] = .string("1380000\(String(format: "%04d", day))")
        let on = String(format: "2024-02-%02d", day)
        return personEvent(
            id, stream: stream, type: "PersonPiiCorrected", on: on, recorded: on + "T08:00:00Z", pii: pii)
    }

    @Test(
        "with room for only a few keys, every entry of a large append is sealed, opens, and erases as before",
        arguments: [
            // Keys let go while the drawn ones are still held, then drawn keys written while others are kept.
            VaultKeys.Limits(keysKept: 2, pendingSlotsHeld: 100), VaultKeys.Limits(keysKept: 3, pendingSlotsHeld: 2),
        ])
    func fewKeysKept(limits: VaultKeys.Limits) throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true, keyEnvironment: [:], vaultKeyLimits: limits)
            let persons = (1...12).map { "person-P\($0)" }
            var first = persons.enumerated().map { registration("r\($0.offset)", stream: $0.element) }
            // Later in the same append: an erasure of the second person, and a
            // correction of the first, whose key was let go long since.
            first.append(erasure("e2", stream: "person-P2"))
            first.append(correction("c1", stream: "person-P1", on: 1))
            try log.append(first, clock: laterClock)
            // A later append finds the slots of earlier ones through the index.
            try log.append(
                [4, 7, 12].map { correction("c\($0)", stream: "person-P\($0)", on: $0) }, clock: laterClock)

            let keyFile = try #require(try ledgerFiles(path)["vault-keys"])
            #expect(keyFile.count == 12 * VaultKeys.slotSize)
            func slot(_ seq: Int64) throws -> UInt64? {
                try rawVaultEntry(path, seq: seq)?.withUnsafeBytes { VaultKeys.slot(of: $0) }
            }
            #expect(try slot(14) == slot(1), "the correction is sealed under the person's own key")
            #expect(try slot(15) == slot(4))
            #expect(try slot(16) == slot(7))
            #expect(try slot(17) == slot(12))
            #expect(Set(try (1...12).compactMap { try slot(Int64($0)) }).count == 11)
            #expect(try rawVaultEntry(path, seq: 2) == nil, "the erased person's entry is gone")
            // The erased person's slot is zeros; every other slot still opens.
            let erased = Int(try #require(try (1...12).map { try slot(Int64($0)) }.firstIndex(of: nil)))
            #expect(erased == 1)
            let fresh = try EventLog(path: path, create: false, keyEnvironment: [:], vaultKeyLimits: limits)
            for seq in Int64(1)...17 where seq != 2 && seq != 13 {
                #expect(try fresh.record(at: seq)?.vault != nil, "seq \(seq)")
            }
            #expect(try fresh.record(at: 14)?.vault?.pii["phone"] == .string("13800000001"))
            #expect(try fresh.verify(closerTypes: closers, openerTypes: openers).piiCommitments == 15)
        }
    }
}

import EventStore
import Foundation
import LedgerValues
import PropertyBased
import Testing

@testable import LedgerApp
@testable import LedgerProjections

// The stored KPI figures (kpis.md, cli.md `kpi` and `rebuild`) against a replay
// of the log from scratch, on generated districts. Each seed names one district
// and one way of cutting it into files; every draw comes from a PropertyBased
// xoshiro256** generator started at that seed, so each case is the same on
// every run. Snapshots are taken every 97 seqs, so that small ledgers hold many.

private let districtSeeds: [UInt64] = [0xF16_0001, 0xF16_0002, 0xF16_0003]
private let snapshotEvery: Int64 = 97

/// The lines of a small generated district.
private func districtLines(seed: UInt64, persons: Int = 120) throws -> [String] {
    var bytes: [UInt8] = []
    try SyntheticDistrict(persons: persons, seed: seed, fromYear: 2019, toYear: 2023).write { bytes += $0 }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// The fixed-seed generator of one case.
private func generator(_ seed: UInt64) -> Xoshiro {
    seededGenerator(seed)
}

/// A ledger at `path` with the test's snapshot spacing; the stored fold is put
/// after every append unless `stateLag` says otherwise (and by the append that
/// follows, with `defersStatePuts`).
private func openLedger(_ path: String, stateLag: Int64 = 1, defersStatePuts: Bool = false) throws -> Ledger {
    try Ledger(
        path: path, create: true, snapshotEvery: snapshotEvery, stateLag: stateLag, defersStatePuts: defersStatePuts)
}

/// Imports `lines` as one file.
@discardableResult
private func importLines(_ lines: [String], into ledger: Ledger, dir: String, name: String) throws -> ImportReport {
    let file = dir + "/\(name).jsonl"
    try write(lines, to: file)
    return try Importer(ledger: ledger).importFile(file)
}

/// The seq the stored live fold has reached (0 when none is stored).
private func storedCheckpoint(_ ledger: Ledger) throws -> Int64 {
    try ledger.log.readingProjections {
        try LiveFigures.checkpoint($0, generation: try LiveFigures.liveGeneration($0)) ?? 0
    }
}

/// The stored live fold, as `kpi` with no limit uses it, without catching up:
/// what the last append committed.
private func storedLiveFold(_ ledger: Ledger) throws -> KPIProjection {
    try ledger.log.readingProjections { access in
        try LiveFigures.storedState(access, generation: try LiveFigures.liveGeneration(access))
    }
}

/// What reading the stored figures with `body` throws, in words; nil when it throws nothing.
private func figuresFailure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as AppError {
        guard case .figures = error else { return "not a figures error: \(error)" }
        return "\(error)"
    } catch {
        return "not an AppError: \(error)"
    }
}

/// The stored value under `key` in the live generation.
private func storedValue(_ ledger: Ledger, key: [UInt8]) throws -> [UInt8]? {
    try ledger.log.readingProjections { access in
        try access.withValue(forKey: key, in: try LiveFigures.liveGeneration(access)) { Array($0) }
    }
}

/// Runs `body` with a ledger holding the whole district of `seed`, and its last seq.
private func withDistrictLedger(seed: UInt64, _ body: (Ledger, Int64) throws -> Void) throws {
    let lines = try districtLines(seed: seed)
    try withScratch { dir in
        let ledger = try openLedger(dir + "/ledger")
        try importLines(lines, into: ledger, dir: dir, name: "all")
        try body(ledger, try ledger.log.head().seq)
    }
}

/// Puts `value` under `key` in the live generation, behind the figures' back.
private func putStored(_ value: [UInt8], key: [UInt8], in ledger: Ledger) throws {
    try ledger.log.updatingProjections { access in
        try access.put(value, forKey: key, in: try LiveFigures.liveGeneration(access))
    }
}

@Suite("live KPI figures and rebuild (kpis.md, cli.md)")
struct LiveFiguresTests {
    @Test(
        "after every import the stored figures are the fold of the whole log, checkpoint included",
        arguments: districtSeeds)
    func liveEqualsReplay(seed: UInt64) throws {
        let lines = try districtLines(seed: seed)
        var r = generator(seed)
        let cuts = [0] + (0..<3).map { _ in Int.random(in: 1..<lines.count, using: &r) }.sorted() + [lines.count]
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            let report = try KPIReport(ledger: ledger)
            for (part, (start, end)) in zip(cuts, cuts.dropFirst()).enumerated() {
                try importLines(Array(lines[start..<end]), into: ledger, dir: dir, name: "part\(part)")
                let head = try ledger.log.head().seq
                let stored = try storedLiveFold(ledger)
                #expect(stored.throughSeq == head)
                let checkpoint = try ledger.log.readingProjections {
                    try LiveFigures.checkpoint($0, generation: try LiveFigures.liveGeneration($0))
                }
                #expect(checkpoint == head)
                #expect(stored.snapshot() == (try report.replayedProjection(through: head)).snapshot())
            }
        }
    }

    @Test(
        "the stored fold is put again only every stateLag records; in between, the figures are exact all the same, in this process and in a new one",
        arguments: districtSeeds)
    func laggingState(seed: UInt64) throws {
        let lines = try districtLines(seed: seed)
        let lag: Int64 = 400
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger", stateLag: lag)
            let report = try KPIReport(ledger: ledger)
            // A first file of many records puts the fold; small files after it do not, until
            // the lag is reached; single events appended through the log behave the same.
            var start = 0
            var previous: Int64 = 0
            for size in [lines.count / 2, 7, 150, 300, 90] where start < lines.count {
                let end = min(start + size, lines.count)
                try importLines(Array(lines[start..<end]), into: ledger, dir: dir, name: "part\(start)")
                start = end
                let head = try ledger.log.head().seq
                let stored = try storedCheckpoint(ledger)
                #expect(stored == (head - previous >= lag ? head : previous), "after seq \(head)")
                previous = stored
                let replayed = try report.replayedProjection(through: head)
                #expect(try report.projection(within: .everything).snapshot() == replayed.snapshot())
                // Another process has no fold in memory: it replays past the stored one.
                let document = KPIDocument(
                    figures: replayed.figures(asOf: LocalDate(iso: "2023-12-31")!), knownAt: nil,
                    catalogue: report.catalogue)
                let printed = try sunledger("kpi", "--as-of", "2023-12-31", "--json", "--ledger", dir + "/ledger")
                #expect(printed.stdout == document.json + "\n")
            }
        }
    }

    @Test("the figures known at T, or through seq N, are those of the ledger cut there", arguments: districtSeeds)
    func pastEqualsTruncated(seed: UInt64) throws {
        let lines = try districtLines(seed: seed)
        var r = generator(seed ^ 0xD7)
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            try importLines(lines, into: ledger, dir: dir, name: "all")
            let report = try KPIReport(ledger: ledger)
            let head = try ledger.log.head().seq
            #expect(head == Int64(lines.count))
            for draw in 0..<6 {
                let cut = Int64.random(in: 0...head, using: &r)
                let asOf = LocalDate(year: Int.random(in: 2019...2024, using: &r), month: 6, day: 30)!
                // From the stored snapshots and a replay of what follows the nearest one…
                let stored = try report.projection(within: .throughSeq(cut))
                #expect(stored.throughSeq == cut)
                #expect(stored.snapshot() == (try report.replayedProjection(through: cut)).snapshot())
                // …and the same figures as a ledger that only ever held the first `cut` lines.
                let truncated = try openLedger(dir + "/cut\(draw)")
                if cut > 0 {
                    try importLines(Array(lines.prefix(Int(cut))), into: truncated, dir: dir, name: "cut\(draw)")
                }
                let alone = try KPIReport(ledger: truncated).projection(within: .everything)
                #expect(stored.figures(asOf: asOf) == alone.figures(asOf: asOf))
                // Known at an instant: the prefix whose recordedAt is at or before it.
                if cut > 0, let instant = try ledger.log.record(at: cut)?.record.recordedAt {
                    let known = try report.projection(within: .knownAt(instant))
                    #expect(known.throughSeq >= cut)
                    #expect(try ledger.log.record(at: known.throughSeq)?.record.recordedAt == instant)
                    #expect(known.snapshot() == (try report.replayedProjection(through: known.throughSeq)).snapshot())
                }
            }
        }
    }

    @Test("a restore, which folds from the records it stores, leaves the same figures as the import")
    func restoreKeepsFiguresLive() throws {
        let lines = try districtLines(seed: districtSeeds[0])
        try withScratch { dir in
            let source = try openLedger(dir + "/source")
            try importLines(lines, into: source, dir: dir, name: "all")
            let export = dir + "/export.jsonl"
            _ = try Exporter(ledger: source).export(to: export)
            let copy = try openLedger(dir + "/copy")
            _ = try Restorer(ledger: copy).restore(export)
            #expect(try storedLiveFold(copy).snapshot() == (try storedLiveFold(source)).snapshot())
        }
    }

    @Test("rebuild proves the live figures, switches generation, and the figures answer the same")
    func rebuildMatches() throws {
        let lines = try districtLines(seed: districtSeeds[1])
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            try importLines(lines, into: ledger, dir: dir, name: "all")
            let report = try KPIReport(ledger: ledger)
            let before = try report.projection(within: .everything)
            let outcome = try FigureRebuild(ledger: ledger).run()
            #expect(outcome.differences.isEmpty)
            #expect(outcome.resumedAfter == nil)
            #expect(outcome.throughSeq == Int64(lines.count))
            #expect(outcome.recordsFolded == Int64(lines.count))
            #expect(outcome.snapshots == lines.count / Int(snapshotEvery))
            #expect(outcome.contentHash == Hex.encode(sha256(before.snapshot())))
            #expect(outcome.generation == "kpi-b")
            #expect(try report.projection(within: .everything).snapshot() == before.snapshot())
            // Past queries use the rebuilt snapshots.
            let past = try report.projection(within: .throughSeq(Int64(lines.count) / 2))
            #expect(past.snapshot() == (try report.replayedProjection(through: Int64(lines.count) / 2)).snapshot())
            // A second rebuild switches back.
            #expect(try FigureRebuild(ledger: ledger).run().generation == "kpi-a")
        }
    }

    @Test("rebuild names what differed when the live figures were wrong, and replaces them")
    func rebuildFindsDamage() throws {
        let lines = try districtLines(seed: districtSeeds[2])
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            try importLines(Array(lines.prefix(300)), into: ledger, dir: dir, name: "first")
            // Damage: the stored figures are replaced by those of another district's first 300 lines,
            // one stored snapshot by a sound one of that other district, and one by bytes that are
            // no snapshot at all.
            let other = try openLedger(dir + "/other")
            try importLines(
                Array(try districtLines(seed: districtSeeds[0]).prefix(300)), into: other, dir: dir, name: "other")
            let wrong = try storedLiveFold(other)
            try ledger.log.updatingProjections { access in
                let live = try LiveFigures.liveGeneration(access)
                try access.put(wrong.snapshot(), forKey: LiveFigures.stateKey, in: live)
                let otherSnapshot = try other.log.readingProjections {
                    try $0.withValue(
                        forKey: LiveFigures.snapshotKey(snapshotEvery), in: try LiveFigures.liveGeneration($0)
                    ) { Array($0) }
                }
                try access.put(try #require(otherSnapshot), forKey: LiveFigures.snapshotKey(snapshotEvery), in: live)
                try access.put(
                    LiveFigures.snapshotKey(0), forKey: LiveFigures.snapshotKey(Int64(2 * snapshotEvery)), in: live)
            }
            let outcome = try FigureRebuild(ledger: ledger).run()
            #expect(outcome.differences.contains("the snapshot at seq \(snapshotEvery) differed from the log's"))
            #expect(
                outcome.differences.contains {
                    $0.hasPrefix("the snapshot at seq \(2 * snapshotEvery) of the live figures could not be read")
                })
            #expect(outcome.differences.count > 2)
            let replayed = try KPIReport(ledger: ledger).replayedProjection(through: 300)
            #expect(try storedLiveFold(ledger).snapshot() == replayed.snapshot())
            #expect(try FigureRebuild(ledger: ledger).run().differences.isEmpty)
        }
    }

    @Test(
        "a stored fold is sealed: a flipped bit that still reads as a fold is refused when read and by verify's check, and rebuild replaces it"
    )
    func sealedFolds() throws {
        try withDistrictLedger(seed: districtSeeds[1]) { ledger, head in
            // The state and a snapshot every 97 seqs, all sealed.
            #expect(try ledger.checkStoredFigures() == .init(sealed: 1 + Int(head / snapshotEvery), bare: 0))

            // The first single-bit flip of the state's snapshot that its own reader
            // still takes for a fold, only a different one: what the seal is for.
            let sealed = try #require(try storedValue(ledger, key: LiveFigures.stateKey))
            let snapshot = Array(sealed[StoredFold.headerCount...])
            #expect(StoredFold.contentHash(of: sealed) == sha256(snapshot))
            // Put in the pieces it was written in, it is the seal and the whole snapshot.
            #expect(sealed == StoredFold.sealed(try storedLiveFold(ledger).snapshot()))
            #expect(KPIProjection().snapshotParts().count == 3)
            #expect(
                StoredFold.sealed(KPIProjection()).pieces.joined().elementsEqual(
                    StoredFold.sealed(KPIProjection().snapshot())))
            var flipped: [UInt8]?
            for index in 8..<snapshot.count where flipped == nil {
                var candidate = snapshot
                candidate[index] ^= 0x01
                if let read = try? KPIProjection(snapshot: candidate), read.snapshot() != snapshot {
                    flipped = candidate
                }
            }
            let damaged = try #require(flipped)
            try putStored(
                Array(sealed[..<StoredFold.headerCount]) + damaged, key: LiveFigures.stateKey, in: ledger)

            let read = figuresFailure { _ = try storedLiveFold(ledger) }
            #expect(read?.contains("the stored figures of") == true, "\(read ?? "nil")")
            #expect(read?.contains("no longer matches the seal") == true, "\(read ?? "nil")")
            let query = figuresFailure { _ = try KPIReport(ledger: ledger).projection(within: .everything) }
            #expect(query?.contains("no longer matches the seal") == true, "\(query ?? "nil")")
            let check = figuresFailure { _ = try ledger.checkStoredFigures() }
            #expect(check?.contains("no longer matches the seal") == true, "\(check ?? "nil")")

            // A snapshot's seal broken too: a past query that starts from it refuses it, by seq.
            var snapshotAt97 = try #require(try storedValue(ledger, key: LiveFigures.snapshotKey(snapshotEvery)))
            snapshotAt97[snapshotAt97.count - 1] ^= 0x01
            try putStored(snapshotAt97, key: LiveFigures.snapshotKey(snapshotEvery), in: ledger)
            let past = figuresFailure {
                _ = try KPIReport(ledger: ledger).projection(within: .throughSeq(snapshotEvery + 1))
            }
            #expect(
                past?.contains("the snapshot at seq \(snapshotEvery) of kpi-") == true
                    && past?.contains("no longer matches the seal") == true, "\(past ?? "nil")")

            // Rebuild says the live figures could not be read, and replaces them.
            let outcome = try FigureRebuild(ledger: ledger).run()
            #expect(outcome.differences.contains { $0.contains("the live figures could not be read") })
            #expect(
                outcome.differences.contains(
                    "the snapshot at seq \(snapshotEvery) of the live figures could not be read: "
                        + "their SHA-256 no longer matches the seal they were stored with: the data file is damaged"))
            #expect(
                try KPIReport(ledger: ledger).projection(within: .throughSeq(snapshotEvery + 1)).snapshot()
                    == (try KPIReport(ledger: ledger).replayedProjection(through: snapshotEvery + 1)).snapshot())
            #expect(try ledger.checkStoredFigures().sealed == 1 + Int(head / snapshotEvery))
            #expect(try storedLiveFold(ledger).snapshot() == snapshot)
        }
    }

    @Test("the stored state must be the fold through its checkpoint, and a snapshot the fold through its key's seq")
    func foldsWhereTheyAreStored() throws {
        try withDistrictLedger(seed: districtSeeds[0]) { ledger, head in
            let report = try KPIReport(ledger: ledger)

            // A checkpoint one seq short: the state would answer for records it has folded past.
            let checkpoint = try #require(try storedValue(ledger, key: LiveFigures.checkpointKey))
            var short: [UInt8] = []
            appendBigEndian(UInt64(head - 1), to: &short)
            try putStored(short, key: LiveFigures.checkpointKey, in: ledger)
            let query = figuresFailure { _ = try report.projection(within: .everything) }
            #expect(query?.contains("its checkpoint says \(head - 1)") == true, "\(query ?? "nil")")
            let check = figuresFailure { _ = try ledger.checkStoredFigures() }
            #expect(
                check?.contains("is the fold through seq \(head), stored for seq \(head - 1)") == true,
                "\(check ?? "nil")")
            try putStored(checkpoint, key: LiveFigures.checkpointKey, in: ledger)

            // The snapshot at 97 stored again under 194: a past query from it would miss 97 records.
            let first = try #require(try storedValue(ledger, key: LiveFigures.snapshotKey(snapshotEvery)))
            let second = try #require(try storedValue(ledger, key: LiveFigures.snapshotKey(2 * snapshotEvery)))
            try putStored(first, key: LiveFigures.snapshotKey(2 * snapshotEvery), in: ledger)
            let past = figuresFailure { _ = try report.projection(within: .throughSeq(2 * snapshotEvery + 3)) }
            #expect(
                past?.contains("the snapshot at seq \(2 * snapshotEvery) of kpi-") == true
                    && past?.contains("is the fold through seq \(snapshotEvery)") == true, "\(past ?? "nil")")
            #expect(figuresFailure { _ = try ledger.checkStoredFigures() } != nil)
            try putStored(second, key: LiveFigures.snapshotKey(2 * snapshotEvery), in: ledger)
            #expect(try ledger.checkStoredFigures().sealed == 1 + Int(head / snapshotEvery))

            // A snapshot of a fold past the last record, stored where it says: the log never reached it.
            let beyond = head + snapshotEvery - head % snapshotEvery
            let ahead = KPIProjection(throughSeq: beyond, lastRecordedAt: nil)
            try putStored(StoredFold.sealed(ahead.snapshot()), key: LiveFigures.snapshotKey(beyond), in: ledger)
            let beyondHead = figuresFailure { _ = try ledger.checkStoredFigures() }
            #expect(
                beyondHead?.contains("past the last record (seq \(head))") == true, "\(beyondHead ?? "nil")")
        }
    }

    @Test(
        "an import that ends on a snapshot's seq stores the fold once: the snapshot there is the state, for kpi, verify's check and rebuild"
    )
    func stateOnASnapshot() throws {
        let lines = try districtLines(seed: districtSeeds[1])
        let boundary = Int(snapshotEvery) * 5
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            let report = try KPIReport(ledger: ledger)
            // A first file that ends off a snapshot's seq stores a state; a second that
            // ends on one leaves none, and the snapshot there answers in its place.
            try importLines(Array(lines[..<(boundary - 10)]), into: ledger, dir: dir, name: "first")
            #expect(try storedValue(ledger, key: LiveFigures.stateKey) != nil)
            try importLines(Array(lines[(boundary - 10)..<boundary]), into: ledger, dir: dir, name: "second")
            #expect(try ledger.log.head().seq == Int64(boundary))
            #expect(try storedValue(ledger, key: LiveFigures.stateKey) == nil)
            #expect(try storedCheckpoint(ledger) == Int64(boundary))
            let replayed = try report.replayedProjection(through: Int64(boundary)).snapshot()
            #expect(try storedLiveFold(ledger).snapshot() == replayed)
            #expect(try ledger.checkStoredFigures() == .init(sealed: 5, bare: 0))
            // A new process reads it the same; a rebuild finds nothing to mend, and its own
            // generation, ending on the same seq, holds no state either.
            let reopened = try openLedger(dir + "/ledger")
            #expect(try storedLiveFold(reopened).snapshot() == replayed)
            let outcome = try FigureRebuild(ledger: reopened).run()
            #expect(outcome.differences.isEmpty)
            #expect(try storedValue(reopened, key: LiveFigures.stateKey) == nil)
            #expect(try storedLiveFold(reopened).snapshot() == replayed)
            // Without the snapshot, the checkpoint has no fold, and verify's check says so.
            try reopened.log.updatingProjections { access in
                _ = try access.delete(
                    LiveFigures.snapshotKey(Int64(boundary)), in: try LiveFigures.liveGeneration(access))
            }
            let missing = figuresFailure { _ = try reopened.checkStoredFigures() }
            #expect(
                missing?.contains("has a checkpoint (seq \(boundary)) but no stored figures") == true,
                "\(missing ?? "nil")")
            // The next import past it stores a state again.
            try importLines(Array(lines[boundary..<(boundary + 3)]), into: reopened, dir: dir, name: "third")
            #expect(try storedValue(reopened, key: LiveFigures.stateKey) != nil)
            #expect(
                try storedLiveFold(reopened).snapshot()
                    == (try report.replayedProjection(through: Int64(boundary + 3))).snapshot())
        }
    }

    @Test("a fold stored bare, as builds before seals stored it, is read as it is and sealed by rebuild")
    func bareFoldsOfEarlierBuilds() throws {
        try withDistrictLedger(seed: districtSeeds[2]) { ledger, head in
            let sealed = try #require(try storedValue(ledger, key: LiveFigures.stateKey))
            try putStored(Array(sealed[StoredFold.headerCount...]), key: LiveFigures.stateKey, in: ledger)
            #expect(try storedLiveFold(ledger).snapshot() == Array(sealed[StoredFold.headerCount...]))
            // A snapshot too, which a rebuild finds equal to its own.
            let first = try #require(try storedValue(ledger, key: LiveFigures.snapshotKey(snapshotEvery)))
            try putStored(
                Array(first[StoredFold.headerCount...]), key: LiveFigures.snapshotKey(snapshotEvery), in: ledger)
            #expect(try ledger.checkStoredFigures() == .init(sealed: Int(head / snapshotEvery) - 1, bare: 2))
            let outcome = try FigureRebuild(ledger: ledger).run()
            #expect(outcome.differences.isEmpty)
            #expect(try ledger.checkStoredFigures() == .init(sealed: 1 + Int(head / snapshotEvery), bare: 0))
        }
    }

    @Test(
        "a rebuild stopped after a checkpoint goes on from it, and ends with the same figures",
        arguments: [false, true])
    func rebuildResumes(stateStoredToo: Bool) throws {
        let lines = try districtLines(seed: districtSeeds[0])
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger")
            try importLines(lines, into: ledger, dir: dir, name: "all")
            let whole = try FigureRebuild(ledger: ledger).run()
            // What a rebuild killed after its third checkpoint leaves in the generation that is
            // not live: the marker, the snapshots, and the checkpoint at the third; a build before
            // this one put the fold there as the generation's state as well.
            let stopped = 3 * snapshotEvery
            let folds = try (1...3).map {
                try KPIReport(ledger: ledger).replayedProjection(through: $0 * snapshotEvery)
            }
            try ledger.log.updatingProjections { access in
                let target = LiveFigures.generations.first { $0 != whole.generation }!
                try access.removeAll(in: target)
                try access.put(Array(target.utf8), forKey: LiveFigures.rebuildKey, in: LiveFigures.directory)
                for fold in folds { try LiveFigures.putSnapshot(fold, in: target, access) }
                if stateStoredToo {
                    try StoredFold.sealed(folds[2]).put(forKey: LiveFigures.stateKey, in: target, access)
                }
                try LiveFigures.putCheckpoint(stopped, in: target, access)
            }
            // `verify` accepts what a stopped rebuild leaves.
            #expect(
                try ledger.checkStoredFigures().sealed
                    == 1 + Int(Int64(lines.count) / snapshotEvery) + 3 + (stateStoredToo ? 1 : 0))
            // Appends while it was stopped are caught up too.
            try importLines(
                syntheticEvents(persons: 5, perPerson: 1, prefix: "late", start: "2026-01-01T00:00:00Z"),
                into: ledger, dir: dir, name: "late")
            let resumed = try FigureRebuild(ledger: ledger).run()
            #expect(resumed.resumedAfter == stopped)
            #expect(resumed.recordsFolded == Int64(lines.count + 10) - stopped)
            #expect(resumed.differences.isEmpty)
            let replayed = try KPIReport(ledger: ledger).replayedProjection(through: Int64(lines.count + 10))
            #expect(resumed.contentHash == Hex.encode(sha256(replayed.snapshot())))
        }
    }

    @Test("a payload kept for its type and data bytes is the one reading them gives, for every record of a district")
    func keptPayloadsAreRead() throws {
        try withDistrictLedger(seed: districtSeeds[0]) { ledger, head in
            var memo = PayloadMemo(limit: 4096)
            try ledger.log.readingProjections { access in
                try access.forEachRecord(from: 1, through: head) { seq, canonical in
                    let read = try RecordReplay.event(seq: seq, canonical: canonical, units: ledger.units)
                    let kept = try RecordReplay.event(seq: seq, canonical: canonical, units: ledger.units, memo: &memo)
                    #expect(kept.payload == read.payload && kept.stream == read.stream, "seq \(seq)")
                    #expect(kept.occurredAt == read.occurredAt && kept.orgUnit == read.orgUnit, "seq \(seq)")
                }
            }
            // Most records repeat a payload read before.
            #expect(memo.reused * 2 > Int(head), "\(memo.reused) of \(head)")
        }
    }

    @Test("a payload whose reading asked for the event's date is read again for every record, never kept")
    func datedPayloadsAreNotKept() throws {
        func stored(_ seq: Int64, _ type: String, on day: String, _ data: String) -> [UInt8] {
            let zeros = String(repeating: "0", count: 64)
            return Array(
                (#"{"actor":"clerk-1","data":"# + data + #","id":"e\#(seq)","occurredAt":"\#(day)","#
                    + #""orgUnit":"anting","prevHash":"\#(zeros)","recordedAt":"2024-03-01T08:00:00.125Z","#
                    + #""schema":1,"seq":\#(seq),"stream":"project-J1","type":"\#(type)","version":\#(seq)}"#).utf8)
        }
        let units = try Ledger.loadUnits()
        var memo = PayloadMemo(limit: 16)
        func decode(_ bytes: [UInt8], seq: Int64) throws -> RecordedEvent {
            try bytes.withUnsafeBytes { try RecordReplay.event(seq: seq, canonical: $0, units: units, memo: &memo) }
        }
        // The year evaluated may not lie after the evaluation's own year.
        let evaluation = #"{"score":80,"year":2020}"#
        _ = try decode(stored(1, "ProjectEvaluated", on: "2021-03-01", evaluation), seq: 1)
        #expect(throws: LedgerError.self) {
            try decode(stored(2, "ProjectEvaluated", on: "2019-03-01", evaluation), seq: 2)
        }
        #expect(memo.reused == 0)
        // One that asks nothing of the date is kept and given again.
        _ = try decode(stored(3, "ProjectEliminated", on: "2021-03-01", #"{"reason":"completed"}"#), seq: 3)
        _ = try decode(stored(4, "ProjectEliminated", on: "2019-03-01", #"{"reason":"completed"}"#), seq: 4)
        #expect(memo.reused == 1)
    }

    @Test("records read and decoded by the workers, a chunk each, are the records of one scan, in order")
    func workersReadWhatOneScanReads() throws {
        try withDistrictLedger(seed: districtSeeds[0]) { ledger, head in
            // Chunks of 7 and ranges that start and end inside one, with few chunks ahead.
            let replay = RecordReplay(units: ledger.units, chunkSize: 7, ahead: 2)
            for (from, through) in [(1, head), (3, head - 4), (10, 12), (head, head), (5, 4)] {
                var scanned = KPIProjection()
                var scannedSeqs: [Int64] = []
                try ledger.log.readingProjections { access in
                    try replay.replay(from: from, through: through, access, into: &scanned) { fold in
                        scannedSeqs.append(fold.throughSeq)
                    }
                }
                var read = KPIProjection()
                var readSeqs: [Int64] = []
                try replay.replay(from: from, through: through, log: ledger.log, into: &read) { fold in
                    readSeqs.append(fold.throughSeq)
                }
                #expect(readSeqs == Array(from..<max(from, through + 1)), "from \(from) through \(through)")
                #expect(readSeqs == scannedSeqs)
                #expect(read.snapshot() == scanned.snapshot())
            }
        }
    }

    @Test("the decoding threads run every job asked for, at their lower priority, before finish returns")
    func decodingThreads() {
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var jobs: [Int] = []
            var niceness: Set<Int32> = []
        }
        let seen = Seen()
        let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let workers = DecodingThreads(count: 3)
        for job in 0..<500 {
            workers.submit {
                let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                seen.lock.withLock {
                    seen.jobs.append(job)
                    seen.niceness.insert(nice)
                }
            }
        }
        workers.finish()
        #expect(seen.jobs.sorted() == Array(0..<500))
        // Lowered from this thread's own (at most to 19, the lowest there is).
        #expect(seen.niceness == [min(19, own + DecodingThreads.niceness)])
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == own)
    }

    @Test(
        "a checkpoint without its fold (neither a state nor the snapshot at its seq) is refused by verify, and a rebuild begins again"
    )
    func checkpointWithoutItsFold() throws {
        try withDistrictLedger(seed: districtSeeds[1]) { ledger, head in
            let whole = try FigureRebuild(ledger: ledger).run()
            let target = LiveFigures.generations.first { $0 != whole.generation }!
            let fold = try KPIReport(ledger: ledger).replayedProjection(through: snapshotEvery)
            func leave(marked: Bool, snapshot: Bool) throws {
                try ledger.log.updatingProjections { access in
                    try access.removeAll(in: target)
                    if marked {
                        try access.put(Array(target.utf8), forKey: LiveFigures.rebuildKey, in: LiveFigures.directory)
                    } else {
                        try access.delete(LiveFigures.rebuildKey, in: LiveFigures.directory)
                    }
                    if snapshot { try LiveFigures.putSnapshot(fold, in: target, access) }
                    try LiveFigures.putCheckpoint(snapshotEvery, in: target, access)
                }
            }
            let missing = "\(target) has a checkpoint (seq \(snapshotEvery)) but no stored figures"
            // The snapshot at the checkpoint is the fold there, whether or not a rebuild is under way.
            try leave(marked: false, snapshot: true)
            #expect(figuresFailure { _ = try ledger.checkStoredFigures() } == nil)
            // Neither a state nor that snapshot: the fold is missing.
            try leave(marked: false, snapshot: false)
            #expect(figuresFailure { _ = try ledger.checkStoredFigures() }?.contains(missing) == true)
            // A rebuild under way, but the fold at its checkpoint lost.
            try leave(marked: true, snapshot: false)
            #expect(figuresFailure { _ = try ledger.checkStoredFigures() }?.contains(missing) == true)
            // The rebuild does not go on from a checkpoint it cannot read: it begins again.
            let again = try FigureRebuild(ledger: ledger).run()
            #expect(again.resumedAfter == nil)
            #expect(again.recordsFolded == head)
            #expect(again.differences.isEmpty)
            #expect(again.contentHash == whole.contentHash)
            #expect(try ledger.checkStoredFigures().sealed == 1 + Int(head / snapshotEvery))
        }
    }

    @Test(
        "a server's deferred puts: the fold is encoded off the appending thread and put by the next append, exactly the fold of the records through its seq, and the snapshots with it",
        arguments: districtSeeds)
    func deferredStatePuts(seed: UInt64) throws {
        let lines = try districtLines(seed: seed)
        let lag: Int64 = 300
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger", stateLag: lag, defersStatePuts: true)
            let deferred = try #require(ledger.figures.deferredStates)
            let report = try KPIReport(ledger: ledger)
            var start = 0
            var puts = 0
            var lastHead: Int64 = 0
            for size in [400, 50, 350, 20, 310, 5] where start < lines.count {
                let end = min(start + size, lines.count)
                let before = try storedCheckpoint(ledger)
                try importLines(Array(lines[start..<end]), into: ledger, dir: dir, name: "part\(start)")
                start = end
                deferred.settle()
                let stored = try storedCheckpoint(ledger)
                // A put is never of records this append made: it is the state an
                // earlier append had encoded, at that append's last seq.
                let appended = try ledger.log.head().seq
                #expect(
                    stored == before || stored <= lastHead,
                    "after seq \(appended): stored \(stored) before \(before) lastHead \(lastHead)")
                if stored != before { puts += 1 }
                lastHead = appended
                // The stored fold is exactly the fold of the records through its seq.
                let fold = try storedLiveFold(ledger)
                #expect(fold.throughSeq == stored)
                if stored > 0 {
                    #expect(fold.snapshot() == (try report.replayedProjection(through: stored)).snapshot())
                }
                // The figures "now" are exact all the same, here and in another process.
                let head = try ledger.log.head().seq
                #expect(
                    try report.projection(within: .everything).snapshot()
                        == (try report.replayedProjection(through: head)).snapshot())
            }
            #expect(puts >= 2)
            // Every snapshot seq passed has its snapshot, equal to the fold through it.
            let head = try ledger.log.head().seq
            for seq in stride(from: snapshotEvery, through: try storedCheckpoint(ledger), by: Int(snapshotEvery)) {
                let stored = try ledger.log.readingProjections { access in
                    try access.withValue(
                        forKey: LiveFigures.snapshotKey(seq), in: try LiveFigures.liveGeneration(access)
                    ) { try KPIProjection(snapshot: try StoredFold.snapshot(in: $0)) }
                }
                #expect(
                    stored?.snapshot() == (try report.replayedProjection(through: seq)).snapshot(),
                    "seq \(seq) of \(head)")
            }
        }
    }

    @Test(
        "a state encoded after a record that is not the one now at its seq is never put, nor one by the transaction that encoded it"
    )
    func deferredStateOfAnotherChain() throws {
        let lines = try districtLines(seed: districtSeeds[0])
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger", stateLag: 1_000_000, defersStatePuts: true)
            let deferred = try #require(ledger.figures.deferredStates)
            try importLines(Array(lines.prefix(200)), into: ledger, dir: dir, name: "first")
            let fold = try KPIReport(ledger: ledger).replayedProjection(through: 150)
            // As if an append had encoded its fold and then been abandoned: the
            // record at seq 150 is not the one it was encoded after.
            deferred.encode(
                fold, generation: "kpi-a", hash: Array(repeating: 7, count: 32), asState: true, transaction: 0)
            deferred.settle()
            let put = try ledger.log.updatingProjections { access in
                try deferred.putEncoded(in: "kpi-a", after: nil, access)
            }
            #expect(put == nil)
            // The same fold after the right record is put.
            let hash = try #require(try ledger.log.hash(at: 150))
            deferred.encode(fold, generation: "kpi-a", hash: hash, asState: true, transaction: 0)
            deferred.settle()
            let putRight = try ledger.log.updatingProjections { access in
                try deferred.putEncoded(in: "kpi-a", after: nil, access)
            }
            #expect(putRight == 150)
            // A state encoded by the transaction that puts, its encoding over before
            // the put, is kept for the next transaction, not put by this one.
            let later = try KPIReport(ledger: ledger).replayedProjection(through: 180)
            let laterHash = try #require(try ledger.log.hash(at: 180))
            let putBySame = try ledger.log.updatingProjections { access in
                deferred.encode(
                    later, generation: "kpi-a", hash: laterHash, asState: true, transaction: access.transactionID)
                deferred.settle()
                // A transaction that changes nothing leaves LMDB's id where it was: this one changes something.
                try LiveFigures.putCheckpoint(150, in: "kpi-a", access)
                return try deferred.putEncoded(in: "kpi-a", after: 150, access)
            }
            #expect(putBySame == nil)
            #expect(try storedCheckpoint(ledger) == 150)
            // The next append puts it.
            try importLines(Array(lines[200..<210]), into: ledger, dir: dir, name: "second")
            #expect(try storedCheckpoint(ledger) == 180)
        }
    }

    @Test("the head fold a server keeps answers as a fold of the whole log after every append, and after a rebuild")
    func headFold() throws {
        let lines = try districtLines(seed: districtSeeds[1])
        try withScratch { dir in
            let ledger = try openLedger(dir + "/ledger", stateLag: 1000)
            let report = try KPIReport(ledger: ledger)
            let cache = HeadFold(ledger: ledger)
            var start = 0
            for size in [300, 1, 40, 200] where start < lines.count {
                let end = min(start + size, lines.count)
                try importLines(Array(lines[start..<end]), into: ledger, dir: dir, name: "part\(start)")
                start = end
                let head = try ledger.log.head().seq
                let cached = try cache.withFold { $0.snapshot() }
                #expect(cached == (try report.replayedProjection(through: head)).snapshot(), "at seq \(head)")
            }
            _ = try FigureRebuild(ledger: ledger).run()
            let head = try ledger.log.head().seq
            #expect(try cache.withFold { $0.snapshot() } == (try report.replayedProjection(through: head)).snapshot())
        }
    }

    @Test(
        "the head fold is loaded from the stored fold, not replayed, when that is more than its replay limit ahead, and answers the same"
    )
    func headFoldLoadsAfterALargeImport() throws {
        let lines = try districtLines(seed: districtSeeds[1])
        try withScratch { dir in
            // The stored fold is put at the end of every import of 10 records or more.
            let ledger = try openLedger(dir + "/ledger", stateLag: 10)
            let report = try KPIReport(ledger: ledger)
            let cache = HeadFold(ledger: ledger, replayLimit: 50)
            var start = 0
            var loads: [Int] = []
            for size in [100, 40, 200, 50, 51] where start + size <= lines.count {
                try importLines(Array(lines[start..<start + size]), into: ledger, dir: dir, name: "part\(start)")
                start += size
                let head = try ledger.log.head().seq
                let cached = try cache.withFold { $0.snapshot() }
                #expect(cached == (try report.replayedProjection(through: head)).snapshot(), "at seq \(head)")
                loads.append(cache.loads)
            }
            // Loaded first, then replayed 40 and 50 records, loaded after 200 and 51.
            #expect(loads == [1, 1, 2, 2, 3])
        }
    }
}

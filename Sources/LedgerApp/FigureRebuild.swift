import Dispatch
import EventStore
import Foundation
import LedgerProjections
import LedgerValues

/// Rebuilds the stored KPI figures from the log (cli.md `rebuild`).
///
/// The fold is built into the generation that is not live, while the live
/// one keeps answering queries and taking appends. Every `snapshotEvery`
/// seqs the rebuilt fold is committed with its checkpoint, so a rebuild that
/// is killed resumes from the last one. At the end, in one write transaction,
/// the rebuilt fold catches up with anything appended meanwhile, is compared
/// with the live one, and becomes live; the old generation is emptied in the
/// same transaction.
public struct FigureRebuild {
    /// The ledger rebuilt.
    public let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// What a rebuild found and did.
    public struct Outcome: Sendable {
        /// The last seq the rebuilt figures cover.
        public let throughSeq: Int64
        /// Records folded by this run (fewer than `throughSeq` when it resumed).
        public let recordsFolded: Int64
        /// The seq a killed rebuild had reached, when this run went on from it.
        public let resumedAfter: Int64?
        /// SHA-256 of the rebuilt fold's snapshot, in hex: equal folds, equal hashes.
        public let contentHash: String
        /// What differed between the live figures and the rebuilt ones (empty when nothing).
        public let differences: [String]
        /// Stored snapshots written.
        public let snapshots: Int
        /// The generation now live.
        public let generation: String
    }

    /// Runs the rebuild; `progress` is called with (records folded so far, records to fold).
    public func run(progress: (_ folded: Int64, _ total: Int64) -> Void = { _, _ in }) throws -> Outcome {
        let log = ledger.log
        let figures = ledger.figures
        // Begin, or go on from where a killed rebuild stopped; one whose
        // progress cannot be read back begins again.
        let (target, resumed) = try log.updatingProjections { access -> (String, KPIProjection?) in
            let live = try LiveFigures.liveGeneration(access)
            let target = LiveFigures.generations.first { $0 != live }!
            let marked = try access.withValue(forKey: LiveFigures.rebuildKey, in: LiveFigures.directory) {
                String(decoding: $0, as: UTF8.self)
            }
            if marked == target, let progress = try? LiveFigures.rebuildProgress(access, generation: target) {
                return (target, progress)
            }
            try access.removeAll(in: target)
            try access.put(Array(target.utf8), forKey: LiveFigures.rebuildKey, in: LiveFigures.directory)
            return (target, nil)
        }
        let resumedAfter = resumed?.throughSeq
        var fold = resumed ?? KPIProjection()
        let started = fold.throughSeq
        let total = try log.head().seq
        progress(0, total - started)

        // Up to the head as it stood at the start, read and decoded by the workers. At
        // every snapshot boundary the fold is encoded here, and the checkpointer
        // seals the bytes and commits them on its own thread (a write transaction
        // of its own) while the fold goes on. Handing it the fold itself would
        // cost more: the fold's next change would copy the whole of it, one
        // retain per array.
        let checkpointer = Checkpointer(log: log, generation: target)
        defer { checkpointer.finish() }
        try RecordReplay(units: ledger.units).replay(from: fold.throughSeq + 1, through: total, log: log, into: &fold) {
            fold in
            let seq = fold.throughSeq
            if seq % figures.snapshotEvery == 0 {
                fold.orderStreamNames()
                checkpointer.commit(snapshot: fold.snapshot(), throughSeq: seq)
            }
            if seq % 16_384 == 0 { progress(seq - started, total - started) }
        }
        checkpointer.finish()
        try checkpointer.failure.map { throw $0 }
        progress(fold.throughSeq - started, total - started)

        // Catch up, compare, switch: one transaction.
        return try log.updatingProjections { access in
            var rebuilt = fold
            try figures.replay(into: &rebuilt, through: try access.lastSeq, access) {
                try LiveFigures.putSnapshot($0, in: target, access)
            }
            let rebuiltBytes = rebuilt.snapshot()
            let sealed = StoredFold.sealed(rebuiltBytes)
            try LiveFigures.putState(.init(sealed), throughSeq: rebuilt.throughSeq, in: target, access)
            let live = try LiveFigures.liveGeneration(access)
            var differences: [String] = []
            // The live state stored as these very bytes is equal as it stands;
            // any other is read, brought up to the log's end, and compared.
            let storedAlike = try sealed.withUnsafeBytes { rebuiltStored in
                try LiveFigures.withStoredState(access, generation: live) {
                    StoredFold.mismatch(live: $0, rebuilt: rebuiltStored) == nil
                }
            }
            if storedAlike != true {
                do {
                    var current = try LiveFigures.storedState(access, generation: live)
                    try figures.replay(into: &current, through: try access.lastSeq, access)
                    if current.snapshot() != rebuiltBytes { differences = current.differences(from: rebuilt) }
                } catch let error as AppError {
                    differences = ["the live figures could not be read: \(error)"]
                }
            }
            differences += try snapshotDifferences(live: live, rebuilt: target, access)
            let snapshots = try snapshotSeqs(in: target, access).count
            try access.put(Array(target.utf8), forKey: LiveFigures.liveKey, in: LiveFigures.directory)
            try access.delete(LiveFigures.rebuildKey, in: LiveFigures.directory)
            try access.removeAll(in: live)
            return Outcome(
                throughSeq: rebuilt.throughSeq, recordsFolded: rebuilt.throughSeq - started, resumedAfter: resumedAfter,
                contentHash: Hex.encode(StoredFold.contentHash(of: sealed)), differences: differences,
                snapshots: snapshots,
                generation: target)
        }
    }

    /// The seqs of the snapshots stored in `generation`.
    private func snapshotSeqs(in generation: String, _ access: ProjectionAccess) throws -> [Int64] {
        var seqs: [Int64] = []
        try access.forEachEntry(withPrefix: LiveFigures.snapshotPrefix, in: generation) { key, _ in
            seqs.append(Int64(readBigEndian(key, at: 1)))
        }
        return seqs
    }

    /// The stored snapshots that differ between the two generations, in words.
    private func snapshotDifferences(live: String, rebuilt: String, _ access: ProjectionAccess) throws -> [String] {
        let liveSeqs = Set(try snapshotSeqs(in: live, access))
        let rebuiltSeqs = Set(try snapshotSeqs(in: rebuilt, access))
        var differences: [String] = []
        for seq in liveSeqs.union(rebuiltSeqs).sorted() {
            guard liveSeqs.contains(seq) else {
                differences.append("the snapshot at seq \(seq) was missing from the live figures")
                continue
            }
            guard rebuiltSeqs.contains(seq) else {
                differences.append("the live figures held a snapshot at seq \(seq) that the log does not give")
                continue
            }
            let key = LiveFigures.snapshotKey(seq)
            // Both are there (their seqs were listed in this transaction): the values are compared in place.
            let mismatch: String? =
                try access.withValue(forKey: key, in: live) { old -> String? in
                    try access.withValue(forKey: key, in: rebuilt) { StoredFold.mismatch(live: old, rebuilt: $0) }
                        ?? nil
                } ?? nil
            if let mismatch { differences.append("the snapshot at seq \(seq) \(mismatch)") }
        }
        return differences
    }
}

/// Commits a rebuild's snapshots, one after another on a thread of its own: a
/// rebuild that is killed resumes from the last one committed. Each commit puts
/// the snapshot and moves the checkpoint to it; the generation's state is put
/// only when the rebuild ends, so a checkpoint writes the fold once, not twice.
private final class Checkpointer: @unchecked Sendable {
    private let log: EventLog
    private let generation: String
    private let queue = DispatchQueue(label: "sunledger.rebuild.checkpoints")
    private let lock = NSLock()
    private var firstFailure: (any Error)?

    init(log: EventLog, generation: String) {
        self.log = log
        self.generation = generation
    }

    /// The first error a commit met, once `finish` has returned.
    var failure: (any Error)? { lock.withLock { firstFailure } }

    /// Seals the snapshot of a fold through `throughSeq` and commits it as the
    /// generation's snapshot at that seq, with the checkpoint there, after the
    /// commits asked for before.
    func commit(snapshot: [UInt8], throughSeq: Int64) {
        queue.async { [self] in
            guard failure == nil else { return }
            do {
                let sealed = StoredFold.sealed(snapshot)
                try log.updatingProjections { access in
                    try access.put(sealed, forKey: LiveFigures.snapshotKey(throughSeq), in: generation)
                    try LiveFigures.putCheckpoint(throughSeq, in: generation, access)
                }
            } catch {
                lock.withLock { firstFailure = firstFailure ?? error }
            }
        }
    }

    /// Waits for every commit asked for.
    func finish() {
        queue.sync {}
    }
}

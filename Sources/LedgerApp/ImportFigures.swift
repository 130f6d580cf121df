import Dispatch
import EventStore
import Foundation
import LedgerProjections
import LedgerValues

/// The live KPI fold during an import, folded on a thread of its own.
///
/// The thread that judges and stores the lines hands over the admitted events
/// in batches and goes on; the fold, and the encoding of a snapshot at every
/// `snapshotEvery` seqs, happen meanwhile on the folding thread. Whatever
/// touches the import's LMDB transaction (putting the snapshots and, at the
/// end, the fold and its checkpoint) stays on the storing thread, which owns it.
final class ImportFigures: @unchecked Sendable {
    private let generation: String
    private let snapshotEvery: Int64
    /// The live figures folded into: when their fold is due to be put.
    private let figures: LiveFigures
    private let memory: FoldMemory
    /// Touched only on `queue` once the import has begun handing over events.
    private var fold: KPIProjection
    private var batch: [(seq: Int64, recordedAt: Instant, event: ParsedEvent)] = []
    /// The hashes of the records at snapshot seqs in `batch`, when snapshots
    /// are encoded off the folding thread (`LiveFigures.deferredStates`).
    private var boundaryHashes: [Int64: [UInt8]] = [:]
    private let queue = DispatchQueue(label: "sunledger.import.figures")
    /// Batches handed over and not yet folded, at most two.
    private let room = DispatchSemaphore(value: 2)
    private let lock = NSLock()
    /// Wall-clock seconds the storing thread waited for the folding one.
    private(set) var waitedSeconds = 0.0
    /// What `save` had the folding thread seal (nil when no state was due,
    /// or it was encoded for deferred putting) and the seq it goes to.
    private var state: (sealed: StoredFold.Pieces?, seq: Int64)?
    /// Snapshots encoded and sealed on the folding thread, waiting to be put.
    private var ready: [(seq: Int64, sealed: StoredFold.Pieces)] = []

    /// Events handed over together.
    static let batchSize = 4096

    /// Loads the live fold, replaying whatever it has not seen yet.
    init(_ access: ProjectionAccess, figures: LiveFigures) throws {
        (fold, generation) = try figures.caughtUpFold(access)
        snapshotEvery = figures.snapshotEvery
        self.figures = figures
        memory = figures.memory
        batch.reserveCapacity(ImportFigures.batchSize)
    }

    /// Notes an event the store has just admitted at `seq`, recorded at `recordedAt`.
    func admitted(seq: Int64, recordedAt: Instant, event: ParsedEvent, _ access: ProjectionAccess) throws {
        if seq % snapshotEvery == 0, figures.deferredStates != nil {
            boundaryHashes[seq] = try access.hash(ofSeq: seq)
        }
        batch.append((seq, recordedAt, event))
        if batch.count == ImportFigures.batchSize { try handOver(access) }
    }

    private func handOver(_ access: ProjectionAccess) throws {
        let events = batch
        batch = []
        batch.reserveCapacity(ImportFigures.batchSize)
        let hashes = boundaryHashes
        boundaryHashes = [:]
        let transaction = access.transactionID
        room.wait(countingInto: &waitedSeconds)
        queue.async { [self] in
            let recorded = events.map { $0.event.recorded(seq: $0.seq, recordedAt: $0.recordedAt) }
            recorded.withUnsafeBufferPointer { recorded in
                fold.apply(recorded) { fold in
                    let seq = fold.throughSeq
                    guard seq % snapshotEvery == 0 else { return }
                    // Only the names folded since the last snapshot are sorted for this one.
                    fold.orderStreamNames()
                    if let deferred = figures.deferredStates, let hash = hashes[seq] {
                        deferred.encode(
                            fold, generation: generation, hash: hash, asState: false, transaction: transaction)
                    } else {
                        let sealed = StoredFold.sealed(fold)
                        lock.withLock { ready.append((seq, sealed)) }
                    }
                }
            }
            room.signal()
        }
        try putReady(access)
    }

    /// Puts the snapshots encoded so far, dropping each one's bytes once put.
    private func putReady(_ access: ProjectionAccess) throws {
        while let snapshot = lock.withLock({ ready.isEmpty ? nil : ready.removeFirst() }) {
            try snapshot.sealed.put(forKey: LiveFigures.snapshotKey(snapshot.seq), in: generation, access)
        }
    }

    /// Waits until every event handed over is folded, then puts the remaining
    /// snapshots and, when `stateLag` records have come since it was last
    /// put (see `LiveFigures`), the fold with its checkpoint. The fold is then
    /// kept in memory for the next append.
    ///
    /// `meanwhile` runs on the calling thread while the fold folds its last
    /// batches and seals what is due: the store's own finishing (the index
    /// entries it holds back), which would otherwise wait for the fold, or
    /// keep it waiting.
    func save(_ access: ProjectionAccess, meanwhile: () throws -> Void = {}) throws {
        if !batch.isEmpty { try handOver(access) }
        let head = try access.lastRecord
        var checkpoint = try LiveFigures.checkpoint(access, generation: generation)
        let deferred = figures.deferredStates
        if let put = try deferred?.putEncoded(in: generation, after: checkpoint, access) { checkpoint = put }
        let transaction = access.transactionID
        queue.async { [self, checkpoint] in
            let seq = fold.throughSeq
            let due = figures.isDue(seq, checkpoint: checkpoint) || seq != head.seq
            var sealed: StoredFold.Pieces?
            if due { fold.orderStreamNames() }
            if due, seq == head.seq, let deferred {
                deferred.encodeState(fold, generation: generation, hash: head.hash, transaction: transaction)
            } else if due {
                // A fold that ends on a snapshot's seq has just been encoded, and
                // that snapshot serves as its state (`LiveFigures.putState`): it
                // is neither encoded nor stored twice.
                sealed =
                    lock.withLock { ready.last.flatMap { $0.seq == seq ? $0.sealed : nil } }
                    ?? StoredFold.sealed(fold)
            }
            if seq == head.seq {
                memory.keep(fold, generation: generation, seq: head.seq, hash: head.hash)
                fold = KPIProjection()
            }
            lock.withLock { state = (sealed, seq) }
        }
        try meanwhile()
        let waitStarted = monotonicSeconds()
        queue.sync {}
        waitedSeconds += monotonicSeconds() - waitStarted
        let (sealed, seq) = lock.withLock { state! }
        try putReady(access)
        if let sealed { try LiveFigures.putState(sealed, throughSeq: seq, in: generation, access) }
    }

    /// Waits until every batch handed over is folded: the storing thread
    /// calls it on every way out of an import, so that nothing of an
    /// abandoned one goes on folding after it. Not done on deinitialisation:
    /// the last batch's block may be the last to let go of this object, on
    /// `queue` itself, where waiting for `queue` stops the process.
    func settle() { queue.sync {} }
}

import Dispatch
import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues

/// The KPI fold kept in the ledger itself, up to date with every append
/// (kpis.md, cli.md `kpi`): what lets `kpi` answer for "everything known"
/// without replaying the log, and any past instant from a nearby snapshot.
///
/// The fold lives in one of two generations (named databases `kpi-a` and
/// `kpi-b`); the `projections` database names the live one. A generation
/// holds:
/// - the checkpoint: the seq the stored fold has reached, committed in the same
///   transaction as the fold, so it can never disagree with it;
/// - the fold at the checkpoint (`KPIProjection.snapshot()`), put again only
///   once `stateLag` records have come since: a commit of a few events (a
///   server's) does not rewrite the whole fold, and a reader replays at most
///   `stateLag` records past it;
/// - the fold at every multiple of `snapshotEvery` seqs, from which any past
///   instant is answered by replaying at most that many records.
///
/// When the checkpoint falls on a snapshot's seq, that snapshot is the fold
/// at the checkpoint, and no copy of it is stored as the state: an import of
/// a file that ends on a multiple of `snapshotEvery` would otherwise put the
/// whole fold twice in its last moments (at 10 million events, 55 MB more
/// held at the import's peak).
///
/// `rebuild` fills the other generation from the log, while this one keeps
/// answering, and then names it live in one transaction.
public struct LiveFigures: LedgerProjector {
    /// The units, to read stored payloads.
    let units: UnitDirectory
    /// Seqs between stored snapshots: the most a past query replays.
    public let snapshotEvery: Int64
    /// Records appended before the stored fold is put again: the most a
    /// query for "everything known" replays past it.
    public let stateLag: Int64
    /// The fold as this process's last append left it.
    let memory = FoldMemory()
    /// When the fold is due to be put, it is encoded on a thread of its own
    /// and put by the next append (nil: encoded and put by the append that
    /// made it due, as a command that appends once and exits needs).
    let deferredStates: DeferredStates?

    /// The live figures of a ledger of `units`, with a snapshot every
    /// `snapshotEvery` seqs and the fold put again every `stateLag` records;
    /// `defersStatePuts` for a process that appends often (see `deferredStates`).
    public init(
        units: UnitDirectory, snapshotEvery: Int64 = LiveFigures.defaultSnapshotEvery,
        stateLag: Int64 = LiveFigures.defaultStateLag, defersStatePuts: Bool = false
    ) {
        precondition(snapshotEvery > 0, "snapshots are at least one seq apart")
        precondition(stateLag > 0, "the stored fold is put at least every record")
        self.units = units
        self.snapshotEvery = snapshotEvery
        self.stateLag = stateLag
        deferredStates = defersStatePuts ? DeferredStates() : nil
    }

    /// The default lag of the stored fold: 5,000 records replay in a few
    /// milliseconds, while rewriting the fold of a district takes far longer.
    public static let defaultStateLag: Int64 = 5_000
    /// The lag a server keeps: it appends many small batches and answers its
    /// own queries from the fold it keeps in memory (`HeadFold`), so putting
    /// the fold of a large ledger every 5,000 records would be most of its
    /// work. A command reading the ledger meanwhile replays at most this many
    /// records (a few tenths of a second).
    public static let serverStateLag: Int64 = 50_000

    /// Whether a fold through `seq` is to be put, the stored one being at `checkpoint`.
    func isDue(_ seq: Int64, checkpoint: Int64?) -> Bool {
        seq - (checkpoint ?? 0) >= stateLag
    }

    /// The database that says which generation is live, and how far a rebuild has got.
    static let directory = "projections"
    /// The two generations of the fold.
    static let generations = ["kpi-a", "kpi-b"]
    /// Every database the live figures use, opened with the log.
    static let spaces = [directory] + generations
    /// The snapshot spacing of a ledger: at 250,000 seqs, a past query replays
    /// at most a fraction of a second of records.
    public static let defaultSnapshotEvery: Int64 = 250_000

    static let liveKey = Array("live".utf8)
    static let rebuildKey = Array("rebuild".utf8)
    static let checkpointKey: [UInt8] = [0x00]
    static let stateKey: [UInt8] = [0x01]
    static let snapshotPrefix: [UInt8] = [0x02]

    static func snapshotKey(_ seq: Int64) -> [UInt8] {
        var key = snapshotPrefix
        appendBigEndian(UInt64(seq), to: &key)
        return key
    }

    // MARK: Reading

    /// The generation that answers queries.
    static func liveGeneration(_ access: ProjectionAccess) throws -> String {
        let named = try access.withValue(forKey: liveKey, in: directory) { String(decoding: $0, as: UTF8.self) }
        guard let named else { return generations[0] }
        guard generations.contains(named) else {
            throw AppError.figures("the live figures are said to be in \(named), which is not one of their databases")
        }
        return named
    }

    /// The seq the fold stored in `generation` has reached, or nil when it holds none.
    static func checkpoint(_ access: ProjectionAccess, generation: String) throws -> Int64? {
        try access.withValue(forKey: checkpointKey, in: generation) { value -> Int64 in
            guard value.count == 8 else {
                throw AppError.figures("the checkpoint of \(generation) is malformed")
            }
            return Int64(readBigEndian(value))
        }
    }

    /// The fold stored in `generation` at its checkpoint (empty when none is stored).
    static func storedState(_ access: ProjectionAccess, generation: String) throws -> KPIProjection {
        try withStoredState(access, generation: generation) { bytes in
            try decode(bytes, what: "the stored figures of \(generation)")
        } ?? KPIProjection()
    }

    /// Calls `body` with the stored bytes of `generation`'s fold at its
    /// checkpoint: its state, else the snapshot at the checkpoint's seq.
    /// Nil when there is neither.
    static func withStoredState<Result>(
        _ access: ProjectionAccess, generation: String, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        if let state = try access.withValue(forKey: stateKey, in: generation, body) { return state }
        guard let checkpoint = try checkpoint(access, generation: generation) else { return nil }
        return try access.withValue(forKey: snapshotKey(checkpoint), in: generation, body)
    }

    /// Where a rebuild filling `generation` had got: the fold at its
    /// checkpoint, which is the snapshot there (a rebuild commits its progress
    /// as snapshots) or, as an earlier build left it, the generation's state.
    /// Nil when there is no checkpoint; throws when the fold at it is missing or damaged.
    static func rebuildProgress(_ access: ProjectionAccess, generation: String) throws -> KPIProjection? {
        guard let checkpoint = try checkpoint(access, generation: generation) else { return nil }
        let what = "the fold of \(generation) at its checkpoint (seq \(checkpoint))"
        let stored = try withStoredState(access, generation: generation) { try decode($0, what: what) }
        guard let stored, stored.throughSeq == checkpoint else {
            throw AppError.figures("\(what) is not stored")
        }
        return stored
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, what: String) throws -> KPIProjection {
        do { return try KPIProjection(snapshot: try StoredFold.snapshot(in: bytes)) } catch {
            throw AppError.figures("\(what) cannot be read (\(error))")
        }
    }

    /// What `verify` found of the folds stored beside the log.
    public struct StoredFoldCheck: Equatable, Sendable {
        /// Folds whose seal was checked: the state and the snapshots of both generations.
        public var sealed = 0
        /// Folds stored bare by a build before seals; `rebuild` seals them.
        public var bare = 0
    }

    /// Checks every fold stored in either generation: a sealed one against its
    /// seal, and each against the seq it is stored for (the state against its
    /// generation's checkpoint, a snapshot against its key), which the log must
    /// have reached. A checkpoint needs the state, or the snapshot at its seq.
    /// Throws `AppError.figures` naming the first that fails.
    static func checkStoredFolds(_ access: ProjectionAccess) throws -> StoredFoldCheck {
        var check = StoredFoldCheck()
        let head = try access.lastSeq
        for generation in generations {
            let checkpoint = try LiveFigures.checkpoint(access, generation: generation)
            var stateFound = false
            var snapshotAtCheckpoint = false
            try access.forEachEntry(withPrefix: [], in: generation) { key, value in
                let what: String
                let storedFor: Int64?
                if key.elementsEqual(checkpointKey) {
                    return
                } else if key.elementsEqual(stateKey) {
                    what = "the stored figures of \(generation)"
                    storedFor = checkpoint
                    stateFound = true
                } else if key.count == snapshotPrefix.count + 8, key.starts(with: snapshotPrefix) {
                    let seq = Int64(readBigEndian(key, at: snapshotPrefix.count))
                    what = "the snapshot at seq \(seq) of \(generation)"
                    storedFor = seq
                    snapshotAtCheckpoint = snapshotAtCheckpoint || seq == checkpoint
                } else {
                    throw AppError.figures("\(generation) holds an entry under a key that no fold is stored under")
                }
                let throughSeq: Int64
                do {
                    throughSeq = try KPIProjection.throughSeq(ofSnapshot: try StoredFold.snapshot(in: value))
                } catch {
                    throw AppError.figures("\(what) cannot be read (\(error))")
                }
                guard throughSeq == storedFor else {
                    let place = storedFor.map { "seq \($0)" } ?? "no checkpoint"
                    throw AppError.figures("\(what) is the fold through seq \(throughSeq), stored for \(place)")
                }
                guard throughSeq <= head else {
                    throw AppError.figures(
                        "\(what) is the fold through seq \(throughSeq), past the last record (seq \(head))")
                }
                if StoredFold.isSealed(value) { check.sealed += 1 } else { check.bare += 1 }
            }
            if let checkpoint, !stateFound, !snapshotAtCheckpoint {
                throw AppError.figures("\(generation) has a checkpoint (seq \(checkpoint)) but no stored figures")
            }
        }
        return check
    }

    /// The fold of every record with seq ≤ `seq`, from what the live generation
    /// stores: its fold at the checkpoint when `seq` is at or past it, else the
    /// nearest snapshot at or before `seq`; then the records between, replayed.
    func fold(through seq: Int64, _ access: ProjectionAccess) throws -> KPIProjection {
        let generation = try LiveFigures.liveGeneration(access)
        let checkpoint = try LiveFigures.checkpoint(access, generation: generation) ?? 0
        var fold: KPIProjection
        if seq >= checkpoint {
            fold = try LiveFigures.storedState(access, generation: generation)
            guard fold.throughSeq == checkpoint else {
                throw AppError.figures(
                    "the stored figures of \(generation) are the fold through seq \(fold.throughSeq), "
                        + "but its checkpoint says \(checkpoint)")
            }
        } else {
            let nearest = try access.withEntry(atOrBefore: LiveFigures.snapshotKey(seq), in: generation) {
                key, value -> KPIProjection? in
                guard key.starts(with: LiveFigures.snapshotPrefix) else { return nil }
                let keyed = Int64(readBigEndian(key, at: LiveFigures.snapshotPrefix.count))
                let snapshot = try LiveFigures.decode(value, what: "the snapshot at seq \(keyed) of \(generation)")
                guard snapshot.throughSeq == keyed else {
                    throw AppError.figures(
                        "the snapshot at seq \(keyed) of \(generation) is the fold through seq \(snapshot.throughSeq)")
                }
                return snapshot
            }
            fold = (nearest ?? nil) ?? KPIProjection()
        }
        try replay(into: &fold, through: seq, access)
        return fold
    }

    // MARK: Writing

    /// Brings the live generation up to the last record of an append
    /// transaction: the fold is taken from memory (or loaded), the records it
    /// has not seen are replayed, and, once `stateLag` records have come since
    /// it was last put, fold and checkpoint are put back in the same
    /// transaction (or, with `deferredStates`, encoded now and put by the next
    /// append). The fold is then kept in memory for the next append.
    public func bringUpToDate(_ access: ProjectionAccess) throws {
        let generation = try LiveFigures.liveGeneration(access)
        let head = try access.lastRecord
        var checkpoint = try LiveFigures.checkpoint(access, generation: generation)
        if let put = try deferredStates?.putEncoded(in: generation, after: checkpoint, access) { checkpoint = put }
        guard checkpoint != head.seq else { return }
        let caughtUp = try caughtUpFold(access)
        if isDue(head.seq, checkpoint: checkpoint) {
            if let deferredStates {
                deferredStates.encodeState(
                    caughtUp.fold, generation: caughtUp.generation, hash: head.hash, transaction: access.transactionID)
            } else {
                try LiveFigures.putState(caughtUp.fold, in: caughtUp.generation, access)
            }
        }
        memory.keep(caughtUp.fold, generation: caughtUp.generation, seq: head.seq, hash: head.hash)
    }

    /// The live fold brought up to the last record `access` sees: loaded, and
    /// the records it has not seen replayed, with the snapshots it passes on
    /// the way put into its generation.
    func caughtUpFold(_ access: ProjectionAccess) throws -> (fold: KPIProjection, generation: String) {
        let generation = try LiveFigures.liveGeneration(access)
        let head = try access.lastRecord
        var fold: KPIProjection
        // The fold kept in memory is that of exactly the chain ending in this
        // hash, whether or not the stored one has been put since.
        if let remembered = memory.take(generation: generation, seq: head.seq, hash: head.hash) {
            fold = remembered
        } else {
            fold = try LiveFigures.storedState(access, generation: generation)
        }
        try replay(into: &fold, through: try access.lastSeq, access) {
            try LiveFigures.putSnapshot($0, in: generation, access)
        }
        return (fold, generation)
    }

    /// Replays the records after `fold.throughSeq` up to `seq` into `fold`,
    /// calling `boundary` whenever the fold reaches a multiple of `snapshotEvery`.
    func replay(
        into fold: inout KPIProjection, through seq: Int64, _ access: ProjectionAccess,
        boundary: (KPIProjection) throws -> Void = { _ in }
    ) throws {
        guard seq > fold.throughSeq else { return }
        try RecordReplay(units: units).replay(from: fold.throughSeq + 1, through: seq, access, into: &fold) { fold in
            if fold.throughSeq % snapshotEvery == 0 {
                fold.orderStreamNames()
                try boundary(fold)
            }
        }
    }

    /// Puts `fold` as `generation`'s state, with its checkpoint.
    static func putState(_ fold: KPIProjection, in generation: String, _ access: ProjectionAccess) throws {
        try putState(StoredFold.sealed(fold), throughSeq: fold.throughSeq, in: generation, access)
    }

    /// Puts a fold through `throughSeq`, sealed (`StoredFold.sealed`), as
    /// `generation`'s state, with its checkpoint; where the snapshot at
    /// `throughSeq` is stored, it serves as the state, and the state is
    /// removed instead.
    static func putState(
        _ sealed: @autoclosure () -> StoredFold.Pieces, throughSeq: Int64, in generation: String,
        _ access: ProjectionAccess
    ) throws {
        if try access.withValue(forKey: snapshotKey(throughSeq), in: generation, { _ in true }) == true {
            try access.delete(stateKey, in: generation)
        } else {
            try sealed().put(forKey: stateKey, in: generation, access)
        }
        try putCheckpoint(throughSeq, in: generation, access)
    }

    /// Moves `generation`'s checkpoint to `seq`, where a rebuild has put its
    /// snapshot (`rebuildProgress` reads it back).
    static func putCheckpoint(_ seq: Int64, in generation: String, _ access: ProjectionAccess) throws {
        var checkpoint: [UInt8] = []
        appendBigEndian(UInt64(seq), to: &checkpoint)
        try access.put(checkpoint, forKey: checkpointKey, in: generation)
    }

    /// Puts `fold` as `generation`'s snapshot at its seq.
    static func putSnapshot(_ fold: KPIProjection, in generation: String, _ access: ProjectionAccess) throws {
        try StoredFold.sealed(fold).put(forKey: snapshotKey(fold.throughSeq), in: generation, access)
    }
}

/// The fold's state encoded off the appending thread, for a process that
/// appends often (a server): encoding the fold of a large ledger takes a
/// tenth of a second, which the append that made it due would otherwise wait
/// for. The state is encoded from a copy of the fold (the next append goes on
/// with its own) and put by the next append, provided the live generation is
/// the same, the state is newer than the stored one, and the record at its seq
/// is the one it was encoded after: a state of an append that was then
/// abandoned is never put. Never by the append that encoded it, however soon
/// the encoding ends: the puts do not depend on timing. Until it is put,
/// readers replay a little more.
final class DeferredStates: @unchecked Sendable {
    /// A fold encoded: the state (fold and checkpoint) or a snapshot at its seq.
    private struct Encoded {
        let generation: String
        let seq: Int64
        let hash: [UInt8]
        let sealed: StoredFold.Pieces
        let isState: Bool
        /// The id of the write transaction that encoded it (`ProjectionAccess.transactionID`).
        let transaction: Int
    }
    private let lock = NSLock()
    private let queue = DispatchQueue(label: "sunledger.figures.state", qos: .utility)
    private var encodingState = false
    private var encoded: [Encoded] = []

    /// Encodes `fold` as the state of `generation` (see `encode`), unless a
    /// state is being encoded, or encoded and not yet put.
    func encodeState(_ fold: KPIProjection, generation: String, hash: [UInt8], transaction: Int) {
        let pending = lock.withLock { encodingState || encoded.contains { $0.isState } }
        if !pending { encode(fold, generation: generation, hash: hash, asState: true, transaction: transaction) }
    }

    /// Encodes `fold`, of `generation`, whose last record hashes to `hash`, on
    /// the encoding thread: as the state, or as the snapshot at its seq; for
    /// write transaction `transaction` (see `putEncoded`).
    func encode(_ fold: KPIProjection, generation: String, hash: [UInt8], asState: Bool, transaction: Int) {
        if asState { lock.withLock { encodingState = true } }
        queue.async { [self] in
            let sealed = StoredFold.sealed(fold)
            lock.withLock {
                encoded.append(
                    Encoded(
                        generation: generation, seq: fold.throughSeq, hash: hash, sealed: sealed, isState: asState,
                        transaction: transaction))
                if asState { encodingState = false }
            }
        }
    }

    /// Puts what earlier transactions encoded, where it may be put (see
    /// above), into `generation`; returns the seq of the state put, or nil.
    /// What this transaction encoded is kept for the next.
    func putEncoded(in generation: String, after checkpoint: Int64?, _ access: ProjectionAccess) throws -> Int64? {
        let transaction = access.transactionID
        let items = lock.withLock {
            let earlier = encoded.filter { $0.transaction != transaction }
            encoded.removeAll { $0.transaction != transaction }
            return earlier
        }
        var statePut: Int64?
        for item in items where item.generation == generation {
            guard try access.hash(ofSeq: item.seq) == item.hash else { continue }
            if !item.isState {
                try item.sealed.put(forKey: LiveFigures.snapshotKey(item.seq), in: generation, access)
            } else if item.seq > (statePut ?? checkpoint ?? 0) {
                try LiveFigures.putState(item.sealed, throughSeq: item.seq, in: generation, access)
                statePut = item.seq
            }
        }
        return statePut
    }

    /// Waits until nothing is being encoded (for tests).
    func settle() { queue.sync {} }
}

/// The live fold as the last import of this process stored it, kept in
/// memory so that the next import (a server appends many small batches) need
/// not decode it again from its stored snapshot.
///
/// It is keyed by its generation, its seq and the hash of the record at that
/// seq: a hash names the whole chain before it, so a fold kept under it is the
/// fold of exactly those records, whoever appended them and whether or not
/// the transaction that kept it committed. Taking it leaves nothing behind,
/// so the import that takes it holds the only copy and changes it in place.
final class FoldMemory: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: (generation: String, seq: Int64, hash: [UInt8], fold: KPIProjection)?

    /// The fold kept for `generation` at `seq` whose record hashes to `hash`, if it is the one kept.
    func take(generation: String, seq: Int64, hash: [UInt8]) -> KPIProjection? {
        lock.withLock {
            guard let kept, kept.generation == generation, kept.seq == seq, kept.hash == hash else { return nil }
            self.kept = nil
            return kept.fold
        }
    }

    /// Keeps `fold`, the fold of the records through `seq`, the last of which hashes to `hash`.
    func keep(_ fold: KPIProjection, generation: String, seq: Int64, hash: [UInt8]) {
        lock.withLock { kept = (generation, seq, hash, fold) }
    }
}

/// Turns stored records into what the fold reads, decoding them on every core
/// while the caller folds the ones before: records are read in chunks, each
/// chunk is decoded on a thread of its own, and a few chunks are decoded ahead
/// of the one being folded.
struct RecordReplay {
    let units: UnitDirectory
    /// Records decoded together.
    var chunkSize = 2048
    /// Chunks decoded ahead of the one being folded: 131,072 records, some
    /// 30 MB. The fold stops for a few tenths of a second at each snapshot a
    /// rebuild encodes; with this much room the cores go on decoding meanwhile,
    /// where a chunk or two ahead left them idle (a 1M rebuild took 0.80× the
    /// time, a 5M one 0.92×).
    var ahead = 64

    /// Folds every record with `from ≤ seq ≤ through` into `fold`, in seq
    /// order, calling `after` with the fold once each is in.
    func replay(
        from: Int64, through: Int64, _ access: ProjectionAccess, into fold: inout KPIProjection,
        after: (inout KPIProjection) throws -> Void = { _ in }
    ) throws {
        var chunk: [(seq: Int64, canonical: UnsafeRawBufferPointer)] = []
        chunk.reserveCapacity(chunkSize)
        var inFlight: [ChunkDecoding] = []
        inFlight.reserveCapacity(ahead + 1)
        let units = self.units
        func foldOldest() throws { try RecordReplay.fold(inFlight.removeFirst(), into: &fold, after: after) }
        try access.forEachRecord(from: from, through: through) { seq, canonical in
            chunk.append((seq, canonical))
            guard chunk.count == chunkSize else { return }
            inFlight.append(ChunkDecoding(chunk, units: units))
            chunk.removeAll(keepingCapacity: true)
            if inFlight.count > ahead { try foldOldest() }
        }
        if !chunk.isEmpty { inFlight.append(ChunkDecoding(chunk, units: units)) }
        while !inFlight.isEmpty { try foldOldest() }
    }

    /// Folds every record with `from ≤ seq ≤ through` into `fold` as the
    /// replay above does, each chunk read as well as decoded by a worker, in a
    /// read transaction of its own: this thread only folds. A stored record
    /// never changes, so every transaction reads the same bytes for the seqs
    /// asked, whatever was appended after them.
    ///
    /// The chunks are read and decoded by threads of the replay's own, one a
    /// core, that yield the processor to this one (see `DecodingThreads`).
    func replay(
        from: Int64, through: Int64, log: EventLog, into fold: inout KPIProjection,
        after: (inout KPIProjection) throws -> Void
    ) throws {
        var inFlight: [ChunkDecoding] = []
        inFlight.reserveCapacity(ahead + 1)
        let units = self.units
        let workers = DecodingThreads(count: ProcessInfo.processInfo.activeProcessorCount)
        defer { workers.finish() }
        func foldOldest() throws {
            try RecordReplay.fold(inFlight.removeFirst(), into: &fold, after: after, freedBy: workers)
        }
        var first = from
        var chunks = 0
        while first <= through {
            let last = min(first + Int64(chunkSize) - 1, through)
            inFlight.append(ChunkDecoding(log: log, seqs: first...last, units: units, on: workers))
            first = last + 1
            chunks += 1
            // The workers' transactions cannot count what they read together: the
            // map's pages are given back here, every 64 chunks (some 50 MB of records).
            if chunks % RecordReplay.chunksBetweenReleases == 0 { log.releaseResidentPages() }
            if inFlight.count > ahead { try foldOldest() }
        }
        while !inFlight.isEmpty { try foldOldest() }
    }

    /// Chunks read between two releases of the map's resident pages.
    static let chunksBetweenReleases = 64

    /// Folds the events of `chunk` into `fold` once decoded, calling `after`
    /// for each (`KPIProjection.apply(_:after:)`). Each is read where it lies,
    /// not copied out (a retain and a release of each of its strings), and the
    /// chunk is freed on a worker: the folding thread is the one the others wait for.
    private static func fold(
        _ chunk: ChunkDecoding, into fold: inout KPIProjection, after: (inout KPIProjection) throws -> Void,
        freedBy workers: DecodingThreads? = nil
    ) throws {
        try chunk.withEvents { events in try fold.apply(events, after: after) }
        let free: @Sendable () -> Void = { withExtendedLifetime(chunk) {} }
        if let workers { workers.submit(free) } else { DispatchQueue.global().async(execute: free) }
    }

    /// Decodes one stored record.
    static func event(seq: Int64, canonical: UnsafeRawBufferPointer, units: UnitDirectory) throws -> RecordedEvent {
        var memo = PayloadMemo.none
        return try event(seq: seq, canonical: canonical, units: units, memo: &memo)
    }

    /// Decodes one stored record, its payload taken from `memo` when a record
    /// of the same type and `data` was read before (and kept there when not).
    static func event(
        seq: Int64, canonical: UnsafeRawBufferPointer, units: UnitDirectory, memo: inout PayloadMemo
    ) throws -> RecordedEvent {
        guard let view = RecordView(seq: seq, canonical: canonical) else {
            throw LedgerError.damaged(seq: seq, reason: "the stored record is not a well-formed chained record")
        }
        guard let type = EventType.named(view.type.bindMemory(to: UInt8.self)) else {
            throw LedgerError.damaged(
                seq: seq,
                reason: "the stored type \(String(decoding: view.type, as: UTF8.self)) is not in the catalogue")
        }
        let read = try memo.payload(type: type, data: view.data) {
            guard case .object(let data)? = try? JSONParser.parse(view.data.bindMemory(to: UInt8.self)) else {
                throw LedgerError.damaged(seq: seq, reason: "the stored data is not a JSON object")
            }
            return Payload.reading(
                data, context: FieldReader.Context(type: type, occurredAt: view.occurredAt, units: units))
        }
        switch read {
        case .success(let payload):
            return RecordedEvent(
                seq: seq, stream: String(decoding: view.stream, as: UTF8.self), occurredAt: view.occurredAt,
                recordedAt: view.recordedAt, orgUnit: String(decoding: view.orgUnit, as: UTF8.self), payload: payload)
        case .failure(let errors):
            throw LedgerError.damaged(
                seq: seq,
                reason: "the stored data does not read: " + errors.all.map(\.description).joined(separator: "; "))
        }
    }
}

/// The payloads read while decoding one chunk of records, by type and `data`
/// bytes. A district's records repeat a few payloads over and over (a health
/// check's `{}`, a rehabilitation session's kind, a call's resolution: four in
/// five records of a chunk of the synthetic district repeat one read before
/// in it), and reading the same bytes again gives the same payload, unless a
/// rule asked for the event's date: such readings are never kept.
struct PayloadMemo {
    /// A kept payload's key: the record's type and where its `data` bytes are
    /// in `keptBytes` (plain values: comparing one copies nothing to retain).
    private struct Key {
        let type: EventType
        let start: Int
        let count: Int
        let hash: Int
    }

    private var keys: [Key] = []
    /// The payload kept for each key, at the same place.
    private var payloads: [Payload] = []
    /// The `data` bytes of the kept payloads, one after another: a record is
    /// looked up without copying its bytes anywhere.
    private var keptBytes: [UInt8] = []
    private var places = HashPlaces()
    /// The most payloads kept; 0 keeps none.
    private let limit: Int
    /// Records whose payload was one kept.
    private(set) var reused = 0

    /// A memo that keeps at most `limit` payloads.
    init(limit: Int) {
        self.limit = limit
    }

    /// A memo that keeps nothing: every record is read.
    static var none: PayloadMemo { PayloadMemo(limit: 0) }

    /// The payload of a record of `type` whose `data` holds these bytes: the
    /// one kept for them, else what `read` gives (kept when it is a payload
    /// and asked nothing of the event's date).
    mutating func payload(
        type: EventType, data: UnsafeRawBufferPointer,
        read: () throws -> (result: Result<Payload, FieldErrors>, askedForEventDate: Bool)
    ) throws -> Result<Payload, FieldErrors> {
        guard limit > 0 else { return try read().result }
        // The bytes alone are hashed (a type's hash would be its name's): the
        // few types whose data are alike are told apart by the comparison.
        let hash = KeyedHash.hash(data)
        let found = keys.withUnsafeBufferPointer { keys in
            keptBytes.withUnsafeBytes { kept in
                places.place(hash: hash) { place in
                    let key = keys[place]
                    return key.type == type && key.count == data.count
                        && memcmp(kept.baseAddress! + key.start, data.baseAddress!, data.count) == 0
                }
            }
        }
        if let found {
            reused += 1
            return .success(payloads[found])
        }
        let (result, dated) = try read()
        if !dated, case .success(let payload) = result, keys.count < limit {
            places.add(hash: hash, place: keys.count) { keys[$0].hash }
            keys.append(Key(type: type, start: keptBytes.count, count: data.count, hash: hash))
            payloads.append(payload)
            keptBytes.append(contentsOf: data)
        }
        return result
    }
}

/// One chunk of records being decoded on a thread of its own.
private final class ChunkDecoding: @unchecked Sendable {
    /// Calls its argument with each record of the chunk, in seq order.
    private typealias Records = (_ each: (_ seq: Int64, _ canonical: UnsafeRawBufferPointer) throws -> Void) throws ->
        Void

    private let records: Records
    private var decoded: [RecordedEvent] = []
    private var failure: (any Error)?
    private let done = DispatchGroup()

    /// Decodes, on `workers` (or the system's), the `count` records that `records` gives.
    private init(count: Int, units: UnitDirectory, on workers: DecodingThreads? = nil, records: @escaping Records) {
        self.records = records
        done.enter()
        let decode: @Sendable () -> Void = { [self] in
            decoded.reserveCapacity(count)
            var memo = PayloadMemo(limit: count)
            do {
                try self.records { seq, canonical in
                    decoded.append(try RecordReplay.event(seq: seq, canonical: canonical, units: units, memo: &memo))
                }
            } catch {
                failure = error
            }
            done.leave()
        }
        if let workers { workers.submit(decode) } else { DispatchQueue.global().async(execute: decode) }
    }

    /// Reads the records of `seqs` in a read transaction of its own and decodes them, on `workers`.
    convenience init(log: EventLog, seqs: ClosedRange<Int64>, units: UnitDirectory, on workers: DecodingThreads) {
        self.init(count: seqs.count, units: units, on: workers) { each in
            try log.readingProjections { try $0.forEachRecord(from: seqs.lowerBound, through: seqs.upperBound, each) }
        }
    }

    /// Decodes the records of `chunk`, read by the caller's transaction, on a worker.
    convenience init(_ chunk: [(seq: Int64, canonical: UnsafeRawBufferPointer)], units: UnitDirectory) {
        self.init(count: chunk.count, units: units) { each in
            for record in chunk { try each(record.seq, record.canonical) }
        }
    }

    /// Calls `body` with the chunk's events, once decoded; throws the first record's error.
    func withEvents(_ body: (UnsafeBufferPointer<RecordedEvent>) throws -> Void) throws {
        done.wait()
        if let failure { throw failure }
        try decoded.withUnsafeBufferPointer(body)
    }

    deinit { done.wait() }
}

/// Threads that run a replay's decoding, first asked first run, at a lower
/// priority than the thread that made them (a nice value 5 higher). That
/// thread folds, and is the one a rebuild waits for: in the system's pool the
/// decoding, often well ahead of it, took a share of its core (and more
/// threads than cores ran). A 5M rebuild takes 0.86× the time with these.
/// The threads are the replay's own, so nothing else the process runs later
/// inherits their priority.
final class DecodingThreads: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var finishing = false
    private var running: Int
    /// How much higher the decoding threads' nice value is than the folding thread's.
    static let niceness: Int32 = 5

    /// The nice value the threads take: `niceness` over the creating thread's.
    private let threadNice: Int32

    /// Starts `count` threads, waiting for jobs.
    init(count: Int) {
        running = max(1, count)
        threadNice = min(19, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) + DecodingThreads.niceness)
        for _ in 0..<running {
            let thread = Thread { [self] in work() }
            thread.name = "sunledger.decoding"
            thread.start()
        }
    }

    /// Has `job` run on one of the threads, after those asked for before.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads end once every job asked for has run, and waits for them.
    func finish() {
        condition.lock()
        finishing = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        // On Linux a thread's nice value is its own (setpriority on "the process" 0 is on the calling thread).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, threadNice)
        condition.lock()
        while true {
            while jobs.isEmpty && !finishing { condition.wait() }
            guard !jobs.isEmpty else { break }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}

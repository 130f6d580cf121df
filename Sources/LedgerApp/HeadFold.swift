import EventStore
import Foundation
import LedgerProjections

/// The KPI fold of everything the ledger holds, kept in memory for a process
/// that answers many figure queries while events keep coming (the server).
///
/// Decoding the stored fold of a large ledger takes a tenth of a second or
/// more; a query for the figures "now" instead brings the kept fold up to the
/// head, replaying only the records appended since the last query, and reads
/// it. The log is append-only, so a fold of the first N records stays the fold
/// of those records; it is loaded again only when the live generation changes
/// (a rebuild) or the ledger holds fewer records than it has seen (a ledger
/// replaced under the process), and when the stored fold, which appends keep
/// within `LiveFigures.stateLag` records of the head, is more than
/// `replayLimit` records ahead of the kept one: after a large import
/// between two queries, decoding it costs less than replaying the import
/// (500,000 events take half a second to replay). Queries take turns: one
/// brings the fold up to date and reads it while the others wait.
public final class HeadFold: @unchecked Sendable {
    private let ledger: Ledger
    private let lock = NSLock()
    private var kept: (generation: String, fold: KPIProjection)?
    private let replayLimit: Int64
    /// How many times the fold was loaded from the store rather than brought up to date.
    private(set) var loads = 0

    /// Records replayed rather than the stored fold decoded, at most: about
    /// a tenth of a second of either on the reference machine.
    public static let defaultReplayLimit: Int64 = 100_000

    /// A cache of `ledger`'s fold, empty until the first query; it replays at
    /// most `replayLimit` records to bring the fold up to date when a stored
    /// fold nearer the head can be loaded instead.
    public init(ledger: Ledger, replayLimit: Int64 = HeadFold.defaultReplayLimit) {
        self.ledger = ledger
        self.replayLimit = replayLimit
    }

    /// Calls `body` with the fold of every record the ledger holds now.
    public func withFold<T>(_ body: (KPIProjection) throws -> T) throws -> T {
        try lock.withLock {
            try ledger.log.readingProjections { access in
                let generation = try LiveFigures.liveGeneration(access)
                let head = try access.lastSeq
                var fold: KPIProjection
                if let kept, kept.generation == generation, kept.fold.throughSeq <= head,
                    (try LiveFigures.checkpoint(access, generation: generation) ?? 0) - kept.fold.throughSeq
                        <= replayLimit
                {
                    fold = kept.fold
                    self.kept = nil  // the only reference left is `fold`, changed in place
                    try ledger.figures.replay(into: &fold, through: head, access)
                } else {
                    self.kept = nil
                    fold = try ledger.figures.fold(through: head, access)
                    loads += 1
                }
                kept = (generation, fold)
                return try body(fold)
            }
        }
    }
}

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
/// replaced under the process). Queries take turns: one brings the fold up to
/// date and reads it while the others wait.
public final class HeadFold: @unchecked Sendable {
    private let ledger: Ledger
    private let lock = NSLock()
    private var kept: (generation: String, fold: KPIProjection)?

    /// A cache of `ledger`'s fold, empty until the first query.
    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Calls `body` with the fold of every record the ledger holds now.
    public func withFold<T>(_ body: (KPIProjection) throws -> T) throws -> T {
        try lock.withLock {
            try ledger.log.readingProjections { access in
                let generation = try LiveFigures.liveGeneration(access)
                let head = try access.lastSeq
                var fold: KPIProjection
                if let kept, kept.generation == generation, kept.fold.throughSeq <= head {
                    fold = kept.fold
                    self.kept = nil  // the only reference left is `fold`, changed in place
                    try ledger.figures.replay(into: &fold, through: head, access)
                } else {
                    self.kept = nil
                    fold = try ledger.figures.fold(through: head, access)
                }
                kept = (generation, fold)
                return try body(fold)
            }
        }
    }
}

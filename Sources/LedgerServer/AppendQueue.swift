import Dispatch
import Foundation
import LedgerApp

/// One event of a request as stored (or found already stored).
struct StoredEvent: Sendable {
    /// Its place in the request's batch, from 1.
    let line: Int
    /// Its id.
    let id: String
    /// Its seq.
    let seq: Int64
    /// Its record's hash.
    let hash: [UInt8]
    /// Whether it was already stored and skipped.
    let duplicate: Bool
}

/// What became of one request's batch.
struct AppendResult: Sendable {
    /// Events newly stored.
    var stored = 0
    /// Events already stored, skipped.
    var duplicates = 0
    /// Every event's fate, in the batch's order.
    var events: [StoredEvent] = []
}

/// The ledger's one writer in this process: appends the batches of concurrent
/// requests in as few transactions as it can, each batch still all or nothing.
///
/// Batches that arrive while a transaction commits wait and are then offered
/// together, as one import of their lines in arrival order, with one durable
/// commit (one fsync) for all of them. If that import is refused, the batches
/// named in its errors are set aside, and the others are offered together
/// again; the ones set aside are then each imported on their own, after the
/// others are stored, so that each is judged by itself and its answer names
/// exactly its own broken rules. A batch is thus stored whole or not at all,
/// whatever the others in its group hold.
final class AppendQueue: @unchecked Sendable {
    private struct Waiting {
        let lines: [UInt8]
        let count: Int
        let continuation: CheckedContinuation<AppendResult, any Error>
    }

    private let ledger: Ledger
    private let queue = DispatchQueue(label: "sunledger.writer", qos: .userInitiated)
    private let lock = NSLock()
    private var waiting: [Waiting] = []
    private var draining = false

    init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Runs `body` on the writer's queue, between group commits: for the other
    /// writes of the server (the access log, erasures).
    func exclusively<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Appends a batch of `count` interchange lines, all or nothing; throws
    /// `ImportRejected` (its lines numbered within the batch) when it is refused.
    func append(_ lines: [UInt8], count: Int) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            lock.withLock {
                waiting.append(Waiting(lines: lines, count: count, continuation: continuation))
                if !draining {
                    draining = true
                    queue.async { self.drain() }
                }
            }
        }
    }

    private func drain() {
        while true {
            let group = lock.withLock { () -> [Waiting] in
                let group = waiting
                waiting = []
                if group.isEmpty { draining = false }
                return group
            }
            if group.isEmpty { return }
            commit(group)
        }
    }

    private func commit(_ group: [Waiting]) {
        var remaining = group
        var setAside: [Waiting] = []
        while remaining.count > 1 {
            var lines: [UInt8] = []
            var firstLines: [Int] = []
            var next = 1
            for batch in remaining {
                firstLines.append(next)
                next += batch.count
                lines += batch.lines
            }
            // The batch a line of the combined import belongs to.
            func batchIndex(ofLine line: Int) -> Int {
                var low = 0
                var high = firstLines.count - 1
                while low < high {
                    let middle = (low + high + 1) / 2
                    if firstLines[middle] <= line { low = middle } else { high = middle - 1 }
                }
                return low
            }
            do {
                let report = try AppendQueue.importer(ledger).importLines(lines, name: "request")
                var results = [AppendResult](repeating: AppendResult(), count: remaining.count)
                for outcome in report.outcomes {
                    let index = batchIndex(ofLine: outcome.line)
                    if outcome.duplicate { results[index].duplicates += 1 } else { results[index].stored += 1 }
                    results[index].events.append(
                        StoredEvent(
                            line: outcome.line - firstLines[index] + 1, id: outcome.id, seq: outcome.seq,
                            hash: outcome.hash,
                            duplicate: outcome.duplicate))
                }
                for (batch, result) in zip(remaining, results) { batch.continuation.resume(returning: result) }
                remaining = []
            } catch let rejected as ImportRejected {
                let refused = Set(rejected.errors.map { batchIndex(ofLine: $0.line) })
                setAside += refused.sorted().map { remaining[$0] }
                remaining = remaining.enumerated().filter { !refused.contains($0.offset) }.map(\.element)
            } catch {
                for batch in remaining { batch.continuation.resume(throwing: error) }
                remaining = []
            }
        }
        for batch in remaining + setAside {
            batch.continuation.resume(with: Result { try alone(batch) })
        }
    }

    /// Lines parsed together in a request's import. A group of batches is a
    /// few hundred to a few thousand lines: in chunks of this many, the writer
    /// judges and stores the first while the parsing thread reads the next,
    /// where a chunk of a file's size (2,048) would have it wait for the whole
    /// group. Batches of 100 from 16 connections were stored 1.2 times as fast.
    static let chunkLines = 64

    /// An importer for the lines of requests, which keeps every line's outcome.
    private static func importer(_ ledger: Ledger) -> Importer {
        var importer = Importer(ledger: ledger)
        importer.keepsOutcomes = true
        importer.chunkSize = chunkLines
        return importer
    }

    /// Imports one batch in a transaction of its own.
    private func alone(_ batch: Waiting) throws -> AppendResult {
        let report = try AppendQueue.importer(ledger).importLines(batch.lines, name: "request")
        return AppendResult(
            stored: report.stored, duplicates: report.duplicates,
            events: report.outcomes.map {
                StoredEvent(line: $0.line, id: $0.id, seq: $0.seq, hash: $0.hash, duplicate: $0.duplicate)
            })
    }
}

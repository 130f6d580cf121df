import Foundation
import LedgerApp

/// The server's own measurements, for `GET /metrics` in Prometheus's text
/// format: events appended, duplicates and rejections, and how long appends
/// take. The records stored and the lag of the live figures are read from the
/// ledger when asked.
final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds of the append latency buckets, in seconds.
    static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private let lock = NSLock()
    private var bucketCounts = [Int](repeating: 0, count: ServerMetrics.bounds.count)
    private var appendCount = 0
    private var appendSeconds = 0.0
    private var eventsStored = 0
    private var eventsDuplicate = 0
    private var batchesRejected = 0

    /// Counts one append request that took `seconds` and stored or skipped events.
    func appended(seconds: Double, stored: Int, duplicates: Int) {
        lock.withLock {
            observe(seconds)
            eventsStored += stored
            eventsDuplicate += duplicates
        }
    }

    /// Counts one append request that was refused after `seconds`.
    func rejected(seconds: Double) {
        lock.withLock {
            observe(seconds)
            batchesRejected += 1
        }
    }

    private func observe(_ seconds: Double) {
        appendCount += 1
        appendSeconds += seconds
        if let bucket = ServerMetrics.bounds.firstIndex(where: { seconds <= $0 }) { bucketCounts[bucket] += 1 }
    }

    /// The exposition text, with the ledger's records stored and the figures' lag.
    func text(recordsStored: Int64, projectionLag: Int64) -> String {
        lock.withLock {
            var lines: [String] = [
                "# HELP sunledger_records_stored Records in the ledger (the seq of the last one).",
                "# TYPE sunledger_records_stored gauge",
                "sunledger_records_stored \(recordsStored)",
                "# HELP sunledger_projection_lag_records Records stored past the stored KPI fold, which a reading replays.",
                "# TYPE sunledger_projection_lag_records gauge",
                "sunledger_projection_lag_records \(projectionLag)",
                "# HELP sunledger_events_appended_total Events stored through this server.",
                "# TYPE sunledger_events_appended_total counter",
                "sunledger_events_appended_total \(eventsStored)",
                "# HELP sunledger_events_duplicate_total Events sent again and skipped as duplicates.",
                "# TYPE sunledger_events_duplicate_total counter",
                "sunledger_events_duplicate_total \(eventsDuplicate)",
                "# HELP sunledger_append_rejected_total Append requests refused (nothing of them stored).",
                "# TYPE sunledger_append_rejected_total counter",
                "sunledger_append_rejected_total \(batchesRejected)",
                "# HELP sunledger_append_seconds Time from receiving an append request's body to its durable commit.",
                "# TYPE sunledger_append_seconds histogram",
            ]
            var cumulative = 0
            for (bound, count) in zip(ServerMetrics.bounds, bucketCounts) {
                cumulative += count
                lines.append("sunledger_append_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
            }
            lines.append("sunledger_append_seconds_bucket{le=\"+Inf\"} \(appendCount)")
            lines.append("sunledger_append_seconds_sum \(appendSeconds)")
            lines.append("sunledger_append_seconds_count \(appendCount)")
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

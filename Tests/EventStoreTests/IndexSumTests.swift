import LMDBKit
import Testing

@testable import EventStore

/// The index sums that verify makes beside its walk, in a read transaction of their own.
@Suite("Index sums made beside the walk")
struct IndexSumTests {
    /// The sum of an index's entries, made here entry by entry.
    private func sum(_ db: LMDBDatabase, _ txn: LMDBTransaction) throws -> EntrySum {
        var sum = EntrySum()
        try txn.scan(db) { key, value in
            sum.add(EntrySum.term(key, seq: Int64(readBigEndian(value))))
            return .next
        }
        return sum
    }

    @Test("on the walk's snapshot they are the sums of both indexes; on another, there are none")
    func snapshot() throws {
        try withLedgerDirectory { path in
            let log = try EventLog(path: path, create: true)
            var events = [registration("a1"), registration("b1", stream: "person-P2")]
            for i in 2...6 {
                events.append(personEvent("a\(i)", on: "2024-01-1\(i)", recorded: "2024-02-01T00:00:0\(i)Z"))
            }
            try log.append(events, clock: laterClock)
            try log.env.read { txn in
                let made = IndexSums(
                    env: log.env, ids: log.dbs.ids, streams: log.dbs.streamIndex, snapshot: txn.snapshot
                ).result()
                let ids = try sum(log.dbs.ids, txn)
                let streams = try sum(log.dbs.streamIndex, txn)
                #expect(made?.ids == ids)
                #expect(made?.streams == streams)
                #expect(made?.ids.count == 7)
                #expect(made?.streams.count == 7)
                let stale = IndexSums(
                    env: log.env, ids: log.dbs.ids, streams: log.dbs.streamIndex, snapshot: txn.snapshot - 1
                ).result()
                #expect(stale == nil)
            }
        }
    }
}

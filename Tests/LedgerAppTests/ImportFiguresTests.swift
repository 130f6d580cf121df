import EventStore
import Foundation
import LedgerDomain
import LedgerValues
import Testing

@testable import LedgerApp

@Suite("the import's folding thread")
struct ImportFiguresTests {
    /// Thrown to abandon the write transaction the test works in.
    struct Abandon: Error {}

    @Test(
        "an import that stops while a batch is still being folded (a rejected line, a full map) lets go of its fold without waiting on the folding queue from that queue"
    )
    func abandonedWhileFolding() throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let line = Array(
                try String(contentsOfFile: workedExample, encoding: .utf8).split(separator: "\n")[0].utf8)
            let valid = try line.withUnsafeBufferPointer { bytes in try ledger.interchangeEvent(fromLine: bytes).get() }
            var event = Ledger.newEvent(valid)
            var salts = SaltSource()
            event.prepareRecord(salts: &salts)
            let parsed = ParsedEvent(event, payload: valid.payload)
            #expect(throws: Abandon.self) {
                try ledger.log.appending(clock: .now()) { session in
                    let access = session.projections
                    // Each round hands a full batch to the folding queue and at once lets the
                    // import's figures go, as an import that throws does: the batch's block is
                    // then the last to hold them. Waiting on their queue from their own
                    // deinitialiser, run on that queue, stopped the process (a libdispatch trap).
                    for _ in 0..<40 {
                        var figures: ImportFigures? = try ImportFigures(access, figures: ledger.figures)
                        for seq in 1...Int64(ImportFigures.batchSize) {
                            try figures?.admitted(seq: seq, recordedAt: .now(), event: parsed, access)
                        }
                        figures = nil
                    }
                    throw Abandon()
                }
            }
        }
    }
}

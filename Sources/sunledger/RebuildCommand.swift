import ArgumentParser
import Foundation
import LedgerApp

extension Sunledger {
    struct Rebuild: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "rebuild",
            abstract: "Rebuild every stored projection from the log and prove it equals the live one.",
            discussion: """
                The KPI figures are rebuilt from the records into a copy beside the live ones, \
                which keep answering meanwhile; then the two are compared, the content hash of \
                the result and any difference are printed, and the copy becomes live in one \
                transaction. A rebuild that is stopped goes on from its last checkpoint when run \
                again. Exit 1 when the live figures differed from the log's (they are replaced).
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger

        func run() throws {
            let ledger = try open()
            keepFreedMemory()
            let rebuild = FigureRebuild(ledger: ledger)
            let meter = ProgressMeter(noun: "records")
            let outcome = try rebuild.run { folded, total in meter.show(folded, of: total) }
            meter.finish()
            if let resumed = outcome.resumedAfter {
                print("resumed the rebuild stopped at seq \(resumed.formatted())")
            }
            print(
                "rebuilt the KPI figures through seq \(outcome.throughSeq.formatted()) (\(outcome.recordsFolded.formatted()) records folded in \(meter.elapsed), \(outcome.snapshots) snapshots), now live in \(outcome.generation)"
            )
            print("content hash: \(outcome.contentHash)")
            guard outcome.differences.isEmpty else {
                throw CommandFailure(
                    message: "the live figures differed from the log's and were replaced:\n"
                        + outcome.differences.map { "  " + $0 }.joined(separator: "\n"))
            }
            print("the live figures equal the log's")
        }
    }
}

/// Progress of a long run: on a terminal, a bar with the rate and the time
/// left, redrawn in place; otherwise a plain line every tenth of the way.
final class ProgressMeter {
    private let noun: String
    private let started = Date()
    private let terminal = isatty(2) != 0
    private var lastTenth = -1
    private var lastDrawn = Date.distantPast

    init(noun: String) {
        self.noun = noun
    }

    /// Seconds since the meter started, for the closing line.
    var elapsed: String { String(format: "%.1f s", Date().timeIntervalSince(started)) }

    func show(_ done: Int64, of total: Int64) {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let seconds = Date().timeIntervalSince(started)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        if terminal {
            guard Date().timeIntervalSince(lastDrawn) >= 0.1 || done == total else { return }
            lastDrawn = Date()
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let eta = rate > 0 ? String(format: "%.0f s", Double(total - done) / rate) : "–"
            showProgress(
                "\(bar) \(String(format: "%3.0f%%", fraction * 100)) \(done.formatted())/\(total.formatted()) \(noun), \(Int(rate).formatted())/s, ETA \(eta)"
            )
        } else {
            let tenth = Int(fraction * 10)
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            printError("\(done.formatted()) of \(total.formatted()) \(noun) (\(tenth * 10)%)")
        }
    }

    func finish() {
        if terminal { showProgress(nil) }
    }
}

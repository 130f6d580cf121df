import ArgumentParser
import EventStore
import Foundation
import LedgerApp

extension Sunledger {
    struct Prove: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "prove",
            abstract:
                "Print a Merkle proof (events.md §7) as JSON: that a record is in the ledger, or that it extends an earlier size.",
            discussion: """
                sunledger prove SEQ [--tree-size N] prints the inclusion proof of record SEQ in the tree \
                of the first N records (default: all): {"seq","treeSize","leaf","path","merkleRoot"}. \
                sunledger prove --consistency M [--tree-size N] prints the proof that the tree of N \
                records extends the tree of M: {"fromSize","treeSize","proof","fromRoot","merkleRoot"}. \
                Hashes are lowercase hex, as in RFC 6962; tools/verify-export --proof checks them \
                without this program.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Argument(help: "The seq of the record to prove included.") var seq: Int64?
        @Option(
            name: .customLong("consistency"), parsing: .unconditional,
            help: "Prove the tree extends the tree of this many records.")
        var fromSize: Int64?
        @Option(
            name: .customLong("tree-size"), parsing: .unconditional,
            help: "The tree of the first N records (default: every record).")
        var treeSize: Int64?

        func validate() throws {
            guard (seq == nil) != (fromSize == nil) else {
                throw ValidationError("give either a SEQ to prove included or --consistency M, not both or neither")
            }
        }

        @Flag(help: "Print to standard error how long opening the ledger and making the proof took.")
        var timings = false

        func run() throws {
            let started = ContinuousClock.now
            let ledger = try open()
            let opened = ContinuousClock.now
            let document =
                if let seq {
                    try ledger.inclusionProof(seq: seq, treeSize: treeSize)
                } else {
                    try ledger.consistencyProof(fromSize: fromSize!, treeSize: treeSize)
                }
            let proved = ContinuousClock.now
            print(document)
            if timings {
                let ms = { (duration: Duration) in
                    Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
                }
                printError(
                    "ledger opened in \(ms(opened - started).formatted(.number.precision(.fractionLength(3)))) ms, proof made in \(ms(proved - opened).formatted(.number.precision(.fractionLength(3)))) ms"
                )
            }
        }
    }
}

import ArgumentParser
import EventStore
import Foundation
import LedgerApp
import LedgerDomain
import LedgerValues

extension Sunledger {
    struct Erase: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase",
            abstract: "Erase a person's personal data: appends their PersonPiiErased.",
            discussion: """
                The event goes through the same rules as an imported one. On append the \
                person's vault entries are removed and their key is overwritten on disk, so \
                that no copy of their personal data can be opened again; every hash still \
                verifies and every figure stays as it was. The erasure itself is on the record: \
                who (--actor), when, and why (--reason). A later PersonPiiCorrected may add \
                new personal data.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Argument(help: "The person: their personId (P000123) or stream (person-P000123).") var person: String
        @Option(help: "Why the data is erased (1–128 characters), kept in the record.") var reason: String
        @Option(help: "Who erases it (the recording member of staff); default: the login name.")
        var actor: String?
        @Option(name: .customLong("org-unit"), help: "The (sub-)centre recording the erasure; default: the district.")
        var orgUnit: String?
        @Option(help: "The date it took effect (YYYY-MM-DD); default: today in Shanghai.") var on: String?

        func run() throws {
            let ledger = try open()
            let erasure = Erasure(
                person: person, reason: reason, actor: try readerName(actor), orgUnit: orgUnit, on: on)
            do {
                let report = try erasure.append(to: ledger, waiting: waitingNotice)
                print(erasure.summary(of: report))
            } catch let rejected as ImportRejected {
                throw CommandFailure(
                    message: rejected.errors.map { "\($0.field): \($0.rule)" }.joined(separator: "\n"))
            }
        }
    }
}

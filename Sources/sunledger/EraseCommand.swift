import ArgumentParser
import EventStore
import Foundation
import LedgerApp
import LedgerDomain
import LedgerValues

extension Sunledger {
    struct Erase: LedgerCommand {
        static let configuration = CommandConfiguration(
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

        var stream: String { person.hasPrefix("person-") ? person : "person-" + person }

        func run() throws {
            let ledger = try open()
            let who = try readerName(actor)
            let now = Instant.now()
            var event = JSONObject()
            event["id"] = .string(String("erase-\(now.milliseconds)-\(stream.dropFirst("person-".count))".prefix(64)))
            event["stream"] = .string(stream)
            event["type"] = .string(EventType.personPiiErased.rawValue)
            event["occurredAt"] = .string(on ?? now.localDate.description)
            event["actor"] = .string(who)
            event["orgUnit"] = .string(orgUnit ?? ledger.units.district)
            var data = JSONObject()
            data["reason"] = .string(reason)
            event["data"] = .object(data)
            let line = CanonicalJSON.encode(.object(event)) + [0x0A]
            do {
                let report = try Importer(ledger: ledger).importLines(line, name: "erase", waiting: waitingNotice)
                print("\(stream): personal data erased (seq \(report.lastSeq ?? 0))")
            } catch let rejected as ImportRejected {
                throw CommandFailure(
                    message: rejected.errors.map { "\($0.field): \($0.rule)" }.joined(separator: "\n"))
            }
        }
    }
}

import ArgumentParser
import Foundation
import LedgerApp
import LedgerValues

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Sunledger {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a realistic synthetic district as interchange-form lines to standard output.",
            discussion: """
                The register of disabled persons of a district like Jiading, year by year: \
                registrations (most imported from the old register in the first weeks), yearly \
                needs assessments, rehabilitation, devices, home modifications, check-ups, family \
                doctors, care, jobs and training, moves, reassessments, deaths, corrections and \
                erasures of personal data; cases with the units' workers; call-centre contacts; \
                rights cases; projects with evaluations and corporate adoptions; volunteers; legal \
                education. Every line passes every rule, so `sunledger import` takes the whole file. \
                The same arguments give the same bytes on any machine; a summary goes to standard \
                error. Without --to the file ends with last year, so its content depends on the \
                year in which it is generated: give --to for a file that never changes.
                """)

        @Option(
            parsing: .unconditional,
            help: "Person streams in the file (everyone on the register at some time in the years).")
        var persons = SyntheticDistrict.defaultPersons
        @Option(parsing: .unconditional, help: "The seed of the generator: the same seed gives the same file.")
        var seed: UInt64 = 1
        @Option(name: .customLong("from"), parsing: .unconditional, help: "The first year.")
        var fromYear = SyntheticDistrict.defaultFromYear
        @Option(
            name: .customLong("to"), parsing: .unconditional,
            help: "The last year (default: last year, in Shanghai time).")
        var toYear: Int?

        func validate() throws {
            do {
                _ = try SyntheticDistrict(
                    persons: persons, seed: seed, fromYear: fromYear,
                    toYear: toYear ?? SyntheticDistrict.defaultToYear())
            } catch let error as AppError {
                throw ValidationError(error.description)
            }
        }

        func run() throws {
            let lastYear = toYear ?? SyntheticDistrict.defaultToYear()
            if lastYear > SyntheticDistrict.defaultToYear() {
                printError(
                    "sunledger generate: events of \(lastYear) may lie in the future; a ledger refuses those recorded after its clock"
                )
            }
            let district = try SyntheticDistrict(persons: persons, seed: seed, fromYear: fromYear, toYear: lastYear)
            // A reader that stops early (`| head`) ends the output quietly, not with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            let started = Instant.now()
            var closed = false
            let summary = try district.write { block in
                guard !closed, var pointer = block.baseAddress else { return }
                var left = block.count
                while left > 0 {
                    let count = Foundation.write(1, pointer, left)
                    if count < 0 {
                        if errno == EINTR { continue }
                        if errno == EPIPE {
                            closed = true
                            return
                        }
                        throw AppError.io("cannot write to standard output: \(String(cString: strerror(errno)))")
                    }
                    pointer += count
                    left -= count
                }
            }
            let seconds = started.secondsUntilNow
            let rate = seconds > 0 ? " (\(Int(Double(summary.events) / seconds).formatted()) events/s)" : ""
            printError(
                "generated \(summary.events.formatted()) events of \(summary.persons.formatted()) person\(summary.persons == 1 ? "" : "s") (\(summary.registeredAtEnd.formatted()) registered at the end of \(lastYear)), \(fromYear)–\(lastYear), seed \(seed), in \(String(format: "%.2f", seconds)) s\(rate)"
            )
        }
    }
}

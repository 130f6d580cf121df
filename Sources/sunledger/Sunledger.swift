import ArgumentParser
import EventStore
import Foundation
import LMDBKit
import LedgerApp
import LedgerDomain
import LedgerValues

/// The `sunledger` command line (the stable surface of cli.md).
@main
struct Sunledger: ParsableCommand {
    // Every command gives its name: one derived from its type's name would cost
    // each run of the tool a search through the conformances of every library
    // loaded (about 3 ms in all, before any work).
    static let configuration = CommandConfiguration(
        commandName: "sunledger",
        abstract: "The services ledger of a disabled persons' federation: append-only, hash-chained, auditable.",
        subcommands: [
            Import.self, Export.self, Verify.self, Digest.self, History.self, Restore.self, Demo.self, Kpi.self,
            Caseload.self, Rebuild.self, Restatement.self, Report.self, Prove.self, Bundle.self, Erase.self,
            AccessLogCommand.self, Serve.self, Token.self, Generate.self,
        ])

    /// `--ledger PATH` given before the subcommand (`sunledger --ledger DIR import …`).
    @OptionGroup var global: LedgerOption

    /// Runs the command and maps failures to cli.md's exit codes: 1 when the data
    /// was rejected or a check failed, 2 for wrong usage, 3 for anything else.
    static func main() {
        // The command parsed, so that wrong usage found while it runs shows its usage, not the root's.
        var parsed: (any ParsableCommand.Type)?
        do {
            var command = try parseAsRoot()
            parsed = type(of: command)
            if let problem = OptionsGivenOnce.problem(
                in: CommandLine.arguments.dropFirst(), except: (command as? any RepeatableOptions)?.repeatable ?? [])
            {
                throw ValidationError(problem)
            }
            try command.run()
        } catch let failure as CommandFailure {
            printError(failure.message)
            Foundation.exit(1)
        } catch let failure as ExitCodeMessage {
            printError(failure.message)
            Foundation.exit(failure.code)
        } catch {
            if let status = ExitStatus.of(error) {
                printError("sunledger: \(error)")
                Foundation.exit(status)
            }
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if let parsed, let wrong = error as? ValidationError {
                printError(wrongUsage(wrong.message, in: parsed))
                Foundation.exit(2)
            }
            if code == .validationFailure || error is ValidationError {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            printError("sunledger: \(error)")
            Foundation.exit(3)
        }
    }

    /// Wrong usage of `command` found after the command line was parsed, worded
    /// as the parser words its own: the message, the command's usage, where its help is.
    static func wrongUsage(_ message: String, in command: any ParsableCommand.Type) -> String {
        let path = (commandPath(to: command) ?? []).joined(separator: " ")
        return """
            Error: \(message)
            Usage: \(usageString(for: command))
              See 'sunledger \(path.isEmpty ? "" : path + " ")--help' for more information.
            """
    }

    /// The subcommand names that lead from `parent` to `command` (`["token", "add"]`).
    static func commandPath(
        to command: any ParsableCommand.Type, from parent: any ParsableCommand.Type = Sunledger.self
    ) -> [String]? {
        if command == parent { return [] }
        for child in parent.configuration.subcommands {
            if let rest = commandPath(to: command, from: child) {
                return [child.configuration.commandName ?? ""] + rest
            }
        }
        return nil
    }
}

/// The options of a command that may be given more than once (restatement's `--known-at`).
protocol RepeatableOptions {
    /// Their long names, with the dashes (`--known-at`).
    var repeatable: Set<String> { get }
}

/// A rejection or failed check, already worded for the user: exit status 1.
struct CommandFailure: Error {
    let message: String
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Who reads personal data, for the access log: `--actor`, else the login name.
func readerName(_ actor: String?) throws -> String {
    guard let who = actor ?? AccessLog.loginName(), !who.isEmpty else {
        throw ValidationError("--actor is needed: there is no login name to use")
    }
    return who
}

/// `--ledger PATH`, accepted before the subcommand or after it.
struct LedgerOption: ParsableArguments {
    @Option(name: .long, help: "The ledger directory (default: $SUNLEDGER_LEDGER, else ./ledger).")
    var ledger: String?
}

/// What every command that works on a ledger has: `--ledger` in either place.
protocol LedgerCommand: ParsableCommand {
    var options: LedgerOption { get }
    var root: Sunledger { get }
}

extension LedgerCommand {
    /// The ledger directory: `--ledger` after the subcommand, else before it,
    /// else `$SUNLEDGER_LEDGER`, else `./ledger`.
    var path: String { Ledger.resolvePath(options.ledger ?? root.global.ledger) }

    /// Opens the ledger; `create` for commands that write.
    func open(create: Bool = false) throws -> Ledger {
        try Ledger(path: path, create: create)
    }
}

/// Shows a line of progress on a terminal, overwriting the last one; nil clears
/// it. Nothing is shown when standard error is not a terminal (scripts, CI).
func showProgress(_ text: String?) {
    guard isatty(2) != 0 else { return }
    FileHandle.standardError.write(Data(("\r\u{1B}[2K" + (text ?? "")).utf8))
}

func waitingNotice(_ holder: String) {
    printError("sunledger: another process is writing to the ledger (\(holder)); waiting for it to finish…")
}

extension Sunledger {
    struct Import: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Append interchange-form events (JSON Lines); each file all or nothing.",
            discussion: """
                Each file is one transaction: a file with a rejected line stores nothing, and \
                every rejected line is printed as FILE:LINE: field: rule (exit 1). Lines already \
                in the ledger are skipped and counted as duplicates, so importing a file again, \
                or after it was cut off, completes it. With --check, the files are judged the \
                same way, each against the ledger and the files before it, and nothing is stored.
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Argument(help: "Interchange files (a named pipe too, as <(zcat f.jsonl.gz) gives); - reads standard input.")
        var files: [String]
        @Flag(help: "Print where the time went: processor time of parsing and of storing, per line.")
        var timings = false
        @Flag(
            help: """
                Judge the files as an import would, and store nothing: what each would store, \
                or every rejected line (exit 1).
                """)
        var check = false

        func validate() throws {
            if files.filter({ $0 == "-" }).count > 1 {
                throw ValidationError("- (standard input) is given more than once: it can be read once")
            }
        }

        func run() throws {
            for file in files { try Importer.checkInput(file) }
            returnFreedMemorySoon()
            if check { return try checkOnly() }
            let ledger = try open(create: true)
            let importer = Importer(ledger: ledger)
            for (index, file) in files.enumerated() {
                do {
                    let report = try importer.importFile(file, waiting: waitingNotice) { lines in
                        showProgress("\(file): \(lines.formatted()) lines read…")
                    }
                    show(report)
                } catch let rejected as ImportRejected {
                    throw failure(rejected, laterFiles: files.count - index - 1, "imported")
                }
            }
        }

        /// `--check`: the files judged in one transaction that is abandoned. A
        /// ledger not made yet is not made for it: the files are judged as the
        /// first of a new ledger, made empty in a temporary directory and removed.
        private func checkOnly() throws {
            var scratch: String?
            defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
            let ledger: Ledger
            do {
                ledger = try open()
            } catch LedgerError.noLedger {
                let directory = NSTemporaryDirectory() + "sunledger-check-" + UUID().uuidString
                guard mkdir(directory, 0o700) == 0 else {
                    throw AppError.io("cannot make \(directory): \(String(cString: strerror(errno)))")
                }
                scratch = directory
                printError(
                    "sunledger: there is no ledger at \(path) yet: the files are judged as the first of a new one")
                ledger = try Ledger(path: directory, create: true)
            }
            var checked = 0
            do {
                try Importer(ledger: ledger).check(
                    files, waiting: waitingNotice,
                    progress: { file, lines in showProgress("\(file): \(lines.formatted()) lines read…") },
                    passed: { report in
                        show(report, checking: true)
                        checked += 1
                    })
            } catch let rejected as ImportRejected {
                throw failure(rejected, laterFiles: files.count - checked - 1, "checked")
            }
            print("nothing was stored (--check)")
        }

        /// Prints what became of one file: `FILE: N stored (seq A–B), D duplicates`,
        /// and how many records' personal data its erasures removed, if any;
        /// `checking`: what it would store and erase (`--check`).
        private func show(_ report: ImportReport, checking: Bool = false) {
            let stored = checking ? "would be stored" : "stored"
            showProgress(nil)
            if timings { printError(report.timings.summary + "\nmemory:  " + memoryAllocator) }
            let range = report.firstSeq.map { " (seq \($0)–\(report.lastSeq!))" } ?? ""
            let duplicates = "\(report.duplicates) duplicate\(report.duplicates == 1 ? "" : "s")"
            let erased =
                report.personalDataErased == 0
                ? ""
                : ", the personal data of \(report.personalDataErased) record\(report.personalDataErased == 1 ? "" : "s") "
                    + (checking ? "would be erased" : "erased")
            print("\(report.file): \(report.stored) \(stored)\(range), \(duplicates)\(erased)")
        }

        /// A rejected file's lines, and how many files after it were not `done`.
        private func failure(_ rejected: ImportRejected, laterFiles: Int, _ done: String) -> CommandFailure {
            showProgress(nil)
            var message = rejected.description
            if laterFiles > 0 { message += "\n\(laterFiles) later file\(laterFiles == 1 ? "" : "s") not \(done)" }
            return CommandFailure(message: message)
        }
    }

    struct Export: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the chained records, with their hashes, as JSON Lines in seq order.")

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(name: .customLong("from-seq"), parsing: .unconditional, help: "The first seq to export.") var fromSeq:
            Int64 = 1
        @Option(name: .customLong("to-seq"), parsing: .unconditional, help: "The last seq to export.") var toSeq: Int64?
        @Flag(help: "Add pii and piiSalt where the vault still holds them; needs --purpose.") var pii = false
        @Option(help: "Why personal data is read (with --pii; written to the access log).") var purpose: String?
        @Option(help: "Who reads it, for the access log; default: the login name.") var actor: String?
        @Flag(help: "Add piiMasked: personal data masked (events.md §3).") var masked = false
        @Option(
            help:
                "Write to this file (atomically; a named pipe or a device is written into as it is) instead of standard output."
        )
        var out: String?

        func validate() throws {
            if pii && masked { throw ValidationError("--pii and --masked exclude each other") }
            if fromSeq < 1 { throw ValidationError("--from-seq must be at least 1 (got \(fromSeq))") }
            if let toSeq, toSeq < fromSeq {
                throw ValidationError("--to-seq must not be below --from-seq (got \(fromSeq)–\(toSeq))")
            }
            if !pii && purpose != nil { throw ValidationError("--purpose goes with --pii") }
        }

        func run() throws {
            let ledger = try open()
            var through = toSeq
            if pii {
                let purpose = try AccessLog.checkPurpose(purpose, for: "export --pii")
                // Pinned to the head now, so that the trace names every record this export reads.
                let last = min(toSeq ?? .max, try ledger.log.head().seq)
                try AccessLog.record(
                    in: ledger, who: try readerName(actor),
                    what: "export --pii seq \(fromSeq)–" + (toSeq.map(String.init) ?? "end"), purpose: purpose,
                    scope: .seqs(from: fromSeq, through: last))
                through = last
            }
            let exposure: PIIExposure = pii ? .full : masked ? .masked : .none
            let count = try Exporter(ledger: ledger).export(from: fromSeq, through: through, pii: exposure, to: out)
            if let out { printError("exported \(count) records to \(out)") }
        }
    }

    struct Verify: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Re-hash every record and check the chain, versions, indexes and pii commitments.",
            discussion:
                "With --digest, also prove the ledger still extends that digest. Exit 1 names the first bad seq. "
                + "Once the log has passed, every stored KPI fold is checked against its seal and the seq it is "
                + "stored for; a damaged one also exits 1, and `sunledger rebuild` makes it again. How far it has "
                + "come goes to standard error: a bar on a terminal, else a line every tenth of the way.")

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(help: "A digest printed earlier by `sunledger digest`, or a file holding it.") var digest: String?

        /// The digest given on the command line, or the text of the file it
        /// names. A pipe or a named pipe is read to its end, so that
        /// `--digest <(sunledger digest …)` works.
        static func digestText(_ argument: String) throws -> String {
            if argument.trimmingCharacters(in: .whitespaces).hasPrefix("{") { return argument }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw ValidationError(
                    "--digest: \(argument) is neither a digest ({\"seq\":…} as `sunledger digest` prints it) nor a file"
                )
            }
            guard !isDirectory.boolValue else { throw ValidationError("--digest: \(argument) is a directory") }
            guard let handle = FileHandle(forReadingAtPath: argument),
                let data = try? handle.readToEnd() ?? Data(),
                let text = String(bytes: data, encoding: .utf8)
            else { throw ValidationError("--digest: cannot read \(argument) as UTF-8 text") }
            try? handle.close()
            return text
        }

        func run() throws {
            // The digest is read before the reading child starts: a pipe given
            // as --digest is open in this process only.
            let text = try superviseReading { try digest.map(Verify.digestText) }
            let ledger = try open()
            var kept: LedgerDigest?
            if let text {
                do { kept = try LedgerDigest(json: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                    throw ValidationError("--digest: \(error)")
                }
            }
            do {
                // Progress as rebuild shows it: a bar on a terminal, else a line every tenth of the way.
                let meter = ProgressMeter(noun: "records")
                let total = try ledger.log.head().seq
                let report: VerificationReport
                do {
                    defer { meter.finish() }
                    report = try ledger.verify(digest: kept) { seq in meter.show(seq, of: total) }
                }
                var line =
                    "verified \(report.records) records: chain, seq and version continuity, indexes, head of \(report.streams) streams, \(report.piiCommitments) pii commitments"
                if let kept { line += "; the ledger extends the digest at seq \(kept.seq)" }
                if !report.merkleTreeChecked {
                    line +=
                        " (the Merkle tree's nodes were not compared: the ledger predates the tree or keeps it as an earlier version did, and its next append stores it anew)"
                }
                print(line)
                if let locked = report.personalDataLocked {
                    print("personal data not checked against its commitments: \(locked)")
                }
                let folds = try ledger.checkStoredFigures()
                var figures =
                    folds.sealed == 1
                    ? "verified 1 stored KPI fold against its seal"
                    : "verified \(folds.sealed) stored KPI folds against their seals"
                if folds.sealed + folds.bare == 0 {
                    figures = "no KPI fold is stored yet: the figures are replayed from the log"
                } else if folds.bare > 0 {
                    figures +=
                        "; \(folds.bare) stored by an earlier build without a seal (`sunledger rebuild` seals them)"
                }
                print(figures)
            } catch let failure as VerificationFailure {
                throw CommandFailure(message: "verify failed at seq \(failure.seq): \(failure.reason)")
            }
        }
    }

    struct Digest: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "digest",
            abstract:
                "Print the digest of the last record: {\"seq\":N,\"hash\":\"…\",\"recordedAt\":\"…\",\"merkleRoot\":\"…\"}."
        )

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger

        func run() throws {
            print(try open().digest().json)
        }
    }

    struct History: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "A stream's events as recorded, with seq, recordedAt and occurredAt.")

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Argument(help: "The stream, e.g. person-P1.") var stream: String
        @Option(name: .customLong("known-at"), help: "Only what was recorded at or before this RFC 3339 instant.")
        var knownAt: String?
        @Flag(help: "Print the records as JSON Lines (with hash; personal data masked).") var json = false
        @Option(help: "Why personal data is read: shows it masked, and is written to the access log.")
        var purpose: String?
        @Option(help: "Who reads it, for the access log; default: the login name.") var actor: String?

        func validate() throws {
            guard StreamKind.parse(streamName: stream) != nil else {
                throw ValidationError("<stream> " + StreamKind.rule(refusing: stream))
            }
        }

        func run() throws {
            let ledger = try open()
            var limit: Instant?
            if let knownAt {
                guard let instant = Instant(rfc3339: knownAt) else {
                    throw ValidationError(FigureQuery.notAnInstant(knownAt, given: "--known-at"))
                }
                limit = instant
            }
            if let purpose {
                try AccessLog.record(
                    in: ledger, who: try readerName(actor), what: "history \(stream)",
                    purpose: try AccessLog.checkPurpose(purpose, for: "history"), scope: .stream(stream))
            }
            let entries = try ledger.log.history(of: stream, withVault: purpose != nil).filter { entry in
                limit.map { entry.record.recordedAt <= $0 } ?? true
            }
            if json {
                for entry in entries {
                    var object = entry.record.jsonObject
                    object["hash"] = .string(Hex.encode(entry.hash))
                    if let vault = entry.vault { object["piiMasked"] = .object(Masking.mask(vault.pii)) }
                    if entry.vault == nil, entry.record.piiCommitment != nil, purpose == nil {
                        object["piiMasked"] = .string("withheld: give --purpose")
                    }
                    print(String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self))
                }
                return
            }
            guard !entries.isEmpty else {
                throw CommandFailure(message: "\(stream): no events" + (knownAt.map { " recorded by \($0)" } ?? ""))
            }
            print(
                "\(stream): \(entries.count) event\(entries.count == 1 ? "" : "s")"
                    + (knownAt.map { " known at \($0)" } ?? ""))
            let rows = entries.map { entry -> [String] in
                let record = entry.record
                // Free text may hold what a terminal would act on: shown escaped, as JSON would write it.
                var data = Echo.escaped(String(decoding: CanonicalJSON.encode(.object(record.data)), as: UTF8.self))
                if let vault = entry.vault {
                    let masked = Masking.mask(vault.pii).map { "\($0.key)=\(Echo.escaped($0.value.stringValue ?? ""))" }
                    data += "  [" + masked.joined(separator: " ") + "]"
                } else if record.piiCommitment != nil {
                    data +=
                        purpose == nil
                        ? "  [personal data: give --purpose to see it masked]" : "  [personal data erased]"
                }
                return [
                    String(record.seq), String(record.version), record.occurredAt.description,
                    record.recordedAt.description, record.type, record.actor, record.orgUnit, data,
                ]
            }
            printTable(
                header: ["seq", "ver", "occurredAt", "recordedAt", "type", "actor", "orgUnit", "data"], rows: rows)
        }
    }

    struct Restore: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Load an export into an empty ledger, or one it continues, checking every hash.",
            discussion: "A broken or reordered export is refused with the seq where it breaks, and nothing is stored.")

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Argument(help: "An export written by `sunledger export` (- reads standard input).") var file: String

        func run() throws {
            try Importer.checkInput(file)
            let ledger = try open(create: true)
            do {
                let report = try Restorer(ledger: ledger).restore(file, waiting: waitingNotice)
                let range = report.firstSeq.map { " (seq \($0)–\(report.lastSeq!))" } ?? ""
                print("restored \(report.restored) records\(range); \(report.alreadyPresent) already present")
                print(try ledger.digest().json)
                if report.personalDataMissing > 0 {
                    let committing =
                        report.personalDataRestored + report.personalDataErased + report.personalDataMissing
                    printError(
                        "note: \(report.personalDataMissing) of the \(committing) restored records that commit to "
                            + "personal data came without it, and no erasure follows them in the export: this "
                            + "ledger does not hold their personal data. Was the export made without --pii? To "
                            + "keep personal data, restore an export made with `sunledger export --pii`.")
                }
            } catch let refused as RestoreRefused {
                throw CommandFailure(message: refused.description)
            }
        }
    }
}

/// Prints rows as left-aligned columns (widths by characters; the last column is not padded).
func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all {
        for (index, cell) in row.enumerated() where index < header.count - 1 {
            widths[index] = max(widths[index], displayWidth(cell))
        }
    }
    for row in all {
        var line = ""
        for (index, cell) in row.enumerated() {
            line += cell
            if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - displayWidth(cell) + 2) }
        }
        print(line)
    }
}

/// Terminal columns of `text`: CJK characters take two.
func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { sum, scalar in
        let v = scalar.value
        let wide =
            (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v)
        return sum + (wide ? 2 : 1)
    }
}

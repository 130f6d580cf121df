import EventStore
import LedgerDomain
import LedgerValues

/// One rejected line: where, which field, which rule.
public struct LineError: Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let field: String
    public let rule: String

    /// `FILE:LINE: field: rule`, the form the command line prints.
    public var description: String { "\(file):\(line): \(field): \(rule)" }
}

/// A file that was refused: nothing of it was stored.
public struct ImportRejected: Error, CustomStringConvertible {
    public let file: String
    /// The errors of the first rejected lines (at most `Importer.reportedLines` lines).
    public let errors: [LineError]
    /// How many lines were rejected in all.
    public let rejectedLines: Int

    public var description: String {
        var text = errors.map(\.description).joined(separator: "\n")
        let shown = Set(errors.map(\.line)).count
        if rejectedLines > shown { text += "\n… and \(rejectedLines - shown) more rejected lines" }
        return text + "\n\(file): \(rejectedLines) line\(rejectedLines == 1 ? "" : "s") rejected; nothing was stored"
    }
}

/// What an import stored.
public struct ImportReport: Equatable, Sendable {
    public let file: String
    /// Lines newly stored.
    public var stored = 0
    /// Lines already in the ledger (or earlier in the file), skipped.
    public var duplicates = 0
    /// The seqs the stored lines took.
    public var firstSeq: Int64?
    public var lastSeq: Int64?
}

/// Imports interchange files, each all or nothing (events.md §6).
///
/// An import holds the writer lock throughout and reads its file twice. First
/// it judges every line against the ledger plus the lines before it, storing
/// nothing; a file with any rejected line stops there, with every rejected line
/// reported. Only a file that passes is stored, in large write transactions. If
/// the process is killed while storing, the committed transactions stand and
/// the ledger verifies; running the same import again completes it, the stored
/// lines counting as duplicates.
public struct Importer {
    public let ledger: Ledger
    /// Events per write transaction: large, because per-transaction cost and
    /// scattered index keys are what limit an import.
    public var batchSize = 50_000
    /// How many rejected lines an error report lists in full.
    public static let reportedLines = 1000

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Imports the file at `path` (`-`: standard input).
    /// - Parameter waiting: called when another writer holds the ledger and we wait for it.
    public func importFile(_ path: String, waiting: (String) -> Void = { _ in }) throws -> ImportReport {
        let input = try InputFile(path: path)
        return try ledger.log.exclusively(doing: "import \(input.name)", waiting: waiting) {
            try check(input)
            return try store(input)
        }
    }

    /// Pass one: judge every line, store nothing.
    private func check(_ input: InputFile) throws {
        var errors: [LineError] = []
        var rejectedLines = 0
        try ledger.log.check(clock: .now()) { admission in
            try input.forEachLine { number, line in
                let problems: [(field: String, rule: String)]
                switch parse(line) {
                case .failure(let fieldErrors):
                    problems = fieldErrors.all.map { ($0.field, $0.rule) }
                case .success(let event):
                    if case .rejected(let violations) = try admission.admit(event) {
                        problems = violations.map { ($0.field, $0.rule) }
                    } else {
                        problems = []
                    }
                }
                guard !problems.isEmpty else { return }
                rejectedLines += 1
                if rejectedLines <= Importer.reportedLines {
                    errors += problems.map { LineError(file: input.name, line: number, field: $0.field, rule: $0.rule) }
                }
            }
        }
        if rejectedLines > 0 {
            throw ImportRejected(file: input.name, errors: errors, rejectedLines: rejectedLines)
        }
    }

    /// Pass two: store the checked lines, a batch per write transaction.
    private func store(_ input: InputFile) throws -> ImportReport {
        var report = ImportReport(file: input.name)
        var batch: [NewEvent] = []
        var batchLines: [Int] = []
        batch.reserveCapacity(batchSize)

        func flush() throws {
            guard !batch.isEmpty else { return }
            let outcomes: [Admission]
            do {
                outcomes = try ledger.log.append(batch, clock: .now())
            } catch LedgerError.rejected(let index, let violations) {
                // The check passed under the same lock, so only a changed clock can get here.
                let where_ = "\(input.name):\(batchLines[index])"
                throw AppError.io(
                    "\(where_): refused while storing although the check passed: "
                        + violations.map(\.description).joined(separator: "; ")
                        + ". The lines before it are stored; run the same import again to complete it")
            }
            for outcome in outcomes {
                switch outcome {
                case .append(let seq, _, _):
                    report.stored += 1
                    report.firstSeq = report.firstSeq ?? seq
                    report.lastSeq = seq
                case .duplicate: report.duplicates += 1
                case .rejected: break
                }
            }
            batch.removeAll(keepingCapacity: true)
            batchLines.removeAll(keepingCapacity: true)
        }

        try input.forEachLine { number, line in
            guard case .success(let event) = parse(line) else {
                throw AppError.io("\(input.name):\(number): the file changed while it was being imported")
            }
            batch.append(event)
            batchLines.append(number)
            if batch.count >= batchSize { try flush() }
        }
        try flush()
        try ledger.log.sync()
        return report
    }

    /// One line to the event the store judges, or the shape errors.
    private func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<NewEvent, FieldErrors> {
        do {
            return ledger.newEvent(from: try JSONParser.parse(line))
        } catch {
            return .failure(FieldErrors([FieldError(field: "line", rule: error.description)]))
        }
    }
}

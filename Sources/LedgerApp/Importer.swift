import Dispatch
import EventStore
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerValues

/// One rejected line: where, which field, which rule.
public struct LineError: Equatable, Sendable, CustomStringConvertible {
    /// The file's name as given (`<stdin>` for standard input).
    public let file: String
    /// The 1-based line number.
    public let line: Int
    /// The field at fault.
    public let field: String
    /// The rule broken.
    public let rule: String
    /// Whether the rule broken is the stream's `expectedVersion`: the line is
    /// sound, but was written against a version of the stream that has moved
    /// on (the HTTP API answers 409 Conflict when that is all that is wrong).
    public var isVersionConflict = false

    /// `FILE:LINE: field: rule`, the form the command line prints.
    public var description: String { "\(file):\(line): \(field): \(rule)" }
}

/// A file that was refused: nothing of it was stored.
public struct ImportRejected: Error, CustomStringConvertible {
    /// The file refused.
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
    /// The file imported.
    public let file: String
    /// Lines newly stored.
    public var stored = 0
    /// Lines already in the ledger (or earlier in the file), skipped.
    public var duplicates = 0
    /// The seqs the stored lines took.
    public var firstSeq: Int64?
    /// The last seq stored.
    public var lastSeq: Int64?
    /// Records whose personal data the erasures stored (`PersonPiiErased`)
    /// removed from the vault.
    public var personalDataErased = 0
    /// Where the time went.
    public var timings = ImportTimings()
    /// What became of each line, in order, when the importer was asked to
    /// keep it (`Importer.keepsOutcomes`): the HTTP API answers with them.
    public var outcomes: [LineOutcome] = []
}

/// What became of one imported line.
public struct LineOutcome: Equatable, Sendable {
    /// Its 1-based line number.
    public let line: Int
    /// Its id.
    public let id: String
    /// The seq it was stored at, or, for a duplicate, the seq of the event it repeats.
    public let seq: Int64
    /// Its record's hash.
    public let hash: [UInt8]
    /// Whether it was already stored (and skipped).
    public let duplicate: Bool
}

/// Where an import's time went: the processor time of the thread that parses
/// lines and of the one that judges and stores them, against the wall clock.
/// Processor times are what to compare when tuning on a shared machine.
public struct ImportTimings: Equatable, Sendable {
    /// Lines read.
    public var lines = 0
    /// Processor seconds spent reading, parsing and shape-checking lines.
    public var parsingSeconds = 0.0
    /// Processor seconds spent judging, chaining, hashing and putting events.
    public var storingSeconds = 0.0
    /// Wall-clock seconds the storing thread waited for parsed lines.
    public var waitingForLinesSeconds = 0.0
    /// Seconds the storing thread was ready to run but waited for a
    /// processor (the other threads had both cores); nil where the system
    /// does not say (`/proc/thread-self/schedstat`).
    public var waitingForProcessorSeconds: Double?
    /// Wall-clock seconds the storing thread waited for the KPI fold to take
    /// the events it handed over, or to finish folding them; nil for a check,
    /// which folds nothing.
    public var waitingForFoldSeconds: Double?
    /// Wall-clock seconds from the end of the storing (the last line, the
    /// index entries held back, the KPI fold) to the durable commit; nil for
    /// a check, which commits nothing.
    public var committingSeconds: Double?
    /// Wall-clock seconds from the first line to the durable commit.
    public var wallSeconds = 0.0

    /// One line per figure, per line read.
    public var summary: String {
        func perLine(_ seconds: Double) -> String {
            lines == 0 ? "–" : String(format: "%.2f µs", seconds / Double(lines) * 1e6)
        }
        func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
        let fold = waitingForFoldSeconds.map { ", \(seconds($0)) for the KPI fold" } ?? ""
        let processor = waitingForProcessorSeconds.map { ", \(seconds($0)) for a processor" } ?? ""
        let commit = committingSeconds.map { "commit:  \(seconds($0)) to commit and sync (wall clock)\n" } ?? ""
        return """
            parsing: \(perLine(parsingSeconds)) of processor time a line (\(seconds(parsingSeconds)))
            storing: \(perLine(storingSeconds)) of processor time a line (\(seconds(storingSeconds)))
            waiting: \(seconds(waitingForLinesSeconds)) for parsed lines\(fold)\(processor) (wall clock, storing thread)
            \(commit)wall:    \(perLine(wallSeconds)) a line (\(String(format: "%.2f", wallSeconds)) s for \(lines) lines)
            """
    }
}

/// Seconds on a clock that only goes forwards, for measuring waits.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

extension DispatchSemaphore {
    /// Waits as `wait()` does, adding to `seconds` the wall-clock time it
    /// blocked (nothing, and no clock read, when it did not have to).
    func wait(countingInto seconds: inout Double) {
        guard wait(timeout: .now()) == .timedOut else { return }
        let started = monotonicSeconds()
        wait()
        seconds += monotonicSeconds() - started
    }
}

/// Seconds the calling thread has spent ready to run but waiting for a
/// processor, from `/proc/thread-self/schedstat` (its second field, in
/// nanoseconds); nil where that cannot be read.
func threadRunQueueSeconds() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/thread-self/schedstat", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let nanoseconds = Double(fields[1]) else { return nil }
    return nanoseconds / 1e9
}

/// Processor time used so far by the calling thread, in seconds.
func threadProcessorSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Imports interchange files, each all or nothing (events.md §6).
///
/// A file is one write transaction. Every line is judged against the ledger
/// plus the lines before it and, when admitted, chained and put at once; if
/// any line is rejected the transaction is abandoned, so nothing of the file
/// is stored, and every rejected line is reported. A kill at any moment leaves
/// the ledger as it was before the file, or with the whole file; running the
/// same import again completes it, stored lines counting as duplicates.
/// Lines are parsed and shape-checked on one thread while the judging and
/// chaining, which must follow the file's order, run on another.
public struct Importer {
    /// The ledger imported into.
    public let ledger: Ledger
    /// Lines parsed together, on a thread of their own, ahead of the judging and storing.
    public var chunkSize = 2048
    /// How many rejected lines an error report lists in full.
    public static let reportedLines = 1000
    /// Whether the report lists what became of every line (for small batches:
    /// an outcome is kept for each line).
    public var keepsOutcomes = false

    /// An importer into `ledger`.
    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Imports the file at `path` (`-`: standard input).
    /// - Parameters:
    ///   - waiting: called when another writer holds the ledger and we wait for it.
    ///   - progress: called every 100,000 lines with the number of lines read so far.
    public func importFile(
        _ path: String, waiting: (String) -> Void = { _ in }, progress: (Int) -> Void = { _ in }
    ) throws -> ImportReport {
        try importInput(try InputFile(path: path), waiting: waiting, progress: progress)
    }

    /// Imports interchange lines given in memory, named `name` in messages:
    /// the same rules and the same all-or-nothing as a file.
    public func importLines(
        _ bytes: [UInt8], name: String, waiting: (String) -> Void = { _ in }
    ) throws -> ImportReport {
        try importInput(InputFile(name: name, bytes: bytes), waiting: waiting, progress: { _ in })
    }

    /// Judges the files at `paths` as `importFile` would, one after another,
    /// each against the ledger and the files before it, and stores nothing:
    /// they share one write transaction, which is abandoned at the end. The
    /// KPI fold is not updated, so a check costs less than the import.
    ///
    /// `passed` is called with the report of each file that would be stored
    /// whole; the first file with a rejected line throws `ImportRejected`, and
    /// the files after it are not read. Another writer waits meanwhile, as it
    /// would for the import.
    /// - Parameters:
    ///   - waiting: called when another writer holds the ledger and we wait for it.
    ///   - progress: called every 100,000 lines with the file and the number of its lines read so far.
    public func check(
        _ paths: [String], waiting: (String) -> Void = { _ in }, progress: (String, Int) -> Void = { _, _ in },
        passed: (ImportReport) -> Void
    ) throws {
        struct NothingStored: Error {}
        let inputs = try paths.map { try InputFile(path: $0) }
        try ledger.log.exclusively(doing: "check \(inputs.map(\.name).joined(separator: ", "))", waiting: waiting) {
            let expectedBytes = inputs.reduce(0) { $0 + $1.expectedLedgerBytes }
            do {
                try ledger.log.appending(clock: .now(), expectedBytes: expectedBytes) { session in
                    for input in inputs {
                        let started = Instant.now()
                        var report = try store(input, in: session, folding: false) { progress(input.name, $0) }
                        report.timings.wallSeconds = started.secondsUntilNow
                        passed(report)
                    }
                    // Thrown inside the transaction, so that it is abandoned.
                    throw NothingStored()
                }
            } catch is NothingStored {}
        }
    }

    private func importInput(
        _ input: InputFile, waiting: (String) -> Void, progress: (Int) -> Void
    ) throws -> ImportReport {
        return try ledger.log.exclusively(doing: "import \(input.name)", waiting: waiting) {
            let started = Instant.now()
            var stored = 0.0
            var report = try ledger.log.appending(clock: .now(), expectedBytes: input.expectedLedgerBytes) { session in
                defer { stored = monotonicSeconds() }
                return try store(input, in: session, folding: true, progress: progress)
            }
            try ledger.log.sync()
            report.timings.committingSeconds = monotonicSeconds() - stored
            report.timings.wallSeconds = started.secondsUntilNow
            return report
        }
    }

    /// Offers every line of `input` to `session`; `folding` updates the KPI
    /// fold with what is stored and puts it (an import), which a check leaves alone.
    private func store(
        _ input: InputFile, in session: AppendSession, folding: Bool, progress: (Int) -> Void
    ) throws -> ImportReport {
        var report = ImportReport(file: input.name)
        var errors: [LineError] = []
        var rejectedLines = 0
        var read = 0
        let storingStarted = threadProcessorSeconds()
        let queuedBefore = threadRunQueueSeconds()
        let erasedBefore = session.personalDataErased
        let lines = ParsedLines(input: input, ledger: ledger, chunkSize: chunkSize)
        let access = session.projections
        let figures = folding ? try ImportFigures(access, figures: ledger.figures) : nil
        // However the import ends (a rejected line, a full map or disk), its fold is done before it returns.
        defer { figures?.settle() }
        func keepOutcome(line: Int, id: String, seq: Int64, duplicate: Bool) throws {
            guard let hash = try session.storedHash(at: seq) else {
                throw LedgerError.damaged(seq: seq, reason: "the record just judged cannot be read back")
            }
            report.outcomes.append(LineOutcome(line: line, id: id, seq: seq, hash: hash, duplicate: duplicate))
        }
        (report.timings.parsingSeconds, report.timings.waitingForLinesSeconds) = try lines.forEach { line in
            read += 1
            if read % 100_000 == 0 { progress(read) }
            let problems: [(field: String, rule: String, conflict: Bool)]
            switch line.result {
            case .failure(let fieldErrors):
                problems = fieldErrors.all.map { ($0.field, $0.rule, false) }
            case .success(let parsed):
                switch try parsed.offer(to: session) {
                case .append(let seq, _, let recordedAt):
                    try figures?.admitted(seq: seq, recordedAt: recordedAt, event: parsed, access)
                    report.stored += 1
                    report.firstSeq = report.firstSeq ?? seq
                    report.lastSeq = seq
                    if keepsOutcomes {
                        try keepOutcome(line: line.number, id: parsed.event.id, seq: seq, duplicate: false)
                    }
                    return
                case .duplicate(let seq):
                    report.duplicates += 1
                    if keepsOutcomes {
                        try keepOutcome(line: line.number, id: parsed.event.id, seq: seq, duplicate: true)
                    }
                    return
                case .rejected(let violations):
                    problems = violations.map { ($0.field, $0.rule, $0.kind == .versionConflict) }
                }
            }
            rejectedLines += 1
            if rejectedLines <= Importer.reportedLines {
                errors += problems.map {
                    LineError(
                        file: input.name, line: line.number, field: $0.field, rule: $0.rule,
                        isVersionConflict: $0.conflict)
                }
            }
        }
        report.timings.lines = read
        report.personalDataErased = session.personalDataErased - erasedBefore
        if rejectedLines > 0 {
            // Thrown inside the transaction, so it is abandoned and nothing is stored.
            throw ImportRejected(file: input.name, errors: errors, rejectedLines: rejectedLines)
        }
        if let figures {
            // The store puts the index entries it holds while the fold finishes.
            try figures.save(access) { try session.putHeldEntries() }
            report.timings.waitingForFoldSeconds = figures.waitedSeconds
        }
        report.timings.storingSeconds = threadProcessorSeconds() - storingStarted
        if let queuedBefore, let queued = threadRunQueueSeconds() {
            report.timings.waitingForProcessorSeconds = queued - queuedBefore
        }
        return report
    }
}

/// One line of an interchange file, parsed and shape-checked.
struct ParsedLine: Sendable {
    let number: Int
    let result: Result<ParsedEvent, FieldErrors>
}

/// A parsed event, held by reference: handing it from thread to thread and
/// looking at it costs one reference count, not one for each of its fields.
/// Sendable unchecked: it is made on the parsing thread and handed over once;
/// from then on only the storing thread touches it, and nothing changes it.
final class ParsedEvent: @unchecked Sendable {
    /// What the store judges; a `var` only so that it can be lent to the
    /// store in place (`AppendSession.offer(lending:)`): it is never changed.
    private(set) var event: NewEvent
    /// The typed `data`, which the live figures fold once the event is stored.
    let payload: Payload

    init(_ event: NewEvent, payload: Payload) {
        self.event = event
        self.payload = payload
    }

    /// Has `session` judge the event, lent in place rather than copied.
    func offer(to session: AppendSession) throws -> Admission {
        try session.offer(lending: &event)
    }

    /// What the figures read of the event, stored at `seq` and recorded at `recordedAt`.
    func recorded(seq: Int64, recordedAt: Instant) -> RecordedEvent {
        RecordedEvent(
            seq: seq, stream: event.stream, occurredAt: event.occurredAt, recordedAt: recordedAt,
            orgUnit: event.orgUnit, payload: payload)
    }
}

/// The lines of an interchange file, parsed on a background thread one chunk
/// ahead of the caller, who gets them in file order: judging and storing,
/// which must follow the file's order, overlap with the parsing of what comes
/// next. (One parsing thread beside the storing one keeps both cores of the
/// reference machine busy; more threads than cores measured slower.)
struct ParsedLines {
    let input: InputFile
    let ledger: Ledger
    let chunkSize: Int

    /// Calls `body` with every line in order; returns the processor seconds the
    /// parsing thread used and the wall-clock seconds the caller waited for it.
    func forEach(_ body: (ParsedLine) throws -> Void) throws -> (parsing: Double, waited: Double) {
        let queue = ChunkQueue(capacity: 3)
        let input = self.input
        let ledger = self.ledger
        let chunkSize = self.chunkSize
        DispatchQueue.global().async {
            let started = threadProcessorSeconds()
            var salts = SaltSource()
            // Timed before the last word, so that the taker reads it after.
            func last(_ item: ChunkQueue.Item) {
                queue.parsingSeconds = threadProcessorSeconds() - started
                _ = queue.put(item)
            }
            do {
                try input.forEachChunk(of: chunkSize) { chunk in
                    // Lines the storing thread is done with are freed here, where they
                    // were made, and their array is filled again: memory goes straight
                    // back to this thread's cache, and no large block is freed.
                    var parsed = queue.takeReturned()
                    ParsedLines.parse(chunk, ledger: ledger, salts: &salts, into: &parsed)
                    guard queue.put(.lines(parsed)) else { throw CancellationError() }
                }
                last(.end)
            } catch is CancellationError {
                last(.end)
            } catch {
                last(.failed(error))
            }
        }
        // However this ends, the reader must be let go and waited for: it reads the
        // input, which is closed when the caller returns.
        defer { queue.drain() }
        while true {
            switch queue.take() {
            case .lines(let lines):
                for index in lines.indices { try body(lines[index]) }
                queue.giveBack(lines)
            case .end:
                queue.drain()
                return (queue.parsingSeconds, queue.waitedSeconds)
            case .failed(let error):
                throw error
            }
        }
    }

    /// Parses and shape-checks the lines of `chunk`, and prepares the records of
    /// those that pass; appends the results, in line order, to `parsed`.
    static func parse(
        _ chunk: LineChunk, ledger: Ledger, salts: inout SaltSource, into parsed: inout [ParsedLine]
    ) {
        chunk.bytes.withUnsafeBufferPointer { bytes in
            for line in chunk.lines {
                if let length = chunk.overlong[line.number] {
                    let error = FieldError(field: "line", rule: InputFile.overlongRule(length))
                    parsed.append(ParsedLine(number: line.number, result: .failure(FieldErrors([error]))))
                    continue
                }
                let result: Result<ParsedEvent, FieldErrors>
                switch ledger.interchangeEvent(fromLine: UnsafeBufferPointer(rebasing: bytes[line.range])) {
                case .success(let valid):
                    var event = Ledger.newEvent(valid)
                    event.prepareRecord(salts: &salts)
                    result = .success(ParsedEvent(event, payload: valid.payload))
                case .failure(let errors):
                    result = .failure(errors)
                }
                parsed.append(ParsedLine(number: line.number, result: result))
            }
        }
    }
}

/// A bounded hand-over of parsed chunks from the reading thread to the storing one.
private final class ChunkQueue: @unchecked Sendable {
    enum Item {
        case lines([ParsedLine])
        case end
        case failed(any Error)
    }

    private let lock = NSLock()
    private var items: [Item] = []
    private var returned: [[ParsedLine]] = []
    private var cancelled = false
    private var finished = false
    private var parsing = 0.0
    /// Processor seconds the reading thread used, once it has finished.
    var parsingSeconds: Double {
        get { lock.withLock { parsing } }
        set { lock.withLock { parsing = newValue } }
    }
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    /// Wall-clock seconds the taker waited for an item; read by the taker only.
    private(set) var waitedSeconds = 0.0

    init(capacity: Int) {
        free = DispatchSemaphore(value: capacity)
    }

    /// Hands over `item`, waiting for room; false once the taker has given up.
    func put(_ item: Item) -> Bool {
        free.wait()
        lock.lock()
        defer { lock.unlock() }
        if case .lines = item, cancelled {
            // The room is not used: give it back, or the semaphore is left below
            // its starting value, which libdispatch treats as a fatal error.
            free.signal()
            return false
        }
        items.append(item)
        filled.signal()
        return true
    }

    func take() -> Item {
        filled.wait(countingInto: &waitedSeconds)
        lock.lock()
        let item = items.removeFirst()
        if case .lines = item {} else { finished = true }
        lock.unlock()
        free.signal()
        return item
    }

    /// Hands lines the taker is done with back to the reader, to be freed there.
    func giveBack(_ lines: [ParsedLine]) {
        lock.lock()
        returned.append(lines)
        lock.unlock()
    }

    /// An array of lines given back, emptied (its lines are freed here), or a new one.
    func takeReturned() -> [ParsedLine] {
        lock.lock()
        var lines = returned.popLast() ?? []
        lock.unlock()
        lines.removeAll(keepingCapacity: true)
        return lines
    }

    /// Stops the reader and waits until it has said its last word.
    func drain() {
        lock.lock()
        cancelled = true
        let done = finished
        lock.unlock()
        guard !done else { return }
        while true {
            if case .lines = take() { continue }
            return
        }
    }
}

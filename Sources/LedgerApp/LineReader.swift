import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lines of a file copied into one buffer, with where each lies: a chunk
/// costs two allocations that are reused, not one per line.
struct LineChunk {
    /// The lines' bytes, one after another.
    private(set) var bytes: [UInt8] = []
    /// Each line's number and place in `bytes`; a line longer than
    /// `InputFile.longestLine` has no bytes here, only its length in `overlong`.
    var lines: [(number: Int, range: Range<Int>)] = []
    /// The length in bytes of each line too long to be read, by line number.
    private(set) var overlong: [Int: Int] = [:]

    mutating func append(_ line: UnsafeBufferPointer<UInt8>, number: Int) {
        let start = bytes.count
        bytes.append(contentsOf: line)
        lines.append((number, start..<bytes.count))
    }

    mutating func appendOverlong(number: Int, length: Int) {
        lines.append((number, bytes.count..<bytes.count))
        overlong[number] = length
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        overlong.removeAll()
    }
}

/// A file the import reads, line by line, in fixed-size chunks: memory stays
/// the same however large the file. Standard input (`-`), a named pipe
/// (`<(zcat events.jsonl.gz)`) or a device is first copied to a private
/// temporary file (in `$TMPDIR`, else `/tmp`), so that a write transaction
/// that has to start again (the map grew) can read it again from the start.
/// Lines given in memory (a request's events) are read where they are. One
/// thread at a time reads it.
final class InputFile: @unchecked Sendable {
    /// The name used in messages (`FILE` of `FILE:LINE`).
    let name: String
    private let source: Source

    /// Where the lines are read from.
    private enum Source {
        /// An open file, read at offsets, and closed with this.
        case file(Int32)
        /// Bytes in memory.
        case memory([UInt8])
    }

    init(path: String) throws {
        if path == "-" {
            name = "<stdin>"
            source = .file(try InputFile.spool(reading: 0, named: "standard input"))
        } else {
            name = path
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            // A file that is not there, or cannot be read, is a wrong argument (exit 2), said in words.
            guard opened >= 0 else { throw AppError.usage("cannot read \(path): \(String(cString: strerror(errno)))") }
            var info = stat()
            guard fstat(opened, &info) == 0, info.st_mode & S_IFMT != S_IFREG else {
                source = .file(opened)
                return
            }
            defer { close(opened) }
            if info.st_mode & S_IFMT == S_IFDIR { throw InputFile.directory(path) }
            // A pipe is read once, from its start to its end, and cannot be read at an offset.
            source = .file(try InputFile.spool(reading: opened, named: path))
        }
    }

    private static func directory(_ path: String) -> AppError {
        .usage("\(path) is a directory: give a file of events, or - for standard input")
    }

    /// Refuses, as wrong usage, an input that cannot be read (missing,
    /// unreadable, a directory). A pipe is not opened: opening it would take
    /// what its writer gives, and the import would then find it empty.
    static func check(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw AppError.usage("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw directory(path)
        case S_IFREG: _ = try InputFile(path: path)
        default: break
        }
    }

    /// A spooled copy of everything `fd` gives until its end.
    private static func spool(reading fd: Int32, named name: String) throws -> Int32 {
        try spool { buffer in
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count >= 0 || errno == EINTR else {
                throw AppError.io("cannot read \(name): \(String(cString: strerror(errno)))")
            }
            return max(count, -1)
        }
    }

    /// Lines given in memory (a request's events, a command's own event), named `name` in messages.
    init(name: String, bytes: [UInt8]) {
        self.name = name
        source = .memory(bytes)
    }

    /// A private, already unlinked temporary file holding everything `read`
    /// gives (it fills the buffer and returns the count, 0 at the end, -1 to
    /// try again), in the directory `$TMPDIR` names, else `/tmp`.
    private static func spool(_ read: (UnsafeMutableBufferPointer<UInt8>) throws -> Int) throws -> Int32 {
        var directory = NSTemporaryDirectory()  // $TMPDIR, else /tmp, with a slash at the end
        if directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        func failure(_ what: String) -> AppError {
            .io(
                "cannot \(what) a temporary copy of the input in \(directory): \(String(cString: strerror(errno))); "
                    + "set TMPDIR to a directory with room for it"
            )
        }
        var template = Array((directory + "/sunledger-input-XXXXXX").utf8CString)
        let tmp = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard tmp >= 0 else { throw failure("make") }
        let tmpPath = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
        unlink(tmpPath)  // private: gone when closed
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBufferPointer { try read($0) }
            if count < 0 { continue }
            if count == 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(tmp, $0.baseAddress! + written, count - written) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let error = failure("write")
                    close(tmp)
                    throw error
                }
                written += n
            }
        }
        return tmp
    }

    deinit {
        if case .file(let fd) = source { close(fd) }
    }

    /// The file's size in bytes.
    var size: Int {
        switch source {
        case .file(let fd):
            var info = stat()
            return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        case .memory(let bytes):
            return bytes.count
        }
    }

    /// Fills `buffer` with as many of the bytes from `offset` on as it holds;
    /// returns how many (0 at the end), or -1 with `errno` set.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int) -> Int {
        switch source {
        case .file(let fd):
            return pread(fd, buffer.baseAddress!, buffer.count, off_t(offset))
        case .memory(let bytes):
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)]))
            }
            return count
        }
    }

    /// The room in the ledger's map an import (or a check) of the file is
    /// given beforehand: three times its size.
    var expectedLedgerBytes: Int { size * 3 }

    /// The longest line read, in bytes. No event of the catalogue comes near it
    /// (its texts are at most 128 code points); a longer line is refused unread,
    /// so that a file with no line breaks cannot fill memory.
    static let longestLine = 1 << 20

    /// Why a line of `length` bytes is refused, in the words of an import's errors.
    static func overlongRule(_ length: Int) -> String {
        "longer than 1 MiB (\(length.formatted()) bytes), which no event is: is the file JSON Lines, one event to a line?"
    }

    /// Calls `body` with the non-blank lines in chunks of up to `count` lines,
    /// each with its 1-based line number, so that a chunk can be parsed on
    /// several cores at once.
    func forEachChunk(of count: Int, _ body: (_ chunk: LineChunk) throws -> Void) throws {
        var chunk = LineChunk()
        chunk.lines.reserveCapacity(count)
        func added() throws {
            if chunk.lines.count == count {
                try body(chunk)
                chunk.removeAll()
            }
        }
        try forEachLine(
            { number, line in
                chunk.append(line, number: number)
                try added()
            },
            overlong: { number, length in
                chunk.appendOverlong(number: number, length: length)
                try added()
            })
        if !chunk.lines.isEmpty { try body(chunk) }
    }

    /// Calls `body` with each non-blank line (without its line ending) and its
    /// 1-based number, from the start of the file, and `overlong` with the
    /// number and length of each line longer than `longestLine`, which is not
    /// kept. A leading UTF-8 byte-order mark is skipped.
    func forEachLine(
        _ body: (_ number: Int, _ line: UnsafeBufferPointer<UInt8>) throws -> Void,
        overlong: (_ number: Int, _ length: Int) throws -> Void
    ) throws {
        let chunkSize = 4 << 20
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var carried: [UInt8] = []
        // The bytes so far of a line found too long; nil while the line is within bounds.
        var dropped: Int?
        var offset = 0
        var number = 0
        var first = true

        func emit(_ line: UnsafeBufferPointer<UInt8>) throws {
            number += 1
            var line = line
            if first {
                first = false
                if line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
                    line = UnsafeBufferPointer(rebasing: line[3...])
                }
            }
            if let last = line.last, last == UInt8(ascii: "\r") {
                line = UnsafeBufferPointer(rebasing: line.dropLast())
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(number, line)
        }

        /// Takes the part of the current line that lies in this chunk; `ends`: the line ends with it.
        func take(_ part: UnsafeBufferPointer<UInt8>, ends: Bool) throws {
            if dropped == nil && carried.count + part.count > InputFile.longestLine {
                dropped = carried.count
                carried = []
            }
            if let length = dropped {
                dropped = length + part.count
                guard ends else { return }
                number += 1
                first = false
                dropped = nil
                return try overlong(number, length + part.count)
            }
            if !ends {
                carried.append(contentsOf: part)
            } else if carried.isEmpty {
                try emit(part)
            } else {
                carried.append(contentsOf: part)
                try carried.withUnsafeBufferPointer { try emit($0) }
                carried.removeAll(keepingCapacity: true)
            }
        }

        while true {
            let count = buffer.withUnsafeMutableBytes { fill($0, from: offset) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw AppError.io("cannot read \(name): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            offset += count
            try buffer.withUnsafeBufferPointer { chunk in
                var start = 0
                let end = count
                while let newline = UnsafeBufferPointer(rebasing: chunk[start..<end]).firstIndex(of: 0x0A) {
                    let lineEnd = start + newline
                    try take(UnsafeBufferPointer(rebasing: chunk[start..<lineEnd]), ends: true)
                    start = lineEnd + 1
                }
                try take(UnsafeBufferPointer(rebasing: chunk[start..<end]), ends: false)
            }
        }
        if dropped != nil || !carried.isEmpty { try take(UnsafeBufferPointer(start: nil, count: 0), ends: true) }
    }
}

extension Importer {
    /// Refuses, as wrong usage, an input file that cannot be read (missing,
    /// unreadable, a directory), before any ledger is opened or made for it.
    public static func checkInput(_ path: String) throws {
        guard path != "-" else { return }
        try InputFile.check(path)
    }
}

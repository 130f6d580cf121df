import EventStore
import LedgerDomain
import LedgerValues

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How much personal data an export carries.
public enum PIIExposure: Sendable {
    /// None: the chain alone.
    case none
    /// `pii` and `piiSalt`, so a reader can check them against the commitment.
    case full
    /// `piiMasked` (events.md §3).
    case masked
}

/// The directory part of `path` ("" for a bare name, "/" for a name at the root),
/// trailing slashes aside. Written out here because Foundation's
/// `deletingLastPathComponent` traps on some paths on Linux.
func parentDirectory(of path: String) -> String {
    var path = Substring(path)
    while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// `path`, or the file its last component names when that is a symbolic link
/// (followed link by link, to a file that need not exist yet). Renaming onto
/// the path itself would replace the link.
func followingLinks(_ path: String) -> String {
    var path = path
    var target = [CChar](repeating: 0, count: Int(PATH_MAX))
    // As many links as the kernel follows before it gives up (ELOOP).
    for _ in 0..<40 {
        let length = readlink(path, &target, target.count)
        guard length > 0 else { break }
        let named = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = parentDirectory(of: path)
        path = named.hasPrefix("/") || directory.isEmpty ? named : directory + "/" + named
    }
    return path
}

/// Buffered writes to a file descriptor.
final class OutputStream {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let name: String

    /// Writes to standard output.
    init() {
        fd = 1
        ownsDescriptor = false
        name = "standard output"
        buffer.reserveCapacity(1 << 20)
    }

    /// Creates (or truncates) the file at `path`; readable by its owner alone when `private`.
    init(path: String, private: Bool = false) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, `private` ? 0o600 : 0o644)
        guard fd >= 0 else { throw AppError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
        ownsDescriptor = true
        name = path
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Refuses, as wrong usage, an output path that cannot be a file: an
    /// existing directory, or one whose directory does not exist.
    static func checkFilePath(_ path: String, for option: String) throws {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw AppError.usage("\(option) \(path) is a directory: give a file name")
        }
        let directory = parentDirectory(of: path)
        if !directory.isEmpty, stat(directory, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR {
            throw AppError.usage("\(option) \(path): \(directory) is not an existing directory")
        }
    }

    func write(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, buffer.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw AppError.io("cannot write \(name): \(String(cString: strerror(errno)))") }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and makes the file durable.
    func finish() throws {
        try flush()
        if ownsDescriptor && fsync(fd) != 0 {
            throw AppError.io("cannot sync \(name): \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes the chained records as JSON Lines (events.md §2): each line is the
/// record's canonical JSON with `hash` added at the end, then `pii` and
/// `piiSalt`, or `piiMasked`, when asked and still held in the vault.
public struct Exporter {
    /// The ledger exported.
    public let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Exports seqs `from…through` to `path` (nil: standard output); returns the number of records.
    @discardableResult
    public func export(
        from: Int64 = 1, through: Int64? = nil, pii: PIIExposure = .none, to path: String?
    ) throws -> Int64 {
        if let given = path {
            try OutputStream.checkFilePath(given, for: "--out")
            // A symbolic link stays: the file it names is the one written.
            let path = followingLinks(given)
            if path != given { try OutputStream.checkFilePath(path, for: "--out") }
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                // A device or a pipe (/dev/stdout, a FIFO a script reads) is written
                // into as it is: renamed over, it would be replaced by a file.
                let out = try OutputStream(path: path)
                let count = try export(from: from, through: through, pii: pii, into: out)
                try out.flush()
                return count
            }
            // Written beside the target and renamed into place: a reader never sees half an
            // export, and what was written is removed if the export fails. Personal data is
            // readable by the file's owner alone.
            let partial = path + ".partial"
            do {
                let out = try OutputStream(path: partial, private: pii == .full)
                let count = try export(from: from, through: through, pii: pii, into: out)
                try out.finish()
                guard rename(partial, path) == 0 else {
                    throw AppError.io("cannot rename \(partial) to \(path): \(String(cString: strerror(errno)))")
                }
                return count
            } catch {
                unlink(partial)
                throw error
            }
        }
        let out = OutputStream()
        let count = try export(from: from, through: through, pii: pii, into: out)
        try out.flush()
        return count
    }

    func export(from: Int64, through: Int64?, pii: PIIExposure, into out: OutputStream) throws -> Int64 {
        var count: Int64 = 0
        var line: [UInt8] = []
        line.reserveCapacity(1024)
        try ledger.log.forEachRecord(from: from, through: through, withVault: pii != .none) {
            _, hash, canonical, vault in
            line.removeAll(keepingCapacity: true)
            Exporter.appendLine(hash: hash, canonical: canonical, vault: vault, pii: pii, to: &line)
            try out.write(line)
            count += 1
        }
        return count
    }

    /// The export lines of seqs `from…through` as bytes, from one read
    /// transaction: how a server streams a long export piece by piece, holding
    /// no transaction while it writes to the network.
    public func lines(from: Int64, through: Int64, pii: PIIExposure) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try ledger.log.forEachRecord(from: from, through: through, withVault: pii != .none) {
            _, hash, canonical, vault in
            Exporter.appendLine(hash: hash, canonical: canonical, vault: vault, pii: pii, to: &bytes)
        }
        return bytes
    }

    private static let hashKey = Array(",\"hash\":\"".utf8)

    /// One export line: the canonical record without its closing brace, then the added keys.
    static func appendLine(
        hash: UnsafeRawBufferPointer, canonical: UnsafeRawBufferPointer, vault: VaultEntry?, pii: PIIExposure,
        to line: inout [UInt8]
    ) {
        line.append(contentsOf: canonical[0..<(canonical.count - 1)])
        line.append(contentsOf: hashKey)
        line.append(contentsOf: Hex.encode(hash).utf8)
        line.append(UInt8(ascii: "\""))
        if let vault {
            switch pii {
            case .none: break
            case .full:
                line.append(contentsOf: ",\"pii\":".utf8)
                line.append(contentsOf: vault.canonicalPII)
                line.append(contentsOf: ",\"piiSalt\":\"".utf8)
                line.append(contentsOf: Hex.encode(vault.salt).utf8)
                line.append(UInt8(ascii: "\""))
            case .masked:
                line.append(contentsOf: ",\"piiMasked\":".utf8)
                CanonicalJSON.write(.object(Masking.mask(vault.pii)), into: &line)
            }
        }
        line.append(contentsOf: "}\n".utf8)
    }
}

import CLibcrypto

/// SHA-256 (FIPS 180-4), the ledger's one hash, from the system's OpenSSL
/// libcrypto, which uses the processor's SHA extensions where it has them.
///
/// A value type: copying a hasher copies its state, so a record's hash can be
/// resumed from the state of its prepared prefix.
struct SHA256: @unchecked Sendable {
    private var context = SHA256_CTX()

    init() {
        SHA256_Init(&context)
    }

    /// Hashes `bytes` after everything hashed so far.
    mutating func update(bufferPointer bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// The 32-byte digest of everything hashed; the hasher itself is left as it was.
    func finalize() -> [UInt8] {
        var copy = context
        return [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            SHA256_Final(buffer.baseAddress!, &copy)
            count = 32
        }
    }

    /// The digest of `bytes`, written to the 32 bytes at `digest`: no state
    /// kept and nothing allocated, for the many hashes of a verification.
    static func hash(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableRawPointer) {
        // The low-level calls on a context on the stack: OpenSSL 3's one-shot
        // SHA256() looks the algorithm up anew on every call.
        var context = SHA256_CTX()
        SHA256_Init(&context)
        if let base = bytes.baseAddress { SHA256_Update(&context, base, bytes.count) }
        SHA256_Final(digest.assumingMemoryBound(to: UInt8.self), &context)
    }

    /// The digest of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return hasher.finalize()
    }
}

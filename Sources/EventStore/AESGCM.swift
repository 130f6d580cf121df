import CLibcrypto

/// AES-256-GCM (NIST SP 800-38D) from the system's OpenSSL libcrypto: what
/// locks the personal-data vault. Nonces are 12 random bytes, tags 16 bytes.
enum AESGCM {
    static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    /// Why a sealed box could not be opened or made.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The cipher, fetched once: OpenSSL 3 otherwise looks it up on every use.
    nonisolated(unsafe) private static let cipher: OpaquePointer = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)!

    /// `count` bytes from OpenSSL's cryptographically secure generator.
    static func randomBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw Failure(description: "no random bytes to be had") }
        return bytes
    }

    /// nonce ‖ ciphertext ‖ tag of `plaintext` under `key`, authenticating `associated` too.
    static func seal(_ plaintext: [UInt8], key: [UInt8], associated: [UInt8]) throws -> [UInt8] {
        precondition(key.count == keySize)
        let nonce = try randomBytes(nonceSize)
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "out of memory") }
        defer { EVP_CIPHER_CTX_free(context) }
        var box = nonce + [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var written: Int32 = 0
        let sealed = box.withUnsafeMutableBufferPointer { out -> Bool in
            let body = out.baseAddress! + nonceSize
            guard EVP_EncryptInit_ex(context, cipher, nil, key, nonce) == 1,
                associated.isEmpty
                    || EVP_EncryptUpdate(context, nil, &written, associated, Int32(associated.count)) == 1,
                plaintext.isEmpty || EVP_EncryptUpdate(context, body, &written, plaintext, Int32(plaintext.count)) == 1,
                EVP_EncryptFinal_ex(context, body + plaintext.count, &written) == 1
            else { return false }
            return EVP_CIPHER_CTX_ctrl(
                context, EVP_CTRL_AEAD_GET_TAG, Int32(tagSize), body + plaintext.count) == 1
        }
        guard sealed else { throw Failure(description: "AES-GCM encryption failed") }
        return box
    }

    /// The plaintext of `box` (nonce ‖ ciphertext ‖ tag), or nil when it was not
    /// sealed under `key` with `associated`, or has been changed since.
    static func open(_ box: UnsafeRawBufferPointer, key: [UInt8], associated: [UInt8]) -> [UInt8]? {
        precondition(key.count == keySize)
        guard box.count > nonceSize + tagSize, let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        let length = box.count - nonceSize - tagSize
        let base = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var tag = Array(box[(box.count - tagSize)...])
        var plaintext = [UInt8](repeating: 0, count: length)
        var written: Int32 = 0
        let opened = plaintext.withUnsafeMutableBufferPointer { out -> Bool in
            guard EVP_DecryptInit_ex(context, cipher, nil, key, base) == 1,
                associated.isEmpty
                    || EVP_DecryptUpdate(context, nil, &written, associated, Int32(associated.count)) == 1,
                EVP_DecryptUpdate(context, out.baseAddress, &written, base + nonceSize, Int32(length)) == 1,
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), &tag) == 1
            else { return false }
            return EVP_DecryptFinal_ex(context, out.baseAddress! + length, &written) == 1
        }
        return opened ? plaintext : nil
    }
}

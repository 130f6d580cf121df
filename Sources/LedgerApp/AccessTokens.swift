import EventStore
import LedgerValues

/// What a holder of an access token may do through the HTTP API.
public enum Role: String, CaseIterable, Sendable {
    /// A clerk of a sub-centre, the call centre or the online service: appends
    /// events and reads the ledger without personal data.
    case clerk
    /// An auditor: reads, exports with personal data masked, pulls proofs and
    /// bundles, and reads the access log.
    case auditor
    /// A privacy officer: reads personal data, saying why, erases it, and
    /// reads the access log.
    case privacy
    /// An administrator: may do everything the other roles may.
    case admin

    /// What the role may do.
    public var permissions: Set<Permission> {
        switch self {
        case .clerk: [.append, .read]
        case .auditor: [.read, .readMasked, .prove, .readAccessLog]
        case .privacy: [.read, .readMasked, .readPersonalData, .erase, .readAccessLog]
        case .admin: Set(Permission.allCases)
        }
    }

    /// Whether the role may do `permission`.
    public func may(_ permission: Permission) -> Bool { permissions.contains(permission) }
}

/// One thing a role may be allowed to do.
public enum Permission: String, CaseIterable, Sendable {
    /// Append events.
    case append
    /// Read the chain, the figures and the digest, without personal data.
    case read
    /// Read personal data masked (events.md §3).
    case readMasked
    /// Read personal data in full, with a purpose that is written to the access log.
    case readPersonalData
    /// Pull Merkle proofs and audit bundles.
    case prove
    /// Erase a person's personal data.
    case erase
    /// Read the access log: who read personal data, when, what and why.
    case readAccessLog
}

/// The access tokens of the HTTP API, kept in the ledger's own environment
/// beside the chain (not in it: issuing a token is not a service action).
///
/// Only the SHA-256 of each secret is stored. A secret is 32 bytes from the
/// system's cryptographically secure generator, written as 64 hex digits, and
/// is shown once, when it is issued: whoever reads the ledger's files cannot
/// use the tokens stored there.
public enum AccessTokens {
    /// The name of its database in the ledger's environment.
    static let space = "access-tokens"

    /// One issued token, as stored (without its secret).
    public struct Token: Equatable, Sendable {
        /// Who holds it: a person, a sub-centre's system, a scraper.
        public let name: String
        /// What it may do.
        public let role: Role
        /// When it was issued.
        public let issuedAt: Instant
        /// From when it is refused; nil for a token issued before tokens
        /// expired, which stays valid until it is revoked.
        public let expiresAt: Instant?

        /// Whether it is refused at `instant` for having expired.
        public func hasExpired(at instant: Instant) -> Bool {
            expiresAt.map { instant >= $0 } ?? false
        }

        /// The token as one line of canonical JSON.
        public var json: String {
            var object = JSONObject()
            object["name"] = .string(name)
            object["role"] = .string(role.rawValue)
            object["issuedAt"] = .string(issuedAt.description)
            if let expiresAt { object["expiresAt"] = .string(expiresAt.description) }
            return String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self)
        }

        init(name: String, role: Role, issuedAt: Instant, expiresAt: Instant?) {
            self.name = name
            self.role = role
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
        }

        init?(stored bytes: UnsafeRawBufferPointer) {
            guard let object = try? JSONParser.parse(bytes.bindMemory(to: UInt8.self)).objectValue,
                let name = object["name"]?.stringValue,
                let role = object["role"]?.stringValue.flatMap(Role.init(rawValue:)),
                let issuedAt = object["issuedAt"]?.stringValue.flatMap(Instant.init(rfc3339:))
            else { return nil }
            var expiresAt: Instant?
            if let stored = object["expiresAt"] {
                guard let instant = stored.stringValue.flatMap(Instant.init(rfc3339:)) else { return nil }
                expiresAt = instant
            }
            self.init(name: name, role: role, issuedAt: issuedAt, expiresAt: expiresAt)
        }
    }

    /// How many days a token is valid when its issuer does not say.
    public static let defaultValidDays = 365
    /// How many days a token may be made valid for: a day to ten years.
    public static let validDays = 1...3650

    /// What a secret admits its bearer as, at some instant.
    public enum Admission: Equatable, Sendable {
        /// The token of a holder, issued, not revoked and not expired.
        case admitted(Token)
        /// A token issued and not revoked, but expired at `since`.
        case expired(Token, since: Instant)
        /// No token has this secret: it was never issued, or has been revoked.
        case unknown
    }

    /// Checks a holder's name: 1–64 characters of letters, digits and `_ . @ -`
    /// (the characters of an event's `actor`), since it is what the access log
    /// names as the reader.
    public static func checkName(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "@")
                || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else {
            throw AppError.usage(
                "a token's name must be 1–64 letters, digits or _ . @ - (got \(Echo.quoted(name)))")
        }
    }

    /// Checks how many days a token is to be valid: 1 to 3650.
    public static func checkValidDays(_ days: Int) throws {
        guard validDays.contains(days) else {
            throw AppError.usage(
                "a token is valid for \(validDays.lowerBound) to \(validDays.upperBound) days (got \(days))")
        }
    }

    /// Issues a token for `name` with `role`, valid for `validDays` days from
    /// `at`; returns it and its secret, which is stored nowhere. A name that
    /// holds a token still valid is refused; one whose token has expired is
    /// given the new token in its place.
    public static func issue(
        in ledger: Ledger, name: String, role: Role, validDays: Int = defaultValidDays, at: Instant = .now()
    ) throws -> (token: Token, secret: String) {
        try checkName(name)
        try checkValidDays(validDays)
        var generator = SystemRandomNumberGenerator()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Hex.encode(secretBytes)
        let expiresAt = Instant(milliseconds: at.milliseconds + Int64(validDays) * 86_400_000)
        let token = Token(name: name, role: role, issuedAt: at, expiresAt: expiresAt)
        try ledger.log.updatingProjections { access in
            var expired: [[UInt8]] = []
            var taken = false
            try access.forEachEntry(withPrefix: [], in: space) { key, value in
                guard let held = Token(stored: value), held.name == name else { return }
                if held.hasExpired(at: at) { expired.append(Array(key)) } else { taken = true }
            }
            guard !taken else {
                throw AppError.usage(
                    "\(name) already holds a token; revoke it first (sunledger token revoke --name \(name))")
            }
            for key in expired { try access.delete(key, in: space) }
            try access.put(Array(token.json.utf8), forKey: key(of: secret), in: space)
        }
        try ledger.log.sync()
        return (token, secret)
    }

    /// Every token issued and not revoked, by name.
    public static func list(in ledger: Ledger) throws -> [Token] {
        try ledger.log.readingProjections { access in
            var tokens: [Token] = []
            try access.forEachEntry(withPrefix: [], in: space) { _, value in
                guard let token = Token(stored: value) else {
                    throw AppError.io("a stored access token cannot be read")
                }
                tokens.append(token)
            }
            return tokens.sorted { $0.name < $1.name }
        }
    }

    /// Revokes the token held by `name`; false when there is none.
    @discardableResult
    public static func revoke(in ledger: Ledger, name: String) throws -> Bool {
        let revoked = try ledger.log.updatingProjections { access -> Bool in
            var keys: [[UInt8]] = []
            try access.forEachEntry(withPrefix: [], in: space) { key, value in
                if Token(stored: value)?.name == name { keys.append(Array(key)) }
            }
            for key in keys { try access.delete(key, in: space) }
            return !keys.isEmpty
        }
        try ledger.log.sync()
        return revoked
    }

    /// What `secret` admits its bearer as at `now`: the holder of a valid
    /// token, the holder of one expired, or nobody.
    public static func admission(of secret: String, in ledger: Ledger, at now: Instant = .now()) throws -> Admission {
        guard secret.utf8.count == 64 else { return .unknown }
        let token = try ledger.log.readingProjections { access in
            try access.withValue(forKey: key(of: secret), in: space) { Token(stored: $0) } ?? nil
        }
        guard let token else { return .unknown }
        if token.hasExpired(at: now), let expiresAt = token.expiresAt { return .expired(token, since: expiresAt) }
        return .admitted(token)
    }

    /// The token whose secret is `secret`, if one is issued, not revoked and not expired at `now`.
    public static func holder(of secret: String, in ledger: Ledger, at now: Instant = .now()) throws -> Token? {
        guard case .admitted(let token) = try admission(of: secret, in: ledger, at: now) else { return nil }
        return token
    }

    /// The stored key of a secret: its SHA-256.
    static func key(of secret: String) -> [UInt8] { sha256(Array(secret.utf8)) }
}

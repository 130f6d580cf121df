import EventStore
import Foundation
import LedgerValues
import Testing

@testable import LedgerApp

@Suite("access tokens expire")
struct AccessTokenTests {
    private let issued = Instant(rfc3339: "2026-03-01T08:00:00Z")!
    private let day: Int64 = 86_400_000

    private func later(_ milliseconds: Int64) -> Instant {
        Instant(milliseconds: issued.milliseconds + milliseconds)
    }

    @Test("a token admits its holder until the instant it expires, and from then on is named as expired")
    func expiry() throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let token = try AccessTokens.issue(in: ledger, name: "malu-desk", role: .clerk, validDays: 30, at: issued)
            let expiresAt = later(30 * day)
            #expect(token.token.expiresAt == expiresAt)
            #expect(try AccessTokens.holder(of: token.secret, in: ledger, at: later(30 * day - 1))?.name == "malu-desk")
            #expect(try AccessTokens.holder(of: token.secret, in: ledger, at: expiresAt) == nil)
            let admission = try AccessTokens.admission(of: token.secret, in: ledger, at: expiresAt)
            #expect(admission == .expired(token.token, since: expiresAt))
            #expect(try AccessTokens.admission(of: String(repeating: "0", count: 64), in: ledger) == .unknown)
            #expect(try AccessTokens.list(in: ledger) == [token.token])
        }
    }

    @Test("a holder whose token has expired is issued a new one in its place; one still valid is not")
    func renewal() throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let first = try AccessTokens.issue(in: ledger, name: "anting-desk", role: .clerk, validDays: 1, at: issued)
            #expect(throws: AppError.self) {
                _ = try AccessTokens.issue(in: ledger, name: "anting-desk", role: .clerk, at: later(day - 1))
            }
            let second = try AccessTokens.issue(in: ledger, name: "anting-desk", role: .auditor, at: later(day))
            #expect(try AccessTokens.admission(of: first.secret, in: ledger, at: later(day)) == .unknown)
            #expect(try AccessTokens.holder(of: second.secret, in: ledger, at: later(day))?.role == .auditor)
            #expect(try AccessTokens.list(in: ledger).map(\.name) == ["anting-desk"])
        }
    }

    @Test("a token is made valid for 1 to 3650 days", arguments: [0, -1, 3651])
    func validDays(days: Int) throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let refusal = #expect(throws: AppError.self) {
                _ = try AccessTokens.issue(in: ledger, name: "desk", role: .clerk, validDays: days, at: issued)
            }
            #expect(refusal?.description == "a token is valid for 1 to 3650 days (got \(days))")
            #expect(try AccessTokens.list(in: ledger).isEmpty)
        }
    }

    @Test("a token stored without an expiry, as issued before tokens expired, stays valid until revoked")
    func storedWithoutExpiry() throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let secret = String(repeating: "5a", count: 32)
            let stored = #"{"issuedAt":"2020-01-01T00:00:00.000Z","name":"old-desk","role":"clerk"}"#
            try ledger.log.updatingProjections { access in
                try access.put(Array(stored.utf8), forKey: AccessTokens.key(of: secret), in: AccessTokens.space)
            }
            let holder = try AccessTokens.holder(of: secret, in: ledger, at: later(100 * 365 * day))
            #expect(holder?.name == "old-desk")
            #expect(holder?.expiresAt == nil)
            #expect(holder?.json == stored)
        }
    }

    @Test("a stored expiry that is not an instant makes the token unreadable, not valid for ever")
    func unreadableExpiry() throws {
        try withScratch { dir in
            let ledger = try Ledger(path: dir + "/ledger", create: true)
            let secret = String(repeating: "6b", count: 32)
            let stored = #"{"expiresAt":"never","issuedAt":"2020-01-01T00:00:00.000Z","name":"odd","role":"admin"}"#
            try ledger.log.updatingProjections { access in
                try access.put(Array(stored.utf8), forKey: AccessTokens.key(of: secret), in: AccessTokens.space)
            }
            #expect(try AccessTokens.holder(of: secret, in: ledger) == nil)
            #expect(throws: AppError.self) { _ = try AccessTokens.list(in: ledger) }
        }
    }
}

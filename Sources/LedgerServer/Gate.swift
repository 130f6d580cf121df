import Foundation
import HTTPTypes
import Hummingbird
import LedgerApp

/// The holder of a valid token, as a request names them.
struct Caller: Sendable {
    /// The token's holder, named in the access log.
    let name: String
    /// What they may do.
    let role: Role
}

/// Admits a request on its bearer token, or refuses it: 401 without a valid
/// token, 403 when the token's role may not do what is asked.
struct Gate: Sendable {
    let ledger: Ledger

    /// The caller of `request`, who must be allowed `permission`.
    func admit(_ request: Request, for permission: Permission) throws -> Caller {
        let caller = try identify(request)
        guard caller.role.may(permission) else { throw Gate.forbidden(caller.role, permission) }
        return caller
    }

    /// The name of the cookie the dashboard's sign-in sets.
    static let cookie = "sunledger_token"

    /// The caller of a dashboard request, by bearer token or, for a browser
    /// that signed in, by the token in its cookie; nil when neither is valid.
    func dashboardReader(_ request: Request) throws -> Caller? {
        if request.headers[.authorization] != nil { return try admit(request, for: .read) }
        guard let secret = request.cookies[Gate.cookie]?.value,
            let token = try AccessTokens.holder(of: secret, in: ledger), token.role.may(.read)
        else { return nil }
        return Caller(name: token.name, role: token.role)
    }

    /// The holder of the request's bearer token, whatever their role.
    func identify(_ request: Request) throws -> Caller {
        guard let header = request.headers[.authorization] else {
            throw Gate.unauthorized(
                "this request needs a bearer token: Authorization: Bearer SECRET (sunledger token add)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Gate.unauthorized("the Authorization header must be: Bearer SECRET")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        switch try AccessTokens.admission(of: secret, in: ledger) {
        case .admitted(let token):
            return Caller(name: token.name, role: token.role)
        case .expired(let token, let since):
            throw Gate.unauthorized(
                "the bearer token of \(token.name) expired at \(since): "
                    + "an administrator issues a new one (sunledger token add --role \(token.role.rawValue) --name \(token.name))"
            )
        case .unknown:
            throw Gate.unauthorized("the bearer token is not valid: it was never issued or has been revoked")
        }
    }

    static func unauthorized(_ message: String) -> APIProblem {
        var problem = APIProblem(status: .unauthorized, message: message)
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"sunledger\""
        return problem
    }

    static func forbidden(_ role: Role, _ permission: Permission) -> APIProblem {
        let article = role == .admin || role == .auditor ? "an" : "a"
        return APIProblem(status: .forbidden, message: "\(article) \(role.rawValue) may not \(permission.phrase)")
    }
}

extension Permission {
    /// What the permission allows, after "may not".
    var phrase: String {
        switch self {
        case .append: "append events"
        case .read: "read the ledger"
        case .readMasked: "read personal data, even masked"
        case .readPersonalData: "read personal data"
        case .prove: "pull proofs or bundles"
        case .erase: "erase personal data"
        case .readAccessLog: "read the access log"
        }
    }
}

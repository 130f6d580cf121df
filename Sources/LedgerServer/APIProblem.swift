import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerApp
import LedgerValues

/// A refusal, answered as JSON: `{"error": "…", "problems": [{"line", "field", "rule"}]}`,
/// in the words the command line uses for the same fault.
struct APIProblem: Error {
    /// The HTTP status.
    let status: HTTPResponse.Status
    /// What is wrong, in a sentence.
    let message: String
    /// The rules broken, line by line (events of a batch are its lines, from 1).
    var problems: [LineError] = []
    /// Headers to add (`WWW-Authenticate` on a 401).
    var headers: HTTPFields = [:]

    /// The JSON body.
    var json: String {
        var object = JSONObject()
        object["error"] = .string(message)
        if !problems.isEmpty {
            object["problems"] = .array(
                problems.map { problem in
                    var entry = JSONObject()
                    entry["line"] = .integer(Int64(problem.line))
                    entry["field"] = .string(problem.field)
                    entry["rule"] = .string(problem.rule)
                    if problem.isVersionConflict { entry["conflict"] = .bool(true) }
                    return .object(entry)
                })
        }
        return String(decoding: CanonicalJSON.encode(.object(object)), as: UTF8.self)
    }

    /// The response that carries it.
    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json + "\n")))
    }

    static func badRequest(_ message: String) -> APIProblem { APIProblem(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> APIProblem { APIProblem(status: .notFound, message: message) }

    /// The problem an error of the ledger or the application is answered with.
    static func from(_ error: any Error) -> APIProblem {
        switch error {
        case let problem as APIProblem:
            return problem
        case let rejected as ImportRejected:
            let conflict = !rejected.errors.isEmpty && rejected.errors.allSatisfy(\.isVersionConflict)
            let count = rejected.rejectedLines
            return APIProblem(
                status: conflict ? .conflict : .unprocessableContent,
                message: conflict
                    ? "the stream has moved on: expectedVersion does not match; nothing was stored"
                    : "\(count) event\(count == 1 ? "" : "s") rejected; nothing was stored",
                problems: rejected.errors)
        case let error as AppError:
            if case .usage(let message) = error { return .badRequest(message) }
            return APIProblem(status: .internalServerError, message: error.description)
        case let error as LedgerError:
            switch error {
            case .noSuchLeaf, .noSuchTreeSize: return .notFound(error.description)
            case .earlierSizeTooLarge: return .badRequest(error.description)
            case .noMerkleTree: return APIProblem(status: .conflict, message: error.description)
            case .outOfSpace(let detail):
                // The command line's words ask to run the command again; a client sends its request again.
                return APIProblem(
                    status: .init(code: 507, reasonPhrase: "Insufficient Storage"),
                    message: "the ledger's disk is full (\(detail)): nothing of this request was stored, "
                        + "and nothing stored before was lost; send it again once space is freed")
            // An archived ledger on read-only media is served for reading only.
            case .readOnly: return APIProblem(status: .serviceUnavailable, message: error.description)
            default: return APIProblem(status: .internalServerError, message: error.description)
            }
        default:
            return APIProblem(status: .internalServerError, message: String(describing: error))
        }
    }
}

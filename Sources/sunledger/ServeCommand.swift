import ArgumentParser
import Foundation
import LedgerApp
import LedgerValues

extension Sunledger {
    struct Serve: LedgerCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract:
                "Serve the ledger over HTTP: the API for clerks, auditors and privacy officers, and the dashboard.",
            discussion: """
                The server is its own program, sunledger-server, built beside this one \
                (swift build -c release --product sunledger-server), so that this command line \
                builds without the HTTP stack. This command runs it with the same options and \
                the ledger. Requests need a bearer token (sunledger token add).
                """)

        @OptionGroup var options: LedgerOption
        @ParentCommand var root: Sunledger
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(parsing: .unconditional, help: "The port to listen on.") var port = 8080
        @Flag(
            name: .customLong("allow-local-dashboard"),
            help: "Serve the dashboard without a token to clients on this machine (loopback).")
        var allowLocalDashboard = false
        @Option(
            name: .customLong("max-body-bytes"), parsing: .unconditional,
            help: "The largest request body accepted (default 8 MiB).")
        var maxBodyBytes: Int?

        func run() throws {
            let directory = URL(fileURLWithPath: try executablePath()).deletingLastPathComponent().path
            let server = directory + "/sunledger-server"
            guard FileManager.default.isExecutableFile(atPath: server) else {
                throw ExitCodeMessage(
                    message: """
                        sunledger serve: the server is not built: there is no sunledger-server beside \(directory)/sunledger.
                        Build it with: swift build -c release --product sunledger-server
                        """, code: 2)
            }
            var arguments = [server, "--ledger", path, "--host", host, "--port", String(port)]
            if allowLocalDashboard { arguments.append("--allow-local-dashboard") }
            if let maxBodyBytes { arguments += ["--max-body-bytes", String(maxBodyBytes)] }
            fflush(nil)
            let argv = arguments.map { strdup($0) } + [nil]
            execv(server, argv)
            throw AppError.io("cannot run \(server): \(String(cString: strerror(errno)))")
        }

        /// The path of this program, from /proc/self/exe.
        private func executablePath() throws -> String {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard count > 0 else { return CommandLine.arguments[0] }
            return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Issue, list and revoke the bearer tokens of the HTTP API.",
            discussion: """
                Roles: clerk (append, read without personal data), auditor (read, masked \
                export, proofs, bundles), privacy (personal data with a purpose, erasure), admin \
                (everything). Only a hash of each secret is kept in the ledger; the secret \
                is printed once, when it is issued. A token is valid for a year unless \
                `token add --valid-for DAYS` says otherwise; once expired it is refused, and \
                `token add` issues its holder a new one.
                """,
            subcommands: [Add.self, List.self, Revoke.self])

        struct Add: LedgerCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Issue a token and print its secret, once.")

            @OptionGroup var options: LedgerOption
            @ParentCommand var token: Token
            var root: Sunledger { token.root }
            @Option(help: "What the token may do: clerk, auditor, privacy or admin.") var role: String
            @Option(help: "Who holds it (1–64 letters, digits or _ . @ -); named in the access log.")
            var name: String
            @Option(
                name: .customLong("valid-for"), parsing: .unconditional,
                help: ArgumentHelp(
                    "Days the token is valid, 1–3650; then it is refused until a new one is issued.",
                    valueName: "days"))
            var validDays = AccessTokens.defaultValidDays

            func validate() throws {
                guard Role(rawValue: role) != nil else {
                    throw ValidationError(
                        "--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")) (got \(Echo.quoted(role)))"
                    )
                }
                do {
                    try AccessTokens.checkName(name)
                    try AccessTokens.checkValidDays(validDays)
                } catch let error as AppError {
                    throw ValidationError(error.description)
                }
            }

            func run() throws {
                let issued = try AccessTokens.issue(
                    in: try open(create: true), name: name, role: Role(rawValue: role)!, validDays: validDays)
                print(issued.secret)
                let until = issued.token.expiresAt.map { ", valid until \($0)" } ?? ""
                printError(
                    "token issued to \(name) as \(role)\(until); the secret above is shown only now: keep it (Authorization: Bearer SECRET)"
                )
            }
        }

        struct List: LedgerCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List the tokens issued: name, role, when, and until when.")

            @OptionGroup var options: LedgerOption
            @ParentCommand var token: Token
            var root: Sunledger { token.root }
            @Flag(help: "Print the tokens as JSON Lines.") var json = false

            func run() throws {
                let tokens = try AccessTokens.list(in: try open())
                if json {
                    for token in tokens { print(token.json) }
                    return
                }
                guard !tokens.isEmpty else {
                    print("no tokens are issued")
                    return
                }
                let now = Instant.now()
                printTable(
                    header: ["name", "role", "issuedAt", "expiresAt"],
                    rows: tokens.map { token in
                        let expiry =
                            token.expiresAt.map { token.hasExpired(at: now) ? "\($0) (expired)" : $0.description }
                            ?? "never"
                        return [token.name, token.role.rawValue, token.issuedAt.description, expiry]
                    })
            }
        }

        struct Revoke: LedgerCommand {
            static let configuration = CommandConfiguration(
                commandName: "revoke", abstract: "Revoke the token a holder has.")

            @OptionGroup var options: LedgerOption
            @ParentCommand var token: Token
            var root: Sunledger { token.root }
            @Option(help: "The holder whose token is revoked.") var name: String

            func run() throws {
                guard try AccessTokens.revoke(in: try open(), name: name) else {
                    throw CommandFailure(message: "\(name) holds no token")
                }
                print("the token of \(name) is revoked")
            }
        }

        @ParentCommand var root: Sunledger
    }
}

/// A failure with its own exit status and message (the server not built: exit 2).
struct ExitCodeMessage: Error {
    let message: String
    let code: Int32
}

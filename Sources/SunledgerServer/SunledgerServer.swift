import ArgumentParser
import Foundation
import LedgerApp
import LedgerServer

/// `sunledger-server`: the HTTP API and dashboard of one ledger (what
/// `sunledger serve` runs).
@main
struct SunledgerServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sunledger-server",
        abstract:
            "Serve a Sunledger ledger over HTTP: the API for clerks, auditors and privacy officers, and the dashboard.")

    @Option(help: "The ledger directory (default: $SUNLEDGER_LEDGER, else ./ledger).") var ledger: String?
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "The port to listen on.") var port = 8080
    @Flag(
        name: .customLong("allow-local-dashboard"),
        help: "Serve the dashboard without a token to clients on this machine (loopback).")
    var allowLocalDashboard = false
    @Option(
        name: .customLong("max-body-bytes"), parsing: .unconditional,
        help: "The largest request body accepted (default 8 MiB).")
    var maxBodyBytes = ServerSettings.defaultMaxBodyBytes

    /// Parses the options as `sunledger` does (wrong usage exits 2, cli.md), then serves.
    static func main() async {
        let command: SunledgerServer
        do {
            command = try parse()
            if let problem = OptionsGivenOnce.problem(in: CommandLine.arguments.dropFirst()) {
                throw ValidationError(problem)
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
        do {
            try await command.run()
        } catch {
            // A failure ends as in `sunledger` (cli.md), which `sunledger serve` runs this for:
            // the ledger's by its kind, any other (an address in use) as the machine's, 3.
            FileHandle.standardError.write(Data("sunledger-server: \(error)\n".utf8))
            Foundation.exit(ExitStatus.of(error) ?? 3)
        }
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535 (got \(port))") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be more than 0") }
    }

    func run() async throws {
        let opened = try Ledger(
            path: Ledger.resolvePath(ledger), create: true, stateLag: LiveFigures.serverStateLag, defersStatePuts: true)
        let settings = ServerSettings(
            host: host, port: port, maxBodyBytes: maxBodyBytes, allowsLocalDashboard: allowLocalDashboard)
        let api = try LedgerAPI(ledger: opened, settings: settings)
        try await api.serve()
    }
}

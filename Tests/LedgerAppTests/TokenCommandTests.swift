import Foundation
import LedgerApp
import LedgerValues
import Testing

@Suite("sunledger token")
struct TokenCommandTests {
    @Test(
        "serve refuses options it cannot use as wrong usage (exit 2)",
        arguments: [
            (["--max-body-bytes", "0"], "--max-body-bytes must be more than 0"),
            (["--max-body-bytes", "-1"], "--max-body-bytes must be more than 0"),
            (["--port", "-1"], "--port must be 0–65535 (got -1)"),
            (["--port", "65536"], "--port must be 0–65535 (got 65536)"),
        ])
    func serveWrongUsage(_ arguments: [String], _ message: String) throws {
        try withScratch { dir in
            let result = try run(sunledgerPath, ["serve", "--ledger", dir + "/ledger"] + arguments)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test(
        "the server ends as every command does: a path that is no ledger directory or a repeated option is wrong usage (2), an address in use the machine's failure (3)"
    )
    func serverFailures() throws {
        try withScratch { dir in
            try "x".write(toFile: dir + "/afile", atomically: true, encoding: .utf8)
            let server = URL(fileURLWithPath: sunledgerPath).deletingLastPathComponent().path + "/sunledger-server"
            let notADirectory = try run(sunledgerPath, ["serve", "--ledger", dir + "/afile"])
            #expect(notADirectory.status == 2, "\(notADirectory.stderr)")
            #expect(notADirectory.stderr.contains("afile is a file, not a ledger directory"), "\(notADirectory.stderr)")
            let repeated = try run(server, ["--ledger", dir + "/a", "--port", "0", "--ledger=" + dir + "/afile"])
            #expect(repeated.status == 2, "\(repeated.stderr)")
            #expect(repeated.stderr.contains("Error: --ledger is given more than once; give it once"))
            #expect(repeated.stderr.contains("Usage: sunledger-server "), "\(repeated.stderr)")
            #expect(
                !FileManager.default.fileExists(atPath: dir + "/a")
                    && !FileManager.default.fileExists(atPath: dir + "/b"))

            // A port this test holds open.
            let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(held) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let listening = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(held, $0, length) == 0 && listen(held, 1) == 0 && getsockname(held, $0, &length) == 0
                }
            }
            try #require(listening)
            let port = Int(UInt16(bigEndian: address.sin_port))
            let inUse = try run(sunledgerPath, ["serve", "--ledger", dir + "/ledger", "--port", String(port)])
            #expect(inUse.status == 3, "\(inUse.stderr)")
            #expect(
                inUse.stderr.contains("cannot listen on 127.0.0.1 port \(port): Address already in use"),
                "\(inUse.stderr)")
        }
    }

    @Test("an option given twice to a token command is wrong usage, shown with that command's usage and help")
    func optionGivenTwice() throws {
        try withScratch { dir in
            let result = try sunledger(
                "token", "add", "--role", "clerk", "--name", "desk-1", "--name", "desk-2", "--ledger", dir + "/ledger")
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("Error: --name is given more than once; give it once"), "\(result.stderr)")
            #expect(result.stderr.contains("Usage: sunledger token add "), "\(result.stderr)")
            #expect(result.stderr.contains("See 'sunledger token add --help'"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/ledger"))
        }
    }

    @Test("token add prints the secret once; list shows holders without secrets; revoke ends a token")
    func lifecycle() throws {
        try withScratch { directory in
            let ledger = directory + "/ledger"
            let added = try sunledger("--ledger", ledger, "token", "add", "--role", "auditor", "--name", "audit-office")
            #expect(added.status == 0, "\(added.stderr)")
            let secret = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.utf8.count == 64 && secret.allSatisfy(\.isHexDigit))
            #expect(added.stderr.contains("shown only now"))
            let token = try #require(try AccessTokens.list(in: Ledger(path: ledger, create: false)).first)
            let expiresAt = try #require(token.expiresAt)
            // A year unless --valid-for says otherwise.
            #expect(expiresAt.milliseconds - token.issuedAt.milliseconds == 365 * 86_400_000)
            #expect(added.stderr.contains("valid until \(expiresAt)"), "\(added.stderr)")

            let listed = try sunledger("token", "list", "--ledger", ledger)
            #expect(listed.stdout.contains("audit-office"))
            #expect(listed.stdout.contains("auditor"))
            #expect(listed.stdout.contains("expiresAt"))
            #expect(listed.stdout.contains(expiresAt.description))
            #expect(!listed.stdout.contains(secret))
            #expect(try AccessTokens.holder(of: secret, in: Ledger(path: ledger, create: false))?.role == .auditor)

            let again = try sunledger("--ledger", ledger, "token", "add", "--role", "clerk", "--name", "audit-office")
            #expect(again.status == 2)
            #expect(again.stderr.contains("already holds a token"))

            #expect(try sunledger("--ledger", ledger, "token", "revoke", "--name", "audit-office").status == 0)
            #expect(try AccessTokens.holder(of: secret, in: Ledger(path: ledger, create: false)) == nil)
            #expect(try sunledger("--ledger", ledger, "token", "revoke", "--name", "audit-office").status == 1)
        }
    }

    @Test("token add --valid-for sets the days a token is valid, 1 to 3650; anything else is wrong usage (exit 2)")
    func validFor() throws {
        try withScratch { directory in
            let ledger = directory + "/ledger"
            for days in ["0", "-5", "3651"] {
                let run = try sunledger(
                    "--ledger", ledger, "token", "add", "--role", "clerk", "--name", "x", "--valid-for", days)
                #expect(run.status == 2, "\(days): \(run.stderr)")
                #expect(run.stderr.contains("a token is valid for 1 to 3650 days (got \(days))"), "\(run.stderr)")
                #expect(run.stderr.contains("Usage: sunledger token add "), "\(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: ledger))
            let run = try sunledger(
                "--ledger", ledger, "token", "add", "--role", "clerk", "--name", "x", "--valid-for", "30")
            #expect(run.status == 0, "\(run.stderr)")
            let token = try #require(try AccessTokens.list(in: Ledger(path: ledger, create: false)).first)
            #expect(try #require(token.expiresAt).milliseconds - token.issuedAt.milliseconds == 30 * 86_400_000)
            let listed = try sunledger("token", "list", "--json", "--ledger", ledger)
            #expect(listed.stdout.contains("\"expiresAt\":\"\(token.expiresAt!)\""), "\(listed.stdout)")
        }
    }

    @Test("token add refuses a role that does not exist, in words (exit 2)")
    func badRole() throws {
        try withScratch { directory in
            let run = try sunledger("--ledger", directory + "/ledger", "token", "add", "--role", "boss", "--name", "x")
            #expect(run.status == 2)
            #expect(run.stderr.contains("--role must be one of clerk, auditor, privacy, admin"))
        }
    }
}

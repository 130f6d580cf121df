import EventStore
import LMDBKit

/// The exit status cli.md gives a command that failed on the ledger: 1 when
/// what the ledger holds (or lacks) fails the command's check, 2 for wrong
/// usage, 3 when the machine failed it (a full disk, a file that cannot be read).
/// Shared by `sunledger` and `sunledger-server`, so that `sunledger serve`
/// ends as every other command does.
public enum ExitStatus {
    /// The status for an error of the ledger, its vault or this layer; nil for
    /// any other error (the command line's parser words and numbers its own).
    public static func of(_ error: any Error) -> Int32? {
        switch error {
        case let error as LedgerError:
            switch error {
            case .noLedger, .rejected, .damaged, .dataFileCutShort, .damagedTree, .noMerkleTree: 1
            // A seq or tree size the ledger does not have was asked for.
            case .noSuchTreeSize, .noSuchLeaf, .earlierSizeTooLarge: 2
            // A path that names no ledger.
            case .notALedger: 2
            case .outOfSpace, .readOnly, .noSuchProjection: 3
            }
        case let error as LMDBError where error.isStorageDamage: 1
        case is VaultKeys.Problem: 1
        case let error as AppError:
            switch error {
            case .usage: 2
            // Stored figures that cannot be trusted fail the command's check.
            case .figures: 1
            case .io, .seeds: 3
            }
        default: nil
        }
    }
}

/// An option of the command line is read once, unless its command says it may
/// be repeated (restatement's `--known-at`): given twice, the parser would keep
/// the last silently, and `sunledger --ledger A verify --ledger B` would verify
/// B alone, or a script's second `--as-of` would win unseen. Such a command line
/// is wrong usage, as a repeated query parameter is over HTTP.
public enum OptionsGivenOnce {
    /// What is wrong with `arguments` when an option other than those in
    /// `except` is given twice (`--ledger is given more than once; give it once`); nil when none is.
    public static func problem(in arguments: some Sequence<String>, except: Set<String> = []) -> String? {
        firstRepeated(in: arguments, except: except).map { "\($0) is given more than once; give it once" }
    }

    /// The first long option (`--as-of`, however its value is given) that
    /// appears twice in `arguments` before any `--`, other than those in `except`.
    private static func firstRepeated(in arguments: some Sequence<String>, except: Set<String>) -> String? {
        var seen: Set<Substring> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let name = argument.prefix { $0 != "=" }
            if !seen.insert(name).inserted && !except.contains(String(name)) { return String(name) }
        }
        return nil
    }
}

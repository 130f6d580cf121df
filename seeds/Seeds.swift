import Foundation

/// The reference data the ledger runs on (units, catalogues, targets), shipped
/// as the JSON files beside this one: they are the one source of truth, read at
/// run time and never copied into code.
public enum Seeds {
    /// The environment variable naming a directory whose files override the
    /// shipped ones, so that a federation can change reference data (a target,
    /// say) without rebuilding.
    public static let overrideVariable = "SUNLEDGER_SEEDS"

    /// The bytes of the seed file `name` (e.g. `units.json`): from
    /// `$SUNLEDGER_SEEDS` when it holds that file, else the copy built with the program.
    public static func data(named name: String) throws -> Data {
        if let directory = ProcessInfo.processInfo.environment[overrideVariable] {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return try Data(contentsOf: url) }
        }
        let stem = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: stem, withExtension: ext) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
        }
        return try Data(contentsOf: url)
    }
}

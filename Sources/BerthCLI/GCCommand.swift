import ArgumentParser
import Berth

/// `berth gc`: the reconciler on demand (`NetworkController.gc`).
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove everything of Berth's that no record explains; repair what records say must exist.",
        discussion: """
        Prints one line per object removed ("removed KIND NAME: REASON") or repaired ("repaired \
        KIND NAME: REASON"); --dry-run prints the same lines ("would remove", "would repair") and \
        changes nothing. With --valid-endpoints (comma-separated endpoint IDs or unique ID \
        prefixes such as the 12-character short IDs, possibly empty), every recorded endpoint not \
        listed is released as well (the shape of CNI's GC); an entry that matches no endpoint is \
        allowed and noted on stderr.
        """)
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("dry-run"), help: "Only print what would be removed and repaired; change nothing.") var dryRun = false
    @Option(name: .customLong("valid-endpoints"), help: "Comma-separated IDs (or unique ID prefixes) of the endpoints still in use.") var validEndpoints: String?

    func run() throws {
        try Failure.guarded {
            let valid = validEndpoints.map { $0.split(separator: ",").map { String($0) }.filter { !$0.isEmpty } }
            let controller = try global.controller(setUpHost: !dryRun)
            if let valid {
                for entry in try controller.unmatchedEndpoints(valid) {
                    FileHandleOutput.stderr("berth: note: --valid-endpoints entry \(entry) matches no recorded endpoint (kept as unknown)")
                }
            }
            let report = try controller.gc(validEndpoints: valid, dryRun: dryRun)
            if global.json { print(try JSONText.encode(report)); return }
            let verb = dryRun ? "would remove" : "removed"
            for item in report.removed { print("\(verb) \(item)") }
            for item in report.repaired { print("\(dryRun ? "would repair" : "repaired") \(item)") }
        }
    }
}

import ArgumentParser
import Berth

/// `berth gc`: the reconciler on demand (`NetworkController.gc`).
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove everything of Berth's that no record explains; repair what records say must exist.",
        discussion: """
        Prints one line per object removed ("removed KIND NAME: REASON") or repaired. With \
        --valid-endpoints (comma-separated endpoint IDs, possibly empty), every recorded endpoint \
        not listed is released as well (the shape of CNI's GC).
        """)
    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("dry-run"), help: "Only print what would be removed; change nothing.") var dryRun = false
    @Option(name: .customLong("valid-endpoints"), help: "Comma-separated IDs of the endpoints still in use.") var validEndpoints: String?

    func run() throws {
        try Failure.guarded {
            let valid = validEndpoints.map { $0.split(separator: ",").map { String($0) }.filter { !$0.isEmpty } }
            let report = try global.controller(setUpHost: !dryRun).gc(validEndpoints: valid, dryRun: dryRun)
            if global.json { print(try JSONText.encode(report)); return }
            let verb = dryRun ? "would remove" : "removed"
            for item in report.removed { print("\(verb) \(item)") }
            for item in report.repaired { print("\(dryRun ? "would repair" : "repaired") \(item)") }
        }
    }
}

import Foundation

/// The `berth` executable of this build: `BERTH_BIN` when set, else the first `berth` found
/// walking up from the test bundle (SwiftPM puts both in the same build folder); `berth` on PATH
/// as a last resort.
package enum BerthBinary {
    package static let path: String = {
        if let env = ProcessInfo.processInfo.environment["BERTH_BIN"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("berth").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "berth"
    }()
}

/// The `berth-proxy` executable of this build (the userland proxy): `BERTH_PROXY_BIN` when set,
/// else the one next to `BerthBinary.path` (SwiftPM builds both into one folder).
package enum BerthProxyBinary {
    package static let path: String = {
        if let env = ProcessInfo.processInfo.environment["BERTH_PROXY_BIN"] { return env }
        return URL(fileURLWithPath: BerthBinary.path).deletingLastPathComponent().appendingPathComponent("berth-proxy").path
    }()
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ControllerConfiguration {
    /// The `berth-proxy` a Berth executable uses when none is configured: the one in the running
    /// executable's own directory (`/proc/self/exe`, links resolved: a build folder, or
    /// /usr/local/bin after scripts/install.sh, also when a runtime runs the CNI plugin through
    /// /opt/cni/bin/berth), else `defaultUserlandProxyPath`. For the CLI and the CNI plugin
    /// (one place); an embedding program sets `userlandProxyPath` itself.
    package static var userlandProxyNextToExecutable: String {
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
           let slash = exe.lastIndex(of: "/") {
            let sibling = String(exe[..<slash]) + "/berth-proxy"
            if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        }
        return defaultUserlandProxyPath
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension ControllerConfiguration {
    /// The `berth-proxy` a Berth executable uses when none is configured: the one in the running
    /// executable's own directory (`/proc/self/exe`, links resolved: a build folder, or
    /// /usr/local/bin after scripts/install.sh, also when a runtime runs the CNI plugin through
    /// /opt/cni/bin/berth), else `defaultUserlandProxyPath`. For the CLI and the CNI plugin
    /// (one place); an embedding program sets `userlandProxyPath` itself.
    package static var userlandProxyNextToExecutable: String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") {
                let sibling = String(exe[..<slash]) + "/berth-proxy"
                if access(sibling, X_OK) == 0 { return sibling }
            }
        }
        return defaultUserlandProxyPath
    }
}

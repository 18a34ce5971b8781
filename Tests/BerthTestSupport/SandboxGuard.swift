import Foundation

/// The sandbox guard. Kernel tests are enabled only inside the sandbox that the test command
/// creates (`unshare --net --mount`, scripts/test.sh), so they can never touch the machine's own
/// namespace. The other helpers extend this namespace-less enum.
package enum Sandbox {
    /// True when the test command marked this process (`BERTH_SANDBOX=1`) and it runs in a network
    /// namespace other than the machine's (`BERTH_HOST_NETNS`, recorded before `unshare`) and
    /// pid 1's (when readable).
    package static let isActive: Bool = {
        let env = ProcessInfo.processInfo.environment
        guard env["BERTH_SANDBOX"] == "1", let host = env["BERTH_HOST_NETNS"],
              let mine = inode("/proc/self/ns/net") else { return false }
        if let pid1 = inode("/proc/1/ns/net"), pid1 == mine { return false }
        return String(mine) != host
    }()

    private static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }
}

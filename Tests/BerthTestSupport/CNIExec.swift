import Foundation

/// Execs a CNI plugin exactly as a runtime does (CNI spec 1.1, "Protocol"): the CNI_* variables in
/// a clean environment, the network configuration on stdin, run inside `hostNetns` (the plugin's
/// "host" namespace, via `ip netns exec`), the result or error JSON read from stdout.
package struct CNIExec: Sendable {
    /// The plugin binary (default: this build's `berth`).
    package var plugin: String
    /// The namespace the plugin runs in (its host side).
    package var hostNetns: String
    /// CNI_PATH.
    package var path = "/usr/lib/cni"

    package init(plugin: String = BerthBinary.path, hostNetns: String) {
        self.plugin = plugin
        self.hostNetns = hostNetns
    }

    package struct Reply: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String
        /// stdout parsed as a JSON object (nil when empty or not an object).
        package var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
        /// The error code of an error reply.
        package var code: Int? { json?["code"] as? Int }
    }

    /// One exec: `command` (ADD, DEL, CHECK, VERSION, STATUS, GC) with `stdin`.
    @discardableResult
    package func run(_ command: String, containerID: String = "", netns: String = "", ifname: String = "", args: String = "",
                     stdin: String, extraEnv: [String: String] = [:]) throws -> Reply {
        var env = ["CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": netns, "CNI_IFNAME": ifname,
                   "CNI_ARGS": args, "CNI_PATH": path, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        for (k, v) in extraEnv { env[k] = v }
        let argv = ["ip", "netns", "exec", hostNetns, "/usr/bin/env", "-i"] + env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + [plugin]
        let r = try Sandbox.run(argv, stdin: stdin)
        return Reply(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// A JSON text of `object` (keys sorted).
    package static func json(_ object: [String: Any]) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

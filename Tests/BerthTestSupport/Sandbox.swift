import Foundation

/// Test helpers: the sandbox guard, independent observers (`ip -j`, `bridge -j`, `/proc/sys`,
/// `ping`) and unique names. Kernel tests are enabled only inside the sandbox that the test command
/// creates (`unshare --net --mount`), so they can never touch the machine's own namespace.
public enum Sandbox {
    /// True when the test command marked this process (`BERTH_SANDBOX=1`) and it runs in a network
    /// namespace other than the machine's (`BERTH_HOST_NETNS`, recorded before `unshare`) and
    /// pid 1's (when readable).
    public static let isActive: Bool = {
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

    /// A short unique suffix (hex) for link and namespace names.
    public static func unique(_ prefix: String, length: Int = 6) -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return prefix + String(String(repeating: "0", count: 16 - hex.count) + hex).prefix(length)
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program (argv, no shell) and returns its exit status and output.
    @discardableResult
    public static func run(_ argv: [String], stdin: String? = nil) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    /// `ip [-n NS] -j ARGS...` parsed as a JSON array of objects.
    public static func ipJSON(_ args: [String], netns: String? = nil) throws -> [[String: Any]] {
        var argv = ["ip"]
        if let netns { argv += ["-n", netns] }
        argv += ["-j"] + args
        let r = try run(argv)
        guard r.status == 0 else { throw SandboxError.command(argv.joined(separator: " "), r.stderr) }
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// `ip -j -d link show NAME` in `netns`, or nil when the link does not exist.
    public static func link(_ name: String, netns: String? = nil) throws -> [String: Any]? {
        var argv = ["ip"]
        if let netns { argv += ["-n", netns] }
        argv += ["-j", "-d", "link", "show", "dev", name]
        let r = try run(argv)
        if r.status != 0 { return nil }
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first
    }

    /// The link names of `netns`, from `ip -j link`.
    public static func linkNames(netns: String? = nil) throws -> [String] {
        try ipJSON(["link", "show"], netns: netns).compactMap { $0["ifname"] as? String }
    }

    /// IPv4 addresses (`a.b.c.d/len`) of a link, from `ip -j addr`.
    public static func ipv4Addresses(_ name: String, netns: String? = nil) throws -> [String] {
        try ipJSON(["-4", "addr", "show", "dev", name], netns: netns).flatMap { entry -> [String] in
            ((entry["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
                guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
                return "\(local)/\(len)"
            }
        }
    }

    /// Runs a command inside a named namespace (`ip netns exec NS ...`).
    @discardableResult
    public static func exec(_ netns: String, _ argv: [String]) throws -> Output {
        try run(["ip", "netns", "exec", netns] + argv)
    }

    /// Up to three ICMP echoes 0.2 s apart from `netns` to `address`, each waiting at most 1 s;
    /// true when any is answered (one lost first packet, e.g. to ARP on a loaded machine, is not
    /// a failure).
    public static func ping(from netns: String, _ address: String) throws -> Bool {
        try exec(netns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-q", address]).status == 0
    }

    /// Names under /run/netns.
    public static func namedNamespaces() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
    }

    /// Creates a named namespace with iproute2 (the independent tool), `lo` up.
    public static func addNamespace(_ name: String) throws {
        let r = try run(["ip", "netns", "add", name])
        guard r.status == 0 else { throw SandboxError.command("ip netns add \(name)", r.stderr) }
        try run(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// Deletes a named namespace with iproute2, ignoring errors.
    public static func deleteNamespace(_ name: String) {
        _ = try? run(["ip", "netns", "del", name])
    }
}

public enum SandboxError: Error, CustomStringConvertible {
    case command(String, String)
    public var description: String {
        switch self {
        case .command(let c, let e): "\(c) failed: \(e)"
        }
    }
}

import BerthTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A world of its own for crash tests: a private mount namespace held by one `sleep` process
/// this lab starts (entered with `nsenter --mount=/proc/PID/ns/mnt`) with a fresh `/run/netns`,
/// a "host" network namespace inside it and a state directory. Every `berth` run and every
/// observer runs in it, so `ip netns list` shows only what this lab made, whatever other tests
/// do in parallel. Dropping the lab kills the holder (by pid): every namespace in it goes.
final class CrashLab: @unchecked Sendable {  // userSandboxes is only changed before concurrent use
    let backend: String
    let directory: String
    let mountFile: String
    let stateDirectory: String
    let hostName = "host"
    /// Namespaces the test made itself (not Berth's to remove).
    private(set) var userSandboxes: [String] = []

    init(backend: String) throws {
        self.backend = backend
        directory = NSTemporaryDirectory() + Sandbox.unique("berth-lab-", length: 10)
        stateDirectory = directory + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        holder.arguments = ["--mount", "--propagation", "private", "--", "sh", "-c",
                            "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 berth-lab /run/netns && echo ready && exec sleep 100000"]
        let out = Pipe()
        holder.standardOutput = out
        holder.standardInput = FileHandle.nullDevice
        try holder.run()
        self.holder = holder
        mountFile = "/proc/\(holder.processIdentifier)/ns/mnt"
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw SandboxError.command("unshare --mount (lab holder)", "exited") }
            seen += chunk
        }
        try addUserSandbox(hostName, record: false)
    }

    private let holder: Process

    deinit {
        // Userland proxies live in the lab's host namespace and would keep it (and themselves) alive.
        for pid in Consistency.proxyPids(stateDirectory) { kill(pid, SIGKILL) }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// argv run inside the lab's mount namespace (nsenter execs it: same pid).
    func argv(_ command: [String]) -> [String] { ["nsenter", "--mount=\(mountFile)", "--"] + command }

    @discardableResult
    func run(_ command: [String]) throws -> Sandbox.Output { try Sandbox.run(argv(command)) }

    /// `berth SUBCOMMAND… GLOBAL-OPTIONS ARGS…`.
    func berthArgv(_ args: [String]) -> [String] {
        let sub = args.prefix { !$0.hasPrefix("-") && ["network", "create", "rm", "ls", "inspect", "attach", "detach", "run", "gc"].contains($0) }
        let global = ["--backend", backend, "--state-dir", stateDirectory, "--host-netns", hostName]
        return argv([BerthBinary.path] + Array(sub) + global + Array(args.dropFirst(sub.count)))
    }

    @discardableResult
    func berth(_ args: [String], environment: [String: String] = [:]) throws -> LabOutput {
        try CrashProcess.run(berthArgv(args), environment: environment)
    }

    func addUserSandbox(_ name: String, record: Bool = true) throws {
        let r = try run(["ip", "netns", "add", name])
        guard r.status == 0 else { throw SandboxError.command("ip netns add \(name)", r.stderr) }
        try run(["ip", "-n", name, "link", "set", "lo", "up"])
        if record { userSandboxes.append(name) }
    }

    func ipJSON(_ args: [String], netns: String? = nil) throws -> [[String: Any]] {
        var argv = ["ip"]
        if let netns { argv += ["-n", netns] }
        let r = try run(argv + ["-j"] + args)
        guard r.status == 0 else { throw SandboxError.command((argv + args).joined(separator: " "), r.stderr) }
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    @discardableResult func hostExec(_ command: [String]) throws -> Sandbox.Output { try run(["ip", "netns", "exec", hostName] + command) }
}

/// Child processes with an environment and, for random kills, their pid.
enum CrashProcess {
    static func start(_ argv: [String], environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        var env = ProcessInfo.processInfo.environment
        env["BERTH_CRASH_AFTER"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    static func finish(_ started: (Process, Pipe, Pipe)) -> LabOutput {
        let (p, out, err) = started
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return LabOutput(status: status, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func run(_ argv: [String], environment: [String: String] = [:]) throws -> LabOutput {
        finish(try start(argv, environment: environment))
    }
}

struct LabOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

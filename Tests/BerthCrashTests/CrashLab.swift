import BerthTestSupport
import Foundation

/// A world of its own for crash tests: a persistent private mount namespace (bound to a file, so
/// separate processes can enter it with `nsenter --mount=FILE`) with a fresh `/run/netns`, a
/// "host" network namespace inside it and a state directory. Every `berth` run and every
/// observer runs in it, so `ip netns list` shows only what this lab made, whatever other tests
/// do in parallel. Dropping the lab unmounts the namespace file: every namespace in it goes.
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
        mountFile = directory + "/mnt"
        stateDirectory = directory + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: mountFile, contents: nil)
        let made = try Sandbox.run(["unshare", "--mount=\(mountFile)", "--propagation", "private", "--", "sh", "-c",
                                    "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 berth-lab /run/netns"])
        guard made.status == 0 else { throw SandboxError.command("unshare --mount=\(mountFile)", made.stderr) }
        try addUserSandbox(hostName, record: false)
    }

    deinit {
        _ = try? Sandbox.run(["umount", "-l", mountFile])
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
        return argv([CrashBinary.path] + Array(sub) + global + Array(args.dropFirst(sub.count)))
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

    func hostExec(_ command: [String]) throws -> Sandbox.Output { try run(["ip", "netns", "exec", hostName] + command) }
}

/// The built `berth` binary, next to the test bundle.
enum CrashBinary {
    static let path: String = {
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

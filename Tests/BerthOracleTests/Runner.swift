import BerthTestSupport
import Foundation
import Glibc

/// A finished command: exit status (128 + signal when killed) and its output.
struct Output: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The oracle's process runner: posix_spawnp with stdin from /dev/null and stdout/stderr in
/// temporary files, then waitpid on that pid. Foundation's Process is not used here: a child that
/// leaves daemons behind (scripts/oracle-dockerd.sh start) was never reaped by it in this test
/// process (seen as a zombie with `waitUntilExit` blocked).
enum Run {
    @discardableResult
    static func run(_ argv: [String]) throws -> Output {
        let base = NSTemporaryDirectory() + "/berth-oracle-out-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let outPath = base + ".out", errPath = base + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw SandboxError.command(argv.joined(separator: " "), String(cString: strerror(rc))) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Output(status: code, stdout: out, stderr: err)
    }

    @discardableResult
    static func check(_ argv: [String]) throws -> Output {
        let r = try run(argv)
        guard r.status == 0 else { throw SandboxError.command(argv.joined(separator: " "), r.stderr) }
        return r
    }

    /// `ip netns exec NS ARGV`.
    static func exec(_ netns: String, _ argv: [String]) throws -> Output {
        try run(["ip", "netns", "exec", netns] + argv)
    }
}

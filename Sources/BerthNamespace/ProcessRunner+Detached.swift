internal import CBerthShims
#if canImport(Glibc)
import Glibc
#endif

extension ProcessRunner {
    /// Starts a long-lived helper (the userland proxy) that outlives this process: a new session
    /// (`POSIX_SPAWN_SETSID`, so no terminal signal reaches it), no parent-death signal, standard
    /// input, output and error on `/dev/null`, the fixed environment, inside `namespace`. The
    /// child reports its start-up on descriptor 3 (docker-proxy's protocol: `0\n` ready, `1\n`
    /// + reason failed); this waits for that line or EOF.
    /// - Returns: the pid, once the child said `0`.
    /// - Throws: `ProcessFailure`: spawn failed; the child failed (`detail`: its reason; it was
    ///   reaped); no answer within `timeoutMilliseconds` (it was killed and reaped).
    package static func spawnDetached(_ argv: [String], in namespace: NetworkNamespace?,
                                      timeoutMilliseconds: Int32 = 5_000) throws(ProcessFailure) -> Int32 {
        guard let path = argv.first, path.hasPrefix("/") else {
            throw ProcessFailure(errno: nil, step: "spawn", detail: "argv[0] must be absolute")
        }
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if socketpair(AF_UNIX, type, 0, &pair) != 0 { throw ProcessFailure(errno: .current, step: "socketpair") }
        defer { for fd in pair where fd >= 0 { close(fd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)   // dup2 clears close-on-exec on 3
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | berth_posix_spawn_setsid())
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { for p in cArgv + cEnv { free(p) } }
        var pid: Int32 = 0
        let rc: Int32
        if let namespace {
            do {
                rc = try NamespaceThread.shared.run(in: namespace) { posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv) }
            } catch {
                throw ProcessFailure(errno: error.namespaceError.errno, step: "enter netns", namespace: error.namespaceError)
            }
        } else {
            rc = posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv)
        }
        if rc != 0 { throw ProcessFailure(errno: Errno(rc), step: "posix_spawn \(path)") }
        close(pair[1]); pair[1] = -1

        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        var fds = [pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)]
        while !answer.contains(UInt8(ascii: "\n")) || (answer.first == UInt8(ascii: "1") && answer.count < 512) {
            let n = poll(&fds, 1, timeoutMilliseconds)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                kill(pid, SIGKILL)
                _ = reapChild(pid)
                throw ProcessFailure(errno: nil, step: path, detail: "no start-up answer within \(timeoutMilliseconds) ms")
            }
            let got = buffer.withUnsafeMutableBytes { read(pair[0], $0.baseAddress, $0.count) }
            if got <= 0 { break }
            answer += buffer[0..<got]
        }
        if answer.first == UInt8(ascii: "0") { return pid }
        kill(pid, SIGKILL)
        _ = reapChild(pid)
        let text = String(decoding: answer.dropFirst(2), as: UTF8.self).trimmingSuffixNewlines
        throw ProcessFailure(errno: nil, step: path, detail: text.isEmpty ? "exited before it was ready" : text)
    }

    /// Reaps `pid` if it is this process's child (blocking until it exits); false when it is not
    /// a child (ECHILD).
    @discardableResult
    package static func reapChild(_ pid: Int32, wait: Bool = true) -> Bool {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, wait ? 0 : WNOHANG)
            if r >= 0 { return r == pid }
            if errno != EINTR { return false }
        }
    }
}

private extension String {
    var trimmingSuffixNewlines: String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one child process.
package struct ProcessOutput: Sendable, Equatable {
    /// Exit status (0–255), or 128 + signal number when the child was killed by a signal.
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

/// Why a child could not be run (spawn or I/O failed, or the namespace could not be entered; its
/// exit status is not an error here).
///
/// `description` reads like `"posix_spawn /usr/sbin/iptables-restore: No such file or directory"`.
public struct ProcessFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno of the failing call; nil when the failure is ours (time-out, bad argv).
    public var errno: Errno?
    /// The step that failed, e.g. `"posix_spawn /usr/sbin/iptables"`, `"poll"`.
    public var step: String
    /// Our own explanation when there is no errno.
    public var detail: String?
    /// Set when the network namespace to spawn in could not be entered.
    public var namespace: NamespaceError?

    public init(errno: Errno?, step: String, detail: String? = nil, namespace: NamespaceError? = nil) {
        self.errno = errno
        self.step = step
        self.detail = detail
        self.namespace = namespace
    }

    public var description: String {
        if let namespace { return namespace.description }
        return "\(step): \(detail ?? errno?.description ?? "failed")"
    }
}

/// Runs one program with `posix_spawn(3)` (argv only, never a shell; absolute path; fixed minimal
/// environment), feeds `stdin` through a socket pair (so a child that exits early cannot raise
/// SIGPIPE in this process: writes use `MSG_NOSIGNAL`), and captures stdout and stderr (also socket pairs) with
/// a `poll(2)` loop. With a namespace, only the spawn itself runs on the namespace thread inside it:
/// the child inherits the spawning thread's network namespace. All unsafe pointer work of the
/// process spawning of the project lives in this file.
package enum ProcessRunner {
    /// The fixed environment of children started by `run`.
    package static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]

    /// - Parameters:
    ///   - argv: `argv[0]` must be an absolute path.
    ///   - stdin: text written to the child's standard input, then EOF (nil: EOF at once).
    ///   - namespace: the network namespace the child runs in (nil: the caller's).
    ///   - timeoutMilliseconds: the child is killed (SIGKILL) after this long.
    /// - Throws: `ProcessFailure` (spawn ENOENT/EACCES, pipe, poll, the time-out, or — in
    ///   `namespace` — the `NamespaceError` of entering the namespace).
    package static func run(_ argv: [String], stdin: String?, in namespace: NetworkNamespace?,
                    timeoutMilliseconds: Int32 = 60_000) throws(ProcessFailure) -> ProcessOutput {
        var inPair: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        defer { for fd in inPair + outPipe + errPipe where fd >= 0 { close(fd) } }
        // Socket pairs, not pipes: created close-on-exec atomically (pipe2 needs _GNU_SOURCE)
        // and writable with MSG_NOSIGNAL.
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if socketpair(AF_UNIX, type, 0, &inPair) != 0 { throw ProcessFailure(errno: .current, step: "socketpair") }
        if socketpair(AF_UNIX, type, 0, &outPipe) != 0 { throw ProcessFailure(errno: .current, step: "socketpair") }
        if socketpair(AF_UNIX, type, 0, &errPipe) != 0 { throw ProcessFailure(errno: .current, step: "socketpair") }

        let pid = try spawn(argv, stdio: (inPair[1], outPipe[1], errPipe[1]), in: namespace)
        // The child has its copies; close ours so EOF arrives when it exits.
        close(inPair[1]); inPair[1] = -1
        close(outPipe[1]); outPipe[1] = -1
        close(errPipe[1]); errPipe[1] = -1
        var input = Array((stdin ?? "").utf8)
        if input.isEmpty { close(inPair[0]); inPair[0] = -1 }
        var out: [UInt8] = []
        var err: [UInt8] = []
        let ioFailure = pump(input: &input, inFD: &inPair[0], outFD: &outPipe[0], errFD: &errPipe[0],
                             out: &out, err: &err, timeoutMilliseconds: timeoutMilliseconds)
        if ioFailure != nil { kill(pid, SIGKILL) }
        let status = reap(pid)
        if let ioFailure { throw ioFailure }
        return ProcessOutput(status: status, stdout: String(decoding: out, as: UTF8.self),
                             stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs a program with the caller's standard input, output and error (as `berth run` does):
    /// `argv[0]` is looked up in PATH when it has no `/`; `environment` is passed as is.
    /// - Returns: the exit status (0–255), or 128 + the signal number.
    /// - Throws: `ProcessFailure` (spawn failed: ENOENT, EACCES; or `namespace` set when the
    ///   namespace could not be entered).
    package static func runInheritingStdio(_ argv: [String], environment: [String], in namespace: NetworkNamespace?) throws(ProcessFailure) -> Int32 {
        wait(try spawnInheritingStdio(argv, environment: environment, in: namespace))
    }

    /// Starts a program as `runInheritingStdio` does and returns its pid without waiting; pair
    /// with `wait(_:)`. With `killedWithParent`, the child gets SIGKILL when this process dies
    /// (`ProcessRunner+ParentDeath`).
    package static func spawnInheritingStdio(_ argv: [String], environment: [String], in namespace: NetworkNamespace?,
                                             killedWithParent: Bool = false) throws(ProcessFailure) -> pid_t {
        let argv = killedWithParent ? Self.killedWithParent(argv, environment: environment) : argv
        return try spawn(argv, stdio: nil, environment: environment, searchPath: true, in: namespace)
    }

    /// Waits for a child started by `spawnInheritingStdio`: its exit status, or 128 + signal.
    package static func wait(_ pid: pid_t) -> Int32 { reap(pid) }

    /// - Parameter stdio: descriptors to install as 0, 1, 2 in the child; nil keeps the caller's.
    private static func spawn(_ argv: [String], stdio: (Int32, Int32, Int32)?, environment: [String] = environment,
                              searchPath: Bool = false, in namespace: NetworkNamespace?) throws(ProcessFailure) -> pid_t {
        guard let path = argv.first, path.hasPrefix("/") || (searchPath && !path.isEmpty) else {
            throw ProcessFailure(errno: nil, step: "spawn", detail: "argv[0] must be absolute")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let (stdin, stdout, stderr) = stdio {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
            posix_spawn_file_actions_adddup2(&actions, stdout, 1)
            posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        // The child starts with default dispositions even when this process ignores these
        // (`berth run` ignores the terminal's signals while it forwards them to its child).
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { for p in cArgv + cEnv { free(p) } }

        var pid = pid_t()
        let rc: Int32
        let call = { searchPath ? posix_spawnp(&pid, path, &actions, &attributes, cArgv, cEnv)
                                : posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnv) }
        if let namespace {
            do {
                rc = try NamespaceThread.shared.run(in: namespace) { call() }
            } catch {
                throw ProcessFailure(errno: error.namespaceError.errno, step: "enter netns", namespace: error.namespaceError)
            }
        } else {
            rc = call()
        }
        if rc != 0 { throw ProcessFailure(errno: Errno(rc), step: "posix_spawn \(path)") }
        return pid
    }

    /// Writes `input`, reads both outputs until EOF. Returns a failure instead of throwing so the
    /// caller can kill and reap the child first.
    private static func pump(input: inout [UInt8], inFD: inout Int32, outFD: inout Int32, errFD: inout Int32,
                             out: inout [UInt8], err: inout [UInt8], timeoutMilliseconds: Int32) -> ProcessFailure? {
        var written = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while outFD >= 0 || errFD >= 0 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed = Int64(now.tv_sec - start.tv_sec) * 1000 + Int64(now.tv_nsec - start.tv_nsec) / 1_000_000
            let remaining = Int64(timeoutMilliseconds) - elapsed
            if remaining <= 0 {
                return ProcessFailure(errno: nil, step: "wait for child", detail: "timed out after \(timeoutMilliseconds) ms")
            }

            var fds: [pollfd] = []
            if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), Int32(min(remaining, Int64(Int32.max))))
            if n < 0 {
                let failure = Errno.current
                if failure.rawValue == EINTR { continue }
                return ProcessFailure(errno: failure, step: "poll")
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inFD {
                    // MSG_DONTWAIT: a blocking send of the whole rest would wait for the child
                    // to read it while the child waits for us to drain its stdout (deadlock).
                    let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
                    let sent = input.withUnsafeBytes { raw in
                        send(inFD, raw.baseAddress.map { $0 + written }, raw.count - written, flags)
                    }
                    if sent > 0 { written += sent }
                    let sendErrno = sent < 0 ? Errno.current.rawValue : 0
                    if sent < 0 && sendErrno != EINTR && sendErrno != EAGAIN {
                        // The child closed its input early (EPIPE): it will report why on stderr.
                        written = input.count
                    }
                    if written >= input.count { close(inFD); inFD = -1 }
                } else {
                    let isOut = entry.fd == outFD
                    let got = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                    let readErrno = got < 0 ? Errno.current.rawValue : 0
                    if got > 0 {
                        if isOut { out += buffer[0..<got] } else { err += buffer[0..<got] }
                    } else if got == 0 || (readErrno != EINTR && readErrno != EAGAIN) {
                        close(entry.fd)
                        if isOut { outFD = -1 } else { errFD = -1 }
                    }
                }
            }
        }
        return nil
    }

    /// Waits for the child; exit status, or 128 + signal.
    private static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 255 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

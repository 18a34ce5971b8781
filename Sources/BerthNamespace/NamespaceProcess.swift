#if canImport(Glibc)
import Glibc
#endif

/// Runs a program inside a network namespace with the caller's standard input, output and error:
/// `posix_spawnp(3)` (argv only, PATH lookup, never a shell) issued from the namespace thread while
/// it is inside `namespace`, so the child starts there; then `waitpid(2)` on the caller's thread.
public enum NamespaceProcess {
    /// - Returns: the exit status (0–255), or 128 + the signal number when the child was killed.
    /// - Throws: `NamespaceError` `.notFound` (no such program), `.permissionDenied`, `.system`.
    public static func run(_ argv: [String], in namespace: NetworkNamespace, environment: [String]? = nil) throws -> Int32 {
        guard let program = argv.first, !program.isEmpty else {
            throw NamespaceError(.system, errno: EINVAL, operation: "run", object: "''", detail: "no command given")
        }
        let env = environment ?? currentEnvironment()
        let pid: pid_t = try NamespaceThread.shared.run(in: namespace) {
            var child = pid_t()
            let cArgs = argv.map { strdup($0) } + [nil]
            let cEnv = env.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
            let rc = posix_spawnp(&child, program, nil, nil, cArgs, cEnv)
            if rc != 0 { throw NamespaceError.fromErrno(rc, operation: "run", object: program) }
            return child
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw NamespaceError.fromErrno(errno, operation: "wait for", object: program) }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func currentEnvironment() -> [String] {
        var out: [String] = []
        var p = environ
        while let entry = p.pointee {
            out.append(String(cString: entry))
            p += 1
        }
        return out
    }
}

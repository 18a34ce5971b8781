#if canImport(Glibc)
import Glibc
#endif

/// A child that dies with its parent: `posix_spawn` cannot set PR_SET_PDEATHSIG, so the program is
/// started through util-linux `setpriv --pdeathsig KILL` (prctl(2) then exec), and a SIGKILL of
/// the parent kills the child too. Where setpriv is missing, or the program cannot be found, the
/// argv is left as it is (the spawn then reports a missing program as usual).
extension ProcessRunner {
    static let setprivCandidates = ["/usr/bin/setpriv", "/bin/setpriv"]

    /// `argv` prefixed with `setpriv --pdeathsig KILL --` and with `argv[0]` resolved through the
    /// PATH of `environment` (`NAME=VALUE` entries), when both are found; else `argv` unchanged.
    static func killedWithParent(_ argv: [String], environment: [String]) -> [String] {
        guard let first = argv.first, let setpriv = setprivCandidates.first(where: { access($0, X_OK) == 0 }),
              let resolved = resolve(first, environment: environment) else { return argv }
        return [setpriv, "--pdeathsig", "KILL", "--", resolved] + argv.dropFirst()
    }

    /// An executable path for `name` as execvp(3) would find it in the PATH of `environment`
    /// (default `/usr/local/bin:/usr/bin:/bin`), or nil.
    static func resolve(_ name: String, environment: [String]) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = environment.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

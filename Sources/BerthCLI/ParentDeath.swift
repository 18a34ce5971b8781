#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// CMD of `berth run` gets a parent-death signal: it is started through util-linux
/// `setpriv --pdeathsig KILL` (prctl(PR_SET_PDEATHSIG) then exec; posix_spawn cannot set it), so
/// a SIGKILL of `berth run` kills CMD too. The sandbox's record names `berth run` as its owner,
/// so the next open reclaims it and kills anything left in it (also when setpriv is missing).
enum ParentDeath {
    static let setprivCandidates = ["/usr/bin/setpriv", "/bin/setpriv"]

    /// `command` with CMD resolved through PATH and prefixed with setpriv, when both are found;
    /// else `command` unchanged (spawn then reports a missing CMD as before).
    static func guarded(_ command: [String]) -> [String] {
        guard let first = command.first, let setpriv = setprivCandidates.first(where: { access($0, X_OK) == 0 }),
              let resolved = resolve(first) else { return command }
        return [setpriv, "--pdeathsig", "KILL", "--", resolved] + command.dropFirst()
    }

    /// An executable path for `name` (as execvp would find it), or nil.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

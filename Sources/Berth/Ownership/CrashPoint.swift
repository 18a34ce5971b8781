@_spi(BerthInternal) import BerthNamespace
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Test-only deterministic crash points. With `BERTH_CRASH_AFTER=OPERATION:K` in the environment
/// (e.g. `attach:3`), the process `_exit`s with status `exitStatus` right after the K-th step of
/// OPERATION (`set up host`, `create network`, `attach`, `detach`, `delete network`, `gc`,
/// `reconcile`): no cleanup, no buffered output, as a SIGKILL would leave things. Without the
/// variable every call is one load and one comparison (inert in normal use).
enum CrashPoint {
    /// The status of a process stopped at a crash point.
    static let exitStatus: Int32 = 86

    private static let target: (operation: String, step: Int)? = {
        guard let raw = getenv("BERTH_CRASH_AFTER") else { return nil }
        let text = String(cString: raw)
        guard let colon = text.lastIndex(of: ":"), let k = Int(text[text.index(after: colon)...]), k > 0 else { return nil }
        return (String(text[..<colon]), k)
    }()

    private static let counts = Mutex<[String: Int]>([:])

    /// Marks the end of one step of `operation`.
    static func step(_ operation: OperationName) {
        guard let target, target.operation == operation.name else { return }
        let n = counts.withLock { c -> Int in
            c[operation.name, default: 0] += 1
            return c[operation.name, default: 0]
        }
        if n == target.step { _exit(exitStatus) }
    }
}

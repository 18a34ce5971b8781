@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

extension StateStore {
    /// Writes an intent durably (temp file, fsync, rename, fsync of the directory): it must be
    /// on disk before the kernel step it announces.
    func record(_ intent: Intent) throws(BerthError) {
        try write(intent, toFile: "\(directory)/intents/\(intent.id).json", syncDirectory: true)
    }

    /// Removes an intent once the operation's own record is written. No directory fsync: an
    /// intent that comes back after a power loss is dropped by the next open, since the record
    /// it announced exists.
    func resolve(_ intent: Intent) throws(BerthError) {
        let path = "\(directory)/intents/\(intent.id).json"
        if unlink(path) != 0, case let err = Errno.current, err.rawValue != ENOENT {
            throw BerthError(.state, errno: err, operation: .removeIntent, object: path, detail: err.description)
        }
    }

    /// Every intent left by an operation that did not finish.
    func intents() throws(BerthError) -> [Intent] {
        try readAll("intents")
    }
}

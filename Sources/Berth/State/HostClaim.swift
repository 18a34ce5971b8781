@_spi(BerthInternal) import BerthNamespace
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One state directory per host namespace, as one dockerd per host: the reconciler of a state
/// directory removes Berth-shaped bridges, veths and rules that its records do not explain, and
/// the iptables backend rewrites the DOCKER chains whole, so two state directories programming one
/// host namespace would tear down each other's networks. The first change of a state directory
/// claims its host namespace in a machine-wide registry, `/run/berth/hosts/<key>` (the key from
/// `NetworkNamespace.identityKey()`, a cookie the kernel never reuses; `/run` is emptied at boot),
/// holding the absolute path of the state directory. A claim by another state directory that is
/// still bound to the same namespace (its `host.json`) refuses the change; a claim whose state
/// directory is gone or bound elsewhere is taken over.
enum HostClaim {
    static let registry = "/run/berth/hosts"

    /// Claims the host namespace of `binding` for `stateDirectory` (absolute or relative).
    /// Where the machine has no writable `/run`, nothing is claimed.
    /// - Throws: `BerthError` `.stateConflict` naming the state directory that holds it; `.state`
    ///   when the registry cannot be written.
    static func claim(_ key: String, for stateDirectory: String, binding: HostBinding) throws(BerthError) {
        let mine = URL(fileURLWithPath: stateDirectory, isDirectory: true).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: registry, withIntermediateDirectories: true)
        } catch {
            return  // no /run to speak of (read-only or absent): nothing to coordinate through
        }
        let path = "\(registry)/\(key)"
        let fd = open(path + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        if fd < 0 {
            let err = Errno.current
            throw BerthError(.state, errno: err, operation: .claimHost, object: path, detail: err.description)
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            let err = Errno.current
            if err.rawValue != EINTR { throw BerthError(.state, errno: err, operation: .claimHost, object: path, detail: err.description) }
        }
        defer { flock(fd, LOCK_UN) }
        if let data = FileManager.default.contents(atPath: path), case let holder = String(decoding: data, as: UTF8.self), holder != mine {
            if Self.isBound(holder, to: binding) {
                throw BerthError(.stateConflict, operation: .claimHost, object: stateDirectory,
                                 detail: "the host namespace is managed by state directory \(holder); use --state-dir \(holder) "
                                     + "(one state directory per host namespace)")
            }
        } else if FileManager.default.fileExists(atPath: path) {
            return  // ours already
        }
        do { try Data(mine.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw BerthError(.state, operation: .claimHost, object: path, detail: "cannot record the claim: \(error)")
        }
    }

    /// True when `directory` still exists and its `host.json` names the same namespace.
    private static func isBound(_ directory: String, to binding: HostBinding) -> Bool {
        guard let data = FileManager.default.contents(atPath: "\(directory)/host.json"),
              let recorded = try? JSONDecoder().decode(HostBinding.self, from: data) else { return false }
        return recorded.hostDevice == binding.hostDevice && recorded.hostInode == binding.hostInode
    }
}

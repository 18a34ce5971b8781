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
/// still bound to the same namespace (its `host.json`) refuses the open and every change; a claim
/// whose state directory is gone or bound elsewhere is stale and taken over.
enum HostClaim {
    static let registry = "/run/berth/hosts"

    /// Refuses (before anything is created on disk) a state directory whose host namespace another
    /// live state directory holds. Reads the registry only.
    /// - Throws: `BerthError` `.stateConflict` naming the holder.
    static func check(_ key: String, for stateDirectory: String, binding: HostBinding) throws(BerthError) {
        try refuseOther(holder(key), for: stateDirectory, binding: binding)
    }

    /// Claims the host namespace of `binding` for `stateDirectory` (absolute or relative), under
    /// the registry entry's flock. Where the machine has no writable `/run`, nothing is claimed.
    /// Stale entries of other namespaces (their state directory gone) are removed on the way.
    /// - Throws: `BerthError` `.stateConflict` naming the state directory that holds it; `.state`
    ///   when the registry cannot be written.
    static func claim(_ key: String, for stateDirectory: String, binding: HostBinding) throws(BerthError) {
        do {
            try FileManager.default.createDirectory(atPath: registry, withIntermediateDirectories: true)
        } catch {
            return  // no /run to speak of (read-only or absent): nothing to coordinate through
        }
        let path = "\(registry)/\(key)"
        try withRegistryLocked { () throws(BerthError) in
            let current = holder(key)
            try refuseOther(current, for: stateDirectory, binding: binding)
            let mine = absolute(stateDirectory)
            if current == mine { return }
            do { try Data(mine.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw BerthError(.state, operation: .claimHost, object: path, detail: "cannot record the claim: \(error)")
            }
            pruneStale(except: key)
        }
    }

    /// Gives up the claim of `stateDirectory` on the namespace `key` (when it holds it), e.g. when
    /// the state directory is about to be removed (`berth demo`). Best-effort.
    static func release(_ key: String, for stateDirectory: String) {
        try? withRegistryLocked { () throws(BerthError) in
            if holder(key) == absolute(stateDirectory) { unlink("\(registry)/\(key)") }
        }
    }

    /// The state directory recorded for `key`, if any.
    private static func holder(_ key: String) -> String? {
        FileManager.default.contents(atPath: "\(registry)/\(key)").map { String(decoding: $0, as: UTF8.self) }
    }

    private static func absolute(_ directory: String) -> String {
        URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL.path
    }

    private static func refuseOther(_ holder: String?, for stateDirectory: String, binding: HostBinding) throws(BerthError) {
        guard let holder, holder != absolute(stateDirectory), isBound(holder, to: binding) else { return }
        throw BerthError(.stateConflict, operation: .claimHost, object: stateDirectory,
                         detail: "the host namespace is managed by state directory \(holder); use that state directory "
                             + "(one state directory per host namespace)")
    }

    /// Runs `body` holding the registry's flock (`/run/berth/hosts/.lock`): claims are rare (one
    /// per controller), so one lock serializes them all.
    private static func withRegistryLocked(_ body: () throws(BerthError) -> Void) throws(BerthError) {
        let path = "\(registry)/.lock"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
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
        try body()
    }

    /// Removes entries whose state directory no longer exists (their namespace is usually gone
    /// too, and its key never comes back), so the registry does not grow with every scratch host.
    /// Called with the registry locked.
    private static func pruneStale(except key: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: registry) else { return }
        for name in names where !name.hasPrefix(".") && name != key {
            guard let holder = holder(name), !FileManager.default.fileExists(atPath: "\(holder)/lock") else { continue }
            unlink("\(registry)/\(name)")
        }
    }

    /// True when `directory` still exists and its `host.json` names the same namespace.
    private static func isBound(_ directory: String, to binding: HostBinding) -> Bool {
        guard let data = FileManager.default.contents(atPath: "\(directory)/host.json"),
              let recorded = try? JSONDecoder().decode(HostBinding.self, from: data) else { return false }
        return recorded.hostDevice == binding.hostDevice && recorded.hostInode == binding.hostInode
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthFirewall
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Everything recorded in the state directory.
struct StateSnapshot: Sendable {
    var networks: [String: Network] = [:]
    var endpoints: [String: Endpoint] = [:]
    /// Endpoint record files (`endpoints/NAME`) that do not decode: only a machine crash cuts
    /// one short (they are written without fsync, see `save(_: Endpoint)`), and then what they
    /// described died with the machine. Left out of the state; the reconciler removes them.
    var unreadableEndpoints: [String] = []

    func endpoints(of networkID: String) -> [Endpoint] {
        endpoints.values.filter { $0.networkID == networkID }.sorted { $0.address < $1.address }
    }

    /// Endpoints in attach order (`Endpoint.sequence`; records without one first, by ID).
    var endpointsInAttachOrder: [Endpoint] {
        endpoints.values.sorted { ($0.sequence ?? 0, $0.id) < ($1.sequence ?? 0, $1.id) }
    }

    /// The next attach sequence number: above every recorded endpoint's.
    var nextSequence: Int { (endpoints.values.compactMap(\.sequence).max() ?? 0) + 1 }

    /// Endpoints in the same sandbox namespace as `endpoint` (itself excluded).
    /// A TAP in bridge mode has no sandbox, so it has no peers and is nobody's peer.
    func sandboxPeers(of endpoint: Endpoint) -> [Endpoint] {
        if endpoint.isHostTap { return [] }
        return endpoints.values.filter {
            $0.id != endpoint.id && !$0.isHostTap && $0.sandboxInode == endpoint.sandboxInode && $0.sandboxDevice == endpoint.sandboxDevice
        }
    }

    /// Everything Berth wants programmed for these records: networks oldest first, endpoints'
    /// ports in attach order; `hairpinMode` is Docker's `--userland-proxy=false`.
    func firewallState(hairpinMode: Bool) -> FirewallState {
        let ordered = networks.values.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
        let ports = endpointsInAttachOrder.filter { !$0.ports.isEmpty }.compactMap { e -> EndpointPorts? in
            guard let n = networks[e.networkID] else { return nil }
            return EndpointPorts(endpointID: e.id, networkID: n.id, bridge: n.bridge, address: e.address, ports: e.ports,
                                 hairpin: hairpinMode, loopbackLocal: n.loopbackLocal, address6: e.address6)
        }
        return FirewallState(networks: ordered.map { $0.firewallRules(hairpinMode: hairpinMode) }, endpoints: ports)
    }
}

/// What a state directory belongs to: one firewall backend and one host namespace
/// (`host.json`). Opening it with another backend, or for another host, would program a second
/// set of rules next to the first, so it is refused.
struct HostBinding: Codable, Equatable {
    var backend: FirewallBackendKind
    /// The userland-proxy mode the kernel was last programmed for (`ControllerConfiguration.userlandProxy`);
    /// nil in records written before the setting existed (their rules are the default mode's).
    var userlandProxy: Bool?
    /// The configured path; nil for "the caller's namespace".
    var hostNamespacePath: String?
    var hostDevice: UInt64
    var hostInode: UInt64
    /// The FORWARD policy decision (`ControllerConfiguration.forwardDrop`), taken at the first
    /// host set-up before Berth's first write of `net.ipv4.ip_forward`; nil in records written
    /// before it existed and until that set-up.
    var forwardPolicy: ForwardPolicy? = nil
}

/// Durable state: one person-readable JSON file per network (`networks/<id>.json`) and per
/// endpoint (`endpoints/<id>.json`), each written atomically (temp file, fsync, rename, fsync of
/// the directory). Mutations by separate processes are serialized with `flock(2)` on
/// `<dir>/lock`. Records are cached in memory and re-read only when a directory's mtime shows
/// that another process changed it.
///
/// Not thread-safe by itself; `NetworkController` serializes access.
final class StateStore {
    let directory: String
    private let lockFD: Int32
    private var cache = StateSnapshot()
    private var stamp: [timespec] = []
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()

    /// Opens (creating when needed, mode 0700) the state directory.
    /// - Throws: `BerthError.Code.state` / `.permissionDenied`.
    init(directory: String) throws(BerthError) {
        self.directory = directory
        for sub in ["", "/networks", "/endpoints", "/intents"] {
            let path = directory + sub
            guard mkdir(path, 0o700) != 0 else { continue }
            let err = Errno.current  // before FileManager below can overwrite it
            if err.rawValue == EEXIST { continue }
            if sub.isEmpty, err.rawValue == ENOENT, (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil {
                continue
            }
            throw Self.error(err, .openState, path)
        }
        let fd = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw Self.error(.current, .openState, directory + "/lock") }
        lockFD = fd
    }

    deinit { close(lockFD) }

    /// A state-file failure with the errno of the failing call (read right after it), or — nil —
    /// a failure of ours described by `detail`.
    private static func error(_ err: Errno?, _ operation: OperationName, _ path: String, detail: String? = nil) -> BerthError {
        let denied = err?.rawValue == EACCES || err?.rawValue == EPERM
        return BerthError(denied ? .permissionDenied : .state, errno: err, operation: operation, object: path,
                          detail: detail ?? err?.description)
    }

    /// Runs `body` holding the directory's lock (exclusive for mutations, shared for reads).
    func locked<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        while flock(lockFD, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            let err = Errno.current
            if err.rawValue != EINTR { throw Self.error(err, .lockState, directory) }
        }
        defer { flock(lockFD, LOCK_UN) }
        return try body()
    }

    private func currentStamp() -> [timespec] {
        ["/networks", "/endpoints"].map { sub in
            var st = stat()
            return stat(directory + sub, &st) == 0 ? st.st_mtim : timespec()
        }
    }

    private static func same(_ a: [timespec], _ b: [timespec]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.tv_sec == $1.tv_sec && $0.tv_nsec == $1.tv_nsec }
    }

    /// The recorded state (call with the lock held).
    func load() throws(BerthError) -> StateSnapshot {
        let now = currentStamp()
        if Self.same(now, stamp) { return cache }
        var snapshot = StateSnapshot()
        for n: Network in try readAll("networks") { snapshot.networks[n.id] = n }
        var unreadable: [String] = []
        for e: Endpoint in try readAll("endpoints", skippingUnreadable: &unreadable) { snapshot.endpoints[e.id] = e }
        snapshot.unreadableEndpoints = unreadable
        cache = snapshot
        stamp = now
        return snapshot
    }

    /// The temp files of record writes in `sub` (`.<id>.json.<pid>.tmp`), sorted by name; stale
    /// whenever the exclusive lock is held (every write renames its temp file before unlocking).
    func staleTempFiles(in sub: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(sub)")) ?? []
        return names.filter { $0.hasPrefix(".") && $0.hasSuffix(".tmp") }.sorted()
    }

    func readAll<T: Decodable>(_ sub: String) throws(BerthError) -> [T] {
        var strict: [String]? = nil
        return try readAll(sub, unreadable: &strict)
    }

    /// `readAll` that leaves out the records that do not decode, naming them in `unreadable`.
    func readAll<T: Decodable>(_ sub: String, skippingUnreadable unreadable: inout [String]) throws(BerthError) -> [T] {
        var names: [String]? = []
        let records: [T] = try readAll(sub, unreadable: &names)
        unreadable = names ?? []
        return records
    }

    /// With `unreadable` nil, a record that does not decode is an error; else it is skipped and named.
    private func readAll<T: Decodable>(_ sub: String, unreadable: inout [String]?) throws(BerthError) -> [T] {
        let path = "\(directory)/\(sub)"
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw BerthError(.state, operation: .loadState, object: path, detail: "\(error)")
        }
        var out: [T] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let file = "\(path)/\(name)"
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw BerthError(.state, operation: .loadState, object: file, detail: "record cannot be read: \(Self.brief(error))")
            }
            do {
                out.append(try JSONDecoder().decode(T.self, from: data))
            } catch {
                if unreadable != nil { unreadable?.append(name); continue }
                throw BerthError(.state, operation: .loadState, object: file,
                                 detail: "record does not decode: \(Self.brief(error)); move it away to continue")
            }
        }
        return out
    }

    /// Checks `wanted` against `host.json` (call with the lock held); records it when there is
    /// none yet and `update` is set. The same path naming a re-created namespace (new inode, e.g.
    /// after a reboot) is accepted and recorded.
    /// - Throws: `.state` when the directory belongs to another backend or host namespace.
    func checkBinding(_ wanted: HostBinding, update: Bool) throws(BerthError) {
        let path = "\(directory)/host.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            if update { try write(wanted, toFile: path) }
            return
        }
        let recorded: HostBinding
        do { recorded = try JSONDecoder().decode(HostBinding.self, from: data) } catch {
            throw BerthError(.state, operation: .openState, object: path, detail: "record does not decode: \(Self.brief(error))")
        }
        if recorded.backend != wanted.backend {
            throw BerthError(.stateConflict, operation: .openState, object: directory,
                             detail: "this state directory uses the \(recorded.backend.rawValue) backend, not \(wanted.backend.rawValue); "
                                 + "pass --backend \(recorded.backend.rawValue) (a host namespace has one state directory and one backend)")
        }
        // The same namespace under any name is fine; a new namespace at the recorded path (re-created,
        // e.g. after a reboot) is taken over; anything else is another host.
        let sameNamespace = recorded.hostDevice == wanted.hostDevice && recorded.hostInode == wanted.hostInode
        let recreatedAtSamePath = recorded.hostNamespacePath != nil && recorded.hostNamespacePath == wanted.hostNamespacePath
        if !sameNamespace && !recreatedAtSamePath {
            throw BerthError(.stateConflict, operation: .openState, object: directory,
                             detail: "this state directory belongs to host namespace \(recorded.hostNamespacePath ?? "(the caller's, inode \(recorded.hostInode))"), "
                                 + "not \(wanted.hostNamespacePath ?? "(the caller's, inode \(wanted.hostInode))"); use another state directory")
        }
        if (!sameNamespace || recorded.userlandProxy != wanted.userlandProxy) && update {
            // The decision belongs to the namespace it was taken in: kept for the same one,
            // taken again for a re-created one.
            var updated = wanted
            updated.forwardPolicy = sameNamespace ? recorded.forwardPolicy : nil
            try write(updated, toFile: path)
        }
    }

    /// The FORWARD policy decision `host.json` records (nil: none yet).
    func recordedForwardPolicy() -> ForwardPolicy? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/host.json"),
              let recorded = try? JSONDecoder().decode(HostBinding.self, from: data) else { return nil }
        return recorded.forwardPolicy
    }

    /// Records `policy` in `host.json` (call with the exclusive lock held, after `checkBinding`
    /// wrote the binding). Atomic and fsync'd, like every host.json write.
    /// - Throws: `.state` when there is no binding record or it cannot be written.
    func recordForwardPolicy(_ policy: ForwardPolicy) throws(BerthError) {
        let path = "\(directory)/host.json"
        guard let data = FileManager.default.contents(atPath: path),
              var recorded = try? JSONDecoder().decode(HostBinding.self, from: data) else {
            throw BerthError(.state, operation: .setUpHost, object: path, detail: "no host binding to record the FORWARD policy decision in")
        }
        recorded.forwardPolicy = policy
        try write(recorded, toFile: path)
    }

    /// The userland-proxy mode `host.json` records (nil: no record, or one from before the setting).
    func recordedUserlandProxy() -> Bool? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/host.json"),
              let recorded = try? JSONDecoder().decode(HostBinding.self, from: data) else { return nil }
        return recorded.userlandProxy
    }

    /// A one-line account of a decoding error (no debug dump).
    static func brief(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return "not valid JSON (\(c.debugDescription))"
        case DecodingError.keyNotFound(let key, _): return "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not a record (wrong JSON type)" : "bad value at \(path)"
        default: return "\(error)"
        }
    }

    func save(_ network: Network) throws(BerthError) {
        try write(network, to: "networks", id: network.id)
        cache.networks[network.id] = network
        stamp = currentStamp()
    }

    /// Endpoint records are written without any fsync (the hot path of attach; issue 11). A killed
    /// process cannot tear them (temp file, then rename: the page cache keeps both), so only a
    /// machine crash can lose or cut one short — and every kernel object an endpoint record
    /// describes (veth, sandbox netns, rules, proxies, TAPs) dies with the machine: a missing
    /// record explains nothing that exists, a torn one (`unreadableEndpoints`) is removed by the
    /// reconciler, a stale one is released by it. Network records, which outlive a reboot, keep
    /// both fsyncs.
    func save(_ endpoint: Endpoint) throws(BerthError) {
        try write(endpoint, toFile: "\(directory)/endpoints/\(endpoint.id).json", syncDirectory: false, syncFile: false)
        cache.endpoints[endpoint.id] = endpoint
        stamp = currentStamp()
    }

    func removeNetwork(_ id: String) throws(BerthError) {
        try remove("networks", id)
        cache.networks[id] = nil
        stamp = currentStamp()
    }

    /// Without the directory fsync, like `save(_: Endpoint)`: a removal lost in a crash brings the
    /// record back, and the next open releases it (its veth is gone).
    func removeEndpoint(_ id: String) throws(BerthError) {
        try remove("endpoints", id, syncDirectory: false)
        cache.endpoints[id] = nil
        stamp = currentStamp()
    }

    private func remove(_ sub: String, _ id: String, syncDirectory sync: Bool = true) throws(BerthError) {
        let path = "\(directory)/\(sub)/\(id).json"
        if unlink(path) != 0 {
            let err = Errno.current
            if err.rawValue != ENOENT { throw Self.error(err, .removeRecord, path) }
        }
        if sync { syncDirectory("\(directory)/\(sub)") }
    }

    private func write<T: Encodable>(_ value: T, to sub: String, id: String) throws(BerthError) {
        try write(value, toFile: "\(directory)/\(sub)/\(id).json")
    }

    /// Temp file, fsync (unless `syncFile` is false), rename over the record, fsync of the directory.
    func write<T: Encodable>(_ value: T, toFile final: String, syncDirectory sync: Bool = true, syncFile: Bool = true) throws(BerthError) {
        let dir = String(final[..<(final.lastIndex(of: "/") ?? final.endIndex)])
        let name = String(final[final.index(after: final.lastIndex(of: "/") ?? final.startIndex)...])
        let temp = "\(dir)/.\(name).\(getpid()).tmp"
        let data: Data
        do { data = try encoder.encode(value) + Data("\n".utf8) } catch {
            throw BerthError(.state, operation: .writeRecord, object: final, detail: "\(error)")
        }
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw Self.error(.current, .writeRecord, temp) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        // Each errno is read right after its own call; a short write sets none.
        var failure: (errno: Errno?, detail: String?)?
        if written < 0 { failure = (.current, nil) }
        else if written != data.count { failure = (nil, "short write (\(written) of \(data.count) bytes)") }
        else if syncFile && fsync(fd) != 0 { failure = (.current, nil) }
        close(fd)
        if failure == nil, rename(temp, final) != 0 { failure = (.current, nil) }
        if let failure {
            unlink(temp)
            throw Self.error(failure.errno, .writeRecord, final, detail: failure.detail)
        }
        if sync { syncDirectory(dir) }
    }

    private func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

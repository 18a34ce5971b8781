@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One running userland proxy (`berth-proxy`, docker-proxy's role): the binding it serves and
/// the process, identified by pid and start time so a recycled pid is never signalled.
public struct ProxyProcess: Sendable, Codable, Equatable, Hashable {
    /// The process: pid and `/proc/PID/stat` start time.
    public var process: ProcessOwner
    /// The binding it serves: an IPv4 proxy's has `hostIP6` nil (`hostIP` nil: 0.0.0.0); an IPv6
    /// proxy's has `hostIP6` set (`::` when the published binding named no host address) and
    /// `hostIP` nil. Records written before IPv6 proxies existed decode as IPv4 proxies.
    public var port: PortMapping

    public init(process: ProcessOwner, port: PortMapping) {
        self.process = process
        self.port = port
    }
}

/// Starts, finds and stops the userland proxies of a state directory. A proxy's command line
/// carries `-berth-state <state directory, resolved> -berth-endpoint <endpoint ID>`: the mark the
/// reconciler reads back (`/proc/PID/cmdline`) to find a proxy no record explains (its starter
/// was killed before writing the endpoint record).
struct UserlandProxies {
    /// `ControllerConfiguration.userlandProxyPath`.
    let executable: String
    /// The state directory as `realpath(3)` resolves it (the mark).
    let stateMark: String
    let host: NetworkNamespace
    /// Whether `host` can listen on IPv6, read once and shared by copies of this value.
    let ipv6 = IPv6Listenability()

    init(executable: String, stateDirectory: String, host: NetworkNamespace) {
        self.executable = executable
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        self.stateMark = realpath(stateDirectory, &buffer) != nil ? String(cString: buffer) : stateDirectory
        self.host = host
    }

    /// docker-proxy's arguments plus Berth's mark, for an IPv4 proxy to `container`.
    func arguments(_ port: PortMapping, container: IPv4Address, endpointID: String) -> [String] {
        arguments(port, target: .v4(container), endpointID: endpointID)
    }

    /// docker-proxy's arguments plus Berth's mark: `-host-ip` is `port.hostIP6` when set (an IPv6
    /// proxy; `::` for all), else `port.hostIP` (nil: 0.0.0.0); `-container-ip` is `target`, of
    /// either family (libnetwork portmapper/proxy_linux.go passes both as `IP.String()`).
    func arguments(_ port: PortMapping, target: IPAddress, endpointID: String) -> [String] {
        let hostIP = port.hostIP6?.description ?? (port.hostIP ?? IPv4Address(0)).description
        return [executable, "-proto", port.proto.rawValue, "-host-ip", hostIP,
                "-host-port", String(port.hostPort), "-container-ip", target.description, "-container-port", String(port.containerPort),
                "-berth-state", stateMark, "-berth-endpoint", endpointID]
    }

    /// The proxies `start` runs for `ports` (single bindings): `ProxyPlan.proxies`, with this
    /// value's check of the host namespace's IPv6 (`IPv6Listenability`, read once).
    func plan(_ ports: [PortMapping], container: IPv4Address, container6: IPv6Address?) -> [ProxyPlan] {
        ProxyPlan.proxies(for: ports, container: container, container6: container6) { ipv6.check(in: host) }
    }

    /// Starts the proxies of `ports` (single bindings, `PortMapping.singles`) in the host
    /// namespace, each holding its host port before this returns: per binding the IPv4 proxy
    /// (`bindsIPv4`, to `container`) and the IPv6 one (`bindsIPv6`, host address `::` unless the
    /// binding names one, to `container6 ?? container`; the implicit `::` one only where the host
    /// can listen on IPv6), as Docker 20.10 starts two docker-proxy processes for `-p 8080:80`.
    /// All or nothing: when one cannot bind, the ones started are stopped.
    /// - Returns: one `ProxyProcess` per proxy, in `plan` order; an IPv6 proxy's `port` has
    ///   `hostIP6` set and `hostIP` nil.
    /// - Throws: `BerthError` `.portAllocated` (the port is taken: EADDRINUSE, named), `.system`
    ///   (the executable is missing or fails, e.g. an IPv6 host address where IPv6 is off; the
    ///   message names `userlandProxyPath`).
    func start(_ ports: [PortMapping], container: IPv4Address, container6: IPv6Address? = nil, endpointID: String,
               operation op: OperationName, object: String) throws(BerthError) -> [ProxyProcess] {
        var started: [ProxyProcess] = []
        for proxy in plan(ports, container: container, container6: container6) {
            do {
                started.append(try startOne(proxy, endpointID: endpointID, operation: op, object: object))
            } catch {
                stop(started)
                throw error
            }
        }
        return started
    }

    /// Starts the IPv4 proxy of one binding to `container` (see `start`).
    func startOne(_ port: PortMapping, container: IPv4Address, endpointID: String, operation op: OperationName,
                  object: String) throws(BerthError) -> ProxyProcess {
        try startOne(ProxyPlan(port: port, target: .v4(container)), endpointID: endpointID, operation: op, object: object)
    }

    /// Starts one proxy of a plan and returns once it holds its host port.
    /// - Throws: as `start`.
    func startOne(_ proxy: ProxyPlan, endpointID: String, operation op: OperationName,
                  object: String) throws(BerthError) -> ProxyProcess {
        let port = proxy.port
        let binding = port.proxyBindingName
        let pid: pid_t
        do {
            pid = try ProcessRunner.spawnDetached(arguments(port, target: proxy.target, endpointID: endpointID), in: host)
        } catch {
            let detail = error.detail ?? error.description
            if detail.contains("Address already in use") {
                throw BerthError(.portAllocated, operation: op, object: object,
                                 detail: "host port \(binding) is already in use by another program (\(detail))")
            }
            throw BerthError(.system, errno: error.errno, operation: op, object: object,
                             detail: "the userland proxy \(executable) for host port \(binding) did not start: \(detail) "
                                 + "(userlandProxyPath / --userland-proxy-path; or run with the userland proxy off)")
        }
        guard let start = ProcessOwner.startTime(of: pid) else {
            throw BerthError(.system, operation: op, object: object, detail: "the userland proxy for \(binding) exited at once")
        }
        return ProxyProcess(process: ProcessOwner(pid: pid, startTime: start), port: port)
    }

    /// Stops proxies (SIGKILL, only when pid and start time still match) and waits until each
    /// is gone, so its host port is free when this returns.
    func stop(_ proxies: [ProxyProcess]) {
        for p in proxies where p.process.isAlive { kill(p.process.pid, SIGKILL) }
        for p in proxies {
            if ProcessRunner.reapChild(p.process.pid, wait: false) { continue }
            var spins = 0
            while p.process.isAlive && spins < 2_000 {   // not our child: wait for its exit (≤ 2 s)
                if ProcessRunner.reapChild(p.process.pid, wait: false) { break }
                usleep(1_000)
                spins += 1
            }
            ProcessRunner.reapChild(p.process.pid, wait: false)   // a zombie of this process, if it is one
        }
    }

    /// Every running proxy marked with this state directory: its identity and endpoint ID.
    func running() -> [(process: ProcessOwner, endpointID: String)] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var found: [(ProcessOwner, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let argv = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let s = argv.firstIndex(of: "-berth-state"), s + 1 < argv.count, argv[s + 1] == stateMark,
                  let e = argv.firstIndex(of: "-berth-endpoint"), e + 1 < argv.count,
                  let start = ProcessOwner.startTime(of: pid) else { continue }
            let owner = ProcessOwner(pid: pid, startTime: start)
            if owner.isAlive { found.append((owner, argv[e + 1])) }
        }
        return found
    }
}

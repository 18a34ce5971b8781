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
    /// The binding it serves (host address nil: 0.0.0.0).
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

    init(executable: String, stateDirectory: String, host: NetworkNamespace) {
        self.executable = executable
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        self.stateMark = realpath(stateDirectory, &buffer) != nil ? String(cString: buffer) : stateDirectory
        self.host = host
    }

    /// docker-proxy's arguments plus Berth's mark.
    func arguments(_ port: PortMapping, container: IPv4Address, endpointID: String) -> [String] {
        [executable, "-proto", port.proto.rawValue, "-host-ip", (port.hostIP ?? IPv4Address(0)).description,
         "-host-port", String(port.hostPort), "-container-ip", container.description, "-container-port", String(port.containerPort),
         "-berth-state", stateMark, "-berth-endpoint", endpointID]
    }

    /// Starts one proxy per binding in the host namespace, each holding its host port before
    /// this returns. All or nothing: when one cannot bind, the ones started are stopped.
    /// - Throws: `BerthError` `.portAllocated` (the port is taken: EADDRINUSE, named), `.system`
    ///   (the executable is missing or fails; the message names `userlandProxyPath`).
    func start(_ ports: [PortMapping], container: IPv4Address, endpointID: String, operation op: OperationName,
               object: String) throws(BerthError) -> [ProxyProcess] {
        var started: [ProxyProcess] = []
        for port in ports {
            do {
                started.append(try startOne(port, container: container, endpointID: endpointID, operation: op, object: object))
            } catch {
                stop(started)
                throw error
            }
        }
        return started
    }

    func startOne(_ port: PortMapping, container: IPv4Address, endpointID: String, operation op: OperationName,
                  object: String) throws(BerthError) -> ProxyProcess {
        let binding = "\(port.hostIP.map { "\($0):" } ?? "")\(port.hostPort)/\(port.proto.rawValue)"
        let pid: pid_t
        do {
            pid = try ProcessRunner.spawnDetached(arguments(port, container: container, endpointID: endpointID), in: host)
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

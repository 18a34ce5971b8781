@testable import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// IPv6 userland proxies (issues 13 and 15): `berth-proxy` with IPv6 host and container
/// addresses, and `UserlandProxies.start` making Docker 20.10's two proxies per binding
/// (libnetwork drivers/bridge/port_mapping.go `allocatePortsInternal`; cmd/proxy listens with
/// "tcp6"/"udp6", IPv6 only). Each test runs in a scratch namespace (lo up) that is the proxies'
/// host; servers and clients are python3 there, listeners seen with `ss`.
@Suite("Userland proxy: IPv6 (berth-proxy and UserlandProxies)", .enabled(if: Sandbox.isActive), .serialized)
struct UserlandProxy6Tests {
    /// A scratch host namespace and the proxies of a throwaway state directory in it.
    final class Host {
        let scratch: ScratchNamespace
        let state: String
        let proxies: UserlandProxies

        init() throws {
            scratch = try ScratchNamespace(prefix: "bt-px6-")
            state = NSTemporaryDirectory() + Sandbox.unique("berth-px6-")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            proxies = UserlandProxies(executable: BerthProxyBinary.path, stateDirectory: state, host: scratch.namespace)
        }

        var name: String { scratch.name }

        /// Starts one proxy: `host` is the `-host-ip` (v4 or v6 text), `target` the `-container-ip`.
        func proxy(_ proto: PortMapping.TransportProtocol = .tcp, host: String, _ hostPort: UInt16, to target: String,
                   _ containerPort: UInt16) throws -> ProxyProcess {
            let v6 = IPv6Address(host)
            let port = PortMapping(proto: proto, hostIP: v6 == nil ? IPv4Address(host) : nil, hostPort: hostPort,
                                   containerPort: containerPort, hostIP6: v6)
            let address = try #require(IPAddress(target))
            return try proxies.startOne(ProxyPlan(port: port, target: address), endpointID: "e6", operation: .attach, object: "test")
        }

        /// `ss -Hln` local addresses listening on `port` (TCP or UDP), e.g. `[::]:8080`.
        func listeners(_ proto: PortMapping.TransportProtocol, _ port: UInt16) throws -> [String] {
            let flag = proto == .udp ? "-Hlun" : "-Hltn"
            return try Sandbox.exec(name, ["ss", flag, "sport = :\(port)"]).stdout.split(separator: "\n")
                .compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init) }
                .sorted()
        }

        func close() {
            scratch.close()
            try? FileManager.default.removeItem(atPath: state)
        }
    }

    @Test("TCP through -host-ip :: to an IPv6 listener and to an IPv4 one (cross-family); IPv6 only")
    func tcpThroughAnyIPv6() throws {
        let h = try Host()
        defer { h.close() }
        let six = try TCPServer(in: h.name, port: 9006, reply: .text("six"), address: "::1")
        defer { six.stop() }
        let four = try TCPServer(in: h.name, port: 9004, reply: .text("four"), address: "127.0.0.1")
        defer { four.stop() }
        let a = try h.proxy(host: "::", 8080, to: "::1", 9006)
        let b = try h.proxy(host: "::", 8081, to: "127.0.0.1", 9004)
        #expect(try h.listeners(.tcp, 8080) == ["[::]:8080"])
        #expect(try Traffic.tcpFetch(from: h.name, "::1", 8080) == "six", "v6 → v6")
        #expect(try Traffic.tcpFetch(from: h.name, "::1", 8081) == "four", "v6 → v4")
        #expect(try Traffic.tcpFetch(from: h.name, "127.0.0.1", 8080, attempts: 2) == nil, "IPV6_V6ONLY: no IPv4 on the :: proxy")
        h.proxies.stop([a, b])
        #expect(try h.listeners(.tcp, 8080).isEmpty && h.listeners(.tcp, 8081).isEmpty)
    }

    @Test("UDP through -host-ip :: to an IPv6 listener and to an IPv4 one")
    func udpThroughAnyIPv6() throws {
        let h = try Host()
        defer { h.close() }
        let six = try UDPServer(in: h.name, address: "::1", port: 9006, text: "six")
        defer { six.stop() }
        let four = try UDPServer(in: h.name, address: "127.0.0.1", port: 9004, text: "four")
        defer { four.stop() }
        _ = try h.proxy(.udp, host: "::", 5300, to: "::1", 9006)
        _ = try h.proxy(.udp, host: "::", 5301, to: "127.0.0.1", 9004)
        #expect(try h.listeners(.udp, 5300) == ["[::]:5300"])
        #expect(try Traffic.udpExchange(from: h.name, "::1", 5300) == "six", "v6 → v6")
        #expect(try Traffic.udpExchange(from: h.name, "::1", 5301) == "four", "v6 → v4")
        #expect(try Traffic.udpExchange(from: h.name, "127.0.0.1", 5300, attempts: 2) == nil, "IPV6_V6ONLY")
    }

    @Test("-host-ip ::1 binds the IPv6 loopback only; IPv4 → IPv4 as before")
    func loopbackAndIPv4() throws {
        let h = try Host()
        defer { h.close() }
        let four = try TCPServer(in: h.name, port: 9004, reply: .text("four"), address: "127.0.0.1")
        defer { four.stop() }
        _ = try h.proxy(host: "::1", 8080, to: "127.0.0.1", 9004)
        _ = try h.proxy(host: "127.0.0.1", 8081, to: "127.0.0.1", 9004)
        #expect(try h.listeners(.tcp, 8080) == ["[::1]:8080"])
        #expect(try h.listeners(.tcp, 8081) == ["127.0.0.1:8081"])
        #expect(try Traffic.tcpFetch(from: h.name, "::1", 8080) == "four")
        #expect(try Traffic.tcpFetch(from: h.name, "127.0.0.1", 8081) == "four")
    }

    @Test("a 0.0.0.0 and a :: proxy on the same port coexist, each serving its family", arguments: PortMapping.TransportProtocol.allCases.filter { $0 != .sctp })
    func bothFamiliesOnOnePort(_ proto: PortMapping.TransportProtocol) throws {
        let h = try Host()
        defer { h.close() }
        if proto == .tcp {
            let six = try TCPServer(in: h.name, port: 9006, reply: .text("six"), address: "::1")
            defer { six.stop() }
            let four = try TCPServer(in: h.name, port: 9004, reply: .text("four"), address: "127.0.0.1")
            defer { four.stop() }
            _ = try h.proxy(host: "0.0.0.0", 8080, to: "127.0.0.1", 9004)
            _ = try h.proxy(host: "::", 8080, to: "::1", 9006)
            #expect(try h.listeners(.tcp, 8080) == ["0.0.0.0:8080", "[::]:8080"])
            #expect(try Traffic.tcpFetch(from: h.name, "127.0.0.1", 8080) == "four")
            #expect(try Traffic.tcpFetch(from: h.name, "::1", 8080) == "six")
        } else {
            let six = try UDPServer(in: h.name, address: "::1", port: 9006, text: "six")
            defer { six.stop() }
            let four = try UDPServer(in: h.name, address: "127.0.0.1", port: 9004, text: "four")
            defer { four.stop() }
            _ = try h.proxy(.udp, host: "0.0.0.0", 8080, to: "127.0.0.1", 9004)
            _ = try h.proxy(.udp, host: "::", 8080, to: "::1", 9006)
            #expect(try h.listeners(.udp, 8080) == ["0.0.0.0:8080", "[::]:8080"])
            #expect(try Traffic.udpExchange(from: h.name, "127.0.0.1", 8080) == "four")
            #expect(try Traffic.udpExchange(from: h.name, "::1", 8080) == "six")
        }
    }

    @Test("a port taken on IPv6 is portAllocated with berth-proxy's 'Address already in use'; IPv4 on it still starts")
    func takenOnIPv6() throws {
        let h = try Host()
        defer { h.close() }
        let squatter = try TCPServer(in: h.name, port: 8080, reply: .text("mine"), address: "::")
        defer { squatter.stop() }
        do {
            _ = try h.proxy(host: "::", 8080, to: "::1", 80)
            Issue.record("a proxy bound a port another program holds")
        } catch let error as BerthError {
            #expect(error.code == .portAllocated, "\(error)")
            #expect(error.description.contains("[::]:8080/tcp"), "\(error)")
            #expect(error.description.contains("listen [::]:8080: Address already in use"), "\(error)")
        }
        #expect(try h.listeners(.tcp, 8080) == ["[::]:8080"], "only the squatter")
        _ = try h.proxy(host: "0.0.0.0", 8080, to: "127.0.0.1", 80)
        #expect(try h.listeners(.tcp, 8080) == ["0.0.0.0:8080", "[::]:8080"])
    }

    @Test("start: a binding without host address gets two proxies (0.0.0.0 and ::); running() finds both; stop frees both ports")
    func dualBinding() throws {
        let h = try Host()
        defer { h.close() }
        let six = try TCPServer(in: h.name, port: 9006, reply: .text("six"), address: "::1")
        defer { six.stop() }
        let four = try TCPServer(in: h.name, port: 9004, reply: .text("four"), address: "127.0.0.1")
        defer { four.stop() }
        let started = try h.proxies.start([PortMapping(hostPort: 8080, containerPort: 9004)], container: IPv4Address(127, 0, 0, 1),
                                          endpointID: "e6", operation: .attach, object: "test")
        // No container6: the :: proxy forwards to the IPv4 address (Docker: "backward compatibility").
        #expect(started.map(\.port) == [PortMapping(hostPort: 8080, containerPort: 9004),
                                        PortMapping(hostPort: 8080, containerPort: 9004, hostIP6: IPv6Address("::"))])
        #expect(try h.listeners(.tcp, 8080) == ["0.0.0.0:8080", "[::]:8080"])
        #expect(try Traffic.tcpFetch(from: h.name, "::1", 8080) == "four")
        #expect(Set(h.proxies.running().map(\.process)) == Set(started.map(\.process)))
        #expect(h.proxies.running().allSatisfy { $0.endpointID == "e6" })
        h.proxies.stop(started)
        #expect(try h.listeners(.tcp, 8080).isEmpty, "both ports free after stop")
        #expect(h.proxies.running().isEmpty)

        // With container6 the :: proxy forwards to it (UDP the same way).
        let udp6 = try UDPServer(in: h.name, address: "::1", port: 9006, text: "six")
        defer { udp6.stop() }
        let dual = try h.proxies.start([PortMapping(hostPort: 8080, containerPort: 9006), PortMapping(proto: .udp, hostPort: 8080, containerPort: 9006)],
                                       container: IPv4Address(127, 0, 0, 1), container6: IPv6Address("::1"),
                                       endpointID: "e6", operation: .attach, object: "test")
        #expect(dual.count == 4)
        #expect(try Traffic.tcpFetch(from: h.name, "::1", 8080) == "six")
        #expect(try Traffic.udpExchange(from: h.name, "::1", 8080) == "six")
        let argv = try String(contentsOfFile: "/proc/\(dual[1].process.pid)/cmdline", encoding: .utf8).split(separator: "\0").map(String.init)
        #expect(Array(argv.dropFirst()) == Array(h.proxies.arguments(dual[1].port, target: .v6(try #require(IPv6Address("::1"))), endpointID: "e6").dropFirst()))
        #expect(argv.contains("::") && argv.contains("::1"), "\(argv)")
        h.proxies.stop(dual)
        #expect(try h.listeners(.tcp, 8080).isEmpty && h.listeners(.udp, 8080).isEmpty)
    }

    @Test("start: an IPv6 host address gets only the IPv6 proxy, an IPv4 one only the IPv4 proxy")
    func singleFamilyBindings() throws {
        let h = try Host()
        defer { h.close() }
        let started = try h.proxies.start([PortMapping(hostPort: 8080, containerPort: 80, hostIP6: IPv6Address("::1")),
                                           PortMapping(hostIP: IPv4Address(127, 0, 0, 1), hostPort: 8081, containerPort: 80)],
                                          container: IPv4Address(127, 0, 0, 1), endpointID: "e6", operation: .attach, object: "test")
        #expect(started.count == 2)
        #expect(try h.listeners(.tcp, 8080) == ["[::1]:8080"])
        #expect(try h.listeners(.tcp, 8081) == ["127.0.0.1:8081"])
    }

    @Test("start: all or nothing when the :: proxy cannot bind (the 0.0.0.0 one is stopped)")
    func allOrNothing() throws {
        let h = try Host()
        defer { h.close() }
        let squatter = try TCPServer(in: h.name, port: 8080, reply: .text("mine"), address: "::")
        defer { squatter.stop() }
        #expect(throws: BerthError.self) {
            _ = try h.proxies.start([PortMapping(hostPort: 8080, containerPort: 80)], container: IPv4Address(127, 0, 0, 1),
                                    endpointID: "e6", operation: .attach, object: "test")
        }
        #expect(try h.listeners(.tcp, 8080) == ["[::]:8080"], "the 0.0.0.0 proxy started first is gone again")
        #expect(h.proxies.running().isEmpty)
    }

    @Test("start with IPv6 disabled in the host namespace (disable_ipv6=1): only the IPv4 proxy")
    func ipv6Disabled() throws {
        let h = try Host()
        defer { h.close() }
        _ = try Sandbox.exec(h.name, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        let started = try h.proxies.start([PortMapping(hostPort: 8080, containerPort: 80)], container: IPv4Address(127, 0, 0, 1),
                                          endpointID: "e6", operation: .attach, object: "test")
        #expect(started.map(\.port) == [PortMapping(hostPort: 8080, containerPort: 80)])
        #expect(try h.listeners(.tcp, 8080) == ["0.0.0.0:8080"])
        h.proxies.stop(started)
    }

    @Test("the IPv6 check is read once per UserlandProxies value (Docker caches IsV6Listenable)")
    func listenabilityCached() throws {
        let h = try Host()
        defer { h.close() }
        #expect(h.proxies.ipv6.check(in: h.scratch.namespace))
        _ = try Sandbox.exec(h.name, ["sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=1"])
        #expect(h.proxies.ipv6.check(in: h.scratch.namespace), "cached")
        let fresh = UserlandProxies(executable: BerthProxyBinary.path, stateDirectory: h.state, host: h.scratch.namespace)
        #expect(!fresh.ipv6.check(in: h.scratch.namespace), "no ::1 on lo: not listenable, as Docker's [::1]:0 probe")
    }

    @Test("ProxyProcess records written before IPv6 proxies decode as IPv4 proxies; v6 ones round-trip")
    func recordsDecode() throws {
        let old = #"{"process":{"pid":42,"startTime":7},"port":{"proto":"tcp","hostPort":8080,"containerPort":80}}"#
        let decoded = try JSONDecoder().decode(ProxyProcess.self, from: Data(old.utf8))
        #expect(decoded.port == PortMapping(hostPort: 8080, containerPort: 80))
        #expect(decoded.port.hostIP6 == nil)
        let v6 = ProxyProcess(process: ProcessOwner(pid: 1, startTime: 2), port: PortMapping(hostPort: 8080, containerPort: 80, hostIP6: IPv6Address("::")))
        #expect(try JSONDecoder().decode(ProxyProcess.self, from: JSONEncoder().encode(v6)) == v6)
    }

    @Test("berth-proxy refuses a bad address with its usage failure on descriptor 3")
    func badAddress() throws {
        let h = try Host()
        defer { h.close() }
        let r = try Sandbox.exec(h.name, ["bash", "-c", "\(BerthProxyBinary.path) -host-ip fe80::zz -host-port 80 -container-ip ::1 -container-port 80 3>&1"])
        #expect(r.status == 2 && r.stdout == "1\n-host-ip: not an IPv4 or IPv6 address: fe80::zz", "\(r)")
    }
}

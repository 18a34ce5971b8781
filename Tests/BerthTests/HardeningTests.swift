import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// The opt-in hardening options of issue 13, with packets between namespaces: each on, the path
/// it closes is closed and the allowed paths still work; off, Docker 20.10's behaviour.
@Suite("Façade: hardening options", .enabled(if: Sandbox.isActive), .serialized)
struct HardeningTests {
    @Test("bridge port isolation: sandboxes of the network do not reach each other; gateway and outside still work",
          arguments: backends)
    func portIsolation(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        var options = NetworkOptions(name: "iso", subnet: "10.91.0.0/24")
        try options.apply(option: "com.docker.network.bridge.isolated", value: "true")
        let iso = try c.createNetwork(options)
        #expect(iso.isolated)
        _ = try c.createNetwork(NetworkOptions(name: "open", subnet: "10.92.0.0/24"))
        let a = try f.sandbox(), b = try f.sandbox(), x = try f.sandbox(), y = try f.sandbox()
        let ea = try c.attach(network: "iso", sandbox: .name(a))
        let eb = try c.attach(network: "iso", sandbox: .name(b), options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        try c.attach(network: "open", sandbox: .name(x))
        try c.attach(network: "open", sandbox: .name(y))
        for e in [ea, eb] {
            let port = try Sandbox.bridgePort(e.hostInterface, netns: f.hostName)
            #expect(port?["isolated"] as? Bool == true, "\(String(describing: port))")
        }
        #expect(try !Sandbox.ping(from: a, eb.address.description), "isolated: a cannot reach its network neighbour b")
        let server = try TCPServer(in: b, port: 80, reply: .text("b"))
        defer { server.stop() }
        #expect(try Traffic.tcpFetch(from: a, eb.address.description, 80, attempts: 2) == nil, "no TCP handshake between isolated ports")
        #expect(try Sandbox.ping(from: a, "10.91.0.1"), "the gateway still answers")
        #expect(try Sandbox.ping(from: a, Topology.outsideAddress), "egress still works")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 8080) == "b", "a published port still works")
        // Off (the default, Docker 20.10): neighbours talk.
        #expect(try Sandbox.ping(from: x, "10.92.0.3"), "not isolated: x reaches y")
    }
}

@Suite("Façade: hardening against neighbours (loopback-local, direct routing)", .enabled(if: Sandbox.isActive), .serialized)
struct NeighbourHardeningTests {
    /// A neighbour that routes 127.0.0.1 to the host completes a TCP handshake with a
    /// `-p 127.0.0.1:8081:80` port through the DNAT (Docker 20.10, Berth's default); with
    /// `loopback_local` it cannot, while a port published on every address still works.
    @Test("loopback-published ports stay local", arguments: backends)
    func loopbackLocal(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        try topology.routeLoopbackToHost()
        var guarded = NetworkOptions(name: "ll", subnet: "10.96.0.0/24")
        try guarded.apply(option: "com.docker.network.bridge.loopback_local", value: "true")
        _ = try c.createNetwork(guarded)
        _ = try c.createNetwork(NetworkOptions(name: "plain", subnet: "10.97.0.0/24"))
        let a = try f.sandbox(), b = try f.sandbox()
        try c.attach(network: "ll", sandbox: .name(a),
                     options: AttachOptions(publish: [try PortSpec(parsing: "127.0.0.1:8081:80"), try PortSpec(parsing: "8082:80")]))
        let eb = try c.attach(network: "plain", sandbox: .name(b), options: AttachOptions(publish: [try PortSpec(parsing: "127.0.0.1:8083:80")]))
        let sa = try TCPServer(in: a, port: 80, reply: .text("a"))
        defer { sa.stop() }
        let sb = try TCPServer(in: b, port: 80, reply: .text("b"))
        defer { sb.stop() }
        #expect(try Traffic.tcpFetch(from: topology.outside, "127.0.0.1", 8083) == "b", "off (Docker 20.10): the neighbour reaches the loopback port")
        #expect(try Traffic.tcpFetch(from: topology.outside, "127.0.0.1", 8081, attempts: 2) == nil, "loopback_local: no handshake")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 8082) == "a", "a port on every address still works")
        if backend == .iptables {
            let raw = try Sandbox.exec(f.hostName, ["iptables", "-t", "raw", "-S", "PREROUTING"]).stdout
            #expect(raw.contains("-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8081 -j DROP"), "\(raw)")
            #expect(!raw.contains("8083"))
        }
        // Detaching leaves no rule behind; gc finds nothing to explain.
        let before = try f.ruleset()
        try c.detach(endpoint: eb.id)
        try c.attach(network: "plain", sandbox: .name(b), options: AttachOptions(publish: [try PortSpec(parsing: "127.0.0.1:8083:80")]))
        #expect(try f.ruleset().count == before.count)
        let report = try c.gc(dryRun: true)
        #expect(report.removed.isEmpty && report.repaired.isEmpty, "\(report)")
    }

    /// A neighbour that routes the bridge subnet via the host: off, Docker 20.10 (with FORWARD
    /// policy ACCEPT, as Docker leaves it when ip_forward was on, iptables lets it reach every
    /// port; nftables' table drops unpublished ones); unpublished, only published container ports
    /// directly; strict, only through the host port; a trusted interface keeps the direct path.
    @Test("direct routing protection: off, unpublished, strict, trusted interface", arguments: backends)
    func directRouting(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        func network(_ name: String, _ subnet: String, _ mode: String?, trusted: String? = nil) throws {
            var o = NetworkOptions(name: name, subnet: subnet)
            if let mode { try o.apply(option: "com.docker.network.bridge.direct_routing", value: mode) }
            if let trusted { try o.apply(option: "com.docker.network.bridge.trusted_interfaces", value: trusted) }
            _ = try c.createNetwork(o)
        }
        try network("dro", "10.94.0.0/24", nil)
        try network("dru", "10.93.0.0/24", "unpublished")
        try network("drs", "10.95.0.0/24", "strict")
        try network("drt", "10.98.0.0/24", "strict", trusted: "up0")
        var servers: [TCPServer] = []
        defer { for s in servers { s.stop() } }
        var address: [String: String] = [:]
        var sandbox: [String: String] = [:]
        for (name, hostPort) in [("dro", 8090), ("dru", 8091), ("drs", 8092), ("drt", 8093)] {
            let s = try f.sandbox()
            sandbox[name] = s
            let e = try c.attach(network: name, sandbox: .name(s), options: AttachOptions(ports: [PortMapping(hostPort: UInt16(hostPort), containerPort: 80)]))
            address[name] = e.address.description
            servers.append(try TCPServer(in: s, ports: [80, 81], reply: .localPort))
        }
        // Docker 20.10 leaves the FORWARD policy ACCEPT when ip_forward was on before it started.
        if backend == .iptables { _ = try Sandbox.exec(f.hostName, ["iptables", "-P", "FORWARD", "ACCEPT"]) }
        let out = topology.outside
        func fetch(_ name: String, _ port: Int) throws -> String? { try Traffic.tcpFetch(from: out, address[name] ?? "", port, attempts: 2) }
        // off
        #expect(try fetch("dro", 80) == "80")
        #expect(try (fetch("dro", 81) != nil) == (backend == .iptables), "off: today's behaviour")
        // unpublished
        #expect(try fetch("dru", 80) == "80", "unpublished: a published container port directly")
        #expect(try fetch("dru", 81) == nil, "unpublished: no handshake with an unpublished port")
        // strict
        #expect(try fetch("drs", 80) == nil, "strict: not even the published container port directly")
        #expect(try fetch("drs", 81) == nil)
        #expect(try Traffic.tcpFetch(from: out, "10.200.0.1", 8092) == "80", "strict: through the host port")
        // strict, the neighbour's interface trusted: Docker 20.10's path again
        #expect(try fetch("drt", 80) == "80", "trusted interface")
        #expect(try Traffic.tcpFetch(from: out, "10.200.0.1", 8093) == "80")
        // Egress (and its replies) still works from a protected network.
        #expect(try Sandbox.ping(from: try #require(sandbox["drs"]), Topology.outsideAddress))
        // Nothing unexplained (gc would only put back the FORWARD policy this test changed).
        let report = try c.gc(dryRun: true)
        #expect(report.removed.isEmpty && report.repaired.allSatisfy { $0.name.contains("base") }, "\(report)")
    }
}

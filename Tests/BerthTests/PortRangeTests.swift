import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// Port ranges, host ranges to one container port, ephemeral ports and SCTP through the façade
/// (issue 13, "Ports at scale"), each as dockerd 20.10 did it in the oracle run of 2026-12-02.
@Suite("Façade: published port ranges, ephemeral ports, SCTP", .enabled(if: Sandbox.isActive), .serialized)
struct PortRangeTests {
    static func spec(_ text: String) throws -> PortSpec { try PortSpec(parsing: text) }

    @Test("a range: reached from a neighbour namespace, a port outside it not, ruleset byte-identical after detach",
          arguments: backends)
    func rangeReachedAndDetachedCleanly(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        let before = try f.ruleset()
        let a = try f.sandbox()
        let e = try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: [try Self.spec("8000-8009:8000-8009")]))
        #expect(e.ports == [PortMapping(proto: .tcp, hostPort: 8000, containerPort: 8000, count: 10)])
        let server = try TCPServer(in: a, ports: [8000, 8009, 8010], reply: .localPort)
        defer { server.stop() }
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 8000) == "8000")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 8009) == "8009")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 8010, attempts: 1) == nil, "outside the range")
        try c.detach(endpoint: e.id)
        #expect(try f.ruleset() == before)
    }

    @Test("separate ports (one rule with a port set / map on nftables): each reached at its own container port, an unpublished one not, ruleset byte-identical after detach",
          arguments: backends)
    func separatePortsReachedAndDetachedCleanly(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        let before = try f.ruleset()
        let a = try f.sandbox()
        // host 7001+2i → container 81+3i: no two join into a run.
        let specs = try (0..<5).map { (i: Int) throws -> PortSpec in try Self.spec("\(7001 + 2 * i):\(81 + 3 * i)") }
        let e = try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: specs))
        #expect(e.ports.count == 5)
        if backend == .nftables {
            let published = try Sandbox.check(["ip", "netns", "exec", f.hostName, "nft", "list", "chain", "ip", "berth", "published"]).stdout
            #expect(published.contains("dport map { 7001 : 81, 7003 : 84, 7005 : 87, 7007 : 90, 7009 : 93 }"), "\(published)")
        }
        let server = try TCPServer(in: a, ports: [81, 82, 84, 93], reply: .localPort)
        defer { server.stop() }
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 7001) == "81")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 7003) == "84")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 7009) == "93")
        #expect(try Traffic.tcpFetch(from: topology.outside, "10.200.0.1", 7002, attempts: 1) == nil, "not published")
        try c.detach(endpoint: e.id)
        #expect(try f.ruleset() == before)
    }

    @Test("a host range to one container port takes its first free port; -p 80 an ephemeral port", arguments: backends)
    func hostRangeAndEphemeral(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let a = try f.sandbox(), b = try f.sandbox(), d = try f.sandbox()
        let ea = try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: [try Self.spec("8000-8009:80")]))
        let eb = try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(publish: [try Self.spec("8000-8009:80")]))
        #expect(ea.ports.map(\.hostPort) == [8000] && eb.ports.map(\.hostPort) == [8001])
        // Docker 20.10 reads the host namespace's ip_local_port_range (32768 60999 by default).
        let range = try Sandbox.exec(f.hostName, ["cat", "/proc/sys/net/ipv4/ip_local_port_range"]).stdout
        let low = try #require(PortSpec.ephemeralRange(sysctl: range)).lowerBound
        let ed = try c.attach(network: "bridge", sandbox: .name(d),
                              options: AttachOptions(publish: [try Self.spec("80"), try Self.spec("81/udp"), try Self.spec("127.0.0.1::82")]))
        #expect(ed.ports.contains { $0.containerPort == 80 && $0.proto == .tcp && $0.hostPort == low })
        #expect(ed.ports.contains { $0.containerPort == 81 && $0.proto == .udp && $0.hostPort == low })
        #expect(ed.ports.contains { $0.containerPort == 82 && $0.hostIP?.description == "127.0.0.1" && $0.hostPort == low + 1 })
        // An exact binding with host port 0 is `-p 0:80`: an ephemeral port too.
        let e0 = try c.attach(network: "bridge", sandbox: .name(try f.sandbox()), options: AttachOptions(ports: [PortMapping(hostPort: 0, containerPort: 90)]))
        #expect(e0.ports.map(\.hostPort) == [low + 2])
        if backend == .iptables {
            let nat = try f.iptables("-t", "nat", "-S", "DOCKER")
            #expect(nat.contains("--dport \(low) -j DNAT --to-destination \(ed.address):80"), "\(nat)")
        }
    }

    @Test("overlaps are portAllocated naming the port, with nothing changed", arguments: backends)
    func overlapsRefused(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let a = try f.sandbox(), b = try f.sandbox()
        try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: [try Self.spec("8000-8005:8000-8005")]))
        let rules = try f.ruleset()
        let records = f.stateFiles("endpoints")
        for (text, port) in [("8003:80", "8003"), ("7990-8000:7990-8000", "8000"), ("127.0.0.1:8005:80", "8005"),
                             ("8000-8005:80", "8000-8005")] {
            #expect { try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(publish: [try Self.spec(text)])) } throws: {
                let e = $0 as? BerthError
                return e?.code == .portAllocated && e?.description.contains(port) == true
            }
            #expect(try f.ruleset() == rules, "\(text)")
            #expect(f.stateFiles("endpoints") == records)
            #expect(try Sandbox.linkNames(netns: b) == ["lo"])
        }
        // Within one request too (Docker: "Bind for 0.0.0.0:8100 failed: port is already allocated").
        #expect { try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(publish: [try Self.spec("8100:80"), try Self.spec("8100-8101:81-82")])) }
            throws: { ($0 as? BerthError)?.code == .portAllocated }
        #expect(try f.ruleset() == rules)
        // The first free port of a host range skips the taken ones; another protocol is another port.
        let eb = try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(publish: [try Self.spec("8000-8009:80"), try Self.spec("8000-8005:8000-8005/udp")]))
        #expect(eb.ports.contains { $0.proto == .tcp && $0.hostPort == 8006 })
    }

    /// Proxy-less (Docker's --userland-proxy=false rules): this kernel has no SCTP, so no proxy
    /// can hold an SCTP port; dockerd 20.10 refuses SCTP here in both modes (it binds the port:
    /// docs/oracle.md), and Berth's proxy mode refuses it with nothing changed.
    @Test("SCTP: Docker's rules (-p sctp -m sctp), one rule per kind on nftables", arguments: backends)
    func sctpRules(_ backend: FirewallBackendKind) throws {
        let proxied = try Fixture(backend)
        let pc = try proxied.controller()
        let unchanged = try proxied.ruleset()
        let p = try proxied.sandbox()
        #expect(throws: BerthError.self) {
            try pc.attach(network: "bridge", sandbox: .name(p), options: AttachOptions(publish: [try Self.spec("9000:90/sctp")]))
        }
        #expect(try proxied.ruleset() == unchanged)
        #expect(try Sandbox.linkNames(netns: p) == ["lo"])

        let f = try Fixture(backend, userlandProxy: false)
        let c = try f.controller()
        let before = try f.ruleset()
        let a = try f.sandbox()
        let e = try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: [try Self.spec("9000:90/sctp")]))
        let cip = e.address.description
        if backend == .iptables {
            let save = try Sandbox.iptablesSave(netns: f.hostName)
            // Docker's --userland-proxy=false DNAT (no "! -i docker0").
            for rule in ["-A DOCKER -p sctp -m sctp --dport 9000 -j DNAT --to-destination \(cip):90",
                         "-A DOCKER -d \(cip)/32 ! -i docker0 -o docker0 -p sctp -m sctp --dport 90 -j ACCEPT",
                         "-A POSTROUTING -s \(cip)/32 -d \(cip)/32 -p sctp -m sctp --dport 90 -j MASQUERADE"] {
                #expect(save.contains(rule), "\(rule)")
            }
        } else {
            let listing = try Sandbox.nftRuleset(netns: f.hostName)
            #expect(listing.contains("sctp dport 9000 dnat to \(cip):90"), "\(listing)")
        }
        try c.detach(endpoint: e.id)
        #expect(try f.ruleset() == before)
    }

    @Test("bad input is a typed error and changes nothing", arguments: backends)
    func badInput(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let a = try f.sandbox()
        let rules = try f.ruleset()
        let bad: [PortSpec] = [PortSpec(hostPorts: 8000...8001, containerPorts: 80...82), PortSpec(hostPorts: 8000...8000, containerPorts: 0...0),
                               PortSpec(hostPorts: 8000...8000, containerPorts: 80...81)]
        for spec in bad {
            #expect { try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(publish: [spec])) }
                throws: { ($0 as? BerthError)?.code == .invalidArgument }
        }
        for mapping in [PortMapping(hostPort: 65530, containerPort: 80, count: 10), PortMapping(hostPort: 80, containerPort: 0)] {
            #expect { try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(ports: [mapping])) }
                throws: { ($0 as? BerthError)?.code == .invalidArgument }
        }
        #expect(try f.ruleset() == rules)
        #expect(f.stateFiles("endpoints").isEmpty)
        #expect(try Sandbox.linkNames(netns: a) == ["lo"])
    }
}

import Foundation
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The iptables backend's IPv6 rules seen by packets: a topology built with iproute2 (two
/// dual-stack bridges with a sandbox each, an outside namespace routed through the host over
/// IPv6 too), the backend programming the host; ping and TCP as the observers.
@Suite("ip6tables rules with packets", .enabled(if: Sandbox.isActive), .serialized)
struct Ip6tablesPacketTests {
    static let net1 = NetworkRules(id: String(repeating: "6", count: 64), bridge: "br-pkt61", subnet: Fixtures.subnet("10.36.1.0/24"),
                                   subnet6: Walkthrough6.v6Subnet("fd00:61::/64"))
    static let net2 = NetworkRules(id: String(repeating: "7", count: 64), bridge: "br-pkt62", subnet: Fixtures.subnet("10.36.2.0/24"),
                                   subnet6: Walkthrough6.v6Subnet("fd00:62::/64"))
    static let uplink6 = "fd00:200::1"
    static let outside6 = "fd00:200::2"

    static func ip(_ netns: String, _ args: String...) throws { try Sandbox.check(["ip", "-n", netns] + args) }

    /// IPv6 on the topology's links: the uplink, the bridges' gateways, the sandboxes' `eth0`
    /// (DAD off, as Berth and Docker add them) with a default route; IPv6 forwarding on in the
    /// host (what the façade turns on).
    static func addIPv6(_ topo: Topology, host: String, sandboxes: [(String, String, String)]) throws {
        try ip(host, "-6", "addr", "add", "\(uplink6)/64", "dev", "up0", "nodad")
        try ip(topo.outside, "-6", "addr", "add", "\(outside6)/64", "dev", "eth0", "nodad")
        try ip(topo.outside, "-6", "route", "add", "default", "via", uplink6)
        for (bridge, gateway, _) in sandboxes { try ip(host, "-6", "addr", "add", gateway + "/64", "dev", bridge, "nodad") }
        for (_, gateway, sandbox) in sandboxes { try ip(sandbox, "-6", "route", "add", "default", "via", gateway) }
        try Sandbox.check(["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
    }

    @Test func isolationEgressMasqueradeAndPublishedPortOverIPv6() throws {
        let host = try IptablesHost(forwardPolicy: Walkthrough6.policy)
        defer { host.close() }
        let topo = try Topology(host: host.name)
        defer { topo.close() }
        try topo.bridge(Self.net1.bridge, gateway: "10.36.1.1/24")
        try topo.bridge(Self.net2.bridge, gateway: "10.36.2.1/24")
        let a = try topo.sandbox(on: Self.net1.bridge, address: "10.36.1.2/24", gateway: "10.36.1.1")
        let b = try topo.sandbox(on: Self.net2.bridge, address: "10.36.2.2/24", gateway: "10.36.2.1")
        try Self.ip(a, "-6", "addr", "add", "fd00:61::2/64", "dev", "eth0", "nodad")
        try Self.ip(b, "-6", "addr", "add", "fd00:62::2/64", "dev", "eth0", "nodad")
        try Self.addIPv6(topo, host: host.name, sandboxes: [(Self.net1.bridge, "fd00:61::1", a), (Self.net2.bridge, "fd00:62::1", b)])
        // Without rules everything is routed (once the links' link-local addresses are past DAD,
        // which neighbour discovery waits for).
        #expect(try (0..<10).contains { _ in try Sandbox.ping(from: topo.outside, "fd00:61::2") })
        #expect(try Sandbox.ping(from: a, "fd00:62::2"))

        let b6 = host.backend
        try b6.setUpBase()
        try b6.addNetwork(Self.net1)
        try b6.addNetwork(Self.net2)
        let endpoint = EndpointPorts(endpointID: "pa", networkID: Self.net1.id, bridge: Self.net1.bridge, address: Fixtures.address("10.36.1.2"),
                                     ports: [PortMapping(hostPort: 8080, containerPort: 80)], address6: Walkthrough6.v6("fd00:61::2"))
        try b6.addPorts(endpoint)
        #expect(try !Sandbox.ping(from: a, "fd00:62::2"), "net1 → net2 isolated over IPv6")
        #expect(try !Sandbox.ping(from: b, "fd00:61::2"), "net2 → net1 isolated over IPv6")
        #expect(try !Sandbox.ping(from: topo.outside, "fd00:61::2"), "outside → net1 dropped (ip6tables FORWARD DROP)")
        #expect(try Sandbox.ping(from: a, Self.outside6), "egress over IPv6")

        // Egress is masqueraded: the outside sees the host's uplink address.
        let peer = try TCPServer(in: topo.outside, port: 7000, reply: .peerAddress, address: "::")
        defer { peer.stop() }
        #expect(try Traffic.tcpFetch(from: a, Self.outside6, 7000) == Self.uplink6)

        // The published port over IPv6 from the neighbour: DNAT to [fd00:61::2]:80.
        let server = try TCPServer(in: a, port: 80, reply: .text("v6-published"), address: "::")
        defer { server.stop() }
        #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink6, 8080) == "v6-published")
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:61::2", 81, attempts: 2) == nil, "an unpublished port stays closed")

        try b6.removePorts(endpoint)
        #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink6, 8080, attempts: 3) == nil, "gone with its rules")
    }
}

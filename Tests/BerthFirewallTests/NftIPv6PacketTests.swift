import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The nftables backend's IPv6 table seen by packets (issue 15): the `Topology` of the IPv4
/// packet tests with IPv6 added (host `up0` fd00:200::1/64 ↔ outside `eth0` fd00:200::2/64,
/// a dual-stack bridge fd00:1::1/64 and a sandbox fd00:1::2/64, every address without DAD),
/// TCP over IPv6 between the namespaces as the observer.
@Suite("nftables IPv6 with packets", .enabled(if: Sandbox.isActive), .serialized)
struct NftIPv6PacketTests {
    static let net = NetworkRules(id: String(repeating: "6", count: 64), bridge: "br-pkt6", subnet: Fixtures.subnet("10.31.6.0/24"),
                                  subnet6: NftV6Fixtures.subnet6("fd00:1::/64"))
    static let endpoint = EndpointPorts(endpointID: String(repeating: "5", count: 64), networkID: net.id, bridge: net.bridge,
                                        address: Fixtures.address("10.31.6.2"),
                                        ports: [PortMapping(hostPort: 8080, containerPort: 80)],
                                        address6: NftV6Fixtures.address6("fd00:1::2"))

    private func ip(_ netns: String, _ args: [String]) throws {
        try Sandbox.check(["ip", "-n", netns] + args)
    }

    @Test func publishedPortOverIPv6FromANeighbourAndMasqueradedEgress() throws {
        let host = try NftHost()
        defer { host.close() }
        let topo = try Topology(host: host.name)
        defer { topo.close() }
        try topo.bridge(Self.net.bridge, gateway: "10.31.6.1/24")
        let sandbox = try topo.sandbox(on: Self.net.bridge, address: "10.31.6.2/24", gateway: "10.31.6.1")
        try ip(host.name, ["addr", "add", "fd00:200::1/64", "dev", "up0", "nodad"])
        try ip(topo.outside, ["addr", "add", "fd00:200::2/64", "dev", "eth0", "nodad"])
        try ip(topo.outside, ["-6", "route", "add", "default", "via", "fd00:200::1"])
        try ip(host.name, ["addr", "add", "fd00:1::1/64", "dev", Self.net.bridge, "nodad"])
        try ip(sandbox, ["addr", "add", "fd00:1::2/64", "dev", "eth0", "nodad"])
        try ip(sandbox, ["-6", "route", "add", "default", "via", "fd00:1::1"])
        try Sysctl.write("net.ipv6.conf.all.forwarding", "1", in: host.namespace)
        let server = try TCPServer(in: sandbox, ports: [80, 81], reply: .peerAddress, address: "::")
        defer { server.stop() }
        let outsideServer = try TCPServer(in: topo.outside, port: 7000, reply: .peerAddress, address: "::")
        defer { outsideServer.stop() }
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:200::1", 8080, attempts: 3) == nil, "nothing published yet")

        try host.backend.reapply(FirewallState(networks: [Self.net], endpoints: [Self.endpoint]))
        // DNAT: the neighbour reaches the sandbox's port 80 through the host's 8080, unmasqueraded.
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:200::1", 8080) == "fd00:200::2")
        // An unpublished port of the sandbox is dropped (the network's fwd-in chain ends in drop).
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:1::2", 81, attempts: 3) == nil)
        // Egress is masqueraded to the host's address.
        #expect(try Traffic.tcpFetch(from: sandbox, "fd00:200::2", 7000) == "fd00:200::1")

        try host.backend.removePorts(Self.endpoint)
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:200::1", 8080, attempts: 3) == nil, "unpublished again")
        try host.backend.removeNetwork(Self.net)
        // Without Berth's rules the kernel routes (the ip6 table is gone, policy accept elsewhere).
        #expect(try Traffic.tcpFetch(from: topo.outside, "fd00:1::2", 81) == "fd00:200::2")
        try host.backend.removeAll(FirewallState())
    }
}

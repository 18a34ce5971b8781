import Foundation
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Published port ranges (issue 13, "Ports at scale") seen by packets on both backends: a
/// neighbour namespace routed through the host reaches every port of a run at the right
/// container port (same numbers, shifted up, shifted down), not a port outside it, and removing
/// the endpoint leaves the ruleset byte-identical to before.
@Suite("published port ranges with packets", .enabled(if: Sandbox.isActive), .serialized)
struct FirewallRangePacketTests {
    static let net = NetworkRules(id: String(repeating: "3", count: 64), bridge: "br-rng1", subnet: Fixtures.subnet("10.32.1.0/24"))

    /// 8000-8009 → 8000-8009, 9000-9004 → 7000-7004 (shifted down), 6000-6002 → 6100-6102 (shifted up), 5353/udp.
    static func endpoint() -> EndpointPorts {
        EndpointPorts(endpointID: "ep", networkID: net.id, bridge: net.bridge, address: IPv4Address(net.subnet.network.value + 2),
                      ports: [PortMapping(proto: .tcp, hostPort: 8000, containerPort: 8000, count: 10),
                              PortMapping(proto: .tcp, hostPort: 9000, containerPort: 7000, count: 5),
                              PortMapping(proto: .tcp, hostPort: 6000, containerPort: 6100, count: 3),
                              PortMapping(proto: .udp, hostPort: 5353, containerPort: 53, count: 1)])
    }

    @Test(arguments: FirewallBackendKind.allCases)
    func everyPortOfARangeReachesItsContainerPortAndNoOther(_ kind: FirewallBackendKind) throws {
        let host = try FirewallHost<any FirewallBackend>(kind)
        defer { host.close() }
        let topo = try Topology(host: host.name)
        defer { topo.close() }
        try topo.bridge(for: Self.net)
        let a1 = try topo.sandbox(on: Self.net, hostPart: 2)
        try host.backend.setUpBase()
        try host.backend.addNetwork(Self.net)
        let before = try host.listing()
        let endpoint = Self.endpoint()
        try host.backend.addPorts(endpoint)
        if kind == .nftables {
            // One rule per run and kind, whatever the number of ports: 4 bindings × 3 rules.
            let published = try Sandbox.nftRuleset(netns: host.name, handles: false).split(separator: "\n").filter { $0.contains("ep:ep") }
            #expect(published.count == 12, "\(published)")
        } else {
            // Docker 20.10's rules: three per port (19 ports).
            let rules = try Sandbox.iptablesSave(netns: host.name).filter { $0.contains("10.32.1.2") }
            #expect(rules.count == 19 * 3, "\(rules.count)")
        }
        let server = try TCPServer(in: a1, ports: [8000, 8005, 8009, 8010, 7000, 7004, 6100, 6102], reply: .localPort)
        defer { server.stop() }
        let uplink = Topology.hostUplinkAddress
        for (hostPort, containerPort) in [(8000, 8000), (8005, 8005), (8009, 8009), (9000, 7000), (9004, 7004), (6000, 6100), (6002, 6102)] {
            #expect(try Traffic.tcpFetch(from: topo.outside, uplink, hostPort) == String(containerPort), "\(kind) \(hostPort)")
        }
        #expect(try Traffic.tcpFetch(from: topo.outside, uplink, 8010, attempts: 1) == nil, "8010 is outside the range")
        #expect(try Traffic.tcpFetch(from: topo.outside, uplink, 9005, attempts: 1) == nil, "9005 is outside the range")
        #expect(try Traffic.tcpFetch(from: topo.outside, "10.32.1.2", 8010, attempts: 1) == nil, "unpublished container port")
        try host.backend.removePorts(endpoint)
        #expect(try host.listing() == before, "byte-identical ruleset after the ports are removed")
        #expect(try Traffic.tcpFetch(from: topo.outside, uplink, 8005, attempts: 1) == nil)
        try host.backend.removeAll(FirewallState())
    }

    /// The kernel's offset mapping (NF_NAT_RANGE_PROTO_OFFSET) computes MIN + dport % S; the chosen
    /// MIN/MAX send every host port of a run to its container port.
    @Test func shiftedRangeArithmetic() throws {
        for (h, c, n) in [(9000, 7000, 5), (6000, 6100, 3), (8001, 8000, 10), (1, 65000, 536), (60000, 10000, 10), (65526, 1, 10)] {
            let range = try #require(NftRuleBuilder.shiftedRange(hostPort: UInt16(h), containerPort: UInt16(c), count: UInt16(n)), "\(h) \(c) \(n)")
            let s = Int(range.1) - Int(range.0) + 1
            for i in 0..<n { #expect(Int(range.0) + (h + i) % s == c + i, "\(h)+\(i)") }
        }
        // 2-101 → 1-100 has no such mapping (it would need MIN = -1): that run is single ports,
        // which share one rule of each kind with a port map / set (NftLayout.leastPortsPerSet).
        #expect(NftRuleBuilder.shiftedRange(hostPort: 2, containerPort: 1, count: 100) == nil)
        let e = EndpointPorts(endpointID: "ep", networkID: Self.net.id, bridge: Self.net.bridge, address: IPv4Address(Self.net.subnet.network.value + 2),
                              ports: [PortMapping(hostPort: 2, containerPort: 1, count: 100)])
        let rules = NftLayout.endpointRules(e)
        #expect(rules.count == 3)
        #expect(rules.first?.exprs.compactMap(\.portSet).first?.keys == (2...101).map { UInt16($0) })
        #expect(NftLayout.endpointRules(Self.endpoint()).count == 12)
    }
}

import Foundation
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The firewall's behaviour seen by packets, the same for both backends: a topology built with
/// iproute2 (bridges, sandboxes, an "outside" routed through the host), the backend programming
/// the host, ping and TCP between the namespaces as the observers. The exact rule text of each
/// backend is checked in its own files (Iptables*Tests, Nft*Tests).
@Suite("firewall backends with packets", .enabled(if: Sandbox.isActive), .serialized)
struct FirewallPacketTests {
    static let net1 = NetworkRules(id: String(repeating: "1", count: 64), bridge: "br-pkt1", subnet: Fixtures.subnet("10.31.1.0/24"))
    static let net2 = NetworkRules(id: String(repeating: "2", count: 64), bridge: "br-pkt2", subnet: Fixtures.subnet("10.31.2.0/24"))
    static let uplink = Topology.hostUplinkAddress
    static let outside = Topology.outsideAddress

    /// Where a network's traffic goes once its rules are removed: iptables keeps Docker's FORWARD
    /// policy DROP (bridge-nf-call-iptables: same-bridge traffic too), nftables' own table has
    /// policy accept, so the kernel routes again.
    static func routedWithoutRules(_ kind: FirewallBackendKind) -> Bool { kind == .nftables }

    private func withTopology(_ kind: FirewallBackendKind, _ body: (FirewallHost<any FirewallBackend>, Topology) throws -> Void) throws {
        let host = try FirewallHost<any FirewallBackend>(kind)
        defer { host.close() }
        let topology = try Topology(host: host.name)
        defer { topology.close() }
        try body(host, topology)
    }

    @Test(arguments: FirewallBackendKind.allCases)
    func sameBridgeTalksNetworksAreIsolatedEgressIsMasqueraded(_ kind: FirewallBackendKind) throws {
        try withTopology(kind) { host, topo in
            try topo.bridge(for: Self.net1)
            try topo.bridge(for: Self.net2)
            let a1 = try topo.sandbox(on: Self.net1, hostPart: 2)
            let a2 = try topo.sandbox(on: Self.net1, hostPart: 3)
            let b1 = try topo.sandbox(on: Self.net2, hostPart: 2)
            try Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace)
            // Without the backend's rules, everything is routed.
            #expect(try Sandbox.ping(from: a1, "10.31.2.2"))
            #expect(try Sandbox.ping(from: topo.outside, "10.31.1.2"))

            try host.backend.setUpBase()
            try host.backend.addNetwork(Self.net1)
            try host.backend.addNetwork(Self.net2)
            #expect(try Sandbox.ping(from: a1, "10.31.1.3"), "same bridge (icc)")
            #expect(try Sandbox.ping(from: a2, "10.31.1.2"), "same bridge (icc)")
            #expect(try Sandbox.ping(from: a1, "10.31.1.1"), "the gateway (host input) is reachable")
            #expect(try !Sandbox.ping(from: a1, "10.31.2.2"), "net1 → net2 must be isolated")
            #expect(try !Sandbox.ping(from: b1, "10.31.1.2"), "net2 → net1 must be isolated")
            #expect(try Sandbox.ping(from: a1, Self.outside), "egress, masqueraded")
            #expect(try Sandbox.ping(from: b1, Self.outside), "egress, masqueraded")
            #expect(try !Sandbox.ping(from: topo.outside, "10.31.1.2"), "outside → net1 dropped (FORWARD DROP for the bridges)")

            // The outside sees the host's address, not the sandbox's: masquerade.
            let server = try TCPServer(in: topo.outside, port: 7000, reply: .peerAddress)
            defer { server.stop() }
            #expect(try Traffic.tcpFetch(from: a1, Self.outside, 7000) == Self.uplink)

            try host.backend.removeNetwork(Self.net2)
            try host.backend.removeNetwork(Self.net1)
            let routed = Self.routedWithoutRules(kind)
            #expect(try Sandbox.ping(from: a1, "10.31.1.3") == routed, "same bridge without the rules")
            #expect(try Sandbox.ping(from: a1, Self.outside) == routed, "egress without the rules")
            #expect(try Sandbox.ping(from: a1, "10.31.2.2") == routed, "net1 → net2 without the rules")
            try host.backend.removeAll(FirewallState())
        }
    }

    @Test(arguments: FirewallBackendKind.allCases)
    func iccOffDropsSameBridgeTraffic(_ kind: FirewallBackendKind) throws {
        try withTopology(kind) { host, topo in
            var net = Self.net1
            net.icc = false
            try topo.bridge(for: net)
            let a1 = try topo.sandbox(on: net, hostPart: 2)
            try topo.sandbox(on: net, hostPart: 3)
            #expect(try Sandbox.ping(from: a1, "10.31.1.3"))
            try host.backend.setUpBase()
            try host.backend.addNetwork(net)
            #expect(try Sandbox.sysctl("net.bridge.bridge-nf-call-iptables", netns: host.name) == "1")
            #expect(try !Sandbox.ping(from: a1, "10.31.1.3"), "icc=false drops same-bridge traffic")
            #expect(try Sandbox.ping(from: a1, "10.31.1.1"), "the gateway still answers")
            #expect(try Sandbox.ping(from: a1, Self.outside), "egress still works")
            try host.backend.removeAll(FirewallState())
        }
    }

    @Test(arguments: FirewallBackendKind.allCases)
    func internalNetworkKeepsTrafficOnTheBridge(_ kind: FirewallBackendKind) throws {
        try withTopology(kind) { host, topo in
            var net = Self.net1
            net.isInternal = true
            try topo.bridge(for: net)
            let a1 = try topo.sandbox(on: net, hostPart: 2)
            try topo.sandbox(on: net, hostPart: 3)
            try topo.bridge(for: Self.net2)
            let b1 = try topo.sandbox(on: Self.net2, hostPart: 2)
            try host.backend.setUpBase()
            try host.backend.addNetwork(net)
            try host.backend.addNetwork(Self.net2)
            #expect(try Sandbox.ping(from: a1, "10.31.1.3"), "inside the internal network")
            #expect(try !Sandbox.ping(from: a1, Self.outside), "nothing leaves")
            #expect(try !Sandbox.ping(from: topo.outside, "10.31.1.2"), "nothing enters")
            #expect(try !Sandbox.ping(from: a1, "10.31.2.2"), "no way to another network")
            #expect(try !Sandbox.ping(from: b1, "10.31.1.2"), "no way in from another network")
            try host.backend.removeAll(FirewallState())
        }
    }

    @Test(arguments: FirewallBackendKind.allCases)
    func publishedPortIsReachableOthersAreNot(_ kind: FirewallBackendKind) throws {
        try withTopology(kind) { host, topo in
            try topo.bridge(for: Self.net1)
            let a1 = try topo.sandbox(on: Self.net1, hostPart: 2)
            let a2 = try topo.sandbox(on: Self.net1, hostPart: 3)
            try host.backend.setUpBase()
            try host.backend.addNetwork(Self.net1)
            let endpoint = Self.endpoint(on: Self.net1, hairpin: false)
            try host.backend.addPorts(endpoint)
            let web = try TCPServer(in: a1, port: 80, reply: .peerAddress)
            defer { web.stop() }
            let other = try TCPServer(in: a1, port: 81, reply: .peerAddress)
            defer { other.stop() }
            // From outside via the host's address: DNAT, forward accept; the sandbox sees the client.
            #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink, 8080) == Self.outside)
            // Directly to the sandbox's published port (Docker 20.10 accepts it too).
            #expect(try Traffic.tcpFetch(from: topo.outside, "10.31.1.2", 80) == Self.outside)
            // An unpublished port of the sandbox: dropped.
            #expect(try Traffic.tcpFetch(from: topo.outside, "10.31.1.2", 81, attempts: 1) == nil)
            // From the host itself (output hook).
            #expect(try Traffic.tcpFetch(from: host.name, Self.uplink, 8080) != nil)
            // A neighbour on the same bridge reaches the sandbox directly (icc).
            #expect(try Traffic.tcpFetch(from: a2, "10.31.1.2", 80) == "10.31.1.3")
            // Through the host address the DNAT excludes the bridge (Docker 20.10 with its default
            // userland proxy, which serves bridge-side clients; Berth runs no proxy), so it is not
            // translated and nothing listens on the host: refused.
            #expect(try Traffic.tcpFetch(from: a2, Self.uplink, 8080, attempts: 1) == nil)

            try host.backend.removePorts(endpoint)
            #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink, 8080, attempts: 1) == nil)
            try host.backend.removeAll(FirewallState())
        }
    }

    /// Docker's `--userland-proxy=false` rules with hairpin bridge ports: a sandbox reaches its own
    /// published port, and its neighbour's, through the host address.
    @Test(arguments: FirewallBackendKind.allCases)
    func hairpinReachesTheOwnPublishedPortThroughTheHostAddress(_ kind: FirewallBackendKind) throws {
        try withTopology(kind) { host, topo in
            var net = Self.net1
            net.hairpin = true
            try topo.bridge(for: net)
            let a1 = try topo.sandbox(on: net, hostPart: 2, hairpin: true)
            let a2 = try topo.sandbox(on: net, hostPart: 3, hairpin: true)
            try host.backend.setUpBase()
            let base = try host.listing()
            let endpoint = Self.endpoint(on: net, hairpin: true)
            try host.backend.addNetwork(net)
            try host.backend.addPorts(endpoint)
            let web = try TCPServer(in: a1, port: 80, reply: .text("berth"))
            defer { web.stop() }
            #expect(try Traffic.tcpFetch(from: a1, Self.uplink, 8080) == "berth", "hairpin: own published port")
            #expect(try Traffic.tcpFetch(from: a2, Self.uplink, 8080) == "berth", "a neighbour through the host address")
            #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink, 8080) == "berth", "from outside")
            #expect(try Traffic.tcpFetch(from: host.name, Self.uplink, 8080) == "berth", "from the host namespace")

            // Adding again changes nothing.
            let once = try host.listing()
            try host.backend.addNetwork(net)
            try host.backend.addPorts(endpoint)
            #expect(try host.listing() == once)

            // Switched off: Docker's default rules again, the bridge side is not translated.
            try host.backend.addNetwork(Self.net1)
            try host.backend.addPorts(Self.endpoint(on: Self.net1, hairpin: false))
            #expect(try Traffic.tcpFetch(from: a1, Self.uplink, 8080, attempts: 1) == nil, "no hairpin")
            #expect(try Traffic.tcpFetch(from: topo.outside, Self.uplink, 8080) == "berth", "from outside still")

            // Removing the (hairpin) network leaves the ruleset as it was before it came.
            try host.backend.addNetwork(net)
            try host.backend.addPorts(endpoint)
            try host.backend.removePorts(endpoint)
            try host.backend.removeNetwork(net)
            #expect(try host.listing() == base)
            try host.backend.removeAll(FirewallState())
        }
    }

    /// `8080 → 80/tcp` of the sandbox at `.2` of `network`.
    static func endpoint(on network: NetworkRules, hairpin: Bool) -> EndpointPorts {
        EndpointPorts(endpointID: "ep", networkID: network.id, bridge: network.bridge,
                      address: IPv4Address(network.subnet.network.value + 2),
                      ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)], hairpin: hairpin)
    }
}

extension Topology {
    /// The network's bridge with its gateway `.1`.
    func bridge(for network: NetworkRules) throws {
        try bridge(network.bridge, gateway: "\(IPv4Address(network.subnet.network.value + 1))/\(network.subnet.prefixLength)")
    }

    /// A sandbox at `.hostPart` of the network's subnet, default route via `.1`.
    @discardableResult
    func sandbox(on network: NetworkRules, hostPart: UInt32, hairpin: Bool = false) throws -> String {
        let base = network.subnet.network.value
        return try sandbox(on: network.bridge, address: "\(IPv4Address(base + hostPart))/\(network.subnet.prefixLength)",
                           gateway: "\(IPv4Address(base + 1))", hairpin: hairpin)
    }
}

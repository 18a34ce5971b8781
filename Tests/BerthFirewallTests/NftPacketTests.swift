import Foundation
import Testing
import BerthNamespace
import BerthNetlink
import BerthTestSupport
@testable import BerthFirewall

/// A small topology inside an `NftHost`: bridges with sandboxes on them, and an "outside"
/// namespace routed through the host (192.0.2.0/24-style transfer net 10.31.9.0/24).
final class NftTopology {
    let host: NftHost
    private(set) var namespaces: [String] = []
    let outside: String
    static let outsideAddress = "10.31.9.2"
    static let hostOutsideAddress = "10.31.9.1"

    init(host: NftHost) throws {
        self.host = host
        outside = Sandbox.unique("nfx-")
        try Sandbox.addNamespace(outside)
        namespaces.append(outside)
        try host.ip(["link", "add", "xo0", "type", "veth", "peer", "name", "eth0", "netns", outside])
        try host.ip(["addr", "add", "\(Self.hostOutsideAddress)/24", "dev", "xo0"])
        try host.ip(["link", "set", "xo0", "up"])
        try Self.ip(outside, ["addr", "add", "\(Self.outsideAddress)/24", "dev", "eth0"])
        try Self.ip(outside, ["link", "set", "eth0", "up"])
        try Self.ip(outside, ["route", "add", "default", "via", Self.hostOutsideAddress])
    }

    static func ip(_ ns: String, _ args: [String]) throws {
        let r = try Sandbox.run(["ip", "-n", ns] + args)
        #expect(r.status == 0, "ip -n \(ns) \(args): \(r.stderr)")
    }

    /// A bridge in the host with gateway `.1` of `prefix.0/24`.
    func bridge(_ name: String, prefix: String) throws {
        try host.ip(["link", "add", name, "type", "bridge"])
        try host.ip(["addr", "add", "\(prefix).1/24", "dev", name])
        try host.ip(["link", "set", name, "up"])
    }

    /// A sandbox namespace with eth0 = `prefix.host/24` on `bridge`, default route via `.1`.
    @discardableResult
    func sandbox(on bridge: String, prefix: String, host index: Int) throws -> String {
        let ns = Sandbox.unique("nfs-")
        try Sandbox.addNamespace(ns)
        namespaces.append(ns)
        let veth = "v" + String(ns.suffix(6)) + String(index)
        try host.ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        try host.ip(["link", "set", veth, "master", bridge, "up"])
        try Self.ip(ns, ["addr", "add", "\(prefix).\(index)/24", "dev", "eth0"])
        try Self.ip(ns, ["link", "set", "eth0", "up"])
        try Self.ip(ns, ["route", "add", "default", "via", "\(prefix).1"])
        return ns
    }

    func close() {
        for ns in namespaces { Sandbox.deleteNamespace(ns) }
    }

    /// Starts a one-shot TCP server in `ns` on `port` that answers with the peer's address.
    func serve(in ns: String, port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", ns, "python3", "-c", """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", \(port))); s.listen(4); s.settimeout(8)
        while True:
            c, a = s.accept(); c.sendall(a[0].encode()); c.close()
        """]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until it listens.
        for _ in 0..<50 {
            let r = try Sandbox.exec(ns, ["ss", "-Hltn", "sport = :\(port)"])
            if !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            usleep(50_000)
        }
        return p
    }

    /// Connects from `ns` to `address:port`; returns what the server said (its view of our
    /// address), or nil when the connection failed within one second.
    func connect(from ns: String, to address: String, port: Int) throws -> String? {
        let r = try Sandbox.exec(ns, ["python3", "-c", """
        import socket, sys
        s = socket.create_connection(("\(address)", \(port)), timeout=1)
        print(s.recv(100).decode())
        """])
        return r.status == 0 ? r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }
}

@Suite("nftables backend with packets", .enabled(if: Sandbox.isActive), .serialized)
struct NftPacketTests {
    static func network(_ tag: String, bridge: String, prefix: String, icc: Bool = true, isInternal: Bool = false) -> NetworkRules {
        NetworkRules(id: String(repeating: tag, count: 64), bridge: bridge,
                     subnet: NftFixtures.subnet("\(prefix).0/24"), icc: icc, isInternal: isInternal)
    }

    @Test func sameBridgeTalksNetworksAreIsolatedOutsideIsDropped() throws {
        let host = try NftHost()
        defer { host.close() }
        let topo = try NftTopology(host: host)
        defer { topo.close() }
        try topo.bridge("brna", prefix: "10.31.1")
        try topo.bridge("brnb", prefix: "10.31.2")
        let a1 = try topo.sandbox(on: "brna", prefix: "10.31.1", host: 2)
        let a2 = try topo.sandbox(on: "brna", prefix: "10.31.1", host: 3)
        let b1 = try topo.sandbox(on: "brnb", prefix: "10.31.2", host: 2)
        try Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace)
        // Without Berth's rules, everything is routed.
        #expect(try Sandbox.ping(from: a1, "10.31.2.2"))
        #expect(try Sandbox.ping(from: topo.outside, "10.31.1.2"))

        let netA = Self.network("a", bridge: "brna", prefix: "10.31.1")
        let netB = Self.network("b", bridge: "brnb", prefix: "10.31.2")
        try host.backend.setUpBase()
        try host.backend.addNetwork(netA)
        try host.backend.addNetwork(netB)
        #expect(try Sandbox.ping(from: a1, "10.31.1.3"), "same bridge (icc)")
        #expect(try Sandbox.ping(from: a2, "10.31.1.2"), "same bridge (icc)")
        #expect(try !Sandbox.ping(from: a1, "10.31.2.2"), "A → B isolated")
        #expect(try !Sandbox.ping(from: b1, "10.31.1.2"), "B → A isolated")
        #expect(try Sandbox.ping(from: a1, NftTopology.outsideAddress), "A → outside (masqueraded)")
        #expect(try !Sandbox.ping(from: topo.outside, "10.31.1.2"), "outside → A dropped (FORWARD DROP for Berth bridges)")
        #expect(try Sandbox.ping(from: a1, "10.31.1.1"), "the gateway (host input) is reachable")

        // The outside sees the host's address, not the container's: masquerade.
        let server = try topo.serve(in: topo.outside, port: 7000)
        defer { server.terminate() }
        #expect(try topo.connect(from: a1, to: NftTopology.outsideAddress, port: 7000) == NftTopology.hostOutsideAddress)

        try host.backend.removeNetwork(netB)
        try host.backend.removeNetwork(netA)
        #expect(try Sandbox.ping(from: a1, "10.31.2.2"), "rules gone: routed again")
        try host.backend.removeAll(FirewallState())
    }

    @Test func iccOffDropsSameBridgeTraffic() throws {
        let host = try NftHost()
        defer { host.close() }
        let topo = try NftTopology(host: host)
        defer { topo.close() }
        try topo.bridge("brni", prefix: "10.31.3")
        let a1 = try topo.sandbox(on: "brni", prefix: "10.31.3", host: 2)
        _ = try topo.sandbox(on: "brni", prefix: "10.31.3", host: 3)
        #expect(try Sandbox.ping(from: a1, "10.31.3.3"))
        try host.backend.setUpBase()
        try host.backend.addNetwork(Self.network("c", bridge: "brni", prefix: "10.31.3", icc: false))
        #expect(try Sysctl.read("net.bridge.bridge-nf-call-iptables", in: host.namespace) == "1")
        #expect(try !Sandbox.ping(from: a1, "10.31.3.3"), "icc=false")
        #expect(try Sandbox.ping(from: a1, "10.31.3.1"), "the gateway stays reachable")
        #expect(try Sandbox.ping(from: a1, NftTopology.outsideAddress), "outbound still works")
        try host.backend.removeAll(FirewallState())
    }

    @Test func internalNetworkKeepsTrafficOnTheBridge() throws {
        let host = try NftHost()
        defer { host.close() }
        let topo = try NftTopology(host: host)
        defer { topo.close() }
        try topo.bridge("brin", prefix: "10.31.4")
        let a1 = try topo.sandbox(on: "brin", prefix: "10.31.4", host: 2)
        _ = try topo.sandbox(on: "brin", prefix: "10.31.4", host: 3)
        try host.backend.setUpBase()
        try host.backend.addNetwork(Self.network("d", bridge: "brin", prefix: "10.31.4", isInternal: true))
        #expect(try Sandbox.ping(from: a1, "10.31.4.3"), "same bridge")
        #expect(try !Sandbox.ping(from: a1, NftTopology.outsideAddress), "nothing leaves")
        #expect(try !Sandbox.ping(from: topo.outside, "10.31.4.2"), "nothing enters")
        try host.backend.removeAll(FirewallState())
    }

    @Test func publishedPortIsReachableOthersAreNot() throws {
        let host = try NftHost()
        defer { host.close() }
        let topo = try NftTopology(host: host)
        defer { topo.close() }
        try topo.bridge("brnp", prefix: "10.31.5")
        let a1 = try topo.sandbox(on: "brnp", prefix: "10.31.5", host: 2)
        let a2 = try topo.sandbox(on: "brnp", prefix: "10.31.5", host: 3)
        let net = Self.network("e", bridge: "brnp", prefix: "10.31.5")
        try host.backend.setUpBase()
        try host.backend.addNetwork(net)
        let endpoint = EndpointPorts(endpointID: "ep1", networkID: net.id, bridge: "brnp", address: NftFixtures.address("10.31.5.2"),
                                     ports: [PortMapping(hostPort: 8080, containerPort: 80)])
        try host.backend.addPorts(endpoint)
        let web = try topo.serve(in: a1, port: 80)
        defer { web.terminate() }
        let other = try topo.serve(in: a1, port: 81)
        defer { other.terminate() }
        // From outside via the host's address: DNAT, forward accept; the container sees the client.
        #expect(try topo.connect(from: topo.outside, to: NftTopology.hostOutsideAddress, port: 8080) == NftTopology.outsideAddress)
        // Directly to the container's published port (Docker 20.10 accepts it too).
        #expect(try topo.connect(from: topo.outside, to: "10.31.5.2", port: 80) == NftTopology.outsideAddress)
        // An unpublished port of the container: dropped.
        #expect(try topo.connect(from: topo.outside, to: "10.31.5.2", port: 81) == nil)
        // From the host itself (output hook).
        let local = try Sandbox.exec(host.name, ["python3", "-c",
            "import socket; s=socket.create_connection(('\(NftTopology.hostOutsideAddress)', 8080), timeout=1); print(s.recv(100).decode())"])
        #expect(local.status == 0)
        // A neighbour on the same bridge reaches the container directly (icc).
        #expect(try topo.connect(from: a2, to: "10.31.5.2", port: 80) == "10.31.5.3")
        // Through the host address the DNAT has `iifname != BR` (Docker 20.10 with its default
        // userland proxy, which serves bridge-side clients; Berth runs no proxy), so it is not
        // translated and nothing listens on the host: refused.
        #expect(try topo.connect(from: a2, to: NftTopology.hostOutsideAddress, port: 8080) == nil)

        try host.backend.removePorts(endpoint)
        #expect(try topo.connect(from: topo.outside, to: NftTopology.hostOutsideAddress, port: 8080) == nil)
        try host.backend.removeAll(FirewallState())
    }
}

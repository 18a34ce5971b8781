import Foundation
import Testing
import BerthNamespace
import BerthNetlink
import BerthTestSupport
@testable import BerthFirewall

/// A small topology inside a test's host namespace, built with iproute2: bridges with a gateway
/// address, sandboxes (namespaces) with `eth0` on a bridge, and an "outside" namespace reached
/// through an uplink veth. Everything it creates lives in namespaces it deletes in `close()`.
final class PacketTopology {
    let host: IptablesHost
    private(set) var namespaces: [String] = []
    let outside: String
    static let uplinkHost = "10.99.0.1"
    static let uplinkOutside = "10.99.0.2"

    init(host: IptablesHost) throws {
        self.host = host
        outside = Sandbox.unique("out-")
        try addNamespace(outside)
        let hv = Sandbox.unique("up")
        try ip(["-n", host.name, "link", "add", hv, "type", "veth", "peer", "name", "uplink", "netns", outside])
        try ip(["-n", host.name, "addr", "add", "\(Self.uplinkHost)/24", "dev", hv])
        try ip(["-n", host.name, "link", "set", hv, "up"])
        try ip(["-n", outside, "addr", "add", "\(Self.uplinkOutside)/24", "dev", "uplink"])
        try ip(["-n", outside, "link", "set", "uplink", "up"])
        // No route back to the bridges' subnets: only masqueraded traffic gets answers.
    }

    func bridge(_ network: NetworkRules) throws {
        let gateway = IPv4Address(network.subnet.network.value + 1)
        try ip(["-n", host.name, "link", "add", network.bridge, "type", "bridge"])
        try ip(["-n", host.name, "addr", "add", "\(gateway)/\(network.subnet.prefixLength)", "dev", network.bridge])
        try ip(["-n", host.name, "link", "set", network.bridge, "up"])
    }

    /// A sandbox with address `.hostPart` of the network's subnet; returns its namespace name.
    @discardableResult
    func sandbox(on network: NetworkRules, hostPart: UInt32) throws -> String {
        let name = Sandbox.unique("sb-")
        try addNamespace(name)
        let hv = Sandbox.unique("veth")
        let address = IPv4Address(network.subnet.network.value + hostPart)
        let gateway = IPv4Address(network.subnet.network.value + 1)
        try ip(["-n", host.name, "link", "add", hv, "type", "veth", "peer", "name", "eth0", "netns", name])
        try ip(["-n", host.name, "link", "set", hv, "master", network.bridge, "up"])
        try ip(["-n", name, "addr", "add", "\(address)/\(network.subnet.prefixLength)", "dev", "eth0"])
        try ip(["-n", name, "link", "set", "eth0", "up"])
        try ip(["-n", name, "route", "add", "default", "via", "\(gateway)"])
        return name
    }

    func close() {
        for name in namespaces.reversed() { Sandbox.deleteNamespace(name) }
    }

    private func addNamespace(_ name: String) throws {
        try Sandbox.addNamespace(name)
        namespaces.append(name)
    }

    private func ip(_ args: [String]) throws {
        let r = try Sandbox.run(["ip"] + args)
        if r.status != 0 { throw SandboxError.command("ip " + args.joined(separator: " "), r.stderr) }
    }
}

@Suite("iptables backend with packets", .enabled(if: Sandbox.isActive), .serialized)
struct IptablesPacketTests {
    static let net1 = NetworkRules(id: "p1", bridge: "br-pkt1", subnet: Walkthrough.subnet("10.31.1.0/24"))
    static let net2 = NetworkRules(id: "p2", bridge: "br-pkt2", subnet: Walkthrough.subnet("10.31.2.0/24"))

    private func withTopology(_ body: (IptablesHost, PacketTopology) throws -> Void) throws {
        let host = try IptablesHost()
        defer { host.close() }
        let topology = try PacketTopology(host: host)
        defer { topology.close() }
        try body(host, topology)
    }

    @Test func sameBridgeTalksNetworksAreIsolatedEgressIsMasqueraded() throws {
        try withTopology { host, topo in
            try topo.bridge(Self.net1)
            try topo.bridge(Self.net2)
            let a1 = try topo.sandbox(on: Self.net1, hostPart: 2)
            try topo.sandbox(on: Self.net1, hostPart: 3)
            let b1 = try topo.sandbox(on: Self.net2, hostPart: 2)
            try host.backend.setUpBase()
            try host.backend.addNetwork(Self.net1)
            try host.backend.addNetwork(Self.net2)

            #expect(try Sandbox.ping(from: a1, "10.31.1.3"), "same bridge")
            #expect(try Sandbox.ping(from: a1, "10.31.1.1"), "gateway")
            #expect(try !Sandbox.ping(from: a1, "10.31.2.2"), "net1 → net2 must be isolated")
            #expect(try !Sandbox.ping(from: b1, "10.31.1.2"), "net2 → net1 must be isolated")
            #expect(try Sandbox.ping(from: a1, PacketTopology.uplinkOutside), "egress, masqueraded")
            #expect(try Sandbox.ping(from: b1, PacketTopology.uplinkOutside), "egress, masqueraded")

            // Without the network's rules, FORWARD policy DROP stops even same-bridge traffic
            // (bridge-nf-call-iptables): the rules above are what let it through.
            try host.backend.removeNetwork(Self.net1)
            #expect(try !Sandbox.ping(from: a1, "10.31.1.3"))
            #expect(try !Sandbox.ping(from: a1, PacketTopology.uplinkOutside))
        }
    }

    @Test func iccOff() throws {
        try withTopology { host, topo in
            var net = Self.net1
            net.icc = false
            try topo.bridge(net)
            let a1 = try topo.sandbox(on: net, hostPart: 2)
            try topo.sandbox(on: net, hostPart: 3)
            try host.backend.setUpBase()
            try host.backend.addNetwork(net)
            #expect(try !Sandbox.ping(from: a1, "10.31.1.3"), "icc=false drops same-bridge traffic")
            #expect(try Sandbox.ping(from: a1, "10.31.1.1"), "the gateway still answers")
            #expect(try Sandbox.ping(from: a1, PacketTopology.uplinkOutside), "egress still works")
        }
    }

    @Test func internalNetwork() throws {
        try withTopology { host, topo in
            var net = Self.net1
            net.isInternal = true
            try topo.bridge(net)
            let a1 = try topo.sandbox(on: net, hostPart: 2)
            try topo.sandbox(on: net, hostPart: 3)
            try topo.bridge(Self.net2)
            let b1 = try topo.sandbox(on: Self.net2, hostPart: 2)
            try host.backend.setUpBase()
            try host.backend.addNetwork(net)
            try host.backend.addNetwork(Self.net2)
            #expect(try Sandbox.ping(from: a1, "10.31.1.3"), "inside the internal network")
            #expect(try !Sandbox.ping(from: a1, PacketTopology.uplinkOutside), "no egress")
            #expect(try !Sandbox.ping(from: a1, "10.31.2.2"), "no way to another network")
            #expect(try !Sandbox.ping(from: b1, "10.31.1.2"), "no way in from another network")
        }
    }

    @Test func publishedPortIsReachableFromOutside() throws {
        try withTopology { host, topo in
            try topo.bridge(Self.net1)
            let a1 = try topo.sandbox(on: Self.net1, hostPart: 2)
            try host.backend.setUpBase()
            try host.backend.addNetwork(Self.net1)
            let endpoint = EndpointPorts(endpointID: "ep", networkID: Self.net1.id, bridge: Self.net1.bridge,
                                         address: Walkthrough.address("10.31.1.2"),
                                         ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)])
            try host.backend.addPorts(endpoint)

            // A one-shot TCP server in the sandbox answering "berth".
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            server.arguments = ["netns", "exec", a1, "/usr/bin/python3", "-c", """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 80)); s.listen(1); s.settimeout(10)
            c, _ = s.accept(); c.sendall(b"berth"); c.close()
            """]
            try server.run()
            defer { if server.isRunning { server.terminate() }; server.waitUntilExit() }
            let client = """
            import socket, sys, time
            for i in range(50):
                try:
                    c = socket.create_connection((sys.argv[1], 8080), timeout=1); print(c.recv(16).decode()); break
                except OSError:
                    time.sleep(0.1)
            """
            let r = try Sandbox.exec(topo.outside, ["/usr/bin/python3", "-c", client, PacketTopology.uplinkHost])
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "berth", "\(r.stderr)")
        }
    }
}

import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

@Suite("Façade: hairpin mode (userland-proxy=false)")
struct HairpinOptionTests {
    @Test func driverOptionAndLegacyRecords() throws {
        var o = NetworkOptions(name: "n")
        #expect(o.hairpin == false)
        try o.apply(option: "com.docker.network.bridge.hairpin", value: "true")
        #expect(o.hairpin)
        try o.apply(option: "com.docker.network.bridge.hairpin", value: "0")
        #expect(!o.hairpin)
        #expect(throws: BerthError.self) { try o.apply(option: "com.docker.network.bridge.hairpin", value: "maybe") }
        // A network record written before the field existed decodes with hairpin off.
        let json = #"{"id":"\#(String(repeating: "a", count: 64))","name":"old","bridge":"br-aaaaaaaaaaaa","subnet":"172.18.0.0/16","#
            + #""gateway":"172.18.0.1","isInternal":false,"icc":true,"masquerade":true,"labels":{},"#
            + #""bridgeMAC":"02:42:ac:12:00:01","created":"2024-01-01T00:00:00.000Z","isDefault":false,"ownsBridge":true}"#
        let network = try JSONDecoder().decode(Network.self, from: Data(json.utf8))
        #expect(network.hairpin == false)
        #expect(network.firewallRules.hairpin == false)
        #expect(try JSONDecoder().decode(Network.self, from: try JSONEncoder().encode(network)) == network)
    }
}

@Suite("Façade acceptance: hairpin (userland-proxy=false)", .enabled(if: Sandbox.isActive), .serialized)
struct HairpinTests {
    @Test("published port via the host address: host, other network, own sandbox", arguments: backends)
    func hairpin(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        let outside = topology.outside
        var optionsA = NetworkOptions(name: "hpa")
        try optionsA.apply(option: "com.docker.network.bridge.hairpin", value: "true")
        let netA = try c.createNetwork(optionsA)
        let netB = try c.createNetwork(NetworkOptions(name: "hpb", hairpin: true))
        #expect(netA.hairpin && netB.hairpin)
        #expect(try Sandbox.exec(f.hostName, ["cat", "/proc/sys/net/ipv4/conf/\(netA.bridge)/route_localnet"]).stdout == "1\n")

        let a = try f.sandbox(), b = try f.sandbox()
        let ea = try c.attach(network: "hpa", sandbox: .name(a),
                              options: AttachOptions(ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)]))
        let eb = try c.attach(network: "hpb", sandbox: .name(b))

        // The host end is a hairpin bridge port.
        let port = try Sandbox.bridgePort(ea.hostInterface, netns: f.hostName)
        #expect(port?["hairpin"] as? Bool == true, "\(String(describing: port))")

        let server = try TCPServer(in: a, port: 80, reply: .text("berth"))
        defer { server.stop() }

        #expect(try Traffic.tcpFetch(from: outside, "10.200.0.1", 8080) == "berth", "from outside")
        #expect(try Traffic.tcpFetch(from: f.hostName, "10.200.0.1", 8080) == "berth", "from the host namespace")
        #expect(try Traffic.tcpFetch(from: b, "10.200.0.1", 8080) == "berth", "from a sandbox on another network")
        #expect(try Traffic.tcpFetch(from: a, "10.200.0.1", 8080) == "berth", "hairpin: own published port")

        // Isolation still holds for direct traffic between the networks.
        #expect(try Traffic.tcpFetch(from: b, ea.address.description, 80, attempts: 2) == nil, "direct B → A")
        #expect(try !Sandbox.ping(from: b, ea.address.description))
        #expect(try !Sandbox.ping(from: a, eb.address.description))

        if backend == .iptables {
            #expect(try f.iptables("-S", "DOCKER-ISOLATION-STAGE-1").contains(
                "-N DOCKER-ISOLATION-STAGE-1\n-A DOCKER-ISOLATION-STAGE-1 -m conntrack --ctstate DNAT -j RETURN\n"))
            let nat = try f.iptables("-t", "nat", "-S")
            #expect(nat.contains("-A POSTROUTING -o \(netA.bridge) -m addrtype --src-type LOCAL -j MASQUERADE"))
            #expect(nat.contains("-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination \(ea.address):80"))
            #expect(!nat.contains("-A DOCKER -i \(netA.bridge) -j RETURN"))
        }

        // Teardown leaves no hairpin rule behind.
        try c.detach(endpoint: ea.id)
        try c.detach(endpoint: eb.id)
        try c.deleteNetwork("hpa")
        try c.deleteNetwork("hpb")
        let rules = try f.ruleset()
        #expect(!rules.contains("DNAT -j RETURN") && !rules.contains("src-type LOCAL"))
        #expect(!rules.contains("ct status dnat") && !rules.contains("fib saddr"))
    }
}

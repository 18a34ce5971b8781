@testable import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// Regression tests for the differences the Docker 20.10 oracle found (issue 12), each checked
/// through independent observers (`ip -j`, `/proc/sys`, packets).
@Suite("Oracle regressions (issue 12)", .enabled(if: Sandbox.isActive))
struct OracleRegressionTests {
    /// Docker writes accept_ra=0 on docker0 and every bridge it creates.
    @Test func bridgesRefuseRouterAdvertisements() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let n = try c.createNetwork(NetworkOptions(name: "ra"))
        #expect(try Sandbox.sysctl("net.ipv6.conf.docker0.accept_ra", netns: f.hostName) == "0")
        #expect(try Sandbox.sysctl("net.ipv6.conf.\(n.bridge).accept_ra", netns: f.hostName) == "0")
    }

    /// Docker sets disable_ipv6=1 in every sandbox it creates: no ::1, no fe80::, no IPv6 path
    /// between endpoints that icc=false isolates.
    @Test func sandboxesHaveNoIPv6() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "v6", icc: false))
        let a = try c.attach(network: "v6", sandbox: .create(name: Sandbox.unique("orr-a-")))
        let b = try c.attach(network: "v6", sandbox: .create(name: Sandbox.unique("orr-b-")))
        defer { _ = try? c.detach(endpoint: a.id); _ = try? c.detach(endpoint: b.id) }
        for e in [a, b] {
            let ns = try #require(e.sandboxName)
            for key in ["all", "default", "lo", "eth0"] {
                #expect(try Sandbox.sysctl("net.ipv6.conf.\(key).disable_ipv6", netns: ns) == "1", "\(ns) \(key)")
            }
            let v6 = try Sandbox.ipJSON(["-6", "addr", "show"], netns: ns).flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }
            #expect(v6.isEmpty, "\(ns): \(v6)")
        }
        // Neither IPv4 (icc=false) nor an IPv6 link-local path between the two.
        #expect(try !Sandbox.ping(from: try #require(a.sandboxName), b.address.description))
        let ping6 = try Sandbox.exec(try #require(a.sandboxName), ["ping", "-6", "-c", "1", "-W", "1", "ff02::1%eth0"])
        #expect(ping6.status != 0)
    }

    /// A sandbox Berth did not create still gets IPv6 off on the endpoint's interface.
    @Test func givenSandboxInterfaceHasNoIPv6() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "given"))
        let s = try f.sandbox()
        let e = try c.attach(network: "given", sandbox: .name(s))
        defer { _ = try? c.detach(endpoint: e.id) }
        #expect(try Sandbox.sysctl("net.ipv6.conf.eth0.disable_ipv6", netns: s) == "1")
    }

    /// Docker's bridges and both veth ends have qlen 0.
    @Test func bridgesAndVethsHaveNoQueueLength() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let n = try c.createNetwork(NetworkOptions(name: "ql"))
        let e = try c.attach(network: "ql", sandbox: .create(name: Sandbox.unique("orr-q-")))
        defer { _ = try? c.detach(endpoint: e.id) }
        for link in ["docker0", n.bridge, e.hostInterface] {
            #expect(try Sandbox.link(link, netns: f.hostName)?["txqlen"] as? Int ?? 0 == 0, "\(link)")
        }
        #expect(try Sandbox.link("eth0", netns: try #require(e.sandboxName))?["txqlen"] as? Int ?? 0 == 0)
    }

    /// Docker takes the gateway from --ip-range (its first address, a .0 inside a larger subnet).
    @Test func ipRangeGivesTheGateway() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let n = try c.createNetwork(NetworkOptions(name: "rg", subnet: "10.12.0.0/16", ipRange: "10.12.5.0/24"))
        #expect(n.gateway.description == "10.12.5.0")
        #expect(try Sandbox.ipv4Addresses(n.bridge, netns: f.hostName) == ["10.12.5.0/16"])
        let e = try c.attach(network: "rg", sandbox: .create(name: Sandbox.unique("orr-r-")))
        defer { _ = try? c.detach(endpoint: e.id) }
        #expect(e.cidr == "10.12.5.1/16")
        let routes = try Sandbox.ipJSON(["-4", "route", "show", "default"], netns: try #require(e.sandboxName))
        #expect(routes.first?["gateway"] as? String == "10.12.5.0")
    }

    /// Docker's IPAM continues after the last pool it gave: a freed subnet is not reused at once.
    @Test func automaticSubnetsRotate() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let a = try c.createNetwork(NetworkOptions(name: "sa"))
        let b = try c.createNetwork(NetworkOptions(name: "sb"))
        try c.deleteNetwork("sa")
        let d = try c.createNetwork(NetworkOptions(name: "sd"))
        #expect([a, b, d].map(\.subnet.description) == ["172.18.0.0/16", "172.19.0.0/16", "172.20.0.0/16"])
        // Another process (the CLI's case) continues from the recorded index.
        let other = try f.controller()
        #expect(try other.createNetwork(NetworkOptions(name: "se")).subnet.description == "172.21.0.0/16")
        let routes = try Sandbox.ipJSON(["-4", "route", "show"], netns: f.hostName).compactMap { $0["dst"] as? String }
        #expect(routes.contains("172.21.0.0/16") && !routes.contains("172.18.0.0/16"))
    }

    /// Docker refuses `--ip` on a network created without `--subnet`.
    @Test func staticAddressNeedsAConfiguredSubnet() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let n = try c.createNetwork(NetworkOptions(name: "auto"))
        let s = try f.sandbox()
        let ip = IPv4Address(n.subnet.network.value + 50).description
        #expect { try c.attach(network: "auto", sandbox: .name(s), options: AttachOptions(address: ip)) } throws: {
            ($0 as? BerthError)?.code == .invalidArgument
        }
        #expect(try Sandbox.linkNames(netns: s) == ["lo"])
    }

    /// Docker 20.10: an internal network's endpoint has a default route via the gateway, and a
    /// port published there programs nothing.
    @Test func internalNetworksRouteButPublishNothing() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let before = try f.ruleset()
        try c.createNetwork(NetworkOptions(name: "int", subnet: "10.15.0.0/24", isInternal: true))
        let withNetwork = try f.ruleset()
        let e = try c.attach(network: "int", sandbox: .create(name: Sandbox.unique("orr-i-")),
                             options: AttachOptions(ports: [PortMapping(proto: .tcp, hostIP: nil, hostPort: 8080, containerPort: 80)]))
        defer { _ = try? c.detach(endpoint: e.id) }
        #expect(try f.ruleset() == withNetwork)
        #expect(!withNetwork.contains("8080") && before != withNetwork)
        let routes = try Sandbox.ipJSON(["-4", "route", "show", "default"], netns: try #require(e.sandboxName))
        #expect(routes.first?["gateway"] as? String == "10.15.0.1")
    }

    /// The default route goes to the best endpoint (internal last, then network name), on connect
    /// and again on disconnect.
    @Test func defaultRouteFollowsLibnetworkElection() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "na", subnet: "10.42.0.0/24"))
        try c.createNetwork(NetworkOptions(name: "nb", subnet: "10.43.0.0/24"))
        try c.createNetwork(NetworkOptions(name: "aa-int", subnet: "10.44.0.0/24", isInternal: true))
        let name = Sandbox.unique("orr-d-")
        let b = try c.attach(network: "nb", sandbox: .create(name: name))
        func defaultVia() throws -> [String] {
            try Sandbox.ipJSON(["-4", "route", "show", "default"], netns: name).map { "\($0["gateway"] as? String ?? "-") \($0["dev"] as? String ?? "-")" }
        }
        #expect(try defaultVia() == ["10.43.0.1 eth0"])
        let i = try c.attach(network: "aa-int", sandbox: .name(name))        // internal: sorts last
        #expect(try defaultVia() == ["10.43.0.1 eth0"])
        let a = try c.attach(network: "na", sandbox: .name(name))            // "na" < "nb": takes it
        #expect(try defaultVia() == ["10.42.0.1 eth2"])
        try c.detach(endpoint: a.id)                                         // re-elected: nb
        #expect(try defaultVia() == ["10.43.0.1 eth0"])
        try c.detach(endpoint: b.id)                                         // only the internal one left
        #expect(try defaultVia() == ["10.44.0.1 eth1"])
        try c.detach(endpoint: i.id)
    }

    /// Docker programs one endpoint's bindings in nat.SortPortMap order.
    @Test func portMappingsInDockerOrder() throws {
        let given = [PortMapping(proto: .tcp, hostIP: nil, hostPort: 7000, containerPort: 70),
                     PortMapping(proto: .tcp, hostIP: nil, hostPort: 9001, containerPort: 80),
                     PortMapping(proto: .tcp, hostIP: nil, hostPort: 8000, containerPort: 80)]
        #expect(PortMapping.dockerOrder(given).map(\.hostPort) == [8000, 9001, 7000])
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "po", subnet: "10.34.0.0/24"))
        let e = try c.attach(network: "po", sandbox: .create(name: Sandbox.unique("orr-p-")), options: AttachOptions(ports: given))
        defer { _ = try? c.detach(endpoint: e.id) }
        let dnat = try f.iptables("-t", "nat", "-S", "DOCKER").split(separator: "\n").filter { $0.contains("DNAT") }
            .compactMap { line -> Substring? in
                let words = line.split(separator: " ")
                return words.firstIndex(of: "--dport").map { words[$0 + 1] }
            }
        #expect(dnat == ["8000", "9001", "7000"])
    }
}

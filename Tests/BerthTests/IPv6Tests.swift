import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthFixtures
import BerthTestSupport
import Foundation
import Testing

/// IPv6 dual stack on bridge networks (issue 15), observed with iproute2, /proc/sys and ping:
/// Docker 20.10's bridge and sandbox set-up (Tests/Fixtures/docker-20.10/ipv6/), Docker 28's host
/// forwarding behaviour (accept_ra=2 before all.forwarding=1).
@Suite("IPv6: networks, endpoints, host forwarding", .enabled(if: Sandbox.isActive))
struct IPv6Tests {
    static func v6(_ name: String, _ subnet: String = "fd00:1::/64") -> NetworkOptions {
        var o = NetworkOptions(name: name)
        o.enableIPv6 = true
        o.subnet6 = subnet
        return o
    }

    @Test("two dual-stack sandboxes: addresses from ::2, the bridge's fe80::1 and gateway, v6 default route, ping both families",
          arguments: backends)
    func dualStack(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let network = try c.createNetwork(Self.v6("six"))
        #expect(network.enableIPv6 && network.subnet6?.description == "fd00:1::/64" && network.gateway6?.description == "fd00:1::1")
        let a = try f.sandbox(), b = try f.sandbox()
        let ea = try c.attach(network: "six", sandbox: .name(a))
        let eb = try c.attach(network: "six", sandbox: .name(b))
        #expect(ea.cidr6 == "fd00:1::2/64" && eb.cidr6 == "fd00:1::3/64" && ea.gateway6?.description == "fd00:1::1")
        // The bridge, as setup_ipv6.go leaves it.
        let bridgeAddresses = try Sandbox.ipv6Addresses(network.bridge, netns: f.hostName)
        #expect(bridgeAddresses.contains("fe80::1/64") && bridgeAddresses.contains("fd00:1::1/64"), "\(bridgeAddresses)")
        #expect(try Sandbox.sysctl("net.ipv6.conf.\(network.bridge).disable_ipv6", netns: f.hostName) == "0")
        #expect(try Sandbox.sysctl("net.ipv6.conf.\(network.bridge).accept_ra", netns: f.hostName) == "0")
        #expect(try Sandbox.sysctl("net.ipv6.conf.all.forwarding", netns: f.hostName) == "1")
        // The sandbox: the address on eth0 (DAD off: not tentative), IPv6 on for eth0, the default route.
        #expect(try Sandbox.ipv6Addresses("eth0", netns: a, globalOnly: true) == ["fd00:1::2/64"])
        #expect(try Sandbox.sysctl("net.ipv6.conf.eth0.disable_ipv6", netns: a) == "0")
        let tentative = try Sandbox.ipJSON(["-6", "addr", "show", "dev", "eth0", "tentative"], netns: a)
            .flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }.compactMap { $0["local"] as? String }
        #expect(!tentative.contains("fd00:1::2"))
        let defaults = try Sandbox.ipJSON(["-6", "route", "show", "default"], netns: a)
        #expect(defaults.count == 1 && defaults.first?["gateway"] as? String == "fd00:1::1" && defaults.first?["dev"] as? String == "eth0")
        #expect(try Sandbox.ping(from: a, "fd00:1::3"))
        #expect(try Sandbox.ping(from: a, "fd00:1::1"))
        #expect(try Sandbox.ping(from: a, eb.address.description))
        // Inspect as Docker shows it.
        let inspect = DockerNetworkInspect.render([try c.inspect("six")])
        let json = try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [[String: Any]]
        let first = json?.first
        #expect(first?["EnableIPv6"] as? Bool == true)
        let config = (first?["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]]
        #expect(config?.count == 2 && config?.last?["Subnet"] as? String == "fd00:1::/64" && config?.last?["Gateway"] == nil)   // Docker shows no gateway it was not given
        let containers = first?["Containers"] as? [String: [String: Any]]
        #expect(containers?[ea.id]?["IPv6Address"] as? String == "fd00:1::2/64")
        // Detach: the address is free at once, and the sandbox keeps no IPv6 address of it.
        try c.detach(endpoint: ea.id)
        let left = try Sandbox.ipJSON(["-6", "addr", "show", "scope", "global"], netns: a)
            .flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }.compactMap { $0["local"] as? String }
        #expect(left.isEmpty, "\(left)")
        let again = try c.attach(network: "six", sandbox: .name(a))
        #expect(again.cidr6 == "fd00:1::2/64")
    }

    @Test("--ip6, --ip-range and --gateway for IPv6; an IPv4-only endpoint keeps IPv6 off")
    func staticAddressRangeGateway() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        var o = Self.v6("six", "fd00:2::/64")
        o.gateway6 = "fd00:2::fe"
        o.ipRange6 = "fd00:2::100/120"
        let network = try c.createNetwork(o)
        #expect(network.gateway6?.description == "fd00:2::fe" && network.ipRange6?.description == "fd00:2::100/120")
        let a = try f.sandbox(), b = try f.sandbox(), d = try f.sandbox()
        let dynamic = try c.attach(network: "six", sandbox: .name(a))
        #expect(dynamic.cidr6 == "fd00:2::100/64")
        let fixed = try c.attach(network: "six", sandbox: .name(b), options: AttachOptions().with(address6: "fd00:2::99"))
        #expect(fixed.cidr6 == "fd00:2::99/64")
        #expect(try Sandbox.ping(from: b, "fd00:2::100"))
        // An IPv4-only network's endpoint: IPv6 stays off on its interface (Docker 20.10).
        try c.createNetwork(NetworkOptions(name: "four"))
        let four = try c.attach(network: "four", sandbox: .name(d))
        #expect(four.address6 == nil && four.cidr6 == nil)
        #expect(try Sandbox.sysctl("net.ipv6.conf.eth0.disable_ipv6", netns: d) == "1")
        #expect(try Sandbox.ipv6Addresses("eth0", netns: d).isEmpty)
    }

    @Test("bad IPv6 input is a typed error that changes nothing")
    func badInput() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(Self.v6("six", "fd00:3::/64"))
        try c.createNetwork(NetworkOptions(name: "four"))
        let links = try f.linkNames(), rules = try f.ruleset(), records = f.stateFiles("networks")
        func code(_ body: () throws -> Void) -> BerthError.Code? {
            do { try body(); return nil } catch { return (error as? BerthError)?.code }
        }
        var noSubnet = NetworkOptions(name: "x"); noSubnet.enableIPv6 = true
        #expect(code { try c.createNetwork(noSubnet) } == .invalidArgument)
        var withoutFlag = NetworkOptions(name: "x"); withoutFlag.subnet6 = "fd00:9::/64"
        #expect(code { try c.createNetwork(withoutFlag) } == .invalidArgument)
        #expect(code { try c.createNetwork(Self.v6("x", "fd00:9::1/64")) } == .invalidArgument)   // not canonical
        #expect(code { try c.createNetwork(Self.v6("x", "ff02::/64")) } == .invalidArgument)      // multicast
        #expect(code { try c.createNetwork(Self.v6("x", "fd00:9::/127")) } == .invalidArgument)   // no room
        #expect(code { try c.createNetwork(Self.v6("x", "fd00:3::/48")) } == .subnetOverlap)
        var outside = Self.v6("x", "fd00:9::/64"); outside.gateway6 = "fd00:8::1"
        #expect(code { try c.createNetwork(outside) } == .gatewayOutsideSubnet)
        var range = Self.v6("x", "fd00:9::/64"); range.ipRange6 = "fd00:8::/80"
        #expect(code { try c.createNetwork(range) } == .ipRangeOutsideSubnet)
        let s = try f.sandbox()
        #expect(code { try c.attach(network: "four", sandbox: .name(s), options: AttachOptions().with(address6: "fd00:3::5")) } == .invalidArgument)
        #expect(code { try c.attach(network: "six", sandbox: .name(s), options: AttachOptions().with(address6: "fd00:4::5")) } == .addressOutsideSubnet)
        #expect(code { try c.attach(network: "six", sandbox: .name(s), options: AttachOptions().with(address6: "fd00:3::1")) } == .addressInUse)
        #expect(code { try c.attach(network: "six", sandbox: .name(s), options: AttachOptions().with(address6: "fe80::5")) } == .invalidArgument)
        #expect(code { try c.attach(network: "six", sandbox: .name(s), options: AttachOptions().with(address6: "not-an-ip")) } == .invalidArgument)
        #expect(code { try c.attach(network: "six", sandbox: .name(s), options: AttachOptions().with(address6: "::ffff:10.0.0.5")) } == .invalidArgument)
        // Regression (trial): an IPv4-mapped host address was accepted, and its record did not decode.
        #expect(code { _ = try PortSpec(parsing: "[::ffff:127.0.0.1]:8083:80") } == .invalidArgument)
        #expect(code { _ = try PortSpec(parsing: "[0:0:0:0:0:ffff:7f00:1]:8083:80") } == .invalidArgument)
        // Regression (trial): a /128 ip-range with no usable address was .addressesExhausted.
        var single = Self.v6("x", "fd00:9::/64"); single.ipRange6 = "fd00:9::/128"
        #expect(code { try c.createNetwork(single) } == .invalidArgument)
        #expect(try f.linkNames() == links && f.stateFiles("networks") == records)
        #expect(try f.ruleset() == rules)
        #expect(try Sandbox.linkNames(netns: s) == ["lo"])
    }

    @Test("attaching to an IPv6 network after the host turned IPv6 off is .ipv6Unavailable and changes nothing (trial)")
    func attachAfterIPv6Disabled() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let network = try c.createNetwork(Self.v6("six"))
        _ = try Sandbox.check(["ip", "netns", "exec", f.hostName, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        let links = try f.linkNames(), rules = try f.ruleset()
        let s = try f.sandbox()
        #expect { try c.attach(network: "six", sandbox: .name(s)) } throws: { ($0 as? BerthError)?.code == .ipv6Unavailable }
        #expect(try f.linkNames() == links && f.ruleset() == rules)
        #expect(try Sandbox.sysctl("net.ipv6.conf.\(network.bridge).disable_ipv6", netns: f.hostName) == "1")
    }

    @Test("a host with IPv6 disabled: IPv4 networks work, an IPv6 network is .ipv6Unavailable and changes nothing")
    func hostWithoutIPv6() throws {
        let f = try Fixture(.iptables)
        _ = try Sandbox.check(["ip", "netns", "exec", f.hostName, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        let c = try f.controller()
        let links = try f.linkNames(), records = f.stateFiles("networks")
        #expect { try c.createNetwork(Self.v6("six")) } throws: { ($0 as? BerthError)?.code == .ipv6Unavailable }
        #expect(try f.linkNames() == links && f.stateFiles("networks") == records)
        try c.createNetwork(NetworkOptions(name: "four"))
        let s = try f.sandbox()
        let e = try c.attach(network: "four", sandbox: .name(s))
        #expect(try Sandbox.ping(from: s, e.gateway?.description ?? ""))
    }

    @Test("host forwarding: interfaces accepting RAs move to accept_ra=2 before all.forwarding=1 (moby #43466)")
    func forwardingKeepsRouterAdvertisements() throws {
        let f = try Fixture(.iptables)
        _ = try Sandbox.check(["ip", "-n", f.hostName, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"])
        _ = try Sandbox.check(["ip", "netns", "exec", f.hostName, "sysctl", "-qw", "net.ipv6.conf.uplink0.accept_ra=1"])
        _ = try Sandbox.check(["ip", "netns", "exec", f.hostName, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0"])
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "four"))
        #expect(try Sandbox.sysctl("net.ipv6.conf.all.forwarding", netns: f.hostName) == "0", "an IPv4 network leaves IPv6 forwarding alone")
        try c.createNetwork(Self.v6("six"))
        #expect(try Sandbox.sysctl("net.ipv6.conf.uplink0.accept_ra", netns: f.hostName) == "2")
        #expect(try Sandbox.sysctl("net.ipv6.conf.lo.accept_ra", netns: f.hostName) == "1", "lo takes no RAs: left alone")
        #expect(try Sandbox.sysctl("net.ipv6.conf.all.forwarding", netns: f.hostName) == "1")
    }

    @Test("-p 8080:80 on an IPv6 endpoint: a 0.0.0.0 and a :: proxy, the :: one to its IPv6 address (golden c6); [::]:P IPv6 only, 0.0.0.0:P and 127.0.0.1:P IPv4 only")
    func proxiesPerFamily() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(Self.v6("six"))
        let s = try f.sandbox()
        let e = try c.attach(network: "six", sandbox: .name(s), options: AttachOptions(publish: [
            try PortSpec(parsing: "8080:80"), try PortSpec(parsing: "[::]:8082:82"), try PortSpec(parsing: "0.0.0.0:8083:83"),
            try PortSpec(parsing: "127.0.0.1:8084:84"),
        ]))
        let proxies = (e.proxies ?? []).map { p in "\(p.port.hostIP6.map { "[\($0)]" } ?? p.port.hostIP.map { "\($0)" } ?? "*"):\(p.port.hostPort)" }
        #expect(proxies.sorted() == ["*:8080", "0.0.0.0:8083", "127.0.0.1:8084", "[::]:8080", "[::]:8082"].sorted(), "\(proxies)")
        let server = try TCPServer(in: s, port: 80, reply: .peerAddress, address: "::")
        defer { server.stop() }
        // The host reaches the endpoint over IPv6 through the :: proxy (its source is the proxy's, on the bridge).
        #expect(try Traffic.tcpFetch(from: f.hostName, "::1", 8080)?.contains("fd00:1::1") == true)
        #expect(try Traffic.tcpFetch(from: f.hostName, "::1", 8083, attempts: 2) == nil, "0.0.0.0:8083 has no :: proxy")
        #expect(e.cidr6 == "fd00:1::2/64")
    }

    @Test("packets over IPv6: another network's sandbox unreachable, a published port reached from a neighbour, egress masqueraded",
          arguments: backends)
    func firewallOverIPv6(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend, userlandProxy: false)
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        try topology.addIPv6Uplink()
        let c = try f.controller()
        try c.createNetwork(Self.v6("six1", "fd00:11::/64"))
        try c.createNetwork(Self.v6("six2", "fd00:12::/64"))
        let a = try f.sandbox(), b = try f.sandbox(), d = try f.sandbox()
        let ea = try c.attach(network: "six1", sandbox: .name(a), options: AttachOptions(publish: [try PortSpec(parsing: "8080:80")]))
        let eb = try c.attach(network: "six2", sandbox: .name(b))
        let ed = try c.attach(network: "six1", sandbox: .name(d))
        #expect(try Sandbox.ping(from: d, ea.address6?.description ?? ""), "same network over IPv6")
        #expect(try !Sandbox.ping(from: a, eb.address6?.description ?? ""), "another network over IPv6 is isolated")
        #expect(try !Sandbox.ping(from: a, eb.address.description), "and over IPv4")
        let server = try TCPServer(in: a, port: 80, reply: .peerAddress, address: "::")
        defer { server.stop() }
        // The neighbour reaches the published port over IPv6, DNAT'd, with its own source address.
        #expect(try Traffic.tcpFetch(from: topology.outside, Topology.hostUplinkAddress6, 8080) == Topology.outsideAddress6)
        // Egress is masqueraded to the host's uplink address.
        let outsideServer = try TCPServer(in: topology.outside, port: 9000, reply: .peerAddress, address: "::")
        defer { outsideServer.stop() }
        #expect(try Traffic.tcpFetch(from: a, Topology.outsideAddress6, 9000) == Topology.hostUplinkAddress6)
        _ = ed
    }

    @Test("network rm: the IPv6 subnet is free at once", arguments: backends)
    func removeFreesSubnet(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let first = try c.createNetwork(Self.v6("six"))
        let s = try f.sandbox()
        try c.attach(network: "six", sandbox: .name(s))
        try c.deleteNetwork("six", force: true)
        #expect(try Sandbox.link(first.bridge, netns: f.hostName) == nil)
        let second = try c.createNetwork(Self.v6("six"))
        let t = try f.sandbox()
        let e = try c.attach(network: "six", sandbox: .name(t))
        #expect(e.cidr6 == "fd00:1::2/64")
        #expect(try Sandbox.ping(from: t, "fd00:1::1"))
        try c.deleteNetwork(second.id, force: true)
        try c.drain()
        #expect(try f.linkNames().allSatisfy { !$0.hasPrefix("br-") && !$0.hasPrefix("veth") && !$0.hasPrefix("berthrm") })
    }
}

@Suite("IPv6: default bridge and inspect against Docker 20.10's golden dump", .enabled(if: Sandbox.isActive))
struct IPv6GoldenTests {
    @Test("defaultBridgeIPv6 (--fixed-cidr-v6): docker0 with ::1 and fe80::1, endpoints derived from their MACs (golden c4)")
    func defaultBridge() throws {
        let f = try Fixture(.iptables)
        var configuration = f.configuration
        configuration.defaultBridgeIPv6 = "2001:db8:1::/64"
        let c = try NetworkController(configuration)
        try c.setUpHost()
        let s = try f.sandbox()
        let e = try c.attach(network: "bridge", sandbox: .name(s))
        #expect(e.mac.description == "02:42:ac:11:00:02" && e.cidr6 == "2001:db8:1::242:ac11:2/64")
        let golden = DockerGolden.ipv6("c-containers.ctr-c4.route6.txt")
        #expect(golden.contains("default via 2001:db8:1::1 dev eth0"), "\(golden)")
        let addresses = try Sandbox.ipv6Addresses("docker0", netns: f.hostName)
        #expect(addresses.contains("2001:db8:1::1/64") && addresses.contains("fe80::1/64"), "\(addresses)")
        #expect(try Sandbox.ping(from: s, "2001:db8:1::1"))
        // A later call need not repeat the prefix (trial): the default network keeps its IPv6.
        var without = configuration
        without.defaultBridgeIPv6 = nil
        let later = try NetworkController(without)
        let t = try f.sandbox()
        #expect(try later.attach(network: "bridge", sandbox: .name(t)).cidr6 == "2001:db8:1::242:ac11:3/64")
        // Another prefix for the same state directory is refused; above /80 is refused before anything.
        var other = configuration
        other.defaultBridgeIPv6 = "2001:db8:2::/64"
        #expect { try NetworkController(other).setUpHost() } throws: { ($0 as? BerthError)?.code == .stateConflict }
        let g = try Fixture(.iptables)
        var narrow = g.configuration
        narrow.defaultBridgeIPv6 = "2001:db8:1::/96"
        let links = try g.linkNames()
        #expect { try NetworkController(narrow).setUpHost() } throws: { ($0 as? BerthError)?.code == .invalidArgument }
        #expect(try g.linkNames() == links)
    }

    /// `IPAM` of `docker network inspect`: Docker shows the configuration it was given (a chosen
    /// pool with its gateway; a given subnet without one unless `--gateway` was given).
    static func ipam(_ json: Data?) throws -> String {
        let object = try JSONSerialization.jsonObject(with: json ?? Data())
        let first = (object as? [[String: Any]])?.first ?? (object as? [String: Any])
        let ipam = first?["IPAM"] ?? [:]
        return String(decoding: try JSONSerialization.data(withJSONObject: ipam, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("inspect's IPAM and EnableIPv6 are Docker's for v6net and v6b (golden b-netcreate)")
    func inspectMatchesGolden() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        var v6net = NetworkOptions(name: "v6net")
        v6net.enableIPv6 = true
        v6net.subnet6 = "fd00:1::/64"
        try c.createNetwork(v6net)
        var v6b = NetworkOptions(name: "v6b", subnet: "172.30.0.0/16")
        v6b.enableIPv6 = true
        v6b.subnet6 = "fd00:2::/64"
        v6b.gateway6 = "fd00:2::fe"
        v6b.ipRange6 = "fd00:2::/80"
        try c.createNetwork(v6b)
        for name in ["v6net", "v6b"] {
            let mine = Data(DockerNetworkInspect.render([try c.inspect(name)]).utf8)
            let golden = DockerGolden.ipv6Data("b-netcreate.\(name).network-inspect.json")
            #expect(try Self.ipam(mine) == Self.ipam(golden), "\(name)")
            let enabled = ((try JSONSerialization.jsonObject(with: mine) as? [[String: Any]])?.first?["EnableIPv6"] as? Bool)
            #expect(enabled == true)
        }
        // v6b's first endpoint is fd00:2::1 (the range starts at the subnet's reserved first address).
        let s = try f.sandbox()
        #expect(try c.attach(network: "v6b", sandbox: .name(s)).cidr6 == "fd00:2::1/64")
    }
}

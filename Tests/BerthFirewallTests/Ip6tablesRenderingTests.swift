import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The IPv6 rule text (pure): which bindings get IPv6 rules, the address forms, and the
/// hardening options that carry over to ip6tables.
struct Ip6tablesRenderingTests {
    typealias W = Walkthrough6

    static func endpoint(_ ports: [PortMapping], address6: IPv6Address? = W.v6("fd00:1::2"), loopbackLocal: Bool = false) -> EndpointPorts {
        EndpointPorts(endpointID: "e", networkID: W.v6net.id, bridge: W.v6net.bridge, address: Fixtures.address("172.18.0.2"),
                      ports: ports, loopbackLocal: loopbackLocal, address6: address6)
    }

    @Test func bindingsPerFamily() {
        let local4 = PortMapping(hostIP: Fixtures.address("127.0.0.1"), hostPort: 8083, containerPort: 80)
        let any = PortMapping(hostPort: 8080, containerPort: 80)
        let v6only = PortMapping(hostPort: 8082, containerPort: 80, hostIP6: W.v6("::"))
        let e = Self.endpoint([any, local4, v6only])
        #expect(DockerRules.ports(e, family: .ipv4).filter { $0.table == .nat && $0.chain == DockerChain.docker }.map(\.spec) == [
            "! -i br-cb7814f20db2 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80",
            "-d 127.0.0.1/32 ! -i br-cb7814f20db2 -p tcp -m tcp --dport 8083 -j DNAT --to-destination 172.18.0.2:80",
        ])
        #expect(DockerRules.ports(e, family: .ipv6).filter { $0.table == .nat && $0.chain == DockerChain.docker }.map(\.spec) == [
            "! -i br-cb7814f20db2 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80",
            "! -i br-cb7814f20db2 -p tcp -m tcp --dport 8082 -j DNAT --to-destination [fd00:1::2]:80",
        ])
        #expect(DockerRules.ports(Self.endpoint([any, v6only], address6: nil), family: .ipv6).isEmpty, "no IPv6 address, no IPv6 rules")
        #expect(!Self.endpoint([local4]).hasIPv6Rules)
        #expect(Self.endpoint([any]).hasIPv6Rules)
    }

    /// `-p [::1]:8080:80`: the DNAT rule with `-d ::1/128`, and no loopback-local drop (the
    /// kernel drops a packet to ::1 that arrives on another interface than lo).
    @Test func loopbackBindingHasNoRawDrop() {
        let e = Self.endpoint([PortMapping(hostPort: 8080, containerPort: 80, hostIP6: W.v6("::1"))], loopbackLocal: true)
        let rules = DockerRules.ports(e, family: .ipv6)
        #expect(rules.contains(IptablesRule(.nat, DockerChain.docker,
                                            "-d ::1/128 ! -i br-cb7814f20db2 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80")))
        #expect(!rules.contains { $0.table == .raw })
        #expect(DockerRules.ports(e, family: .ipv4).isEmpty)
    }

    /// Direct routing protection is interface rules in FORWARD: the same in ip6tables.
    @Test(arguments: DirectRoutingProtection.allCases)
    func directRoutingCarriesOver(_ protection: DirectRoutingProtection) {
        var n = W.v6net
        n.directRouting = protection
        n.trustedInterfaces = ["wg0"]
        let v4 = DockerRules.network(n, family: .ipv4)
        let v6 = DockerRules.network(n, family: .ipv6)
        #expect(v6.forwardTop == v4.forwardTop)
        #expect(v6.postroutingTop.map(\.spec) == ["-s fd00:1::/64 ! -o br-cb7814f20db2 -j MASQUERADE"])
    }

    @Test func networkWithoutIPv6SubnetHasNoIPv6Rules() {
        #expect(DockerRules.network(W.v4net, family: .ipv6) == DockerRules.NetworkRuleSet())
        var inner = W.v6net
        inner.isInternal = true
        #expect(DockerRules.network(inner, family: .ipv6).isolation1Top.map(\.spec) == [
            "! -s fd00:1::/64 -o br-cb7814f20db2 -j DROP", "! -d fd00:1::/64 -i br-cb7814f20db2 -j DROP",
        ])
    }

    @Test func baseJumpsPerFamily() {
        #expect(DockerRules.outputJump(hairpinMode: false, family: .ipv6).spec == "! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER")
        #expect(DockerRules.outputJump(hairpinMode: true, family: .ipv6).spec == "-m addrtype --dst-type LOCAL -j DOCKER")
        #expect(DockerRules.outputJump(hairpinMode: false).spec == "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER")
    }

    @Test func forwardPolicyDecision() {
        #expect(ForwardPolicy.deciding(.docker, ipv4ForwardingWasOn: false) == ForwardPolicy(ipv4Drop: true, ipv4EnabledForwarding: true))
        #expect(ForwardPolicy.deciding(.docker, ipv4ForwardingWasOn: true) == ForwardPolicy(ipv4Drop: false))
        #expect(ForwardPolicy.deciding(.always, ipv4ForwardingWasOn: true) == ForwardPolicy(ipv4Drop: true, always: true))
        // A recorded `always` decides the IPv6 half whatever mode the later call has.
        #expect(ForwardPolicy.deciding(.always, ipv4ForwardingWasOn: true).decidingIPv6(.docker, berthEnablesForwarding: false).ipv6Drop)
        let v6 = ForwardPolicy.deciding(.docker, ipv4ForwardingWasOn: true).decidingIPv6(.docker, berthEnablesForwarding: true)
        #expect(v6 == ForwardPolicy(ipv4Drop: false, ipv6Drop: true, ipv6EnabledForwarding: true, ipv6Decided: true))
    }
}

import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The networks and endpoints of the dockerd 20.10 `--experimental --ip6tables` capture
/// (Tests/Fixtures/docker-20.10/ipv6/README.md: names, subnets and addresses as captured).
enum Walkthrough6 {
    static func v6(_ text: String) -> IPv6Address {
        guard let a = IPv6Address(text) else { fatalError("bad IPv6 address \(text)") }
        return a
    }

    static func v6Subnet(_ text: String) -> IPv6Subnet {
        guard let s = IPv6Subnet(text) else { fatalError("bad IPv6 subnet \(text)") }
        return s
    }

    /// `docker0` with `--ipv6 --fixed-cidr-v6 2001:db8:1::/64`.
    static let docker0 = NetworkRules(id: String(repeating: "d", count: 64), bridge: "docker0", subnet: Fixtures.subnet("172.17.0.0/16"),
                                      subnet6: v6Subnet("2001:db8:1::/64"))
    /// `docker network create --ipv6 --subnet fd00:1::/64 v6net`.
    static let v6net = NetworkRules(id: "cb7814f20db2a76ffcfefa8c90e228c6321096aa492197c4bc201bcf3e087351", bridge: "br-cb7814f20db2",
                                    subnet: Fixtures.subnet("172.18.0.0/16"), subnet6: v6Subnet("fd00:1::/64"))
    /// `docker network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:2::/64 … v6b`.
    static let v6b = NetworkRules(id: "af7fb69b7458ac5f38d7e4268a65f173f5ed8e9ba9c3451622ce232cd8ab551f", bridge: "br-af7fb69b7458",
                                  subnet: Fixtures.subnet("172.30.0.0/16"), subnet6: v6Subnet("fd00:2::/64"))
    /// `docker network create v4net` (no IPv6).
    static let v4net = NetworkRules(id: "d4b0af5c898b" + String(repeating: "0", count: 52), bridge: "br-d4b0af5c898b",
                                    subnet: Fixtures.subnet("172.20.0.0/16"))

    /// `c6 --network v6net -p 8080:80`.
    static let c6 = EndpointPorts(endpointID: "c6", networkID: v6net.id, bridge: v6net.bridge, address: Fixtures.address("172.18.0.2"),
                                  ports: [PortMapping(hostPort: 8080, containerPort: 80)], address6: v6("fd00:1::2"))
    /// `c4 --network bridge -p 8081:80` (its IPv6 address made from the MAC).
    static let c4 = EndpointPorts(endpointID: "c4", networkID: docker0.id, bridge: "docker0", address: Fixtures.address("172.17.0.2"),
                                  ports: [PortMapping(hostPort: 8081, containerPort: 80)], address6: v6("2001:db8:1::242:ac11:2"))
    /// `c6any --network v6net -p [::]:8082:80` (IPv6 only).
    static let c6any = EndpointPorts(endpointID: "c6any", networkID: v6net.id, bridge: v6net.bridge, address: Fixtures.address("172.18.0.4"),
                                     ports: [PortMapping(hostPort: 8082, containerPort: 80, hostIP6: v6("::"))], address6: v6("fd00:1::3"))
    /// `c6local --network v6net -p 127.0.0.1:8083:80` (IPv4 only).
    static let c6local = EndpointPorts(endpointID: "c6local", networkID: v6net.id, bridge: v6net.bridge,
                                       address: Fixtures.address("172.18.0.5"),
                                       ports: [PortMapping(hostIP: Fixtures.address("127.0.0.1"), hostPort: 8083, containerPort: 80)],
                                       address6: v6("fd00:1::4"))
    /// `c4only --network v4net -p 8084:80` (no IPv6 address).
    static let c4only = EndpointPorts(endpointID: "c4only", networkID: v4net.id, bridge: v4net.bridge, address: Fixtures.address("172.20.0.2"),
                                      ports: [PortMapping(hostPort: 8084, containerPort: 80)])

    /// The endpoints with ports, in the order they were started.
    static let published = [c6, c4, c6any, c6local]
    /// Everything of step c-containers.
    static let state = FirewallState(networks: [docker0, v6net, v6b], endpoints: published)

    /// Berth with the decision of a host whose forwarding Berth turned on in both families
    /// (dockerd 20.10 sets both DROPs in the capture's fresh namespace).
    static let policy = ForwardPolicy(ipv4Drop: true, ipv4EnabledForwarding: true, ipv6Drop: true, ipv6EnabledForwarding: true,
                                      ipv6Decided: true)

    /// The capture's `ip6tables-save` of a step, normalized.
    static func golden6(_ step: String) -> [String] {
        IptablesText.normalizedSave(DockerGolden.file("ipv6/\(step).ip6tables-save.txt"))
    }

    /// The capture's `iptables-save` of a step, normalized.
    static func golden4(_ step: String) -> [String] {
        IptablesText.normalizedSave(DockerGolden.file("ipv6/\(step).iptables-save.txt"))
    }

    /// What Berth writes for a step: the capture's ip6tables rules plus Berth's one deliberate
    /// addition, a DOCKER-USER chain as in iptables (`:DOCKER-USER`, `-A FORWARD -j DOCKER-USER`
    /// first, `-A DOCKER-USER -j RETURN`), where iptables-save puts them.
    static func berth6(_ step: String) -> [String] { withDockerUser(golden6(step)) }

    /// `lines` (a normalized ip6tables-save) with Docker's IPv4 DOCKER-USER layout added to filter.
    static func withDockerUser(_ lines: [String]) -> [String] {
        guard let filter = lines.firstIndex(of: "*filter") else { return lines }
        let end = lines[filter...].firstIndex(of: "COMMIT") ?? lines.endIndex
        var out = Array(lines[..<filter])
        var body = Array(lines[filter..<end])
        if let lastChain = body.lastIndex(where: { $0.hasPrefix(":") }) { body.insert(":DOCKER-USER - [0:0]", at: lastChain + 1) }
        if let firstForward = body.firstIndex(where: { $0.hasPrefix("-A FORWARD ") }) {
            body.insert("-A FORWARD -j DOCKER-USER", at: firstForward)
        } else if let lastChain = body.lastIndex(where: { $0.hasPrefix(":") }) {
            body.insert("-A FORWARD -j DOCKER-USER", at: lastChain + 1)
        }
        body.append("-A DOCKER-USER -j RETURN")
        out += body
        out += lines[end...]
        return out
    }

    /// The first difference of two listings, for expectation messages.
    static func diff(_ got: [String], _ want: [String]) -> String {
        for i in 0..<max(got.count, want.count) where (i < got.count ? got[i] : nil) != (i < want.count ? want[i] : nil) {
            return "line \(i): got \(i < got.count ? got[i] : "<end>"), want \(i < want.count ? want[i] : "<end>")"
        }
        return "equal"
    }
}

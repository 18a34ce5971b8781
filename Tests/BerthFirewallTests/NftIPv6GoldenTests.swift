import BerthFixtures
import Foundation
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The `ip6` table against real dockerd 20.10 `--experimental --ip6tables` (the golden dump
/// Tests/Fixtures/docker-20.10/ipv6/, see its README): for the networks and containers of a
/// dump step, each of Docker's ip6tables rules is translated into the rule of Berth's layout
/// that does the same (`Translation`), and Berth's table must hold exactly those per-network
/// and per-port rules — nothing for the bindings Docker gives no ip6tables rule
/// (`-p 127.0.0.1:…`, containers without ports), the isolation of IPv4-only networks too.
@Suite("nftables IPv6 table against Docker 20.10's ip6tables (golden dump)", .enabled(if: Sandbox.isActive), .serialized)
struct NftIPv6GoldenTests {
    typealias V = NftV6Fixtures

    // The dump's networks (README: addresses and bridges as captured).
    static let docker0 = NetworkRules(id: String(repeating: "0", count: 64), bridge: "docker0", subnet: Fixtures.subnet("172.17.0.0/16"),
                                      subnet6: V.subnet6("2001:db8:1::/64"))
    static let v6net = NetworkRules(id: "cb7814f20db2" + String(repeating: "1", count: 52), bridge: "br-cb7814f20db2",
                                    subnet: Fixtures.subnet("172.18.0.0/16"), subnet6: V.subnet6("fd00:1::/64"))
    static let v6b = NetworkRules(id: "af7fb69b7458" + String(repeating: "2", count: 52), bridge: "br-af7fb69b7458",
                                  subnet: Fixtures.subnet("172.30.0.0/16"), subnet6: V.subnet6("fd00:2::/64"))
    static let v4net = NetworkRules(id: "d4b0af5c898b" + String(repeating: "3", count: 52), bridge: "br-d4b0af5c898b",
                                    subnet: Fixtures.subnet("172.20.0.0/16"))

    static func endpoint(_ name: String, _ n: NetworkRules, _ v4: String, _ v6: String?, _ ports: [PortMapping] = []) -> EndpointPorts {
        EndpointPorts(endpointID: name + String(repeating: "e", count: 64 - name.count), networkID: n.id, bridge: n.bridge,
                      address: Fixtures.address(v4), ports: ports, address6: v6.map(V.address6))
    }

    /// Step `c-containers`: c6 `-p 8080:80`, c6s `--ip6 fd00:1::99`, c4 `-p 8081:80` (default
    /// bridge, MAC-derived address), c6any `-p [::]:8082:80`, c6local `-p 127.0.0.1:8083:80`, c6b.
    static var containers: FirewallState {
        FirewallState(networks: [docker0, v6net, v6b], endpoints: [
            endpoint("c6", v6net, "172.18.0.2", "fd00:1::2", [PortMapping(hostPort: 8080, containerPort: 80)]),
            endpoint("c6s", v6net, "172.18.0.3", "fd00:1::99"),
            endpoint("c4", docker0, "172.17.0.2", "2001:db8:1::242:ac11:2", [PortMapping(hostPort: 8081, containerPort: 80)]),
            endpoint("c6any", v6net, "172.18.0.4", "fd00:1::3", [PortMapping(hostPort: 8082, containerPort: 80, hostIP6: V.address6("::"))]),
            endpoint("c6local", v6net, "172.18.0.5", "fd00:1::4",
                     [PortMapping(hostIP: Fixtures.address("127.0.0.1"), hostPort: 8083, containerPort: 80)]),
            endpoint("c6b", v6b, "172.30.0.2", "fd00:2::1"),
        ])
    }

    /// Step `f-v4only`: the default bridge and the IPv4-only v4net with c4only `-p 8084:80`.
    static var v4only: FirewallState {
        FirewallState(networks: [docker0, v4net], endpoints: [
            endpoint("c4only", v4net, "172.20.0.2", nil, [PortMapping(hostPort: 8084, containerPort: 80)]),
        ])
    }

    /// Docker's ip6tables rules → the `CHAIN: RULE` of Berth's layout doing the same, or a
    /// set membership (`@bridges: BR`), or `policy` for the FORWARD DROP lines Berth has per bridge.
    enum Translation {
        static func word(after flag: String, in w: [String]) -> String? {
            guard let i = w.firstIndex(of: flag), i + 1 < w.count else { return nil }
            return w[i + 1]
        }

        static func host(_ cidr: String) -> String { cidr.hasSuffix("/128") ? String(cidr.dropLast(4)) : cidr }

        /// The bridge of `address` among `state`'s endpoints.
        static func bridge(of address: String, in state: FirewallState) -> String {
            state.endpoints.first { $0.address6?.description == address }?.bridge ?? "?"
        }

        static func rules(_ save: String, state: FirewallState) -> Set<String> {
            var out = Set<String>()
            var table = ""
            for line in save.split(separator: "\n").map(String.init) {
                if line.hasPrefix("*") { table = String(line.dropFirst()) }
                guard line.hasPrefix("-A ") else { continue }
                let w = line.split(separator: " ").map(String.init)
                let chain = w[1]
                let inBR = word(after: "-i", in: w), outBR = word(after: "-o", in: w)
                let notIn = w.contains("!") && w.firstIndex(of: "!").map { w[$0 + 1] == "-i" } == true
                let notOut = w.indices.contains { w[$0] == "!" && $0 + 1 < w.count && w[$0 + 1] == "-o" }
                let proto = word(after: "-p", in: w), dport = word(after: "--dport", in: w)
                switch (table, chain) {
                case ("nat", "PREROUTING"):
                    out.insert("prerouting: fib daddr type local jump published")
                case ("nat", "OUTPUT"):
                    out.insert("output: ip6 daddr != ::1 fib daddr type local jump published")
                case ("nat", "POSTROUTING"):
                    guard let s = word(after: "-s", in: w) else { continue }
                    if let d = word(after: "-d", in: w), let proto, let dport {
                        out.insert("nat-\(bridge(of: host(d), in: state)): ip6 saddr \(host(s)) ip6 daddr \(host(d)) \(proto) dport \(dport) masquerade")
                    } else if let outBR, notOut {
                        out.insert("nat-\(outBR): ip6 saddr \(s) oifname != \"\(outBR)\" masquerade")
                    }
                case ("nat", "DOCKER"):
                    if w.last == "RETURN", let inBR { out.insert("@bridges: \(inBR)") }
                    if let to = word(after: "--to-destination", in: w), let proto, let dport, notIn {
                        out.insert("published: iifname != @bridges \(proto) dport \(dport) dnat to \(to)")
                    }
                case ("filter", "DOCKER"):
                    if let d = word(after: "-d", in: w), let outBR, let proto, let dport {
                        out.insert("fwd-ports-\(outBR): iifname != \"\(outBR)\" ip6 daddr \(host(d)) \(proto) dport \(dport) accept")
                    }
                case ("filter", "FORWARD"):
                    if let outBR, w.contains("RELATED,ESTABLISHED") { out.insert("fwd-in-\(outBR): ct state established,related accept") }
                    else if let outBR, w.last == "DOCKER", inBR == nil { out.insert("fwd-in-\(outBR): jump fwd-ports-\(outBR)") }
                    else if let inBR, notOut { out.insert("fwd-out-\(inBR): oifname != \"\(inBR)\" accept") }
                    else if let inBR, outBR == inBR { out.insert("fwd-in-\(inBR): iifname \"\(inBR)\" accept") }
                case ("filter", "DOCKER-ISOLATION-STAGE-1"):
                    if let inBR { out.insert("@bridges: \(inBR)") }
                case ("filter", "DOCKER-ISOLATION-STAGE-2"):
                    if let outBR { out.insert("isolated: \(outBR)") }
                default:
                    continue
                }
            }
            return out
        }
    }

    /// Berth's `ip6 berth` in the same terms: `CHAIN: RULE` (comments dropped), `@bridges: BR`,
    /// and `isolated: BR` for a bridge whose IPv6 traffic from other bridges is dropped (its own
    /// chain's `iifname @bridges iifname != "BR" drop`, or the IPv4-only `jump no-ipv6`).
    static func berth(_ host: NftHost) throws -> Set<String> {
        var out = Set<String>()
        let json = try host.json()
        for item in json {
            if let set = item["set"] as? [String: Any], set["family"] as? String == "ip6", set["name"] as? String == NftLayout.bridgesSet {
                for e in set["elem"] as? [Any] ?? [] { if let name = e as? String { out.insert("@bridges: \(name)") } }
            }
            if let map = item["map"] as? [String: Any], map["family"] as? String == "ip6", map["name"] as? String == NftLayout.forwardInMap {
                for e in map["elem"] as? [Any] ?? [] {
                    guard let pair = e as? [Any], let name = pair.first as? String else { continue }
                    if "\(pair)".contains(NftLayout.ipv4OnlyChain) { out.insert("isolated: \(name)") }
                }
            }
        }
        let listing = try host.nft(["list", "table", "ip6", "berth"]).stdout
        var chain = ""
        for raw in listing.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("chain ") { chain = String(line.dropFirst(6).dropLast(2)); continue }
            guard let comment = line.range(of: " comment \"") else { continue }
            let rule = String(line[..<comment.lowerBound])
            out.insert("\(chain): \(rule)")
            if chain.hasPrefix("fwd-in-"), rule.hasPrefix("iifname @bridges iifname != ") { out.insert("isolated: \(chain.dropFirst(7))") }
        }
        return out
    }

    /// The per-network and per-port part (what Docker's rules decide; the base and policy lines
    /// are Berth's layout and checked by the listing fixture).
    static func perPort(_ rules: Set<String>) -> Set<String> {
        rules.filter { $0.hasPrefix("published:") || $0.hasPrefix("fwd-ports-") || $0.hasPrefix("nat-") }
    }

    @Test(arguments: ["c-containers", "f-v4only", "e-netrm", "b-netcreate"])
    func berthsTableDoesWhatDockersIp6tablesDoes(_ step: String) throws {
        let state: FirewallState = switch step {
        case "c-containers": Self.containers
        case "b-netcreate": FirewallState(networks: Self.containers.networks)
        case "f-v4only": Self.v4only
        default: FirewallState(networks: [Self.docker0])
        }
        let golden = DockerGolden.ipv6("\(step).ip6tables-save.txt")
        let docker = Translation.rules(golden, state: state)
        #expect(!docker.isEmpty, "\(step): \(golden.prefix(80))")
        let host = try NftHost()
        defer { host.close() }
        try host.backend.reapply(state)
        let ours = try Self.berth(host)
        let missing = docker.subtracting(ours)
        #expect(missing.isEmpty, "\(step): Docker's rules Berth's table lacks: \(missing.sorted())")
        let extra = Self.perPort(ours).subtracting(Self.perPort(docker))
        #expect(extra.isEmpty, "\(step): per-network/per-port rules Docker does not have: \(extra.sorted())")
        #expect(Set(ours.filter { $0.hasPrefix("@bridges:") }) == Set(docker.filter { $0.hasPrefix("@bridges:") }), "\(step): isolated bridges")
        // What the comparison covered, per step (the translation is not vacuous).
        let kinds: [(String) -> Bool] = [{ $0.hasPrefix("published:") }, { $0.hasPrefix("fwd-ports-") }, { $0.hasPrefix("isolated:") },
                                         { $0.hasSuffix(" masquerade") }]
        let counts = kinds.map { kind in docker.filter(kind).count }
        let expected: [Int] = switch step {
        case "c-containers": [3, 3, 3, 6]   // c6, c4, c6any; nothing for c6local, c6s, c6b
        case "b-netcreate": [0, 0, 3, 3]
        case "f-v4only": [0, 0, 2, 1]       // v4net: isolation only
        default: [0, 0, 1, 1]
        }
        #expect(counts == expected, "\(step): \(docker.sorted())")
    }
}

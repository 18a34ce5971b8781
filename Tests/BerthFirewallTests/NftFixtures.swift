import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Fixed test data shared by the nftables tests.
enum NftFixtures {
    static let netA = NetworkRules(id: String(repeating: "a", count: 64), bridge: "br-aaaaaaaaaaaa", subnet: Fixtures.subnet("172.18.0.0/16"))
    static let netB = NetworkRules(id: String(repeating: "b", count: 64), bridge: "br-bbbbbbbbbbbb", subnet: Fixtures.subnet("192.168.16.0/20"),
                                   icc: false, masquerade: false)
    static let netC = NetworkRules(id: String(repeating: "c", count: 64), bridge: "br-cccccccccccc", subnet: Fixtures.subnet("172.19.0.0/16"),
                                   isInternal: true)
    static let endpoint = EndpointPorts(endpointID: String(repeating: "e", count: 64), networkID: netA.id, bridge: netA.bridge,
                                        address: Fixtures.address("172.18.0.2"),
                                        ports: [PortMapping(hostPort: 8080, containerPort: 80),
                                                PortMapping(proto: .udp, hostIP: Fixtures.address("10.0.0.5"), hostPort: 5353, containerPort: 53)])
    static var state: FirewallState { FirewallState(networks: [netA, netB, netC], endpoints: [endpoint]) }

    /// The same ruleset as `state`, written by hand as an `nft -f` script (the parity reference).
    static let parityScript = """
    table ip berth {
        set bridges { type ifname; }
        map fwd-in { type ifname : verdict; }
        map fwd-out { type ifname : verdict; }
        map nat-out { type ifname : verdict; }
        chain berth-user {
        }
        chain published {
            iifname != @bridges tcp dport 8080 dnat to 172.18.0.2:80 comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
            iifname != @bridges ip daddr 10.0.0.5 udp dport 5353 dnat to 172.18.0.2:53 comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
        }
        chain forward {
            type filter hook forward priority 0; policy accept;
            jump berth-user comment "berth"
            oifname vmap @fwd-in comment "berth"
            iifname vmap @fwd-out comment "berth"
        }
        chain prerouting {
            type nat hook prerouting priority -100; policy accept;
            fib daddr type local jump published comment "berth"
        }
        chain output {
            type nat hook output priority -100; policy accept;
            ip daddr != 127.0.0.0/8 fib daddr type local jump published comment "berth"
        }
        chain postrouting {
            type nat hook postrouting priority 100; policy accept;
            iifname vmap @nat-out comment "berth"
        }
        chain prerouting-raw {
            type filter hook prerouting priority -300; policy accept;
        }
        chain fwd-in-br-aaaaaaaaaaaa {
            iifname @bridges iifname != "br-aaaaaaaaaaaa" drop comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            ct state established,related accept comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            jump fwd-ports-br-aaaaaaaaaaaa comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            iifname "br-aaaaaaaaaaaa" accept comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            drop comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        }
        chain fwd-out-br-aaaaaaaaaaaa {
            oifname != "br-aaaaaaaaaaaa" accept comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        }
        chain fwd-ports-br-aaaaaaaaaaaa {
            iifname != "br-aaaaaaaaaaaa" ip daddr 172.18.0.2 tcp dport 80 accept comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
            iifname != "br-aaaaaaaaaaaa" ip daddr 172.18.0.2 udp dport 53 accept comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
        }
        chain nat-br-aaaaaaaaaaaa {
            ip saddr 172.18.0.0/16 oifname != "br-aaaaaaaaaaaa" masquerade comment "net:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            ip saddr 172.18.0.2 ip daddr 172.18.0.2 tcp dport 80 masquerade comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
            ip saddr 172.18.0.2 ip daddr 172.18.0.2 udp dport 53 masquerade comment "ep:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee br:br-aaaaaaaaaaaa"
        }
        chain fwd-in-br-bbbbbbbbbbbb {
            iifname @bridges iifname != "br-bbbbbbbbbbbb" drop comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            ct state established,related accept comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            jump fwd-ports-br-bbbbbbbbbbbb comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            iifname "br-bbbbbbbbbbbb" drop comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            drop comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        }
        chain fwd-out-br-bbbbbbbbbbbb {
            oifname != "br-bbbbbbbbbbbb" accept comment "net:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        }
        chain fwd-ports-br-bbbbbbbbbbbb {
        }
        chain nat-br-bbbbbbbbbbbb {
        }
        chain fwd-in-br-cccccccccccc {
            iifname != "br-cccccccccccc" drop comment "net:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
            iifname "br-cccccccccccc" accept comment "net:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        }
        chain fwd-out-br-cccccccccccc {
            oifname != "br-cccccccccccc" drop comment "net:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        }
        chain fwd-ports-br-cccccccccccc {
        }
        chain nat-br-cccccccccccc {
        }
    }
    add element ip berth bridges { "br-aaaaaaaaaaaa", "br-bbbbbbbbbbbb", "br-cccccccccccc" }
    add element ip berth fwd-in { "br-aaaaaaaaaaaa" : jump fwd-in-br-aaaaaaaaaaaa, "br-bbbbbbbbbbbb" : jump fwd-in-br-bbbbbbbbbbbb, "br-cccccccccccc" : jump fwd-in-br-cccccccccccc }
    add element ip berth fwd-out { "br-aaaaaaaaaaaa" : jump fwd-out-br-aaaaaaaaaaaa, "br-bbbbbbbbbbbb" : jump fwd-out-br-bbbbbbbbbbbb, "br-cccccccccccc" : jump fwd-out-br-cccccccccccc }
    add element ip berth nat-out { "br-aaaaaaaaaaaa" : jump nat-br-aaaaaaaaaaaa, "br-bbbbbbbbbbbb" : jump nat-br-bbbbbbbbbbbb, "br-cccccccccccc" : jump nat-br-cccccccccccc }

    """

    /// A table Berth must never touch.
    static let foreignScript = """
    table inet foreign {
        chain filt {
            type filter hook forward priority -5; policy accept;
            ip saddr 10.9.9.9 counter drop comment "theirs"
        }
    }
    table ip nat {
        chain POSTROUTING {
            type nat hook postrouting priority srcnat; policy accept;
        }
    }

    """

    /// Sorts the lines inside `elements = { ... }` blocks and joins continuation lines, so two
    /// listings differing only in hash-set iteration order compare equal.
    static func normalized(_ listing: String) -> String {
        var out: [String] = []
        var pending: String?
        for raw in listing.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if var p = pending {
                p += " " + line
                if line.hasSuffix("}") {
                    out.append(sortElements(p))
                    pending = nil
                } else {
                    pending = p
                }
                continue
            }
            if line.hasPrefix("elements = {") && !line.hasSuffix("}") {
                pending = line
                continue
            }
            out.append(line.hasPrefix("elements = {") ? sortElements(line) : line)
        }
        return out.joined(separator: "\n")
    }

    private static func sortElements(_ line: String) -> String {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") else { return line }
        let inner = line[line.index(after: open)..<close]
        let items = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.sorted()
        return "elements = { " + items.joined(separator: ", ") + " }"
    }
}

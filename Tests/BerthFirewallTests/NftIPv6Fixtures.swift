import Foundation
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Fixed IPv6 test data of the nftables backend (issue 15): a dual-stack network with published
/// ports in both families, and Berth's own expected `nft list ruleset` for it.
enum NftV6Fixtures {
    static func subnet6(_ text: String) -> IPv6Subnet {
        guard let s = IPv6Subnet(text) else { preconditionFailure("bad IPv6 subnet \(text)") }
        return s
    }

    static func address6(_ text: String) -> IPv6Address {
        guard let a = IPv6Address(text) else { preconditionFailure("bad IPv6 address \(text)") }
        return a
    }

    /// Dual stack, Docker's defaults (icc, masquerade).
    static let net6 = NetworkRules(id: String(repeating: "d", count: 64), bridge: "br-dddddddddddd", subnet: Fixtures.subnet("172.20.0.0/16"),
                                   subnet6: subnet6("fd00:1::/64"))
    /// Dual stack, icc off, no masquerade.
    static let net6b = NetworkRules(id: String(repeating: "8", count: 64), bridge: "br-888888888888", subnet: Fixtures.subnet("172.21.0.0/16"),
                                    icc: false, masquerade: false, subnet6: subnet6("fd00:2::/64"))
    /// Dual stack, internal.
    static let net6c = NetworkRules(id: String(repeating: "7", count: 64), bridge: "br-777777777777", subnet: Fixtures.subnet("172.22.0.0/16"),
                                    isInternal: true, subnet6: subnet6("fd00:3::/64"))

    /// An endpoint of `net6` with both addresses and one binding of each kind:
    /// `-p 8080:80` (both families), `-p [::]:9090:90` (IPv6 only, every address),
    /// `-p [fd00:1::1]:5353:53/udp` (IPv6 only, one address), `-p 10.0.0.5:7070:70` (IPv4 only),
    /// `-p 8000-8009:8000-8009` (both families, one rule per run).
    static let endpoint6 = EndpointPorts(
        endpointID: String(repeating: "9", count: 64), networkID: net6.id, bridge: net6.bridge, address: Fixtures.address("172.20.0.2"),
        ports: [PortMapping(hostPort: 8080, containerPort: 80),
                PortMapping(hostPort: 9090, containerPort: 90, hostIP6: address6("::")),
                PortMapping(proto: .udp, hostPort: 5353, containerPort: 53, hostIP6: address6("fd00:1::1")),
                PortMapping(hostIP: Fixtures.address("10.0.0.5"), hostPort: 7070, containerPort: 70),
                PortMapping(hostPort: 8000, containerPort: 8000, count: 10)],
        address6: address6("fd00:1::2"))

    static var state: FirewallState { FirewallState(networks: [net6], endpoints: [endpoint6]) }

    /// Berth's own layout (not a Docker dump: Docker 20.10 has no nftables backend), derived
    /// rule by rule from Docker 20.10's ip6tables rules for the same network and ports
    /// (Tests/Fixtures/docker-20.10/ipv6/*.ip6tables-save.txt, the real dockerd's, and
    /// derived-from-libnetwork.md there; NftLayout's notes): `nft list ruleset`
    /// after `setUpBase`, `addNetwork(net6)`, `addPorts(endpoint6)` on an empty namespace. The
    /// `ip` table is what the same network and its IPv4 bindings always had; the `ip6` table is
    /// its IPv6 twin: `ip6` matches, `dnat to [ADDR]:PORT`, `ip6 daddr != ::1` in `output`, no
    /// `prerouting-raw`, and `no-ipv6` (where IPv4-only networks' IPv6 traffic is dropped).
    /// Also loaded with `nft -f` as the reference whose bytes Berth's must equal.
    static let expectedListing = """
    table ip berth {
        set bridges {
            type ifname
            elements = { "br-dddddddddddd" }
        }

        map fwd-in {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump fwd-in-br-dddddddddddd }
        }

        map fwd-out {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump fwd-out-br-dddddddddddd }
        }

        map nat-out {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump nat-br-dddddddddddd }
        }

        chain berth-user {
        }

        chain published {
            iifname != @bridges tcp dport 8080 dnat to 172.20.0.2:80 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != @bridges ip daddr 10.0.0.5 tcp dport 7070 dnat to 172.20.0.2:70 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != @bridges tcp dport 8000-8009 dnat to 172.20.0.2 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }

        chain forward {
            type filter hook forward priority filter; policy accept;
            jump berth-user comment "berth"
            oifname vmap @fwd-in comment "berth"
            iifname vmap @fwd-out comment "berth"
        }

        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            fib daddr type local jump published comment "berth"
        }

        chain output {
            type nat hook output priority -100; policy accept;
            ip daddr != 127.0.0.0/8 fib daddr type local jump published comment "berth"
        }

        chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            iifname vmap @nat-out comment "berth"
        }

        chain prerouting-raw {
            type filter hook prerouting priority raw; policy accept;
        }

        chain fwd-in-br-dddddddddddd {
            iifname @bridges iifname != "br-dddddddddddd" drop comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            ct state established,related accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            jump fwd-ports-br-dddddddddddd comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            iifname "br-dddddddddddd" accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            drop comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        }

        chain fwd-out-br-dddddddddddd {
            oifname != "br-dddddddddddd" accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        }

        chain fwd-ports-br-dddddddddddd {
            iifname != "br-dddddddddddd" ip daddr 172.20.0.2 tcp dport 80 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != "br-dddddddddddd" ip daddr 172.20.0.2 tcp dport 70 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != "br-dddddddddddd" ip daddr 172.20.0.2 tcp dport 8000-8009 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }

        chain nat-br-dddddddddddd {
            ip saddr 172.20.0.0/16 oifname != "br-dddddddddddd" masquerade comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            ip saddr 172.20.0.2 ip daddr 172.20.0.2 tcp dport 80 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            ip saddr 172.20.0.2 ip daddr 172.20.0.2 tcp dport 70 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            ip saddr 172.20.0.2 ip daddr 172.20.0.2 tcp dport 8000-8009 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }
    }
    table ip6 berth {
        set bridges {
            type ifname
            elements = { "br-dddddddddddd" }
        }

        map fwd-in {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump fwd-in-br-dddddddddddd }
        }

        map fwd-out {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump fwd-out-br-dddddddddddd }
        }

        map nat-out {
            type ifname : verdict
            elements = { "br-dddddddddddd" : jump nat-br-dddddddddddd }
        }

        chain berth-user {
        }

        chain published {
            iifname != @bridges tcp dport 8080 dnat to [fd00:1::2]:80 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != @bridges tcp dport 9090 dnat to [fd00:1::2]:90 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != @bridges ip6 daddr fd00:1::1 udp dport 5353 dnat to [fd00:1::2]:53 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != @bridges tcp dport 8000-8009 dnat to fd00:1::2 comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }

        chain no-ipv6 {
            drop comment "berth"
        }

        chain forward {
            type filter hook forward priority filter; policy accept;
            jump berth-user comment "berth"
            oifname vmap @fwd-in comment "berth"
            iifname vmap @fwd-out comment "berth"
        }

        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            fib daddr type local jump published comment "berth"
        }

        chain output {
            type nat hook output priority -100; policy accept;
            ip6 daddr != ::1 fib daddr type local jump published comment "berth"
        }

        chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            iifname vmap @nat-out comment "berth"
        }

        chain fwd-in-br-dddddddddddd {
            iifname @bridges iifname != "br-dddddddddddd" drop comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            ct state established,related accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            jump fwd-ports-br-dddddddddddd comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            iifname "br-dddddddddddd" accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            drop comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        }

        chain fwd-out-br-dddddddddddd {
            oifname != "br-dddddddddddd" accept comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        }

        chain fwd-ports-br-dddddddddddd {
            iifname != "br-dddddddddddd" ip6 daddr fd00:1::2 tcp dport 80 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != "br-dddddddddddd" ip6 daddr fd00:1::2 tcp dport 90 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != "br-dddddddddddd" ip6 daddr fd00:1::2 udp dport 53 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            iifname != "br-dddddddddddd" ip6 daddr fd00:1::2 tcp dport 8000-8009 accept comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }

        chain nat-br-dddddddddddd {
            ip6 saddr fd00:1::/64 oifname != "br-dddddddddddd" masquerade comment "net:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 80 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 90 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 udp dport 53 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
            ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 8000-8009 masquerade comment "ep:9999999999999999999999999999999999999999999999999999999999999999 br:br-dddddddddddd"
        }
    }

    """
}

@_spi(BerthInternal) import BerthNetlink

/// The address family one set of iptables tables belongs to: `iptables` (IPv4) or `ip6tables`
/// (IPv6). The two families have separate tables in the kernel (x_tables `ip_tables` /
/// `ip6_tables`, or the nf_tables `ip` / `ip6` families of iptables-nft) and separate
/// `*-save` / `*-restore` programs; Docker 20.10 writes the same rule shapes into both
/// (libnetwork `iptables.IPTable{Version}`), only the address text differs.
enum IptablesFamily: String, Sendable, Hashable, CaseIterable {
    case ipv4
    case ipv6

    /// `iptables` / `ip6tables`: the program name prefix (`ip6tables-nft-restore`).
    var program: String { self == .ipv4 ? "iptables" : "ip6tables" }

    /// The prefix length `iptables-save` appends to a single address (`/32`, `/128`).
    var hostPrefix: String { self == .ipv4 ? "/32" : "/128" }

    /// The loopback range libnetwork's `LoopbackByVersion` excludes from the nat OUTPUT jump.
    var loopback: String { self == .ipv4 ? "127.0.0.0/8" : "::1/128" }

    /// `ADDRESS:PORT` as a DNAT `--to-destination` (Go's `net.JoinHostPort`: brackets for IPv6).
    func destination(_ address: String, port: UInt16) -> String {
        self == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}

extension EndpointPorts {
    /// True when the endpoint has IPv6 port rules: an IPv6 address and a binding with `bindsIPv6`.
    var hasIPv6Rules: Bool { address6 != nil && ports.contains(where: \.bindsIPv6) }
}

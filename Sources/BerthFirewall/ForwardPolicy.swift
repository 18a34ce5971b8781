/// When Berth sets the filter `FORWARD` policy to DROP (issue 13).
public enum ForwardDropMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// As Docker: IPv4 DROP only when Berth turned `net.ipv4.ip_forward` on itself (dockerd
    /// 20.10, libnetwork drivers/bridge/setup_ip_forwarding.go: a host that forwarded already
    /// keeps its policy); IPv6 DROP only when Berth turned `net.ipv6.conf.all.forwarding` on
    /// itself (Docker 28; 20.10 set the ip6tables DROP unconditionally). The default.
    case docker
    /// Always DROP, whatever forwarding was before (Berth before issue 13).
    case always
}

/// Which filter `FORWARD` policy changes are Berth's, decided once and kept by the caller across
/// process restarts (the façade records it in the state directory): a one-shot process opening a
/// host whose `ip_forward` it turned on earlier must not take the DROP for somebody else's.
///
/// Used by the iptables backend (`IptablesBackend.setForwardPolicy`): with `ipv4Drop` its base
/// sets `iptables -P FORWARD DROP` and reconcile puts it back; with `ipv6Drop` its IPv6 base
/// (programmed while a network has an IPv6 subnet) sets `ip6tables -P FORWARD DROP`. Undoing
/// (`undoSetUpBase`, `removeAll`, the removal of the IPv6 base with the last IPv6 network) puts
/// ACCEPT back only where Berth set DROP, and `net.ipv4.ip_forward` back to 0 only when
/// `ipv4EnabledForwarding`. The nftables backend has no global policy (its DROP covers Berth's
/// bridges only) and ignores this.
public struct ForwardPolicy: Sendable, Hashable, Codable {
    /// Berth sets (and owns) the IPv4 `-P FORWARD DROP`.
    public var ipv4Drop: Bool
    /// Berth turned `net.ipv4.ip_forward` on (it read 0 before Berth's first write).
    public var ipv4EnabledForwarding: Bool
    /// Berth sets (and owns) the IPv6 `-P FORWARD DROP` while its IPv6 base exists.
    public var ipv6Drop: Bool
    /// Berth turned `net.ipv6.conf.all.forwarding` on (the façade's decision and write; the
    /// backends never write IPv6 sysctls). Recorded here so the decision is one value.
    public var ipv6EnabledForwarding: Bool
    /// The IPv6 half was decided (`decidingIPv6`), once, before the first IPv6 network: later
    /// IPv6 networks keep it (forwarding reading 1 then may be Berth's own write).
    public var ipv6Decided: Bool

    /// Defaults: Berth's behaviour before the setting existed (IPv4 DROP, owned; nothing else),
    /// which is also what a state directory without a recorded decision gets.
    public init(ipv4Drop: Bool = true, ipv4EnabledForwarding: Bool = false, ipv6Drop: Bool = false, ipv6EnabledForwarding: Bool = false,
                ipv6Decided: Bool = false, always: Bool = false) {
        self.always = always
        self.ipv4Drop = ipv4Drop
        self.ipv4EnabledForwarding = ipv4EnabledForwarding
        self.ipv6Drop = ipv6Drop
        self.ipv6EnabledForwarding = ipv6EnabledForwarding
        self.ipv6Decided = ipv6Decided
    }

    /// The decision was taken (or later raised) in `ForwardDropMode.always`: the IPv6 half,
    /// decided with the first IPv6 network, follows it whatever that later call's mode says.
    /// Records written before it existed decode as false.
    public var always: Bool

    private enum CodingKeys: String, CodingKey { case ipv4Drop, ipv4EnabledForwarding, ipv6Drop, ipv6EnabledForwarding, ipv6Decided, always }

    /// Decodes a record; a field it lacks takes the default of `init()`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ipv4Drop = try c.decodeIfPresent(Bool.self, forKey: .ipv4Drop) ?? true
        ipv4EnabledForwarding = try c.decodeIfPresent(Bool.self, forKey: .ipv4EnabledForwarding) ?? false
        ipv6Drop = try c.decodeIfPresent(Bool.self, forKey: .ipv6Drop) ?? false
        ipv6EnabledForwarding = try c.decodeIfPresent(Bool.self, forKey: .ipv6EnabledForwarding) ?? false
        ipv6Decided = try c.decodeIfPresent(Bool.self, forKey: .ipv6Decided) ?? false
        always = try c.decodeIfPresent(Bool.self, forKey: .always) ?? false
    }

    /// The IPv4 decision, taken before Berth's first write of `net.ipv4.ip_forward`:
    /// `ipv4ForwardingWasOn` is what that sysctl read then ("1").
    public static func deciding(_ mode: ForwardDropMode, ipv4ForwardingWasOn: Bool) -> ForwardPolicy {
        ForwardPolicy(ipv4Drop: mode == .always || !ipv4ForwardingWasOn, ipv4EnabledForwarding: !ipv4ForwardingWasOn, always: mode == .always)
    }

    /// This decision with its IPv6 half: `berthEnablesForwarding` when the façade turns
    /// `net.ipv6.conf.all.forwarding` on itself (it read 0 and will write 1).
    public func decidingIPv6(_ mode: ForwardDropMode, berthEnablesForwarding: Bool) -> ForwardPolicy {
        var p = self
        p.ipv6Drop = mode == .always || always || berthEnablesForwarding
        p.ipv6EnabledForwarding = berthEnablesForwarding
        p.ipv6Decided = true
        return p
    }
}

@_spi(BerthInternal) extension FirewallBackend {
    /// Backends without a global FORWARD policy (nftables) have nothing to apply.
    public func setForwardPolicy(_ policy: ForwardPolicy) {}
}

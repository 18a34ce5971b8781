@_spi(BerthInternal) import BerthNetlink

/// One bridge network's firewall description: what Docker's bridge driver programs for a network
/// (design.md §1 step 2, golden/docker-20.10/docker-b-netcreate.iptables-save.txt).
@_spi(BerthInternal) public struct NetworkRules: Sendable, Hashable, Codable {
    /// The network ID (64 hex); owner tag of the network's rules.
    public var id: String
    /// The bridge name (`docker0`, `br-<12 hex>`), at most 15 bytes.
    public var bridge: String
    /// The network's IPv4 subnet (canonical: host bits clear).
    public var subnet: IPv4Subnet
    /// Inter-container communication (`com.docker.network.bridge.enable_icc`); false drops same-bridge traffic.
    public var icc: Bool
    /// Outbound masquerade (`com.docker.network.bridge.enable_ip_masquerade`).
    public var masquerade: Bool
    /// `--internal`: no NAT and nothing leaves the bridge.
    public var isInternal: Bool
    /// Docker's `--userland-proxy=false` rules for this network (the façade sets it on every
    /// network from `ControllerConfiguration.userlandProxy`; the backend's `hairpinMode` is the
    /// matching base). false is Docker 20.10's default, whose remaining cases the façade's
    /// userland proxy serves. true renders (iptables), byte for byte as dockerd 20.10
    /// (Tests/Fixtures/docker-20.10/noproxy/):
    /// ```
    /// -t nat -A POSTROUTING -o BR -m addrtype --src-type LOCAL -j MASQUERADE
    /// (no -t nat -A DOCKER -i BR -j RETURN)
    /// -t nat -A DOCKER ... -j DNAT ...          (without "! -i BR")
    /// ```
    /// The host end of every veth on the bridge is put in bridge-port hairpin mode and
    /// `net.ipv4.conf.BR.route_localnet` is set to 1 (the façade does both).
    /// Not applicable to internal networks' rules (Docker renders none of them there).
    public var hairpin: Bool
    /// Direct routing protection (`DirectRoutingProtection`); `.off` is Docker 20.10. Not
    /// applicable to internal networks (nothing enters them).
    public var directRouting: DirectRoutingProtection = .off
    /// Host interfaces exempt from `directRouting` (each a valid interface name).
    public var trustedInterfaces: [String] = []
    /// The network's IPv6 subnet (canonical) when it has IPv6 (`network create --ipv6`), else nil.
    /// With one, the same FORWARD, isolation and NAT rules are programmed for IPv6 as for IPv4
    /// (iptables: `ip6tables`, rule shapes of dockerd 20.10 `--experimental --ip6tables`,
    /// Tests/Fixtures/docker-20.10/ipv6/; nftables: Berth's `ip6` table). Records written
    /// before this field existed decode as nil.
    public var subnet6: IPv6Subnet? = nil

    public init(id: String, bridge: String, subnet: IPv4Subnet, icc: Bool = true, masquerade: Bool = true, isInternal: Bool = false,
                hairpin: Bool = false, directRouting: DirectRoutingProtection = .off, trustedInterfaces: [String] = [],
                subnet6: IPv6Subnet? = nil) {
        self.subnet6 = subnet6
        self.directRouting = directRouting
        self.trustedInterfaces = trustedInterfaces
        self.id = id
        self.bridge = bridge
        self.subnet = subnet
        self.icc = icc
        self.masquerade = masquerade
        self.isInternal = isInternal
        self.hairpin = hairpin
    }

    private enum CodingKeys: String, CodingKey { case id, bridge, subnet, icc, masquerade, isInternal, hairpin, directRouting, trustedInterfaces, subnet6 }

    /// Decodes JSON written before `hairpin` (`directRouting`, `trustedInterfaces`) existed as false (`.off`, none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        bridge = try c.decode(String.self, forKey: .bridge)
        subnet = try c.decode(IPv4Subnet.self, forKey: .subnet)
        icc = try c.decode(Bool.self, forKey: .icc)
        masquerade = try c.decode(Bool.self, forKey: .masquerade)
        isInternal = try c.decode(Bool.self, forKey: .isInternal)
        hairpin = try c.decodeIfPresent(Bool.self, forKey: .hairpin) ?? false
        directRouting = try c.decodeIfPresent(DirectRoutingProtection.self, forKey: .directRouting) ?? .off
        trustedInterfaces = try c.decodeIfPresent([String].self, forKey: .trustedInterfaces) ?? []
        subnet6 = try c.decodeIfPresent(IPv6Subnet.self, forKey: .subnet6)
    }
}

/// One published binding (`-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO]`), or a run of `count`
/// consecutive ones (`-p 8000-8009:9000-9009` is hostPort 8000, containerPort 9000, count 10:
/// host port `hostPort + i` goes to container port `containerPort + i`). Docker 20.10 expands a
/// range into single bindings (one set of iptables rules each, highest port first: oracle); the
/// iptables backend renders exactly that, the nftables backend one rule per run. Resolved: the
/// host port is never 0 here (`PortSpec` turns `-p 80` and host ranges into bindings).
public struct PortMapping: Sendable, Hashable, Codable {
    /// `tcp`, `udp` or `sctp` (go-connections `nat.ParsePortSpec` accepts these three).
    public enum TransportProtocol: String, Sendable, Hashable, Codable, CaseIterable {
        case tcp, udp, sctp

        /// The IANA protocol number (netinet/in.h IPPROTO_TCP 6, IPPROTO_UDP 17, IPPROTO_SCTP 132).
        public var number: UInt8 {
            switch self {
            case .tcp: 6
            case .udp: 17
            case .sctp: 132
            }
        }
    }
    public var proto: TransportProtocol
    /// The IPv4 host address to bind; nil for all (0.0.0.0). Ignored when `hostIP6` is set.
    public var hostIP: IPv4Address?
    /// The IPv6 host address to bind (`-p [::]:8080:80`, `-p [fd00:1::1]:8080:80`); such a
    /// binding is IPv6 only (`::` = every host address). nil: the binding is IPv4 (`hostIP`),
    /// and, when `hostIP` is nil (no host address given) and the endpoint has IPv6, also IPv6 on
    /// `::` (Docker 20.10's second binding, drivers/bridge/port_mapping.go). Records written
    /// before this field existed decode as nil.
    public var hostIP6: IPv6Address? = nil
    /// 1–65535: the first host port of the run.
    public var hostPort: UInt16
    /// 1–65535: the first container port of the run.
    public var containerPort: UInt16
    /// How many consecutive ports (1 for a single binding); `hostPort + count - 1` and
    /// `containerPort + count - 1` are at most 65535. Records written before ranges existed decode as 1.
    public var count: UInt16

    public init(proto: TransportProtocol = .tcp, hostIP: IPv4Address? = nil, hostPort: UInt16, containerPort: UInt16, count: UInt16 = 1,
                hostIP6: IPv6Address? = nil) {
        self.hostIP6 = hostIP6
        self.proto = proto
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.count = count
    }

    /// The last host port of the run.
    public var hostPortEnd: UInt16 { UInt16(clamping: Int(hostPort) + Int(max(count, 1)) - 1) }
    /// The last container port of the run.
    public var containerPortEnd: UInt16 { UInt16(clamping: Int(containerPort) + Int(max(count, 1)) - 1) }

    /// The run as single bindings, highest port first (the order Docker 20.10 programs a range in:
    /// go-connections `nat.SortPortMap` puts the larger host port first).
    public var singles: [PortMapping] {
        if count <= 1 { return [self] }
        return (0..<Int(count)).reversed().map { i in
            PortMapping(proto: proto, hostIP: hostIP, hostPort: hostPort + UInt16(i), containerPort: containerPort + UInt16(i), hostIP6: hostIP6)
        }
    }

    /// True when the host address is in 127.0.0.0/8 or is ::1 (a loopback-published port).
    public var isLoopback: Bool {
        if let hostIP6 { return hostIP6.value == 1 }
        return hostIP.map { $0.value >> 24 == 127 } ?? false
    }

    /// True when the binding has IPv4 rules (its host address is not an IPv6 one).
    public var bindsIPv4: Bool { hostIP6 == nil }

    /// True when the binding has IPv6 rules for an endpoint with an IPv6 address: an IPv6 host
    /// address, or none (Docker 20.10 adds the binding on `::` only when no host address was
    /// given: an explicit `0.0.0.0` is IPv4 only, `validatePortBindingIPv6` in
    /// drivers/bridge/port_mapping.go).
    public var bindsIPv6: Bool { hostIP6 != nil || hostIP == nil }

    /// The IPv6 host address of the binding's IPv6 rules: `hostIP6`, or nil for `::` (all).
    public var hostIP6ForRules: IPv6Address? { hostIP6.flatMap { $0.value == 0 ? nil : $0 } }

    /// True when both bind an overlapping host port of the same protocol on addresses that clash
    /// in one family (equal, or either is that family's wildcard): Docker's "port is already allocated".
    public func overlaps(_ other: PortMapping) -> Bool {
        guard proto == other.proto && hostPort <= other.hostPortEnd && other.hostPort <= hostPortEnd else { return false }
        let v4 = bindsIPv4 && other.bindsIPv4
            && (hostIP == nil || other.hostIP == nil || hostIP == other.hostIP || hostIP?.value == 0 || other.hostIP?.value == 0)
        let mine6 = hostIP6ForRules, theirs6 = other.hostIP6ForRules
        let v6 = bindsIPv6 && other.bindsIPv6 && (mine6 == nil || theirs6 == nil || mine6 == theirs6)
        return v4 || v6
    }

    /// Why this binding cannot be programmed, or nil: ports 1–65535, a count of at least 1, and
    /// both runs ending at 65535 or below. The one check of a resolved binding (both backends).
    public var problem: String? {
        let name = "\(hostPort)\(count > 1 ? "-\(Int(hostPort) + Int(count) - 1)" : ""):\(containerPort)\(count > 1 ? "-\(Int(containerPort) + Int(count) - 1)" : "")/\(proto.rawValue)"
        if hostPort == 0 || containerPort == 0 { return "port mapping \(name): ports must be 1-65535" }
        if count == 0 { return "port mapping \(hostPort):\(containerPort)/\(proto.rawValue): count must be at least 1" }
        if Int(hostPort) + Int(count) - 1 > 65535 || Int(containerPort) + Int(count) - 1 > 65535 {
            return "port mapping \(name): ports must be 1-65535"
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey { case proto, hostIP, hostPort, containerPort, count, hostIP6 }

    /// Decodes records written before `count` existed as single bindings.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        proto = try c.decode(TransportProtocol.self, forKey: .proto)
        hostIP = try c.decodeIfPresent(IPv4Address.self, forKey: .hostIP)
        hostPort = try c.decode(UInt16.self, forKey: .hostPort)
        containerPort = try c.decode(UInt16.self, forKey: .containerPort)
        count = try c.decodeIfPresent(UInt16.self, forKey: .count) ?? 1
        hostIP6 = try c.decodeIfPresent(IPv6Address.self, forKey: .hostIP6)
    }
}

/// An endpoint's published ports (design.md §1 step 6).
@_spi(BerthInternal) public struct EndpointPorts: Sendable, Hashable, Codable {
    /// The endpoint ID; owner tag of these rules.
    public var endpointID: String
    /// The network the endpoint is attached to.
    public var networkID: String
    /// The bridge of that network.
    public var bridge: String
    /// The endpoint's IPv4 address.
    public var address: IPv4Address
    public var ports: [PortMapping]
    /// Docker's `--userland-proxy=false`: DNAT rules without the `! -i BR` (nftables:
    /// `iifname != @bridges`) restriction, so the bridge's own sandboxes reach the published
    /// ports through a host address. false is Docker 20.10's default.
    public var hairpin: Bool
    /// Loopback-published ports stay local (issue 13 hardening, CVE-2020-8558 class): a packet
    /// to a binding on a 127.0.0.0/8 host address is dropped before NAT unless it arrived on
    /// `lo`, as Docker 28's raw `PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport N -j DROP`.
    /// false is Docker 20.10 (a neighbour that routes 127.0.0.1 to the host reaches the port).
    public var loopbackLocal: Bool = false
    /// The endpoint's IPv6 address when it has one: the bindings with `bindsIPv6` get IPv6 rules
    /// to it (ip6tables / the `ip6` table), as Docker 20.10 with `--ip6tables`. nil: IPv4 rules
    /// only. Records written before this field existed decode as nil.
    public var address6: IPv6Address? = nil

    public init(endpointID: String, networkID: String, bridge: String, address: IPv4Address, ports: [PortMapping],
                hairpin: Bool = false, loopbackLocal: Bool = false, address6: IPv6Address? = nil) {
        self.address6 = address6
        self.loopbackLocal = loopbackLocal
        self.endpointID = endpointID
        self.networkID = networkID
        self.bridge = bridge
        self.address = address
        self.ports = ports
        self.hairpin = hairpin
    }

    private enum CodingKeys: String, CodingKey { case endpointID, networkID, bridge, address, ports, hairpin, loopbackLocal, address6 }

    /// Decodes JSON written before `hairpin` (`loopbackLocal`) existed as false.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endpointID = try c.decode(String.self, forKey: .endpointID)
        networkID = try c.decode(String.self, forKey: .networkID)
        bridge = try c.decode(String.self, forKey: .bridge)
        address = try c.decode(IPv4Address.self, forKey: .address)
        ports = try c.decode([PortMapping].self, forKey: .ports)
        hairpin = try c.decodeIfPresent(Bool.self, forKey: .hairpin) ?? false
        loopbackLocal = try c.decodeIfPresent(Bool.self, forKey: .loopbackLocal) ?? false
        address6 = try c.decodeIfPresent(IPv6Address.self, forKey: .address6)
    }
}

/// Everything Berth wants programmed: networks oldest first (a newer network's rules sit above
/// older ones, as Docker inserts) and every endpoint's published ports.
@_spi(BerthInternal) public struct FirewallState: Sendable, Hashable, Codable {
    public var networks: [NetworkRules]
    public var endpoints: [EndpointPorts]

    public init(networks: [NetworkRules] = [], endpoints: [EndpointPorts] = []) {
        self.networks = networks
        self.endpoints = endpoints
    }
}

/// Which backend programs the firewall.
public enum FirewallBackendKind: String, Sendable, Codable, CaseIterable {
    case iptables
    case nftables
}

/// The firewall of one "host" network namespace, shaped after Docker's own split (bridge driver's
/// setupIPTables / link and port-mapping code). Two implementations: `IptablesBackend`
/// (`iptables-restore --noflush`, rules identical to Docker's) and `NftablesBackend` (libnftnl
/// batches, Berth's own table).
///
/// Contract for every method: adding what is present adds nothing; removing what is absent is not
/// an error; a failure leaves the ruleset as it was (one atomic apply per call); bad input throws
/// `FirewallError` before anything is applied.
/// What one `reconcile(_:dryRun:)` changes (or, with `dryRun`, would change).
@_spi(BerthInternal) public struct FirewallReconciliation: Sendable, Equatable {
    /// What the state does not explain, removed: one rule, chain or element per line.
    public var removed: [String]
    /// What the state describes and was missing or out of order, put back: `OBJECT|REASON`
    /// (`nat DOCKER|2 of 3 rules the records describe are missing`).
    public var repaired: [String]

    public init(removed: [String] = [], repaired: [String] = []) {
        self.removed = removed
        self.repaired = repaired
    }
}

/// A firewall backend: programs Docker 20.10's rules for networks and published ports in the host
/// namespace (`IptablesBackend`: `iptables-restore`; `NftablesBackend`: libnftnl batches). Every
/// operation is all-or-nothing and throws `FirewallError`; removing what is absent is not an error.
@_spi(BerthInternal) public protocol FirewallBackend: Sendable {
    var kind: FirewallBackendKind { get }
    /// Base chains, FORWARD jumps in Docker's order, FORWARD policy DROP, `net.ipv4.ip_forward=1`.
    /// A pre-existing DOCKER-USER chain and its rules are kept, and its jump stays first.
    func setUpBase() throws(FirewallError)
    /// One network's FORWARD, isolation and NAT rules, above the older networks'.
    func addNetwork(_ network: NetworkRules) throws(FirewallError)
    /// Removes one network's rules (one atomic apply).
    func removeNetwork(_ network: NetworkRules) throws(FirewallError)
    /// One endpoint's DNAT, hairpin MASQUERADE and filter ACCEPT rules.
    func addPorts(_ endpoint: EndpointPorts) throws(FirewallError)
    /// Removes one endpoint's port rules.
    func removePorts(_ endpoint: EndpointPorts) throws(FirewallError)
    /// Re-creates everything from `state` (after someone flushed the firewall); keeps what is right.
    func reapply(_ state: FirewallState) throws(FirewallError)
    /// Removes everything Berth owns (base chains included), leaving other rules untouched.
    func removeAll(_ state: FirewallState) throws(FirewallError)
    /// Makes Berth's rules exactly `state`, in `state`'s order: what is missing is added, what
    /// is out of order is rewritten, and every rule of Berth's shape that `state` does not
    /// explain is removed (see FirewallBackend+Reconcile.swift). With `dryRun` nothing is applied.
    /// - Returns: what was (or, with `dryRun`, would be) removed and repaired; a dry run
    ///   returns exactly what the same call without it changes.
    func reconcile(_ state: FirewallState, dryRun: Bool) throws(FirewallError) -> FirewallReconciliation
    /// Undoes a `setUpBase()` that a failed host set-up made: Berth's base removed and (iptables)
    /// the FORWARD policy back to ACCEPT.
    func undoSetUpBase() throws(FirewallError)
    /// The FORWARD policy decision every later call applies (`ForwardPolicy`; the caller keeps it
    /// across restarts and passes it again after opening). Default: `ForwardPolicy()`.
    func setForwardPolicy(_ policy: ForwardPolicy)
    /// The host namespace's nf_tables ruleset generation (`NFT_MSG_GETGEN`, see NftGeneration.swift),
    /// which every committed change of any nf_tables program (nft, iptables-nft, Berth) increments;
    /// nil when this backend's rules live outside nf_tables (iptables-legacy), whose changes
    /// leave no such trace. One netlink round trip.
    /// - Throws: `FirewallError` `.system`, `.missingCapability`, `.namespace`.
    func rulesetGeneration() throws(FirewallError) -> UInt32?
}

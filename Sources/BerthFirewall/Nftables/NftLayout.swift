@_spi(BerthInternal) import BerthNetlink

/// Names and desired content of Berth's tables `ip <table>` (IPv4) and `ip6 <table>` (IPv6, see
/// below). One table per family rather than one `inet` table: each needs no `meta nfproto`
/// guard, its address matches and DNAT expressions are those of one family, and the IPv4 table
/// stays exactly what it was before IPv6 existed.
///
/// ```
/// table ip berth {
///     set bridges { type ifname }                  # every Berth bridge (isolation)
///     map fwd-in { type ifname : verdict }         # oifname BR → jump fwd-in-BR
///     map fwd-out { type ifname : verdict }        # iifname BR → jump fwd-out-BR
///     map nat-out { type ifname : verdict }        # iifname BR → jump nat-BR
///     chain berth-user { }                         # DOCKER-USER role: yours, kept by setUpBase
///     chain published { }                          # DNAT of published ports (endpoint rules)
///     chain forward {
///         type filter hook forward priority filter; policy accept;
///         jump berth-user
///         oifname vmap @fwd-in
///         iifname vmap @fwd-out
///     }
///     chain prerouting {
///         type nat hook prerouting priority dstnat; policy accept;
///         fib daddr type local jump published
///     }
///     chain output {
///         type nat hook output priority -100; policy accept;
///         ip daddr != 127.0.0.0/8 fib daddr type local jump published
///     }
///     chain postrouting {
///         type nat hook postrouting priority srcnat; policy accept;
///         iifname vmap @nat-out
///     }
///     chain prerouting-raw {                       # empty unless loopback-local ports exist
///         type filter hook prerouting priority raw; policy accept;
///     }
///     # per network BR: fwd-in-BR, fwd-out-BR, fwd-ports-BR, nat-BR (see networkRules)
/// }
/// ```
///
/// **IPv6.** `table ip6 <table>` has the same sets, maps and chains (no `prerouting-raw`), and
/// its rules are the IPv4 ones with `ip6` matches: Docker 20.10's ip6tables rules
/// (`--experimental --ip6tables`, Tests/Fixtures/docker-20.10/ipv6/) in Berth's layout. It holds
/// only networks with an IPv6 subnet (`NetworkRules.subnet6`) and endpoints with an IPv6 address
/// (`EndpointPorts.address6`), and exists only while at least one such network does: the first
/// creates it, removing the last deletes it (user-chain rules included), so IPv4-only use never
/// shows it. Differences from the IPv4 table, each for a reason:
/// - `output`: `ip6 daddr != ::1 fib daddr type local jump published` (ip6tables'
///   `! --dst ::1/128`); hairpin mode drops the condition, as for IPv4.
/// - No loopback-local drop: the kernel already drops a packet to `::1` that did not come from
///   a loopback device, before the prerouting hook (net/ipv6/ip6_input.c `ip6_rcv_core`,
///   RFC 4291 §2.5.3), so a `::1`-bound port is local without a rule.
/// - `berth-user` exists for IPv6 too, a deliberate deviation: Docker 20.10 has no DOCKER-USER
///   for ip6tables (libnetwork firewall_linux.go "TODO IPv6 support").
/// - IPv4-only networks: while the table exists, each one's bridge is in `bridges` (isolated
///   from the IPv6 networks, as Docker 20.10 gives them the ip6tables isolation pair:
///   Tests/Fixtures/docker-20.10/ipv6/README.md, `f-v4only`) and `fwd-in` / `fwd-out` send
///   its IPv6 traffic to `chain no-ipv6 { drop }` (what ip6tables' FORWARD policy DROP does
///   to it under Docker); it has no chain of its own and no NAT.
struct NftLayout: Sendable {
    let table: String

    static let userChain = "berth-user"
    static let publishedChain = "published"
    /// Before conntrack and NAT (raw priority): the loopback-local hardening drops.
    static let rawPreroutingChain = "prerouting-raw"
    static let bridgesSet = "bridges"
    static let forwardInMap = "fwd-in"
    static let forwardOutMap = "fwd-out"
    static let natOutMap = "nat-out"
    /// `ip6` table only: where `fwd-in` / `fwd-out` send an IPv4-only network's IPv6 traffic.
    static let ipv4OnlyChain = "no-ipv6"
    /// The fewest ports that share one rule with an anonymous set or map: such a rule is three
    /// batch messages (NEWSET, NEWSETELEM, NEWRULE) and one more dump to read its elements back,
    /// so below four ports the plain rules (one message each) cost less.
    static let leastPortsPerSet = 4
    /// The owner tag of the base rules.
    static let baseOwner = "berth"

    static let sets: [NftSetSpec] = [
        NftSetSpec(name: bridgesSet, isVerdictMap: false),
        NftSetSpec(name: forwardInMap, isVerdictMap: true),
        NftSetSpec(name: forwardOutMap, isVerdictMap: true),
        NftSetSpec(name: natOutMap, isVerdictMap: true),
    ]

    /// Base chains in creation order, with their hooks (nil: a regular chain).
    static let baseChains: [(name: String, hook: NftHook?)] = [
        (userChain, nil),
        (publishedChain, nil),
        ("forward", NftHook(type: "filter", point: .forward, priority: 0)),
        ("prerouting", NftHook(type: "nat", point: .prerouting, priority: -100)),
        ("output", NftHook(type: "nat", point: .output, priority: -100)),
        ("postrouting", NftHook(type: "nat", point: .postrouting, priority: 100)),
        (rawPreroutingChain, NftHook(type: "filter", point: .prerouting, priority: -300)),
    ]

    /// The base chains of `family`'s table: IPv6 has no `prerouting-raw` (see the type's notes).
    /// The `ip6` table adds `no-ipv6` (IPv4-only networks' IPv6 traffic, dropped).
    static func baseChains(_ family: NftFamily) -> [(name: String, hook: NftHook?)] {
        guard family == .ip6 else { return baseChains }
        var chains = baseChains.filter { $0.name != rawPreroutingChain }
        chains.insert((ipv4OnlyChain, nil), at: 2)  // after the other regular chains
        return chains
    }

    /// Prefixes of the per-network chains, each followed by the bridge name.
    static let networkChainPrefixes = ["fwd-in-", "fwd-out-", "fwd-ports-", "nat-"]

    static func forwardIn(_ bridge: String) -> String { "fwd-in-" + bridge }
    static func forwardOut(_ bridge: String) -> String { "fwd-out-" + bridge }
    static func forwardPorts(_ bridge: String) -> String { "fwd-ports-" + bridge }
    static func nat(_ bridge: String) -> String { "nat-" + bridge }

    static func networkChains(_ bridge: String) -> [String] {
        networkChainPrefixes.map { $0 + bridge }
    }

    /// The bridge a per-network chain belongs to, or nil for other chains.
    static func bridge(ofChain chain: String) -> String? {
        for prefix in networkChainPrefixes where chain.hasPrefix(prefix) {
            return String(chain.dropFirst(prefix.count))
        }
        return nil
    }

    /// Map elements of a network: (set, jump target or nil for the plain set).
    static func elements(_ bridge: String) -> [(set: String, jump: String?)] {
        [(bridgesSet, nil), (forwardInMap, forwardIn(bridge)), (forwardOutMap, forwardOut(bridge)), (natOutMap, nat(bridge))]
    }

    /// `ip6` table: the elements of an IPv4-only network's bridge (no `nat-out`).
    static func ipv4OnlyElements(_ bridge: String) -> [(set: String, jump: String?)] {
        [(bridgesSet, nil), (forwardInMap, ipv4OnlyChain), (forwardOutMap, ipv4OnlyChain)]
    }

    /// The bridges of `state`'s networks without an IPv6 subnet (the `ip6` table's IPv4-only entries).
    static func ipv4OnlyBridges(_ state: FirewallState) -> [String] {
        state.networks.filter { $0.subnet6 == nil }.map(\.bridge)
    }

    /// The part of `state` the table of `family` holds: everything for `ip`; for `ip6` the
    /// networks with an IPv6 subnet and the endpoints on their bridges (in the state's order).
    static func state(_ state: FirewallState, family: NftFamily) -> FirewallState {
        guard family == .ip6 else { return state }
        let networks = state.networks.filter { $0.subnet6 != nil }
        let bridges = Set(networks.map(\.bridge))
        return FirewallState(networks: networks, endpoints: state.endpoints.filter { bridges.contains($0.bridge) })
    }

    static func networkOwner(_ id: String) -> String { "net:" + id }
    /// Endpoint rules name the endpoint and its bridge (`ep:<id> br:<bridge>`, at most 86 bytes,
    /// within nft's 128-byte comment limit), so removing a network also drops its endpoints' DNAT
    /// rules, which live in the shared `published` chain.
    static func endpointOwner(_ endpoint: EndpointPorts) -> String { "ep:\(endpoint.endpointID) br:\(endpoint.bridge)" }
    static func isEndpointOwner(_ owner: String, endpointID: String) -> Bool { owner.hasPrefix("ep:\(endpointID) br:") }
    static func isEndpointOwner(_ owner: String, onBridge bridge: String) -> Bool {
        owner.hasPrefix("ep:") && owner.hasSuffix(" br:\(bridge)")
    }

    /// The base rules. `hairpinMode` (Docker's `--userland-proxy=false`): the output rule has no
    /// `ip daddr != 127.0.0.0/8`, so the host reaches published ports via 127.0.0.1 (with
    /// `route_localnet` on the bridges and the host-source masquerade of `networkRules`).
    /// IPv6 (`family` .ip6): the output rule's condition is `ip6 daddr != ::1`.
    static func baseRules(hairpinMode: Bool = false, family: NftFamily = .ip) -> [NftRule] {
        var rules: [NftRule] = []
        var b = NftRuleBuilder()
        b.verdict(.jump(userChain))
        rules.append(b.rule(chain: "forward", owner: baseOwner))
        b = NftRuleBuilder()
        b.vmap(.oifname, forwardInMap)
        rules.append(b.rule(chain: "forward", owner: baseOwner))
        b = NftRuleBuilder()
        b.vmap(.iifname, forwardOutMap)
        rules.append(b.rule(chain: "forward", owner: baseOwner))
        b = NftRuleBuilder()
        b.fibDaddrLocal()
        b.verdict(.jump(publishedChain))
        rules.append(b.rule(chain: "prerouting", owner: baseOwner))
        b = NftRuleBuilder()
        if !hairpinMode {
            switch family {
            case .ip:
                if let loopback = IPv4Subnet(address: IPv4Address(127, 0, 0, 0), prefixLength: 8) { b.ip(source: false, loopback, equal: false) }
            case .ip6:
                b.ip6(source: false, IPv6Address(1), equal: false)
            }
        }
        b.fibDaddrLocal()
        b.verdict(.jump(publishedChain))
        rules.append(b.rule(chain: "output", owner: baseOwner))
        b = NftRuleBuilder()
        b.vmap(.iifname, natOutMap)
        rules.append(b.rule(chain: "postrouting", owner: baseOwner))
        if family == .ip6 {
            b = NftRuleBuilder()
            b.verdict(.drop)
            rules.append(b.rule(chain: ipv4OnlyChain, owner: baseOwner))
        }
        return rules
    }

    /// A network's rules, Docker 20.10's FORWARD/ISOLATION/POSTROUTING semantics per bridge BR:
    /// ```
    /// chain fwd-in-BR {                                  # oifname BR: entering the network
    ///     iifname @bridges iifname != "BR" drop          # isolation (DOCKER-ISOLATION-STAGE-1/2)
    ///     ct state established,related accept
    ///     jump fwd-ports-BR                              # published ports (DOCKER chain)
    ///     iifname "BR" accept                            # icc (drop when icc=false)
    ///     drop                                           # FORWARD policy DROP, for BR only
    /// }
    /// chain fwd-out-BR { oifname != "BR" accept }        # leaving the network
    /// chain nat-BR { ip saddr SUBNET oifname != "BR" masquerade }   # unless masquerade=false
    /// ```
    /// Internal network: `fwd-in-BR { iifname != "BR" drop; iifname "BR" accept|drop }`,
    /// `fwd-out-BR { oifname != "BR" drop }`, no masquerade.
    ///
    /// `directRouting == .strict` adds, after the `ct state` accept,
    /// `iifname != "BR" [iifname != "T" ...] ct status != dnat drop` (see `DirectRoutingProtection`;
    /// `.unpublished` is what the final `drop` already does).
    ///
    /// `hairpin` (Docker's `--userland-proxy=false`; non-internal only) adds the host-source
    /// masquerade (`-o BR -m addrtype --src-type LOCAL -j MASQUERADE`) in the base `postrouting`
    /// chain (host-made packets have no input interface, so `nat-out` never sees them). Other
    /// networks stay isolated from published ports, as in Docker's mode:
    /// ```
    /// chain postrouting { oifname "BR" fib saddr type local masquerade }
    /// ```
    /// IPv6 (`family` .ip6): the same rules with `ip6 saddr SUBNET6` in the masquerade; none
    /// when the network has no IPv6 subnet.
    static func networkRules(_ n: NetworkRules, family: NftFamily = .ip) -> [NftRule] {
        if family == .ip6 && n.subnet6 == nil { return [] }
        let owner = networkOwner(n.id)
        let br = n.bridge
        let inChain = forwardIn(br)
        var rules: [NftRule] = []
        var b = NftRuleBuilder()
        if n.isInternal {
            b.iifname(br, equal: false)
            b.verdict(.drop)
            rules.append(b.rule(chain: inChain, owner: owner))
            b = NftRuleBuilder()
            b.iifname(br)
            b.verdict(n.icc ? .accept : .drop)
            rules.append(b.rule(chain: inChain, owner: owner))
            b = NftRuleBuilder()
            b.oifname(br, equal: false)
            b.verdict(.drop)
            rules.append(b.rule(chain: forwardOut(br), owner: owner))
            return rules
        }
        b.iifnameInSet(bridgesSet)
        b.iifname(br, equal: false)
        b.verdict(.drop)
        rules.append(b.rule(chain: inChain, owner: owner))
        b = NftRuleBuilder()
        b.ctEstablishedRelated()
        b.verdict(.accept)
        rules.append(b.rule(chain: inChain, owner: owner))
        b = NftRuleBuilder()
        if n.directRouting == .strict {
            // Direct routing protection, strict (DirectRoutingProtection): only DNAT'd connections
            // reach published ports from outside the bridge; trusted interfaces keep the direct path.
            b.iifname(br, equal: false)
            for t in n.trustedInterfaces { b.iifname(t, equal: false) }
            b.ctStatusNotDNAT()
            b.verdict(.drop)
            rules.append(b.rule(chain: inChain, owner: owner))
            b = NftRuleBuilder()
        }
        b.verdict(.jump(forwardPorts(br)))
        rules.append(b.rule(chain: inChain, owner: owner))
        b = NftRuleBuilder()
        b.iifname(br)
        b.verdict(n.icc ? .accept : .drop)
        rules.append(b.rule(chain: inChain, owner: owner))
        b = NftRuleBuilder()
        b.verdict(.drop)
        rules.append(b.rule(chain: inChain, owner: owner))
        b = NftRuleBuilder()
        b.oifname(br, equal: false)
        b.verdict(.accept)
        rules.append(b.rule(chain: forwardOut(br), owner: owner))
        if n.masquerade {
            b = NftRuleBuilder()
            switch family {
            case .ip: b.ip(source: true, n.subnet)
            case .ip6: if let subnet6 = n.subnet6 { b.ip6(source: true, subnet6) }
            }
            b.oifname(br, equal: false)
            b.masquerade()
            rules.append(b.rule(chain: nat(br), owner: owner))
        }
        if n.hairpin {
            b = NftRuleBuilder()
            b.oifname(br)
            b.fibSaddrLocal()
            b.masquerade()
            rules.append(b.rule(chain: "postrouting", owner: owner))
        }
        return rules
    }

    /// An endpoint's rules, per published binding (duplicates dropped); a run of ports
    /// (`-p 8000-8009:9000-9009`) is one rule of each kind, with nft's range match
    /// (`tcp dport 8000-8009`) and one DNAT for the run (`NftRuleBuilder.dnat(to:hostPort:containerPort:count:)`),
    /// so the number of rules does not grow with the number of ports:
    /// ```
    /// chain published    { iifname != @bridges [ip daddr HOSTIP] tcp dport HOSTPORT dnat to IP:PORT }
    /// chain fwd-ports-BR { iifname != "BR" ip daddr IP tcp dport PORT accept }
    /// chain nat-BR       { ip saddr IP ip daddr IP tcp dport PORT masquerade }     # hairpin
    /// ```
    /// Separate single ports do not grow it either: the ones of a protocol (and, for DNAT and
    /// the loopback drops, of a host address) share one rule of each kind with an anonymous
    /// set or map bound to it (`NftPortSet`), nft's
    /// ```
    /// chain published    { iifname != @bridges [ip daddr HOSTIP] meta l4proto tcp dnat to IP:tcp dport map { H1 : C1, H2 : C2 } }
    /// chain fwd-ports-BR { iifname != "BR" ip daddr IP tcp dport { C1, C2 } accept }
    /// chain nat-BR       { ip saddr IP ip daddr IP tcp dport { C1, C2 } masquerade }
    /// ```
    /// (the grouped rule takes the place of the group's first binding). A group of fewer than
    /// `leastPortsPerSet` ports keeps the plain rules above.
    /// `iifname != @bridges` is Docker's nat `DOCKER -i BR -j RETURN` of every bridge above the
    /// DNAT rules: traffic from a sandbox to a host address is not DNAT'd but reaches the host,
    /// where the userland proxy serves it (own and other networks alike).
    /// With `e.hairpin` the DNAT rule has no interface condition (Docker's `--userland-proxy=false`),
    /// so the bridge's own sandboxes reach the port through a host address too, and the hairpin
    /// masquerade moves to the base chain as
    /// `chain postrouting { oifname "BR" ip saddr IP ip daddr IP tcp dport PORT masquerade }`.
    ///
    /// IPv6 (`family` .ip6): the same rules to `address6` for the bindings that `bindsIPv6`
    /// (`ip6 daddr HOSTIP6` when `hostIP6ForRules` names one, `dnat to [IP6]:PORT`), no
    /// loopback-local drop (see the type's notes); none when the endpoint has no IPv6 address.
    static func endpointRules(_ e: EndpointPorts, family: NftFamily = .ip) -> [NftRule] {
        let owner = endpointOwner(e)
        var rules: [NftRule] = []
        if family == .ip6 && e.address6 == nil { return [] }
        let bindings = e.ports.filter { family == .ip ? $0.bindsIPv4 : $0.bindsIPv6 }
        // The endpoint's address match and DNAT target in this family.
        func endpointAddress(_ b: inout NftRuleBuilder, source: Bool) {
            switch family {
            case .ip: b.ip(source: source, e.address)
            case .ip6: if let a = e.address6 { b.ip6(source: source, a) }
            }
        }
        // A shifted run no offset mapping can express (rare: NftRuleBuilder.shiftedRange) is split into single ports.
        let runs = bindings.flatMap { p in
            p.count <= 1 || p.hostPort == p.containerPort
                || NftRuleBuilder.shiftedRange(hostPort: p.hostPort, containerPort: p.containerPort, count: p.count) != nil ? [p] : p.singles
        }
        // Single ports that share a rule's other matches become ONE rule with an anonymous set
        // or map (`NftPortSet`), so an endpoint with many separate ports still has one rule of
        // each kind: the DNAT rules by protocol and host address, the accept and masquerade
        // rules by protocol, the loopback-local drops by protocol and host address. A group of
        // few ports (below `leastPortsPerSet`) keep their plain rules; runs keep their range rules.
        let singles = runs.filter { $0.count <= 1 }
        let least = NftLayout.leastPortsPerSet
        func hostAddressKey(_ p: PortMapping) -> String {
            family == .ip ? (p.hostIP.flatMap { $0.value == 0 ? nil : $0.description } ?? "") : (p.hostIP6ForRules?.description ?? "")
        }
        // The grouped DNAT maps: (proto, host address) → host port : container port, first
        // binding of each host port kept (a conflicting duplicate keeps a rule of its own).
        var dnatMaps: [String: [(key: UInt16, value: UInt16)]] = [:]
        var inMap = Set<PortMapping>()
        for p in singles {
            let k = "\(p.proto.rawValue)|\(hostAddressKey(p))"
            if dnatMaps[k, default: []].contains(where: { $0.key == p.hostPort }) {
                if dnatMaps[k]?.contains(where: { $0.key == p.hostPort && $0.value == p.containerPort }) == true { inMap.insert(p) }
                continue
            }
            dnatMaps[k, default: []].append((p.hostPort, p.containerPort))
            inMap.insert(p)
        }
        var containerPorts: [PortMapping.TransportProtocol: Set<UInt16>] = [:]
        for p in singles { containerPorts[p.proto, default: []].insert(p.containerPort) }
        var emitted = Set<String>()
        for p in runs {
            let k = "\(p.proto.rawValue)|\(hostAddressKey(p))"
            let map = dnatMaps[k] ?? []
            let grouped = p.count <= 1 && inMap.contains(p) && map.count >= least
            if grouped && !emitted.insert("dnat|" + k).inserted { continue }
            var b = NftRuleBuilder()
            if !e.hairpin { b.iifnameInSet(bridgesSet, equal: false) }
            switch family {
            case .ip:
                if let hostIP = p.hostIP, hostIP.value != 0 { b.ip(source: false, hostIP) }
            case .ip6:
                if let hostIP6 = p.hostIP6ForRules { b.ip6(source: false, hostIP6) }
            }
            let target: IPAddress? = family == .ip ? .v4(e.address) : e.address6.map { .v6($0) }
            if grouped, let target {
                b.l4proto(p.proto)
                b.dnat(to: target, proto: p.proto, map: map)
            } else {
                b.destinationPort(p.proto, p.hostPort, through: p.hostPortEnd)
                switch family {
                case .ip: b.dnat(to: e.address, hostPort: p.hostPort, containerPort: p.containerPort, count: p.count)
                case .ip6: if let a = e.address6 { b.dnat(to: a, hostPort: p.hostPort, containerPort: p.containerPort, count: p.count) }
                }
            }
            rules.append(b.rule(chain: publishedChain, owner: owner))
        }
        // The container-port match of a kind of rule: the protocol's single ports as one set.
        func containerPortMatch(_ b: inout NftRuleBuilder, _ p: PortMapping, kind: String) -> Bool {
            let ports = containerPorts[p.proto] ?? []
            if p.count <= 1 && ports.count >= least {
                if !emitted.insert(kind + "|" + p.proto.rawValue).inserted { return false }
                b.destinationPorts(p.proto, Array(ports))
            } else {
                b.destinationPort(p.proto, p.containerPort, through: p.containerPortEnd)
            }
            return true
        }
        for p in runs {
            var b = NftRuleBuilder()
            b.iifname(e.bridge, equal: false)
            endpointAddress(&b, source: false)
            guard containerPortMatch(&b, p, kind: "accept") else { continue }
            b.verdict(.accept)
            rules.append(b.rule(chain: forwardPorts(e.bridge), owner: owner))
        }
        for p in runs {
            var b = NftRuleBuilder()
            // Hairpin: matched on the output bridge in the base chain, because a packet that
            // br_netfilter DNATs back out of the bridge reaches postrouting without an input
            // interface, so `iifname vmap @nat-out` never sends it to nat-BR.
            if e.hairpin { b.oifname(e.bridge) }
            endpointAddress(&b, source: true)
            endpointAddress(&b, source: false)
            guard containerPortMatch(&b, p, kind: "masquerade") else { continue }
            b.masquerade()
            rules.append(b.rule(chain: e.hairpin ? "postrouting" : nat(e.bridge), owner: owner))
        }
        // Loopback-published ports stay local (EndpointPorts.loopbackLocal): dropped before NAT
        // unless they come from lo, as Docker 28's raw PREROUTING rule.
        let loopbackSingles = singles.filter(\.isLoopback)
        for p in runs where family == .ip && e.loopbackLocal && p.isLoopback {
            guard let hostIP = p.hostIP else { continue }
            var b = NftRuleBuilder()
            b.iifname("lo", equal: false)
            b.ip(source: false, hostIP)
            let ports = Set(loopbackSingles.filter { $0.proto == p.proto && $0.hostIP == hostIP }.map(\.hostPort))
            if p.count <= 1 && ports.count >= least {
                guard emitted.insert("raw|\(p.proto.rawValue)|\(hostIP)").inserted else { continue }
                b.destinationPorts(p.proto, Array(ports))
            } else {
                b.destinationPort(p.proto, p.hostPort, through: p.hostPortEnd)
            }
            b.verdict(.drop)
            rules.append(b.rule(chain: rawPreroutingChain, owner: owner))
        }
        var seen = Set<NftRule>()
        return rules.filter { seen.insert($0).inserted }
    }
}

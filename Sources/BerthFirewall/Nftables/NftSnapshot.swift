/// What Berth's table holds right now, read with netlink dumps (NFT_MSG_GETTABLE/GETCHAIN/GETSET/
/// GETSETELEM/GETRULE) at the start of each operation, so every operation is computed against
/// the kernel's truth, also after someone flushed or edited the table.
struct NftSnapshot: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        var chain: String
        var handle: UInt64
        /// The rule comment (our owner tag), nil when the rule has none.
        var owner: String?
        /// The decoded expressions; nil when the rule uses an expression Berth never writes.
        var exprs: [NftExpr]?
    }

    var tableExists = false
    var chains: Set<String> = []
    var sets: Set<String> = []
    /// Set name → element key (interface name) → jump target (nil for a plain set element).
    var elements: [String: [String: String?]] = [:]
    /// Every rule, chain by chain in kernel order.
    var rules: [Rule] = []

    static let empty = NftSnapshot()
}

/// What one operation reads (`NftSnapshotReader.read(table:scope:channel:)`): chains whose
/// existence matters, chains whose rules are read (their existence is checked too), and interface names
/// looked up in every set/map. Everything the planner consults for the operation must be named.
struct NftReadScope: Sendable, Equatable {
    var chains: [String] = []
    var ruleChains: [String] = []
    var elementKeys: [String] = []
    /// Sets read whole (every element), after the GETs: the `ip6` table's `fwd-in`, which
    /// decides whether the table goes (`NftPlanner.removeTableIfNoNetworks`), and the `ip`
    /// table's `bridges` when an IPv6 network is added (its IPv4-only neighbours).
    var fullSets: [String] = []
    /// Owner prefixes of the rules whose anonymous sets are read (`NftExpr.unresolvedSet` →
    /// `portSet` / `portMap`): one GETSETELEM dump per set, so only for the rules the operation
    /// compares (an endpoint's own, `ep:ID br:`); the others keep `unresolvedSet`. A full read
    /// (no scope) resolves every rule.
    var portSetOwners: [String] = []

    /// The base chains' existence and the base rules (owner `berth`, in the hooked chains;
    /// `postrouting` also holds hairpin rules, which ensureNetwork/ensureEndpoint compare).
    /// `no-ipv6` is the `ip6` table's (absent from the `ip` table: one more GET, no dump).
    static let base = NftReadScope(chains: NftLayout.baseChains.map(\.name),
                                   ruleChains: ["forward", "prerouting", "output", "postrouting", NftLayout.ipv4OnlyChain])

    /// A network's chains and elements, and the rules its `net:` owner can have
    /// (`fwd-in-BR`, `fwd-out-BR`, `nat-BR`, hairpin `postrouting`).
    static func network(_ bridge: String) -> NftReadScope {
        NftReadScope(chains: NftLayout.networkChains(bridge) + ["postrouting"],
                     ruleChains: [NftLayout.forwardIn(bridge), NftLayout.forwardOut(bridge), NftLayout.nat(bridge), "postrouting"],
                     elementKeys: [bridge])
    }

    /// For removing a network: its chains (flushed and deleted whole, so their rules need not be
    /// read), its elements, and the shared chains where its and its endpoints' rules also live.
    static func networkRemoval(_ bridge: String) -> NftReadScope {
        NftReadScope(chains: NftLayout.networkChains(bridge) + [NftLayout.publishedChain, "postrouting", NftLayout.rawPreroutingChain],
                     ruleChains: [NftLayout.publishedChain, "postrouting", NftLayout.rawPreroutingChain], elementKeys: [bridge])
    }

    /// Endpoint rules on `bridges`: `published`, `postrouting` (hairpin), `prerouting-raw`
    /// (loopback-local), `fwd-ports-BR`, `nat-BR`.
    static func endpoint(bridges: [String]) -> NftReadScope {
        var scope = NftReadScope(chains: [NftLayout.publishedChain, "postrouting", NftLayout.rawPreroutingChain],
                                 ruleChains: [NftLayout.publishedChain, "postrouting", NftLayout.rawPreroutingChain])
        for bridge in bridges {
            scope.chains += [NftLayout.forwardPorts(bridge), NftLayout.nat(bridge)]
            scope.ruleChains += [NftLayout.forwardPorts(bridge), NftLayout.nat(bridge)]
        }
        return scope
    }

    /// The scope plus the anonymous sets of the rules owned by `ownerPrefix` (`portSetOwners`).
    func resolvingPortSets(of ownerPrefix: String) -> NftReadScope {
        var s = self
        if !s.portSetOwners.contains(ownerPrefix) { s.portSetOwners.append(ownerPrefix) }
        return s
    }

    /// The scope plus every element of `set`.
    func withAllElements(of set: String) -> NftReadScope {
        var s = self
        if !s.fullSets.contains(set) { s.fullSets.append(set) }
        return s
    }

    /// The scope plus every element of `fwd-in`: which bridges have a network's chain there
    /// (what the `ip6` table's `addNetwork` and `removeNetwork` need to know whether the
    /// table stays, `NftPlanner.removeTableIfNoNetworks`).
    var withAllNetworks: NftReadScope { withAllElements(of: NftLayout.forwardInMap) }

    /// Both scopes, each name once (first occurrence kept).
    func union(_ other: NftReadScope) -> NftReadScope {
        func merge(_ a: [String], _ b: [String]) -> [String] {
            var seen = Set<String>()
            return (a + b).filter { seen.insert($0).inserted }
        }
        return NftReadScope(chains: merge(chains, other.chains), ruleChains: merge(ruleChains, other.ruleChains),
                            elementKeys: merge(elementKeys, other.elementKeys), fullSets: merge(fullSets, other.fullSets),
                            portSetOwners: merge(portSetOwners, other.portSetOwners))
    }
}

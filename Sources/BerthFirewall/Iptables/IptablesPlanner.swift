/// Turns Firewall operations into `RestorePlan` edits, reproducing Docker 20.10's rule order:
/// base jumps on top of FORWARD, a newer network's blocks above older ones, the icc=false DROP
/// and port rules appended. Pure: works on the simulated ruleset only.
enum IptablesPlanner {
    /// Base chains and jumps (daemon start + `arrangeUserFilterRule`), FORWARD policy DROP.
    /// `hairpinMode` (Docker's `--userland-proxy=false`) picks the nat OUTPUT jump without the
    /// `! -d 127.0.0.0/8`; the other mode's jump is deleted (a mode switch, as a dockerd restart).
    /// `family == .ipv6`: the same layout in ip6tables, DOCKER-USER included (Berth's deviation
    /// from dockerd 20.10, which has no IPv6 DOCKER-USER); the OUTPUT jump excludes `::1/128`.
    /// `dropPolicy` false leaves the FORWARD policy as it is (`ForwardPolicy`).
    static func setUpBase(_ plan: inout RestorePlan, hairpinMode: Bool = false, family: IptablesFamily = .ipv4,
                          dropPolicy: Bool = true) {
        for chain in DockerRules.filterChains { plan.ensureChain(.filter, chain) }
        for chain in DockerRules.natChains { plan.ensureChain(.nat, chain) }
        plan.ensurePrefix(DockerRules.forwardPrefix)
        plan.appendIfAbsent(DockerRules.isolation1Return)
        plan.appendIfAbsent(DockerRules.isolation2Return)
        plan.appendIfAbsent(DockerRules.userReturn)
        plan.appendIfAbsent(DockerRules.preroutingToDocker)
        plan.delete(DockerRules.outputJump(hairpinMode: !hairpinMode, family: family))
        plan.appendIfAbsent(DockerRules.outputJump(hairpinMode: hairpinMode, family: family))
        if dropPolicy { plan.setPolicy(.filter, "FORWARD", "DROP") }
    }

    /// One network's rules. `older`/`newer` are the networks created before/after it (nearest
    /// first); they place the blocks between neighbours that are already present (reapply).
    /// Rules of the same bridge that the options exclude (an icc switch) are deleted.
    static func addNetwork(_ network: NetworkRules, _ plan: inout RestorePlan,
                           older: [NetworkRules] = [], newer: [NetworkRules] = [], family: IptablesFamily = .ipv4) {
        // Chains the rules refer to must exist; jumps and policy are setUpBase's business.
        for chain in [DockerChain.docker, DockerChain.isolation1, DockerChain.isolation2] { plan.ensureChain(.filter, chain) }
        plan.ensureChain(.nat, DockerChain.docker)

        let wanted = DockerRules.network(network, family: family)
        let wantedSet = Set(wanted.all)
        for rule in variants(network, family) where !wantedSet.contains(rule) {
            plan.delete(rule)
        }
        let olderSets = older.map { DockerRules.network($0, family: family) }
        let newerSets = newer.map { DockerRules.network($0, family: family) }
        for (blockIndex, block) in wanted.topBlocks.enumerated() {
            guard let first = block.first else { continue }
            let anchor = anchorIndex(for: first, plan.ruleset,
                                     older: olderSets.map { $0.topBlocks[blockIndex] },
                                     newer: newerSets.map { $0.topBlocks[blockIndex] })
            plan.ensureBlock(block, anchor: anchor)
        }
        for rule in wanted.forwardAppend { plan.appendIfAbsent(rule) }
        syncDNATExemption(&plan)
    }

    /// Deletes `DockerRules.isolationDNATReturn`, which earlier versions wrote for hairpin
    /// networks: Docker's `--userland-proxy=false` keeps other networks isolated from published ports.
    static func syncDNATExemption(_ plan: inout RestorePlan) {
        plan.delete(DockerRules.isolationDNATReturn)
    }

    /// Where a network's block goes when none of its rules is present: right above the nearest
    /// older network's block, else right below the nearest newer one's, else on top of the
    /// chain (below Docker's leading jumps in FORWARD).
    static func anchorIndex(for rule: IptablesRule, _ ruleset: IptablesRuleset,
                            older: [[IptablesRule]], newer: [[IptablesRule]]) -> Int {
        for block in older {
            let indices = block.compactMap { ruleset.index(of: $0) }
            if let top = indices.min() { return top }
        }
        for block in newer {
            let indices = block.compactMap { ruleset.index(of: $0) }
            if let bottom = indices.max() { return bottom + 1 }
        }
        let rules = ruleset.rules(rule.table, rule.chain)
        var index = 0
        if rule.table == .filter && rule.chain == "FORWARD" {
            let prefix = Set(DockerRules.forwardPrefix.map(\.spec))
            while index < rules.count && prefix.contains(rules[index]) { index += 1 }
        }
        if rule.table == .filter && rule.chain == DockerChain.isolation1 {
            while index < rules.count && rules[index] == DockerRules.isolationDNATReturn.spec { index += 1 }
        }
        return index
    }

    /// Deletes every rule any variant of the network can have.
    static func removeNetwork(_ network: NetworkRules, _ plan: inout RestorePlan, family: IptablesFamily = .ipv4) {
        for rule in variants(network, family) + DockerRules.network(network, family: family).all {
            plan.delete(rule)
        }
        syncDNATExemption(&plan)
    }

    /// Appends the endpoint's DNAT, filter ACCEPT and hairpin MASQUERADE rules that are missing;
    /// the endpoint's rules of the other `hairpin` variant (its other DNAT form) are deleted.
    static func addPorts(_ endpoint: EndpointPorts, _ plan: inout RestorePlan, family: IptablesFamily = .ipv4) {
        let wanted = DockerRules.ports(endpoint, family: family)
        if wanted.isEmpty && family == .ipv6 && !plan.ruleset.hasChain(.nat, DockerChain.docker) { return }
        plan.ensureChain(.filter, DockerChain.docker)
        plan.ensureChain(.nat, DockerChain.docker)
        let wantedSet = Set(wanted)
        plan.replace(DockerRules.allPortVariants(endpoint, family: family).filter { !wantedSet.contains($0) }, with: wanted)
    }

    /// Deletes the endpoint's port rules of every variant (one pass per chain). An SCTP checksum
    /// rule stays while another endpoint's ACCEPT of the same SCTP container port is left.
    static func removePorts(_ endpoint: EndpointPorts, _ plan: inout RestorePlan, family: IptablesFamily = .ipv4) {
        let gone = DockerRules.allPortVariants(endpoint, family: family)
        let checksums = gone.filter { $0.table == .mangle }
        plan.replace(gone.filter { $0.table != .mangle }, with: [])
        let accepts = plan.ruleset.rules(.filter, DockerChain.docker)
        let unneeded = checksums.filter { rule in
            let port = rule.spec.split(separator: " ")[5]
            let suffix = DockerRules.sctpAcceptSuffix(containerPort: String(port))
            return !accepts.contains { $0.hasSuffix(suffix) }
        }
        plan.replace(unneeded, with: [])
    }

    /// Base, then every network oldest first, then every endpoint's ports.
    /// `family == .ipv6`: the networks with an IPv6 subnet and the endpoints with an IPv6
    /// address; nothing at all (not even the base) when no network has an IPv6 subnet.
    static func reapply(_ state: FirewallState, _ plan: inout RestorePlan, hairpinMode: Bool = false,
                        family: IptablesFamily = .ipv4, dropPolicy: Bool = true) {
        let networks = family == .ipv4 ? state.networks : state.networks.filter { $0.subnet6 != nil }
        if family == .ipv6 && networks.isEmpty { return }
        setUpBase(&plan, hairpinMode: hairpinMode, family: family, dropPolicy: dropPolicy)
        for (i, network) in networks.enumerated() {
            addNetwork(network, &plan, older: Array(networks[..<i].reversed()), newer: Array(networks[(i + 1)...]), family: family)
        }
        for endpoint in state.endpoints { addPorts(endpoint, &plan, family: family) }
    }

    /// True when `ruleset` holds no network's and no endpoint's rules: DOCKER-ISOLATION-STAGE-1
    /// has nothing but its `-j RETURN` (every network, internal or not, has a rule there) and both
    /// DOCKER chains are empty.
    static func holdsNoNetworks(_ ruleset: IptablesRuleset) -> Bool {
        let isolation = ruleset.rules(.filter, DockerChain.isolation1)
        return isolation.allSatisfy { $0 == DockerRules.isolation1Return.spec || $0 == DockerRules.isolationDNATReturn.spec }
            && ruleset.rules(.filter, DockerChain.docker).isEmpty && ruleset.rules(.nat, DockerChain.docker).isEmpty
    }

    /// The IPv6 base goes with the last IPv6 network: when the ip6tables `plan` holds no
    /// network's rules any more, everything Berth owns there is removed (`removeAll`) and, with
    /// `acceptPolicy` (Berth set the DROP), the FORWARD policy is ACCEPT again.
    static func removeIPv6BaseIfUnused(_ plan: inout RestorePlan, acceptPolicy: Bool) {
        guard plan.ruleset.hasChain(.filter, DockerChain.isolation1) || plan.ruleset.hasChain(.nat, DockerChain.docker),
              holdsNoNetworks(plan.ruleset) else { return }
        removeAll(FirewallState(), &plan, family: .ipv6)
        if acceptPolicy { plan.setPolicy(.filter, "FORWARD", "ACCEPT") }
    }

    /// Every rule any option combination of `network` can have in `family`.
    static func variants(_ network: NetworkRules, _ family: IptablesFamily) -> [IptablesRule] {
        DockerRules.allNetworkVariants(bridge: network.bridge, subnet: network.subnet, subnet6: network.subnet6, family: family)
    }

    /// Removes everything Berth owns: the state's port and network rules, every rule elsewhere
    /// that jumps to a Docker chain, the chains DOCKER, DOCKER-ISOLATION-STAGE-1/2 (filter) and
    /// DOCKER (nat). DOCKER-USER and its FORWARD jump are removed only when the chain holds
    /// nothing but Docker's `-j RETURN`; a DOCKER-USER with user rules stays as it is. The FORWARD
    /// policy is left as it is (Docker leaves it DROP too).
    /// `family == .ipv6`: the same in ip6tables (the state's IPv6 rules, then everything that
    /// jumps to Berth's chains, the chains).
    static func removeAll(_ state: FirewallState, _ plan: inout RestorePlan, family: IptablesFamily = .ipv4) {
        for endpoint in state.endpoints { removePorts(endpoint, &plan, family: family) }
        for network in state.networks { removeNetwork(network, &plan, family: family) }

        let userRules = plan.ruleset.rules(.filter, DockerChain.user)
        let dropUser = plan.ruleset.hasChain(.filter, DockerChain.user)
            && userRules.allSatisfy { $0 == DockerRules.userReturn.spec }
        var owned: [IptablesTable: Set<String>] = [
            .filter: [DockerChain.docker, DockerChain.isolation1, DockerChain.isolation2],
            .nat: Set(DockerRules.natChains),
        ]
        if dropUser { owned[.filter]?.insert(DockerChain.user) }

        for table in IptablesTable.allCases {
            let chains = owned[table] ?? []
            for chain in plan.ruleset.tables[table]?.chainOrder ?? [] where !chains.contains(chain) {
                for spec in plan.ruleset.rules(table, chain) {
                    if let target = IptablesRule.target(ofSpec: spec), chains.contains(target) {
                        plan.delete(IptablesRule(table, chain, spec))
                    }
                }
            }
            let order = table == .filter ? DockerRules.filterChains : DockerRules.natChains
            for chain in order where chains.contains(chain) { plan.deleteChain(table, chain) }
        }
    }
}

@_spi(BerthInternal) import BerthNamespace
/// Turns "what should be" into the commands of ONE transaction, given what the table holds
/// (`NftSnapshot`). Pure: no I/O. Adding what is present yields no command; removing what is
/// absent yields no command. Commands come out in an order the kernel accepts in one batch:
/// rule deletions, element deletions, chain flushes, chain deletions, then table, chains, sets,
/// rules and elements to add.
struct NftPlanner {
    let snapshot: NftSnapshot
    /// Docker's `--userland-proxy=false` base (`NftLayout.baseRules(hairpinMode:)`).
    var hairpinMode = false
    /// The family of the table the snapshot is of: which rules `NftLayout` describes for it.
    let family: NftFamily
    /// The table's name, for the texts of `removals` and `repairs` (`chain ip berth fwd-in-BR`).
    let table: String
    /// Set by `removeTable` / `removeTableIfNoNetworks`: the transaction is `delete table`.
    private var deletesTable = false

    private var deleteRules: [NftCommand] = []
    private var deleteElements: [NftCommand] = []
    private var flushChains: [NftCommand] = []
    private var deleteChains: [NftCommand] = []
    private var addTable: [NftCommand] = []
    private var addChains: [NftCommand] = []
    private var addSets: [NftCommand] = []
    private var addRules: [NftCommand] = []
    private var addElements: [NftCommand] = []

    /// Chains that will exist after the transaction / that the transaction deletes.
    private var pendingChains: Set<String> = []
    private var deletedChains: Set<String> = []
    private var deletedHandles: Set<UInt64> = []
    private var pendingSets: Set<String> = []

    init(snapshot: NftSnapshot, hairpinMode: Bool = false, family: NftFamily = .ip, table: String = "berth") {
        self.snapshot = snapshot
        self.hairpinMode = hairpinMode
        self.family = family
        self.table = table
    }

    /// `ip berth`, `ip6 berth`: how the texts name the table.
    private var label: String { "\(family.name) \(table)" }

    var commands: [NftCommand] {
        if deletesTable { return [.deleteTable] }
        return deleteRules + deleteElements + flushChains + deleteChains + addTable + addChains + addSets + addRules + addElements
    }

    private func chainExists(_ chain: String) -> Bool {
        (snapshot.chains.contains(chain) && !deletedChains.contains(chain)) || pendingChains.contains(chain)
    }

    private mutating func ensureChain(_ name: String, hook: NftHook?) {
        if chainExists(name) { return }
        addChains.append(.addChain(name, hook: hook))
        pendingChains.insert(name)
    }

    private mutating func removeChain(_ name: String) {
        guard snapshot.chains.contains(name), !deletedChains.contains(name) else { return }
        flushChains.append(.flushChain(name))
        deleteChains.append(.deleteChain(name))
        deletedChains.insert(name)
    }

    private mutating func deleteRule(_ rule: NftSnapshot.Rule) {
        guard !deletedChains.contains(rule.chain), deletedHandles.insert(rule.handle).inserted else { return }
        deleteRules.append(.deleteRule(chain: rule.chain, handle: rule.handle))
    }

    /// Makes the rules matching `owns` equal `desired`, chain by chain: a chain whose owned rules
    /// already equal the desired ones (same expressions, same order, same comment) is left alone;
    /// otherwise its owned rules are deleted and the desired ones appended.
    private mutating func syncRules(desired: [NftRule], owns: (String) -> Bool) {
        var existing: [String: [NftSnapshot.Rule]] = [:]
        for r in snapshot.rules where !deletedChains.contains(r.chain) {
            if let owner = r.owner, owns(owner) { existing[r.chain, default: []].append(r) }
        }
        var wanted: [String: [NftRule]] = [:]
        for r in desired { wanted[r.chain, default: []].append(r) }
        for chain in Set(existing.keys).union(wanted.keys).sorted() {
            let have = existing[chain] ?? []
            let want = wanted[chain] ?? []
            let same = have.count == want.count && zip(have, want).allSatisfy { h, w in
                h.owner == w.owner && h.exprs == w.exprs
            }
            if same { continue }
            for r in have { deleteRule(r) }
            addRules += want.map { .addRule($0) }
        }
    }

    private mutating func ensureElement(set: String, key: String, jump: String?) {
        if let current = snapshot.elements[set]?[key], !pendingSets.contains(set) {
            if current == jump { return }
            deleteElements.append(.deleteElement(set: set, key: key))
        }
        addElements.append(.addElement(set: set, key: key, jump: jump))
    }

    private mutating func removeElement(set: String, key: String) {
        guard snapshot.elements[set]?[key] != nil, !pendingSets.contains(set) else { return }
        deleteElements.append(.deleteElement(set: set, key: key))
    }

    // MARK: - Operations

    /// Table, base chains, user chain, sets and base rules; a pre-existing user chain keeps its rules.
    mutating func ensureBase() {
        if !snapshot.tableExists {
            addTable.append(.addTable)
        }
        for (name, hook) in NftLayout.baseChains(family) { ensureChain(name, hook: hook) }
        for set in NftLayout.sets where !(snapshot.tableExists && snapshot.sets.contains(set.name)) && !pendingSets.contains(set.name) {
            addSets.append(.addSet(set))
            pendingSets.insert(set.name)
        }
        syncRules(desired: NftLayout.baseRules(hairpinMode: hairpinMode, family: family)) { $0 == NftLayout.baseOwner }
    }

    /// A network's chains, map elements and rules.
    mutating func ensureNetwork(_ n: NetworkRules) {
        for chain in NftLayout.networkChains(n.bridge) { ensureChain(chain, hook: nil) }
        for (set, jump) in NftLayout.elements(n.bridge) { ensureElement(set: set, key: n.bridge, jump: jump) }
        let owner = NftLayout.networkOwner(n.id)
        syncRules(desired: NftLayout.networkRules(n, family: family)) { $0 == owner }
    }

    /// `addNetwork` in this family's table: the base and the network (`ensureBase`,
    /// `ensureNetwork`). In the `ip6` table (the snapshot must hold every element of `fwd-in`:
    /// `NftReadScope.withAllNetworks`): a network with an IPv6 subnet also gets the IPv4-only
    /// entries of every other bridge of `ipv4Bridges` (the `ip` table's `bridges`) that has no
    /// entry yet, which matters when this network creates the table; a network without one has
    /// its IPv6 chains and rules removed and, while the table stays, the IPv4-only entries
    /// (`ensureIPv4Only`); the table goes with its last IPv6 network.
    mutating func addNetwork(_ n: NetworkRules, ipv4Bridges: some Collection<String> = [String]()) {
        guard family == .ip6 else {
            ensureBase()
            ensureNetwork(n)
            return
        }
        guard n.subnet6 != nil else {
            ensureIPv4Only(n)
            removeTableIfNoNetworks()
            return
        }
        ensureBase()
        ensureNetwork(n)
        let known = snapshot.elements[NftLayout.forwardInMap] ?? [:]
        for bridge in ipv4Bridges.sorted() where bridge != n.bridge && known[bridge] == nil {
            for (set, jump) in NftLayout.ipv4OnlyElements(bridge) { ensureElement(set: set, key: bridge, jump: jump) }
        }
    }

    /// `ip6` table: an IPv4-only network's entries (`NftLayout.ipv4OnlyElements`) instead of
    /// any IPv6 chain, element or rule of it or its endpoints; nothing when the table is absent.
    mutating func ensureIPv4Only(_ n: NetworkRules) {
        guard snapshot.tableExists else { return }
        for chain in NftLayout.networkChains(n.bridge) { removeChain(chain) }
        removeOwnedRules(n)
        removeElement(set: NftLayout.natOutMap, key: n.bridge)
        for (set, jump) in NftLayout.ipv4OnlyElements(n.bridge) { ensureElement(set: set, key: n.bridge, jump: jump) }
    }

    /// An endpoint's port rules; the network's chains must exist or be created in this batch.
    /// In the `ip6` table an endpoint without IPv6 rules (no `address6`, no binding that
    /// `bindsIPv6`) needs no chain: its IPv6 rules, if any, are removed.
    mutating func ensureEndpoint(_ e: EndpointPorts, operation: OperationName) throws(FirewallError) {
        let desired = NftLayout.endpointRules(e, family: family)
        let id = e.endpointID
        if family == .ip6 && desired.isEmpty {
            removeEndpoint(id)
            return
        }
        for chain in [NftLayout.forwardPorts(e.bridge), NftLayout.nat(e.bridge)] where !chainExists(chain) {
            throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                detail: family == .ip
                                    ? "bridge \(e.bridge) has no Berth network rules (chain \(chain) is missing); add the network first"
                                    : "bridge \(e.bridge) has no IPv6 network rules (chain \(chain) of \(label) is missing); "
                                      + "the endpoint has an IPv6 address, add its network with an IPv6 subnet first")
        }
        syncRules(desired: desired) { NftLayout.isEndpointOwner($0, endpointID: id) }
    }

    /// `addPorts` in this family's table: the base (when the endpoint has rules here) and the
    /// endpoint's rules (`ensureEndpoint`).
    mutating func addEndpoint(_ e: EndpointPorts, operation: OperationName) throws(FirewallError) {
        if family == .ip || !NftLayout.endpointRules(e, family: family).isEmpty { ensureBase() }
        try ensureEndpoint(e, operation: operation)
    }

    /// The whole table goes (`delete table`), when it exists.
    mutating func removeTable() {
        guard snapshot.tableExists else { return }
        deletesTable = true
    }

    /// Deletes the table when, after this transaction, its `fwd-in` map sends no bridge to a
    /// network's own chain (`fwd-in-BR`; IPv4-only entries go to `no-ipv6`): the `ip6` table
    /// lives only while a network has an IPv6 subnet. The snapshot must hold every element of
    /// `fwd-in` (`NftReadScope.withAllNetworks`).
    mutating func removeTableIfNoNetworks() {
        guard snapshot.tableExists else { return }
        var jumps: [String: String?] = snapshot.elements[NftLayout.forwardInMap] ?? [:]
        for case .deleteElement(NftLayout.forwardInMap, let key) in deleteElements { jumps[key] = nil }
        for case .addElement(NftLayout.forwardInMap, let key, let jump) in addElements { jumps[key] = .some(jump) }
        let networks = jumps.values.filter { jump in jump.map { NftLayout.bridge(ofChain: $0) != nil } ?? false }
        if networks.isEmpty { deletesTable = true }
    }

    /// A network's chains, elements and every rule it or its endpoints own.
    mutating func removeNetwork(_ n: NetworkRules) {
        for (set, _) in NftLayout.elements(n.bridge) { removeElement(set: set, key: n.bridge) }
        for chain in NftLayout.networkChains(n.bridge) { removeChain(chain) }
        removeOwnedRules(n)
    }

    /// Every rule the network or its endpoints own.
    private mutating func removeOwnedRules(_ n: NetworkRules) {
        let owner = NftLayout.networkOwner(n.id)
        for r in snapshot.rules {
            guard let o = r.owner else { continue }
            if o == owner || NftLayout.isEndpointOwner(o, onBridge: n.bridge) { deleteRule(r) }
        }
    }

    /// Every rule an endpoint owns.
    mutating func removeEndpoint(_ endpointID: String) {
        for r in snapshot.rules {
            if let o = r.owner, NftLayout.isEndpointOwner(o, endpointID: endpointID) { deleteRule(r) }
        }
    }

    /// The exact reconciliation: the base, every network's chains and elements, and every rule
    /// of every chain but the user chain equal to what `state` describes, in `state`'s order (a
    /// chain whose rules differ in any way, rules without an owner comment included, is emptied
    /// and rewritten); chains, elements and rules `state` does not describe are removed.
    /// `removals` then lists what goes that `state` does not explain.
    /// `ipv4Only` (`ip6` table): the bridges that get IPv4-only entries (`NftLayout.ipv4OnlyElements`).
    mutating func reconcile(_ state: FirewallState, ipv4Only: [String] = []) {
        if !snapshot.tableExists { addTable.append(.addTable); repairs.append("table \(label)") }
        let tableExisted = snapshot.tableExists
        for (name, hook) in NftLayout.baseChains(family) where !chainExists(name) {
            ensureChain(name, hook: hook)
            if tableExisted { repairs.append("chain \(label) \(name)") }
        }
        for set in NftLayout.sets where !(snapshot.tableExists && snapshot.sets.contains(set.name)) && !pendingSets.contains(set.name) {
            addSets.append(.addSet(set))
            pendingSets.insert(set.name)
            if tableExisted { repairs.append("set \(label) \(set.name)") }
        }
        for n in state.networks {
            for chain in NftLayout.networkChains(n.bridge) where !chainExists(chain) {
                ensureChain(chain, hook: nil)
                repairs.append("chain \(label) \(chain)")
            }
            for (set, jump) in NftLayout.elements(n.bridge) {
                let before = addElements.count
                ensureElement(set: set, key: n.bridge, jump: jump)
                if addElements.count != before { repairs.append("element \(label) \(set) { \"\(n.bridge)\" }") }
            }
        }
        for bridge in ipv4Only {
            for (set, jump) in NftLayout.ipv4OnlyElements(bridge) {
                let before = addElements.count
                ensureElement(set: set, key: bridge, jump: jump)
                if addElements.count != before { repairs.append("element \(label) \(set) { \"\(bridge)\" }") }
            }
        }
        removeStale(keeping: state, ipv4Only: ipv4Only)
        let desired = NftLayout.baseRules(hairpinMode: hairpinMode, family: family)
            + state.networks.flatMap { NftLayout.networkRules($0, family: family) }
            + state.endpoints.flatMap { NftLayout.endpointRules($0, family: family) }
        let desiredKeys = Set(desired.map { "\($0.chain)|\($0.owner)|\($0.exprs)" })
        var existing: [String: [NftSnapshot.Rule]] = [:]
        for r in snapshot.rules where !deletedChains.contains(r.chain) && r.chain != NftLayout.userChain && !deletedHandles.contains(r.handle) {
            existing[r.chain, default: []].append(r)
        }
        var wanted: [String: [NftRule]] = [:]
        for r in desired { wanted[r.chain, default: []].append(r) }
        for chain in Set(existing.keys).union(wanted.keys).sorted() {
            let have = existing[chain] ?? []
            let want = wanted[chain] ?? []
            let same = have.count == want.count && zip(have, want).allSatisfy { h, w in h.owner == w.owner && h.exprs == w.exprs }
            if same { continue }
            // `postrouting` holds only masquerades (and the vmap to per-network chains that only
            // masquerade): any order gives the same result, so rules added later by another
            // network (hairpin mode) are not "out of order".
            if chain == "postrouting" {
                let key = { (owner: String?, exprs: [NftExpr]?) in "\(owner ?? "")|\(exprs.map { "\($0)" } ?? "?")" }
                if have.map({ key($0.owner, $0.exprs) }).sorted() == want.map({ key($0.owner, $0.exprs) }).sorted() { continue }
            }
            let kept = have.filter { desiredKeys.contains("\($0.chain)|\($0.owner ?? "")|\($0.exprs.map { "\($0)" } ?? "?")") }
            let keptInOrder = kept.count == want.count && zip(kept, want).allSatisfy { h, w in h.owner == w.owner && h.exprs == w.exprs }
            if !keptInOrder && chainExists(chain) && snapshot.chains.contains(chain) {
                let missing = max(0, want.count - kept.count)
                repairs.append("\(label) \(chain)|" + (missing > 0 ? "\(missing) of \(want.count) rules the records describe are missing"
                                                                 : "rules are out of the records' order"))
            }
            for r in have {
                if !desiredKeys.contains("\(r.chain)|\(r.owner ?? "")|\(r.exprs.map { "\($0)" } ?? "?")") {
                    removals.append("delete rule \(label) \(r.chain) handle \(r.handle)\(r.owner.map { " (\($0))" } ?? "")")
                }
                deleteRule(r)
            }
            addRules += want.map { .addRule($0) }
        }
    }

    /// `reapply` of `state` in this family's table: the part of the state it holds
    /// (`NftLayout.state(_:family:)`) made present and everything else of Berth's shape removed;
    /// an `ip6` table whose part is empty (no network with an IPv6 subnet) is deleted.
    mutating func reapply(_ state: FirewallState, operation: OperationName) throws(FirewallError) {
        let part = NftLayout.state(state, family: family)
        if family == .ip6 && part.networks.isEmpty {
            removeTable()
            return
        }
        ensureBase()
        for n in part.networks { ensureNetwork(n) }
        let ipv4Only = family == .ip6 ? NftLayout.ipv4OnlyBridges(state) : []
        for bridge in ipv4Only {
            for (set, jump) in NftLayout.ipv4OnlyElements(bridge) { ensureElement(set: set, key: bridge, jump: jump) }
        }
        for e in part.endpoints { try ensureEndpoint(e, operation: operation) }
        removeStale(keeping: part, ipv4Only: ipv4Only)
    }

    /// `reconcile` of `state` in this family's table: the exact reconciliation of its part of the
    /// state; an `ip6` table whose part is empty is deleted (`delete table ip6 berth` in `removals`).
    mutating func reconcileTable(_ state: FirewallState) {
        let part = NftLayout.state(state, family: family)
        if family == .ip6 && part.networks.isEmpty {
            if snapshot.tableExists { removals.append("delete table \(label)") }
            removeTable()
            return
        }
        reconcile(part, ipv4Only: family == .ip6 ? NftLayout.ipv4OnlyBridges(state) : [])
    }

    /// What `reconcile` and `removeStale` remove that the state does not explain.
    private(set) var removals: [String] = []
    /// What `reconcile` puts back that the state describes (`OBJECT` or `OBJECT|REASON`).
    private(set) var repairs: [String] = []

    /// Removes networks, elements and owned rules that `state` does not describe; the
    /// `ipv4Only` bridges keep their IPv4-only elements (and only those).
    mutating func removeStale(keeping state: FirewallState, ipv4Only: [String] = []) {
        let bridges = Set(state.networks.map(\.bridge))
        let ipv4OnlyBridges = Set(ipv4Only)
        let ipv4OnlySets = Set(NftLayout.ipv4OnlyElements("").map(\.set))
        let networkOwners = Set(state.networks.map { NftLayout.networkOwner($0.id) })
        let endpointOwners = Set(state.endpoints.map { NftLayout.endpointOwner($0) })
        for set in NftLayout.sets {
            for key in (snapshot.elements[set.name] ?? [:]).keys.sorted()
            where !bridges.contains(key) && !(ipv4OnlyBridges.contains(key) && ipv4OnlySets.contains(set.name)) {
                removals.append("delete element \(label) \(set.name) { \"\(key)\" }")
                removeElement(set: set.name, key: key)
            }
        }
        for chain in snapshot.chains.sorted() {
            if let bridge = NftLayout.bridge(ofChain: chain), !bridges.contains(bridge) {
                removals.append("delete chain \(label) \(chain)")
                removeChain(chain)
            }
        }
        for r in snapshot.rules {
            guard let o = r.owner else { continue }
            if (o.hasPrefix("net:") && !networkOwners.contains(o)) || (o.hasPrefix("ep:") && !endpointOwners.contains(o)),
               !deletedChains.contains(r.chain), !deletedHandles.contains(r.handle) {
                removals.append("delete rule \(label) \(r.chain) handle \(r.handle) (\(o))")
                deleteRule(r)
            }
        }
    }
}

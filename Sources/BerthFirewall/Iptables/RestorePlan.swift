/// Edits to the filter and nat tables, collected against a simulated copy of the current ruleset
/// and rendered as ONE `iptables-restore --noflush` input (one commit per touched table, applied
/// atomically by iptables-restore).
///
/// Every edit is conditional on the simulated state, so a plan built from the live
/// `iptables-save` output never adds a rule twice and never deletes an absent rule. Existing user
/// chains are never declared (`:CHAIN - [0:0]` flushes an existing chain under `--noflush`).
struct RestorePlan: Sendable {
    /// The ruleset as it will be after the plan is applied.
    private(set) var ruleset: IptablesRuleset
    /// The ruleset the plan started from.
    let original: IptablesRuleset
    private var declared: [IptablesTable: [String]] = [:]
    private var commands: [IptablesTable: [String]] = [:]

    init(current: IptablesRuleset) {
        ruleset = current
        original = current
    }

    /// The plan that turns `applied` back into `original`: chains `original` has and `applied`
    /// lacks are created, every chain whose rules differ is flushed and refilled with
    /// `original`'s rules, built-in policies are set back, and chains only `applied` has are
    /// deleted last (their references are gone by then). Used to revert one family's restore
    /// when the other family's fails.
    static func reverting(_ applied: IptablesRuleset, to original: IptablesRuleset) -> RestorePlan {
        var plan = RestorePlan(current: applied)
        for table in IptablesTable.allCases {
            let before = original.tables[table]?.chainOrder ?? []
            let after = applied.tables[table]?.chainOrder ?? []
            for chain in before where !plan.ruleset.hasChain(table, chain) { plan.ensureChain(table, chain) }
            for chain in before + after.filter({ !before.contains($0) }) {
                let want = original.rules(table, chain)
                if plan.ruleset.rules(table, chain) == want { continue }
                plan.flushChain(table, chain)
                for spec in want { plan.insert(IptablesRule(table, chain, spec), at: Int.max) }
            }
            for chain in before {
                if let policy = original.policy(table, chain) { plan.setPolicy(table, chain, policy) }
            }
            for chain in after where !original.hasChain(table, chain) { plan.deleteChain(table, chain) }
        }
        return plan
    }

    /// True when applying would change nothing.
    var isEmpty: Bool {
        declared.values.allSatisfy(\.isEmpty) && commands.values.allSatisfy(\.isEmpty)
    }

    /// The `iptables-restore --noflush` input: for each touched table `*table`, new chains,
    /// commands in order, `COMMIT`. Empty when there is nothing to do.
    func render() -> String {
        var text = ""
        for table in IptablesTable.allCases {
            let chains = declared[table] ?? []
            let lines = commands[table] ?? []
            if chains.isEmpty && lines.isEmpty { continue }
            text += "*\(table.rawValue)\n"
            for chain in chains { text += ":\(chain) - [0:0]\n" }
            for line in lines { text += line + "\n" }
            text += "COMMIT\n"
        }
        return text
    }

    // MARK: Chains

    /// Creates a user chain when it does not exist. Returns true when it was created.
    @discardableResult
    mutating func ensureChain(_ table: IptablesTable, _ chain: String) -> Bool {
        if ruleset.hasChain(table, chain) { return false }
        declared[table, default: []].append(chain)
        ruleset.tables[table]?.chainOrder.append(chain)
        ruleset.tables[table]?.chains[chain] = IptablesRuleset.Chain(policy: nil, rules: [])
        return true
    }

    /// Flushes and deletes a user chain when it exists (`-F`, `-X`). References must be gone first.
    mutating func deleteChain(_ table: IptablesTable, _ chain: String) {
        guard ruleset.hasChain(table, chain), ruleset.policy(table, chain) == nil else { return }
        if !ruleset.rules(table, chain).isEmpty { emit(table, "-F \(chain)") }
        emit(table, "-X \(chain)")
        ruleset.tables[table]?.chainOrder.removeAll { $0 == chain }
        ruleset.tables[table]?.chains[chain] = nil
    }

    /// Empties a chain (`-F CHAIN`) when it has rules.
    mutating func flushChain(_ table: IptablesTable, _ chain: String) {
        guard !ruleset.rules(table, chain).isEmpty else { return }
        emit(table, "-F \(chain)")
        ruleset.tables[table]?.chains[chain]?.rules = []
    }

    /// Sets a built-in chain's policy when it differs (`-P CHAIN POLICY`).
    mutating func setPolicy(_ table: IptablesTable, _ chain: String, _ policy: String) {
        guard ruleset.policy(table, chain) != policy else { return }
        emit(table, "-P \(chain) \(policy)")
        ruleset.tables[table]?.chains[chain]?.policy = policy
    }

    // MARK: Rules

    /// Appends `rule` unless it is already in its chain.
    mutating func appendIfAbsent(_ rule: IptablesRule) {
        if ruleset.contains(rule) { return }
        emit(rule.table, "-A \(rule.chain) \(rule.spec)")
        ruleset.tables[rule.table]?.chains[rule.chain]?.rules.append(rule.spec)
    }

    /// Inserts `rule` at 0-based `index` (clamped), as `-I CHAIN index+1` (or `-A` at the end).
    mutating func insert(_ rule: IptablesRule, at index: Int) {
        let count = ruleset.rules(rule.table, rule.chain).count
        let position = max(0, min(index, count))
        if position == count {
            emit(rule.table, "-A \(rule.chain) \(rule.spec)")
        } else {
            emit(rule.table, "-I \(rule.chain) \(position + 1) \(rule.spec)")
        }
        ruleset.tables[rule.table]?.chains[rule.chain]?.rules.insert(rule.spec, at: position)
    }

    /// Deletes every occurrence of `rule` (`-D CHAIN SPEC` once per copy); absent is fine.
    /// Appends every rule of `rules` that is absent and deletes every present rule of `gone`
    /// (all of its copies), looking presence up in one set per chain: linear in the number of
    /// rules, for an endpoint with thousands of ports (a range renders three rules per port).
    /// Same result as `delete` for each of `gone`, then `appendIfAbsent` for each of `rules`.
    mutating func replace(_ gone: [IptablesRule], with rules: [IptablesRule]) {
        struct Key: Hashable { var table: IptablesTable; var chain: String }
        var removals: [Key: Set<String>] = [:]
        var order: [Key] = []
        for rule in gone {
            let key = Key(table: rule.table, chain: rule.chain)
            if removals[key] == nil { order.append(key) }
            removals[key, default: []].insert(rule.spec)
        }
        for key in order {
            let specs = removals[key] ?? []
            let current = ruleset.rules(key.table, key.chain)
            let kept = current.filter { !specs.contains($0) }
            if kept.count == current.count { continue }
            for spec in current where specs.contains(spec) { emit(key.table, "-D \(key.chain) \(spec)") }
            ruleset.tables[key.table]?.chains[key.chain]?.rules = kept
        }
        var present: [Key: Set<String>] = [:]
        for rule in rules {
            let key = Key(table: rule.table, chain: rule.chain)
            if present[key] == nil { present[key] = Set(ruleset.rules(rule.table, rule.chain)) }
            if present[key]?.insert(rule.spec).inserted == false { continue }
            emit(rule.table, "-A \(rule.chain) \(rule.spec)")
            ruleset.tables[rule.table]?.chains[rule.chain]?.rules.append(rule.spec)
        }
    }

    mutating func delete(_ rule: IptablesRule) {
        while ruleset.contains(rule) {
            emit(rule.table, "-D \(rule.chain) \(rule.spec)")
            if let i = ruleset.index(of: rule) {
                ruleset.tables[rule.table]?.chains[rule.chain]?.rules.remove(at: i)
            }
        }
    }

    /// Makes `block` (all in one chain) present as a contiguous run, keeping the present rules
    /// where they are: missing rules go right before the next present rule of the block; when
    /// none is present, the block goes at `anchor` (0-based).
    mutating func ensureBlock(_ block: [IptablesRule], anchor: Int) {
        guard !block.isEmpty else { return }
        let current = ruleset
        var cursor = block.lazy.compactMap { current.index(of: $0) }.first ?? anchor
        for rule in block {
            if let i = ruleset.index(of: rule) {
                cursor = i + 1
            } else {
                insert(rule, at: cursor)
                cursor += 1
            }
        }
    }

    /// Makes `prefix` the first rules of its chain (Docker's `EnsureJumpRule`): a rule not at its
    /// place is deleted wherever it is and inserted there; rules already in place are untouched.
    mutating func ensurePrefix(_ prefix: [IptablesRule]) {
        for (position, rule) in prefix.enumerated() {
            let rules = ruleset.rules(rule.table, rule.chain)
            if position < rules.count && rules[position] == rule.spec { continue }
            delete(rule)
            insert(rule, at: position)
        }
    }

    private mutating func emit(_ table: IptablesTable, _ line: String) {
        commands[table, default: []].append(line)
    }
}

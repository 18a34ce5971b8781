@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

@_spi(BerthInternal) extension IptablesBackend {
    /// The exact reconciliation (one `iptables-save`, at most one `iptables-restore`).
    ///
    /// The expected ruleset is what `reapply(state)` builds on empty tables. The chains Berth owns
    /// whole (filter `DOCKER`, `DOCKER-ISOLATION-STAGE-1/2`, nat `DOCKER`) must equal it rule for
    /// rule, else they are flushed and rewritten. In the shared chains (filter `FORWARD`, nat
    /// `PREROUTING`, `OUTPUT`, `POSTROUTING`) Berth's rules are the expected ones plus every rule
    /// of Berth's shape (`-i`/`-o` a `br-<12 hex>` / `docker0` / recorded bridge, a jump to a
    /// Docker chain, a port hairpin `-s A/32 -d A/32 … -j MASQUERADE`); when they differ from the
    /// expected sequence they are deleted and the expected ones put back (network blocks on
    /// top, appended rules at the end), other rules untouched. `DOCKER-USER` is the user's.
    /// - Returns: the rules removed that `state` does not explain, as `-t TABLE -A CHAIN SPEC`,
    ///   and the chains whose described rules were missing or out of order (`TABLE CHAIN|REASON`).
    public func reconcile(_ state: FirewallState, dryRun: Bool) throws(FirewallError) -> FirewallReconciliation {
        let op = OperationName.reconcileRules
        try IptablesValidation.state(state, operation: op)
        let removed = try lock.withLock { _ throws(FirewallError) -> FirewallReconciliation in
            var plan = RestorePlan(current: try currentRuleset(operation: op))
            let removed = IptablesPlanner.reconcile(state, &plan, hairpinMode: hairpinMode)
            if !plan.isEmpty && !dryRun { try restore(plan.render(), operation: op, object: "iptables") }
            return removed
        }
        if !dryRun {
            do { try Sysctl.write("net.ipv4.ip_forward", "1", in: host) } catch {
                throw FirewallError(.system, errno: error.errno, operation: op, object: "net.ipv4.ip_forward", detail: error.description)
            }
        }
        return removed
    }

    /// `removeAll` of an empty state, then `-P FORWARD ACCEPT`.
    public func undoSetUpBase() throws(FirewallError) {
        try removeAll(FirewallState())
        let op = OperationName.undoBaseRules
        try lock.withLock { _ throws(FirewallError) in
            var plan = RestorePlan(current: try currentRuleset(operation: op))
            plan.setPolicy(.filter, "FORWARD", "ACCEPT")
            if !plan.isEmpty { try restore(plan.render(), operation: op, object: "iptables") }
        }
    }
}

extension IptablesPlanner {
    static let ownedChains: [(IptablesTable, String)] = [
        (.filter, DockerChain.docker), (.filter, DockerChain.isolation1), (.filter, DockerChain.isolation2), (.nat, DockerChain.docker),
    ]
    static let sharedChains: [(IptablesTable, String)] = [(.filter, "FORWARD"), (.nat, "PREROUTING"), (.nat, "OUTPUT"), (.nat, "POSTROUTING"),
                                                          (.raw, "PREROUTING")]

    /// See `IptablesBackend.reconcile(_:dryRun:)`. Returns the removed rules `state` does not explain.
    static func reconcile(_ state: FirewallState, _ plan: inout RestorePlan, hairpinMode: Bool = false) -> FirewallReconciliation {
        var fresh = RestorePlan(current: IptablesRuleset())
        reapply(state, &fresh, hairpinMode: hairpinMode)
        let expected = fresh.ruleset
        let bridges = Set(state.networks.map(\.bridge))
        var appended = Set<String>()
        for n in state.networks { for r in DockerRules.network(n).forwardAppend { appended.insert(r.spec) } }
        for e in state.endpoints { for r in DockerRules.ports(e) { appended.insert(r.spec) } }
        var removed: [String] = []
        var repaired: [String] = []
        /// After the unexplained rules go, `want` is not what is left: rules are missing or out of order.
        func noteRepair(_ table: IptablesTable, _ chain: String, have: [String], want: [String]) {
            let left = explained(have, want)
            if left == want { return }
            let missing = want.count - left.count
            repaired.append("\(table.rawValue) \(chain)|" + (missing > 0 ? "\(missing) of \(want.count) rules the records describe are missing"
                                                                       : "rules are out of the records' order"))
        }

        let baseExisted = plan.ruleset.hasChain(.filter, DockerChain.docker)
        setUpBase(&plan, hairpinMode: hairpinMode)
        if baseExisted && !plan.isEmpty {
            repaired.append("filter base|Berth's base chains, jumps or FORWARD policy were missing")
        }
        for (table, chain) in ownedChains {
            plan.ensureChain(table, chain)
            let want = expected.rules(table, chain)
            let have = plan.ruleset.rules(table, chain)
            if want == have { continue }
            removed += unexplained(have, want).map { "-t \(table.rawValue) -A \(chain) \($0)" }
            noteRepair(table, chain, have: have, want: want)
            plan.replaceRules(table, chain, with: want)
        }
        for (table, chain) in sharedChains {
            let want = expected.rules(table, chain)
            let wantSet = Set(want)
            let have = plan.ruleset.rules(table, chain)
            let ours = have.filter { wantSet.contains($0) || isBerthShaped($0, chain: chain, bridges: bridges) }
            if ours == want { continue }
            removed += unexplained(ours, want).map { "-t \(table.rawValue) -A \(chain) \($0)" }
            noteRepair(table, chain, have: ours, want: want)
            var seen = Set<String>()
            for spec in ours where seen.insert(spec).inserted { plan.delete(IptablesRule(table, chain, spec)) }
            var top = 0
            for spec in want {
                let rule = IptablesRule(table, chain, spec)
                if appended.contains(spec) {
                    plan.insert(rule, at: Int.max)
                } else {
                    plan.insert(rule, at: top)
                    top += 1
                }
            }
        }
        syncDNATExemption(&plan)
        return FirewallReconciliation(removed: removed, repaired: repaired)
    }

    /// `have` without what `unexplained(have, want)` returns, in `have`'s order.
    static func explained(_ have: [String], _ want: [String]) -> [String] {
        var budget: [String: Int] = [:]
        for w in want { budget[w, default: 0] += 1 }
        var out: [String] = []
        for h in have {
            if let n = budget[h], n > 0 { budget[h] = n - 1; out.append(h) }
        }
        return out
    }

    /// `have` minus `want`, as multisets, in `have`'s order.
    static func unexplained(_ have: [String], _ want: [String]) -> [String] {
        var budget: [String: Int] = [:]
        for w in want { budget[w, default: 0] += 1 }
        var out: [String] = []
        for h in have {
            if let n = budget[h], n > 0 { budget[h] = n - 1 } else { out.append(h) }
        }
        return out
    }

    /// A rule of the shape only Berth (Docker) writes in a shared chain.
    static func isBerthShaped(_ spec: String, chain: String, bridges: Set<String>) -> Bool {
        if let target = IptablesRule.target(ofSpec: spec),
           [DockerChain.docker, DockerChain.user, DockerChain.isolation1, DockerChain.isolation2].contains(target) {
            return true
        }
        let tokens = spec.split(separator: " ").map(String.init)
        for (i, t) in tokens.enumerated() where (t == "-i" || t == "-o") && i + 1 < tokens.count {
            let name = tokens[i + 1]
            if BerthNames.isBerthBridge(name) || bridges.contains(name) { return true }
        }
        // Loopback-local hardening (raw): -d 127.X.Y.Z/32 ! -i lo -p P -m P --dport N -j DROP
        if chain == "PREROUTING" && DockerRules.isLoopbackDrop(spec) { return true }
        // Port hairpin: -s A/32 -d A/32 -p P -m P --dport N -j MASQUERADE
        if chain == "POSTROUTING", tokens.count >= 4, tokens[0] == "-s", tokens[2] == "-d", tokens[1] == tokens[3],
           tokens[1].hasSuffix("/32"), spec.hasSuffix("-j MASQUERADE"), spec.contains("--dport") {
            return true
        }
        return false
    }
}

extension RestorePlan {
    /// Makes a user chain hold exactly `rules` (`-F CHAIN`, then `-A` each).
    mutating func replaceRules(_ table: IptablesTable, _ chain: String, with rules: [String]) {
        ensureChain(table, chain)
        flushChain(table, chain)
        for spec in rules { insert(IptablesRule(table, chain, spec), at: Int.max) }
    }
}

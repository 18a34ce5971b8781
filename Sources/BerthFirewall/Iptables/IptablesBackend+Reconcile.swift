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
    ///
    /// IPv6: the same in ip6tables for the networks with `subnet6` and endpoints with `address6`.
    /// When no network has an IPv6 subnet, Berth's IPv6 base and every Berth-shaped ip6tables rule
    /// are removed (a DOCKER-USER with user rules and its jump stay; the policy goes back to
    /// ACCEPT with `forwardPolicy.ipv6Drop`); ip6tables is only read when its programs are
    /// installed. IPv6 lines in the result start with `ip6tables `.
    /// The FORWARD policy is put back to DROP only where Berth owns it (`forwardPolicy`).
    public func reconcile(_ state: FirewallState, dryRun: Bool) throws(FirewallError) -> FirewallReconciliation {
        let op = OperationName.reconcileRules
        try IptablesValidation.state(state, operation: op)
        let p = forwardPolicy
        let wants6 = state.networks.contains { $0.subnet6 != nil }
        let result = try lock.withLock { _ throws(FirewallError) -> FirewallReconciliation in
            var plan6: RestorePlan?
            var result6 = FirewallReconciliation()
            if let current6 = try currentRuleset6(operation: op, need: wants6 ? .required : .ifInstalled) {
                var plan = RestorePlan(current: current6)
                result6 = IptablesPlanner.reconcile(state, &plan, hairpinMode: hairpinMode, family: .ipv6, dropPolicy: p.ipv6Drop)
                plan6 = plan
            }
            var plan4 = RestorePlan(current: try currentRuleset(operation: op))
            var result = IptablesPlanner.reconcile(state, &plan4, hairpinMode: hairpinMode, dropPolicy: p.ipv4Drop)
            result.removed += result6.removed
            result.repaired += result6.repaired
            if !dryRun { try commit(ipv6: plan6, ipv4: plan4, operation: op, object: "iptables") }
            return result
        }
        if !dryRun {
            do { try Sysctl.write("net.ipv4.ip_forward", "1", in: host) } catch {
                throw FirewallError(.system, errno: error.errno, operation: op, object: "net.ipv4.ip_forward", detail: error.description)
            }
        }
        return result
    }

    /// `removeAll` of an empty state: Berth's base gone in both families, the FORWARD policy
    /// ACCEPT again where Berth set DROP, `net.ipv4.ip_forward` 0 again when Berth turned it on
    /// (`forwardPolicy`).
    public func undoSetUpBase() throws(FirewallError) {
        try removeAll(FirewallState(), operation: .undoBaseRules)
    }
}

extension IptablesPlanner {
    static let ownedChains: [(IptablesTable, String)] = [
        (.filter, DockerChain.docker), (.filter, DockerChain.isolation1), (.filter, DockerChain.isolation2), (.nat, DockerChain.docker),
    ]
    static let sharedChains: [(IptablesTable, String)] = [(.filter, "FORWARD"), (.nat, "PREROUTING"), (.nat, "OUTPUT"), (.nat, "POSTROUTING"),
                                                          (.raw, "PREROUTING"), (.mangle, "POSTROUTING")]

    /// See `IptablesBackend.reconcile(_:dryRun:)`. Returns the removed rules `state` does not explain.
    ///
    /// `family == .ipv6` with no network of an IPv6 subnet: nothing is expected, so the owned
    /// chains' rules and every Berth-shaped rule are removed, then the base chains and jumps (a
    /// DOCKER-USER with user rules keeps its jump), and with `dropPolicy` the policy is ACCEPT.
    /// IPv6 lines are prefixed `ip6tables `.
    static func reconcile(_ state: FirewallState, _ plan: inout RestorePlan, hairpinMode: Bool = false,
                          family: IptablesFamily = .ipv4, dropPolicy: Bool = true) -> FirewallReconciliation {
        let label = family == .ipv6 ? "ip6tables " : ""
        let baseWanted = family == .ipv4 || state.networks.contains { $0.subnet6 != nil }
        var fresh = RestorePlan(current: IptablesRuleset())
        reapply(state, &fresh, hairpinMode: hairpinMode, family: family, dropPolicy: dropPolicy)
        var expected = fresh.ruleset
        let userRules = plan.ruleset.rules(.filter, DockerChain.user)
        if !baseWanted && userRules.contains(where: { $0 != DockerRules.userReturn.spec }) {
            // The user's DOCKER-USER rules keep their jump, as removeAll keeps them.
            expected.tables[.filter]?.chains["FORWARD"]?.rules = [DockerRules.forwardToUser.spec]
        }
        let bridges = Set(state.networks.map(\.bridge))
        var appended = Set<String>()
        for n in state.networks { for r in DockerRules.network(n, family: family).forwardAppend { appended.insert(r.spec) } }
        for e in state.endpoints { for r in DockerRules.ports(e, family: family) { appended.insert(r.spec) } }
        var removed: [String] = []
        var repaired: [String] = []
        /// After the unexplained rules go, `want` is not what is left: rules are missing or out of order.
        func noteRepair(_ table: IptablesTable, _ chain: String, have: [String], want: [String]) {
            let left = explained(have, want)
            if left == want { return }
            let missing = want.count - left.count
            repaired.append("\(label)\(table.rawValue) \(chain)|" + (missing > 0 ? "\(missing) of \(want.count) rules the records describe are missing"
                                                                       : "rules are out of the records' order"))
        }

        if baseWanted {
            let baseExisted = plan.ruleset.hasChain(.filter, DockerChain.docker)
            setUpBase(&plan, hairpinMode: hairpinMode, family: family, dropPolicy: dropPolicy)
            if baseExisted && !plan.isEmpty {
                repaired.append("\(label)filter base|Berth's base chains, jumps or FORWARD policy were missing")
            }
            for (table, chain) in ownedChains {
                plan.ensureChain(table, chain)
                let want = expected.rules(table, chain)
                let have = plan.ruleset.rules(table, chain)
                if want == have { continue }
                removed += unexplained(have, want).map { "\(label)-t \(table.rawValue) -A \(chain) \($0)" }
                noteRepair(table, chain, have: have, want: want)
                plan.replaceRules(table, chain, with: want)
            }
        } else {
            for (table, chain) in ownedChains {
                removed += plan.ruleset.rules(table, chain).map { "\(label)-t \(table.rawValue) -A \(chain) \($0)" }
            }
        }
        for (table, chain) in sharedChains {
            let want = expected.rules(table, chain)
            let wantSet = Set(want)
            let have = plan.ruleset.rules(table, chain)
            let ours = have.filter { wantSet.contains($0) || isBerthShaped($0, chain: chain, bridges: bridges) }
            if ours == want { continue }
            removed += unexplained(ours, want).map { "\(label)-t \(table.rawValue) -A \(chain) \($0)" }
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
        if !baseWanted {
            let before = plan.ruleset
            removeAll(FirewallState(), &plan, family: family)
            for (table, chain) in ownedChains + [(.filter, DockerChain.user)] where before.hasChain(table, chain) && !plan.ruleset.hasChain(table, chain) {
                removed.append("\(label)-t \(table.rawValue) -X \(chain)")
            }
            if dropPolicy && plan.ruleset.policy(.filter, "FORWARD") == "DROP" {
                plan.setPolicy(.filter, "FORWARD", "ACCEPT")
                removed.append("\(label)-t filter -P FORWARD DROP")
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
        // Port hairpin: -s A/32 -d A/32 -p P -m P --dport N -j MASQUERADE (IPv6: /128)
        if chain == "POSTROUTING", tokens.count >= 4, tokens[0] == "-s", tokens[2] == "-d", tokens[1] == tokens[3],
           tokens[1].hasSuffix("/32") || tokens[1].hasSuffix("/128"), spec.hasSuffix("-j MASQUERADE"), spec.contains("--dport") {
            return true
        }
        // SCTP checksum (mangle): -p sctp -m sctp --sport N -j CHECKSUM --checksum-fill
        if chain == "POSTROUTING" && DockerRules.isSCTPChecksum(spec) { return true }
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

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The iptables firewall backend: Docker 20.10's exact rules, so `iptables -S` after Berth's
/// operations reads the same as after Docker's (golden/docker-20.10).
///
/// Every operation reads the current filter and nat tables with one `iptables-save` process,
/// computes only the missing (or, for removals, present) rules, and applies them with ONE
/// `iptables-restore --noflush --wait` process: atomic per table, so a rejected input changes
/// nothing. Both processes run in `host` (spawned from the namespace thread). Calls on one
/// instance are serialized; other processes editing the same tables between the read and the
/// write are not locked out (the façade's state lock serializes Berth processes).
///
/// IPv6 (ip6tables of the same variant, `ip6tables-*-save` / `ip6tables-*-restore`): the rule
/// shapes of dockerd 20.10 `--experimental --ip6tables` (Tests/Fixtures/docker-20.10/ipv6/) for
/// networks with `subnet6` and endpoints with `address6`, plus a DOCKER-USER chain (dockerd
/// 20.10 has none for IPv6). The IPv6 base exists only while a network has an IPv6 subnet: it is
/// programmed with the first such network and removed with the last, so a host used for IPv4
/// only keeps its `ip6tables-save` untouched. An operation that changes both families applies
/// ip6tables first, then iptables, each with one restore; when the second fails the first is
/// reverted, so the call still changes nothing.
///
/// FORWARD policy: `ForwardPolicy` (`setForwardPolicy`), default DROP for IPv4 and nothing for IPv6.
///
/// Not done, as in Docker 20.10 with its defaults: firewalld, raw-table direct-access rules.
///
/// Modes: Docker 20.10's default (`--userland-proxy=true`, `hairpinMode == false`,
/// `NetworkRules.hairpin == false`) leaves a sandbox reaching its own published port through a
/// host address (the DNAT rule has `! -i BR`), a sandbox of another network reaching it (its nat
/// `DOCKER -i BR2 -j RETURN` skips DNAT) and the host reaching it via 127.0.0.1 (OUTPUT's
/// `! -d 127.0.0.0/8`) to the userland proxy, which the façade runs. `hairpinMode == true` with
/// networks and endpoints of `hairpin == true` are Docker's `--userland-proxy=false` rules, byte
/// for byte (Tests/Fixtures/docker-20.10/noproxy/): OUTPUT jump without `! -d 127.0.0.0/8`,
/// `-o BR -m addrtype --src-type LOCAL -j MASQUERADE`, DNAT without `! -i BR`; other networks
/// stay isolated from published ports, as with Docker.
@_spi(BerthInternal) public final class IptablesBackend: FirewallBackend {
    public let kind: FirewallBackendKind = .iptables
    /// The namespace treated as the host (nil: the caller's).
    public let host: NetworkNamespace?
    /// The resolved variant: `.nft` or `.legacy`, never `.auto`.
    public let variant: IptablesVariant
    /// Absolute path of the `iptables-*-restore` program in use.
    public let restoreProgram: String
    /// Absolute path of the `iptables-*-save` program in use.
    public let saveProgram: String
    /// Docker's `--userland-proxy=false` base (nat OUTPUT jump without `! -d 127.0.0.0/8`).
    public let hairpinMode: Bool
    /// Absolute paths of the `ip6tables-*-restore` / `ip6tables-*-save` programs of `variant`;
    /// nil when they are not installed (then only an operation with IPv6 rules fails, `.toolMissing`).
    public let restore6Program: String?
    public let save6Program: String?

    let lock = Mutex(())
    private let policy: Mutex<ForwardPolicy>

    /// The FORWARD policy decision in use (`setForwardPolicy`).
    public var forwardPolicy: ForwardPolicy { policy.withLock { $0 } }

    /// Makes later calls apply `policy` (the caller's recorded decision, see `ForwardPolicy`).
    public func setForwardPolicy(_ policy: ForwardPolicy) { self.policy.withLock { $0 = policy } }

    /// - Parameters:
    ///   - host: the network namespace to program (nil: the caller's own).
    ///   - variant: `.auto` follows the `iptables` alternative; `.nft`/`.legacy` force one.
    /// - Throws: `FirewallError(.toolMissing)` when the variant's `iptables-*-restore` and
    ///   `iptables-*-save` are not installed (or `iptables` for `.auto`).
    ///   - hairpinMode: Docker's `--userland-proxy=false` base rules (default false: Docker's default).
    ///   - forwardPolicy: the FORWARD policy decision (`ForwardPolicy`; default: IPv4 DROP).
    public init(host: NetworkNamespace? = nil, variant: IptablesVariant = .auto, hairpinMode: Bool = false,
                forwardPolicy: ForwardPolicy = ForwardPolicy()) throws(FirewallError) {
        let tools = try IptablesDetection.tools(for: variant)
        let tools6 = IptablesDetection.tools6(for: tools.variant)
        self.host = host
        self.hairpinMode = hairpinMode
        self.variant = tools.variant
        self.restoreProgram = tools.restore
        self.saveProgram = tools.save
        self.restore6Program = tools6?.restore
        self.save6Program = tools6?.save
        self.policy = Mutex(forwardPolicy)
    }

    // MARK: FirewallBackend

    /// Docker's daemon-start rules; then `net.ipv4.ip_forward=1` in `host`.
    ///
    /// Result (`iptables -S` / `iptables -t nat -S`), existing rules kept:
    /// ```
    /// -P FORWARD DROP
    /// -N DOCKER
    /// -N DOCKER-ISOLATION-STAGE-1
    /// -N DOCKER-ISOLATION-STAGE-2
    /// -N DOCKER-USER
    /// -A FORWARD -j DOCKER-USER
    /// -A FORWARD -j DOCKER-ISOLATION-STAGE-1
    /// -A DOCKER-ISOLATION-STAGE-1 -j RETURN
    /// -A DOCKER-ISOLATION-STAGE-2 -j RETURN
    /// -A DOCKER-USER -j RETURN
    /// -t nat -N DOCKER
    /// -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    /// -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER   (hairpinMode: no ! -d 127.0.0.0/8)
    /// ```
    /// An existing DOCKER-USER chain keeps its rules (`-j RETURN` is appended only when absent);
    /// the two FORWARD jumps are moved to the top when they are not there. A second call changes
    /// nothing and spawns no `iptables-restore`.
    /// - Throws: `FirewallError` `.rejected` (restore failed, nothing applied), `.missingCapability`,
    ///   `.toolMissing`, `.namespace`, `.system` (also for the sysctl write).
    /// The FORWARD policy is set to DROP only with `forwardPolicy.ipv4Drop` (default); IPv6 is
    /// not touched (its base comes with the first network that has an IPv6 subnet).
    public func setUpBase() throws(FirewallError) {
        let drop = forwardPolicy.ipv4Drop
        try apply(.setUpBaseRules, object: "iptables", ipv6: .none) { _, plan in
            IptablesPlanner.setUpBase(&plan, hairpinMode: hairpinMode, dropPolicy: drop)
        }
        do {
            try Sysctl.write("net.ipv4.ip_forward", "1", in: host)
        } catch {
            let code: FirewallError.Code = error.errno == Errno(EPERM) || error.errno == Errno(EACCES) ? .missingCapability : .system
            throw FirewallError(code, errno: error.errno, operation: .setUpBaseRules, object: "net.ipv4.ip_forward",
                                detail: error.description, cause: .netlink(error))
        }
    }

    /// Adds one network's rules above the older networks' (Docker inserts). For bridge `br`,
    /// subnet `S` (defaults) it adds:
    /// ```
    /// -A FORWARD -o br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    /// -A FORWARD -o br -j DOCKER
    /// -A FORWARD -i br ! -o br -j ACCEPT
    /// -A FORWARD -i br -o br -j ACCEPT
    /// -A DOCKER-ISOLATION-STAGE-1 -i br ! -o br -j DOCKER-ISOLATION-STAGE-2
    /// -A DOCKER-ISOLATION-STAGE-2 -o br -j DROP
    /// -t nat -A POSTROUTING -s S ! -o br -j MASQUERADE
    /// -t nat -A DOCKER -i br -j RETURN
    /// ```
    /// `icc == false`: `-A FORWARD -i br -o br -j DROP` appended at the end of FORWARD instead of
    /// the ACCEPT. `masquerade == false`: neither nat rule (Docker adds the nat RETURN only with
    /// masquerading). `hairpin == true` (Docker's `--userland-proxy=false`): no nat RETURN, and
    /// `-t nat -A POSTROUTING -o br -m addrtype --src-type LOCAL -j MASQUERADE` above the
    /// masquerade rule; `-A DOCKER-ISOLATION-STAGE-1 -m conntrack --ctstate DNAT -j RETURN` is put
    /// first in that chain (Berth extension; deleted with the last hairpin network). `isInternal`: only the icc rule plus
    /// `-A DOCKER-ISOLATION-STAGE-1 ! -s S -o br -j DROP` and `-A DOCKER-ISOLATION-STAGE-1 ! -d S -i br -j DROP`.
    /// Rules of the same bridge that the options exclude are removed in the same apply.
    /// The chains DOCKER and DOCKER-ISOLATION-STAGE-1/2 are created if missing (call
    /// `setUpBase()` first for the jumps and policy).
    /// - Throws: `.invalidArgument` (bridge name not 1–15 bytes of `[A-Za-z0-9_.-]`, subnet /0)
    ///   before anything runs; `.rejected`, `.missingCapability`, `.namespace`, `.system`.
    ///
    /// With `subnet6`, the same rules for the IPv6 subnet in ip6tables, and first, when absent,
    /// the IPv6 base (`setUpBase`'s layout in ip6tables: DOCKER-USER included, OUTPUT jump with
    /// `! -d ::1/128`, `-P FORWARD DROP` only with `forwardPolicy.ipv6Drop`).
    public func addNetwork(_ network: NetworkRules) throws(FirewallError) {
        try IptablesValidation.network(network, operation: .addNetworkRules)
        let drop6 = forwardPolicy.ipv6Drop
        try apply(.addNetworkRules, object: network.bridge, ipv6: network.subnet6 == nil ? .none : .required) { family, plan in
            if family == .ipv6 { IptablesPlanner.setUpBase(&plan, hairpinMode: hairpinMode, family: .ipv6, dropPolicy: drop6) }
            IptablesPlanner.addNetwork(network, &plan, family: family)
        }
    }

    /// Deletes every rule `addNetwork` can add for this bridge and subnet (any options), all in
    /// one apply; absent rules are skipped, so removing twice is fine. Chains are kept.
    /// - Throws: as `addNetwork`.
    ///
    /// With `subnet6`, its ip6tables rules too; when no network's rules are left there (no
    /// isolation rule, empty DOCKER chains) the IPv6 base goes as well (a DOCKER-USER with user
    /// rules stays), and with `forwardPolicy.ipv6Drop` the IPv6 FORWARD policy is ACCEPT again.
    public func removeNetwork(_ network: NetworkRules) throws(FirewallError) {
        try IptablesValidation.network(network, operation: .removeNetworkRules)
        let drop6 = forwardPolicy.ipv6Drop
        try apply(.removeNetworkRules, object: network.bridge, ipv6: network.subnet6 == nil ? .none : .required) { family, plan in
            IptablesPlanner.removeNetwork(network, &plan, family: family)
            if family == .ipv6 { IptablesPlanner.removeIPv6BaseIfUnused(&plan, acceptPolicy: drop6) }
        }
    }

    /// Appends, per published port (container `CIP` on bridge `br`, `-p [HIP:]HPORT:CPORT/P`):
    /// ```
    /// -t nat -A DOCKER [-d HIP/32] ! -i br -p P -m P --dport HPORT -j DNAT --to-destination CIP:CPORT
    /// -t nat -A POSTROUTING -s CIP/32 -d CIP/32 -p P -m P --dport CPORT -j MASQUERADE
    /// -A DOCKER -d CIP/32 ! -i br -o br -p P -m P --dport CPORT -j ACCEPT
    /// ```
    /// A host IP of 0.0.0.0 means all addresses (no `-d`). `endpoint.hairpin`: the DNAT rule has
    /// no `! -i br` (and the endpoint's DNAT rule of the other form is deleted).
    /// - Throws: `.invalidArgument` (bridge name, port 0, address 0.0.0.0/255.255.255.255);
    ///   `.rejected`, `.missingCapability`, `.namespace`, `.system`.
    ///
    /// IPv6: with `address6`, every binding with `bindsIPv6` gets the same three rules in
    /// ip6tables (`-d HIP6/128` unless `::`, `--to-destination [CIP6]:CPORT`, `/128`); an
    /// endpoint without `address6` leaves ip6tables alone.
    public func addPorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        try IptablesValidation.endpoint(endpoint, operation: .addPortRules)
        let v6: IPv6Need = endpoint.hasIPv6Rules ? .required : .none
        try apply(.addPortRules, object: endpoint.endpointID, ipv6: v6) { family, plan in IptablesPlanner.addPorts(endpoint, &plan, family: family) }
    }

    /// Deletes the endpoint's port rules that are present (one apply per family).
    /// - Throws: as `addPorts`.
    public func removePorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        try IptablesValidation.endpoint(endpoint, operation: .removePortRules)
        let v6: IPv6Need = endpoint.hasIPv6Rules ? .required : .none
        try apply(.removePortRules, object: endpoint.endpointID, ipv6: v6) { family, plan in IptablesPlanner.removePorts(endpoint, &plan, family: family) }
    }

    /// Re-creates what is missing of the base, every network (oldest first in `state.networks`;
    /// a missing network's block is put back between its neighbours) and every endpoint's ports,
    /// in ONE apply; rules that are present stay untouched. Then `net.ipv4.ip_forward=1`.
    /// - Throws: `.invalidArgument` for any bad network/endpoint before anything runs; else as
    ///   `setUpBase()`.
    /// IPv6: the same for the networks with `subnet6` and endpoints with `address6` (nothing in
    /// ip6tables when no network has an IPv6 subnet).
    public func reapply(_ state: FirewallState) throws(FirewallError) {
        try IptablesValidation.state(state, operation: .reapplyRules)
        let p = forwardPolicy
        let v6: IPv6Need = state.networks.contains { $0.subnet6 != nil } ? .required : .none
        try apply(.reapplyRules, object: "iptables", ipv6: v6) { family, plan in
            IptablesPlanner.reapply(state, &plan, hairpinMode: hairpinMode, family: family,
                                    dropPolicy: family == .ipv4 ? p.ipv4Drop : p.ipv6Drop)
        }
        do {
            try Sysctl.write("net.ipv4.ip_forward", "1", in: host)
        } catch {
            throw FirewallError(.system, errno: error.errno, operation: .reapplyRules, object: "net.ipv4.ip_forward",
                                detail: error.description, cause: .netlink(error))
        }
    }

    /// Removes everything Berth owns in one apply: `state`'s port and network rules, any other
    /// rule that jumps to DOCKER / DOCKER-ISOLATION-STAGE-1/2 (filter) or DOCKER (nat), those
    /// chains themselves, and DOCKER-USER with its FORWARD jump when it holds nothing but
    /// `-j RETURN`. Kept: a DOCKER-USER with user rules (chain, rules and jump) and every other
    /// rule. The same in ip6tables (when its programs are installed). The FORWARD policy goes
    /// back to ACCEPT only where Berth set DROP (`forwardPolicy.ipv4Drop` / `ipv6Drop`; Docker
    /// leaves its DROP), and `net.ipv4.ip_forward` back to 0 only with
    /// `forwardPolicy.ipv4EnabledForwarding`.
    /// - Throws: as `reapply`.
    public func removeAll(_ state: FirewallState) throws(FirewallError) {
        try IptablesValidation.state(state, operation: .removeAllRules)
        try removeAll(state, operation: .removeAllRules)
    }

    /// `removeAll` under `operation` (also the undo of a set-up).
    func removeAll(_ state: FirewallState, operation: OperationName) throws(FirewallError) {
        let p = forwardPolicy
        try apply(operation, object: "iptables", ipv6: .ifInstalled) { family, plan in
            IptablesPlanner.removeAll(state, &plan, family: family)
            if family == .ipv4 ? p.ipv4Drop : p.ipv6Drop { plan.setPolicy(.filter, "FORWARD", "ACCEPT") }
        }
        if p.ipv4EnabledForwarding {
            do { try Sysctl.write("net.ipv4.ip_forward", "0", in: host) } catch {
                throw FirewallError(.system, errno: error.errno, operation: operation, object: "net.ipv4.ip_forward",
                                    detail: error.description, cause: .netlink(error))
            }
        }
    }

    // MARK: Plumbing

    /// Whether an operation reads and writes ip6tables.
    enum IPv6Need {
        /// Not at all (IPv4-only input).
        case none
        /// It has IPv6 rules: missing programs or a failing `ip6tables-save` are errors.
        case required
        /// Only to clean up (removal, reconciliation): skipped when the programs are not
        /// installed or `ip6tables-save` fails (a kernel without IPv6 holds no IPv6 rules).
        case ifInstalled
    }

    /// The current tables of `host` (one `iptables-save` process; `ip6tables-save` for IPv6).
    func currentRuleset(operation: OperationName, family: IptablesFamily = .ipv4) throws(FirewallError) -> IptablesRuleset {
        let program = try programs(family, operation: operation).save
        let object = "\(family.program)-save"
        let output = try execute([program], stdin: nil, operation: operation, object: object)
        guard output.status == 0 else {
            throw failure(output, operation: operation, object: object, code: .system)
        }
        return IptablesRuleset(parsing: output.stdout)
    }

    /// The IPv6 tables as `need` asks: nil for `.none`, and for `.ifInstalled` when they cannot be read.
    func currentRuleset6(operation: OperationName, need: IPv6Need) throws(FirewallError) -> IptablesRuleset? {
        switch need {
        case .none: return nil
        case .required: return try currentRuleset(operation: operation, family: .ipv6)
        case .ifInstalled:
            guard save6Program != nil else { return nil }
            return try? currentRuleset(operation: operation, family: .ipv6)
        }
    }

    /// Feeds `text` to one `iptables-restore --noflush --wait` (`ip6tables-restore` for IPv6).
    func restore(_ text: String, operation: OperationName, object: String, family: IptablesFamily = .ipv4) throws(FirewallError) {
        let program = try programs(family, operation: operation).restore
        let output = try execute([program, "--noflush", "--wait"], stdin: text, operation: operation, object: object)
        guard output.status == 0 else {
            throw failure(output, operation: operation, object: object, code: .rejected)
        }
    }

    /// The save/restore programs of a family. - Throws: `.toolMissing` for ip6tables not installed.
    private func programs(_ family: IptablesFamily, operation: OperationName) throws(FirewallError) -> (save: String, restore: String) {
        if family == .ipv4 { return (saveProgram, restoreProgram) }
        guard let save = save6Program, let restore = restore6Program else {
            let suffix = variant == .legacy ? "legacy" : "nft"
            throw FirewallError(.toolMissing, operation: operation, object: "ip6tables-\(suffix)-restore",
                                detail: "ip6tables-\(suffix)-restore / ip6tables-\(suffix)-save not found in "
                                    + IptablesDetection.searchDirectories.joined(separator: ":") + " (needed for IPv6 rules)")
        }
        return (save, restore)
    }

    /// Reads, plans, applies (nothing when a plan is empty), ip6tables first when `ipv6` asks
    /// for it (`build` is called once per family). Serialized per instance.
    private func apply(_ operation: OperationName, object: String, ipv6: IPv6Need,
                       _ build: (IptablesFamily, inout RestorePlan) -> Void) throws(FirewallError) {
        try lock.withLock { _ throws(FirewallError) in
            var plan6: RestorePlan?
            if let current6 = try currentRuleset6(operation: operation, need: ipv6) {
                var plan = RestorePlan(current: current6)
                build(.ipv6, &plan)
                plan6 = plan
            }
            var plan4 = RestorePlan(current: try currentRuleset(operation: operation))
            build(.ipv4, &plan4)
            try commit(ipv6: plan6, ipv4: plan4, operation: operation, object: object)
        }
    }

    /// Applies the IPv6 plan, then the IPv4 plan (one restore each, skipped when empty). When
    /// the IPv4 restore fails after the IPv6 one succeeded, the IPv6 tables are put back as they
    /// were (`RestorePlan.reverting`), so the call changes nothing; the IPv4 error is thrown.
    func commit(ipv6 plan6: RestorePlan?, ipv4 plan4: RestorePlan, operation: OperationName, object: String) throws(FirewallError) {
        var applied6: RestorePlan?
        if let plan6, !plan6.isEmpty {
            try restore(plan6.render(), operation: operation, object: object, family: .ipv6)
            applied6 = plan6
        }
        if plan4.isEmpty { return }
        do {
            try restore(plan4.render(), operation: operation, object: object)
        } catch {
            if let applied6 {
                let back = RestorePlan.reverting(applied6.ruleset, to: applied6.original)
                if !back.isEmpty {
                    do { try restore(back.render(), operation: operation, object: object, family: .ipv6) } catch let undo {
                        throw FirewallError(error.code, errno: error.context.errno, operation: operation, object: object,
                                            detail: "\(error.context.detail ?? "\(error.code)"); ip6tables could not be put back: \(undo)")
                    }
                }
            }
            throw error
        }
    }

    private func execute(_ argv: [String], stdin: String?, operation: OperationName, object: String) throws(FirewallError) -> ProcessOutput {
        do {
            return try ProcessRunner.run(argv, stdin: stdin, in: host)
        } catch {
            throw Self.runFailure(error, operation: operation, object: object, host: host)
        }
    }

    /// The Firewall error for a program that could not be run, keeping the lower error as the
    /// cause: spawn ENOENT/EACCES → `.toolMissing`, else `.system`; the `NamespaceError` of
    /// entering `host` → `.namespace` (object: the namespace path).
    static func runFailure(_ failure: ProcessFailure, operation: OperationName, object: String, host: NetworkNamespace?) -> FirewallError {
        if let error = failure.namespace {
            return FirewallError(.namespace, errno: error.errno, operation: operation, object: host?.path ?? object,
                                 detail: "\(error)", cause: .namespace(error))
        }
        let code: FirewallError.Code = failure.errno == Errno(ENOENT) || failure.errno == Errno(EACCES) ? .toolMissing : .system
        return FirewallError(code, errno: failure.errno, operation: operation, object: object,
                             detail: failure.description, cause: .process(failure))
    }

    private func failure(_ output: ProcessOutput, operation: OperationName, object: String,
                         code: FirewallError.Code) -> FirewallError {
        var text = output.stderr
        while text.last == "\n" { text.removeLast() }
        if text.isEmpty { text = "exit status \(output.status)" }
        let denied = text.contains("Permission denied") || text.contains("you must be root")
        return FirewallError(denied ? .missingCapability : code, errno: nil,
                             operation: operation, object: denied ? "CAP_NET_ADMIN" : object, detail: text)
    }
}

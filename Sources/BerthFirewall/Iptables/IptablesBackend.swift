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
/// Not done, as in Docker 20.10 with its defaults: IPv6 (ip6tables), firewalld, raw-table
/// direct-access rules.
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

    let lock = Mutex(())

    /// - Parameters:
    ///   - host: the network namespace to program (nil: the caller's own).
    ///   - variant: `.auto` follows the `iptables` alternative; `.nft`/`.legacy` force one.
    /// - Throws: `FirewallError(.toolMissing)` when the variant's `iptables-*-restore` and
    ///   `iptables-*-save` are not installed (or `iptables` for `.auto`).
    ///   - hairpinMode: Docker's `--userland-proxy=false` base rules (default false: Docker's default).
    public init(host: NetworkNamespace? = nil, variant: IptablesVariant = .auto, hairpinMode: Bool = false) throws(FirewallError) {
        let tools = try IptablesDetection.tools(for: variant)
        self.host = host
        self.hairpinMode = hairpinMode
        self.variant = tools.variant
        self.restoreProgram = tools.restore
        self.saveProgram = tools.save
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
    public func setUpBase() throws(FirewallError) {
        try apply(.setUpBaseRules, object: "iptables") { plan in IptablesPlanner.setUpBase(&plan, hairpinMode: hairpinMode) }
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
    public func addNetwork(_ network: NetworkRules) throws(FirewallError) {
        try IptablesValidation.network(network, operation: .addNetworkRules)
        try apply(.addNetworkRules, object: network.bridge) { plan in IptablesPlanner.addNetwork(network, &plan) }
    }

    /// Deletes every rule `addNetwork` can add for this bridge and subnet (any options), all in
    /// one apply; absent rules are skipped, so removing twice is fine. Chains are kept.
    /// - Throws: as `addNetwork`.
    public func removeNetwork(_ network: NetworkRules) throws(FirewallError) {
        try IptablesValidation.network(network, operation: .removeNetworkRules)
        try apply(.removeNetworkRules, object: network.bridge) { plan in IptablesPlanner.removeNetwork(network, &plan) }
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
    public func addPorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        try IptablesValidation.endpoint(endpoint, operation: .addPortRules)
        try apply(.addPortRules, object: endpoint.endpointID) { plan in IptablesPlanner.addPorts(endpoint, &plan) }
    }

    /// Deletes the endpoint's port rules that are present (one apply).
    /// - Throws: as `addPorts`.
    public func removePorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        try IptablesValidation.endpoint(endpoint, operation: .removePortRules)
        try apply(.removePortRules, object: endpoint.endpointID) { plan in IptablesPlanner.removePorts(endpoint, &plan) }
    }

    /// Re-creates what is missing of the base, every network (oldest first in `state.networks`;
    /// a missing network's block is put back between its neighbours) and every endpoint's ports,
    /// in ONE apply; rules that are present stay untouched. Then `net.ipv4.ip_forward=1`.
    /// - Throws: `.invalidArgument` for any bad network/endpoint before anything runs; else as
    ///   `setUpBase()`.
    public func reapply(_ state: FirewallState) throws(FirewallError) {
        try IptablesValidation.state(state, operation: .reapplyRules)
        try apply(.reapplyRules, object: "iptables") { plan in IptablesPlanner.reapply(state, &plan, hairpinMode: hairpinMode) }
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
    /// `-j RETURN`. Kept: a DOCKER-USER with user rules (chain, rules and jump), every other
    /// rule, the FORWARD policy (left DROP, as Docker leaves it) and `net.ipv4.ip_forward`.
    /// - Throws: as `reapply`.
    public func removeAll(_ state: FirewallState) throws(FirewallError) {
        try IptablesValidation.state(state, operation: .removeAllRules)
        try apply(.removeAllRules, object: "iptables") { plan in IptablesPlanner.removeAll(state, &plan) }
    }

    // MARK: Plumbing

    /// The current filter and nat tables of `host` (one `iptables-save` process).
    func currentRuleset(operation: OperationName) throws(FirewallError) -> IptablesRuleset {
        let output = try execute([saveProgram], stdin: nil, operation: operation, object: "iptables-save")
        guard output.status == 0 else {
            throw failure(output, operation: operation, object: "iptables-save", code: .system)
        }
        return IptablesRuleset(parsing: output.stdout)
    }

    /// Feeds `text` to one `iptables-restore --noflush --wait`.
    func restore(_ text: String, operation: OperationName, object: String) throws(FirewallError) {
        let output = try execute([restoreProgram, "--noflush", "--wait"], stdin: text, operation: operation, object: object)
        guard output.status == 0 else {
            throw failure(output, operation: operation, object: object, code: .rejected)
        }
    }

    /// Reads, plans, applies (nothing when the plan is empty). Serialized per instance.
    private func apply(_ operation: OperationName, object: String,
                       _ build: (inout RestorePlan) -> Void) throws(FirewallError) {
        try lock.withLock { _ throws(FirewallError) in
            var plan = RestorePlan(current: try currentRuleset(operation: operation))
            build(&plan)
            if plan.isEmpty { return }
            try restore(plan.render(), operation: operation, object: object)
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

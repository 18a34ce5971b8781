@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The native nftables firewall: Docker 20.10's bridge-network filtering and NAT, programmed as
/// libnftnl objects over a NETLINK_NETFILTER socket (libmnl) — no process is spawned.
///
/// **Table.** Everything lives in Berth's own tables `ip <tableName>` (default `ip berth`) and,
/// for IPv6, `ip6 <tableName>` (see **IPv6**); no other table is ever read for writing, flushed
/// or changed. Base chains sit at the standard
/// priorities: `forward` (filter, hook forward, priority filter = 0), `prerouting` (nat, dstnat =
/// -100), `output` (nat, -100), `postrouting` (nat, srcnat = 100). Per-network chains
/// (`fwd-in-BR`, `fwd-out-BR`, `fwd-ports-BR`, `nat-BR`) are reached through verdict maps keyed
/// by interface name (`oifname vmap @fwd-in`, `iifname vmap @fwd-out`, `iifname vmap @nat-out`),
/// so neither a packet's path nor the cost of adding a network grows with the number of networks.
/// Every rule's comment names its owner: `berth` (base), `net:<network ID>`,
/// `ep:<endpoint ID> br:<bridge>`.
///
/// **Policy.** The forward base chain keeps policy `accept`, so the host's unrelated forwarded
/// traffic is untouched; instead each network's `fwd-in-BR` chain ends in `drop`, which gives
/// Docker's `FORWARD` policy DROP to exactly the traffic going into Berth bridges (traffic
/// leaving a bridge is accepted or, for internal networks, dropped by `fwd-out-BR`). As with any
/// nftables ruleset, an `accept` here does not override a drop in another table or in iptables.
///
/// **User chain.** `berth-user` plays DOCKER-USER: `forward` jumps to it first; Berth never
/// writes into it and `setUpBase` keeps its rules; a `drop` there is final.
///
/// **Transactions.** Each call reads what it touches (one round trip of single-object GETs for
/// the table, sets, its chains and map elements, then rule dumps of its own and the shared
/// chains; `reapply` and `removeAll` read the whole table), computes the difference and sends
/// ONE nf_tables batch (NFNL_MSG_BATCH_BEGIN … END, every message acknowledged and checked by
/// seq). The kernel applies a batch entirely or not at all, so a failure leaves the previous
/// ruleset intact, and a removal costs one RCU grace period however many rules it deletes.
/// Nothing is sent when nothing differs. Calls on one instance are serialized; the table is read
/// fresh each time, so an external flush is repaired by `reapply(_:)` (or the next add).
///
/// **IPv6.** Networks with an IPv6 subnet and endpoints with an IPv6 address also get the same
/// rules with `ip6` matches in Berth's table `ip6 <tableName>` (NftLayout's notes: Docker 20.10's
/// ip6tables rules, plus `berth-user` for IPv6), which exists only while such a network does:
/// IPv4-only use leaves `nft list ruleset` as it was. Each call still sends ONE batch, holding
/// both tables' changes, and reads both tables in the same round trip (a missing `ip6` table
/// costs no further read). No IPv6 sysctl is written but `bridge-nf-call-ip6tables` (as
/// `bridge-nf-call-iptables`): forwarding is the caller's (Docker 28's rule: never
/// `net.ipv6.conf.all.forwarding=1` behind the user's back).
///
/// **Errors.** Bad input → `FirewallError(.invalidArgument)` before anything is sent; a kernel
/// refusal → `.rejected` (errno plus the extended-ack text and the failing `nft`-style command),
/// `.missingCapability` for EPERM; socket or namespace trouble → `.system` / `.namespace`.
@_spi(BerthInternal) public final class NftablesBackend: FirewallBackend, Sendable {
    public var kind: FirewallBackendKind { .nftables }
    /// The namespace whose firewall this is; nil: the namespace of the thread that first uses it.
    public let host: NetworkNamespace?
    /// The table, `ip <tableName>`.
    public let tableName: String
    /// Docker's `--userland-proxy=false` base: the output rule without `ip daddr != 127.0.0.0/8`.
    public let hairpinMode: Bool

    private let channel = Mutex<ChannelBox>(ChannelBox())

    private struct ChannelBox: ~Copyable {
        var channel: NftChannel?
    }

    /// - Parameters:
    ///   - host: the namespace to program (nil: the caller's). The netlink socket is opened in it
    ///     on first use (on the namespace thread) and kept.
    ///   - tableName: 1–64 characters of `[A-Za-z0-9_-]`; checked on each call (`.invalidArgument`).
    ///   - hairpinMode: Docker's `--userland-proxy=false` base (default false: Docker's default).
    public init(host: NetworkNamespace? = nil, tableName: String = "berth", hairpinMode: Bool = false) {
        self.host = host
        self.tableName = tableName
        self.hairpinMode = hairpinMode
    }

    private var object: String { "ip \(tableName) in \(host?.description ?? "current netns")" }

    // MARK: - FirewallBackend

    /// Creates the table, base chains, maps and user chain, and writes `net.ipv4.ip_forward=1`
    /// in the host namespace (after the rules are in place). A pre-existing `berth-user` chain
    /// keeps its rules. Equivalent to:
    /// ```
    /// add table ip berth
    /// add set ip berth bridges { type ifname; }
    /// add map ip berth fwd-in { type ifname : verdict; }     # also fwd-out, nat-out
    /// add chain ip berth berth-user
    /// add chain ip berth published
    /// add chain ip berth forward { type filter hook forward priority filter; policy accept; }
    /// add chain ip berth prerouting { type nat hook prerouting priority dstnat; policy accept; }
    /// add chain ip berth output { type nat hook output priority -100; policy accept; }
    /// add chain ip berth postrouting { type nat hook postrouting priority srcnat; policy accept; }
    /// add rule ip berth forward jump berth-user comment "berth"
    /// add rule ip berth forward oifname vmap @fwd-in comment "berth"
    /// add rule ip berth forward iifname vmap @fwd-out comment "berth"
    /// add rule ip berth prerouting fib daddr type local jump published comment "berth"
    /// add rule ip berth output ip daddr != 127.0.0.0/8 fib daddr type local jump published comment "berth"
    /// add rule ip berth postrouting iifname vmap @nat-out comment "berth"
    /// ```
    /// - Throws: `FirewallError` (`.rejected`, `.missingCapability`, `.system`, `.namespace`).
    /// The `ip6` table is not created here but with the first network with an IPv6 subnet.
    public func setUpBase() throws(FirewallError) {
        let op = OperationName.setUpNftablesBase
        try transact(op, scope: .base) { (p: inout NftPlanner, _: inout NftPlanner) throws(FirewallError) in p.ensureBase() }
        try sysctl("net.ipv4.ip_forward", "1", operation: op, optional: false)
    }

    /// Adds one network's chains, map elements and rules (and the base, if missing). For bridge
    /// `BR`, subnet `S`:
    /// ```
    /// add element ip berth bridges { "BR" }
    /// add element ip berth fwd-in { "BR" : jump fwd-in-BR }      # fwd-out-BR, nat-BR likewise
    /// add rule ip berth fwd-in-BR iifname @bridges iifname != "BR" drop comment "net:ID"
    /// add rule ip berth fwd-in-BR ct state established,related accept comment "net:ID"
    /// add rule ip berth fwd-in-BR jump fwd-ports-BR comment "net:ID"
    /// add rule ip berth fwd-in-BR iifname "BR" accept comment "net:ID"        # drop if icc=false
    /// add rule ip berth fwd-in-BR drop comment "net:ID"
    /// add rule ip berth fwd-out-BR oifname != "BR" accept comment "net:ID"
    /// add rule ip berth nat-BR ip saddr S oifname != "BR" masquerade comment "net:ID"  # unless masquerade=false
    /// ```
    /// Internal: `fwd-in-BR`: `iifname != "BR" drop`, `iifname "BR" accept|drop`; `fwd-out-BR`:
    /// `oifname != "BR" drop`; no masquerade. With icc=false, `net.bridge.bridge-nf-call-iptables`
    /// is set to 1 when br_netfilter is loaded (as Docker does), so same-bridge traffic is filtered.
    /// `hairpin` (Docker's `--userland-proxy=false`; the default false is Docker 20.10's default,
    /// whose other cases the façade's userland proxy serves):
    /// `add rule ip berth postrouting oifname "BR" fib saddr type local masquerade comment "net:ID"`;
    /// bridge-nf-call-iptables is set as for icc=false (hairpinned packets cross the bridge).
    /// Other networks stay isolated from its published ports, as in Docker's mode.
    /// A network already present with the same rules is left alone (nothing is sent); one whose
    /// rules differ has them replaced in the same single batch.
    /// With `subnet6`, the same in `ip6 berth` (created with its base if missing) in the same
    /// batch, with `ip6 saddr SUBNET6` in the masquerade; without, the network's rules in
    /// `ip6 berth`, if any, are removed (and the table with its last network).
    /// - Throws: `.invalidArgument` (ID, bridge name, subnets) before anything is sent; kernel errors.
    public func addNetwork(_ network: NetworkRules) throws(FirewallError) {
        let op = OperationName.addNftablesNetwork
        try NftValidation.network(network, operation: op)
        let scope = NftReadScope.base.union(.network(network.bridge))
        let ipv6 = network.subnet6 != nil
        // An IPv6 network learns its IPv4-only neighbours from the ip table's `bridges`.
        try transact(op, scope: ipv6 ? scope.withAllElements(of: NftLayout.bridgesSet) : scope, scope6: scope.withAllNetworks) {
            (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            p.ensureBase()
            p.ensureNetwork(network)
            p6.addNetwork(network, ipv4Bridges: (p.snapshot.elements[NftLayout.bridgesSet] ?? [:]).keys)
        }
        try bridgeFilteringSysctls([network], operation: op)
    }

    /// Removes a network's map elements, its four chains, and every rule it or its endpoints own,
    /// in ONE batch (one RCU grace period). Absent network: nothing is sent, no error.
    /// Equivalent to `delete element ip berth fwd-in { "BR" }` (each map), `flush chain` +
    /// `delete chain` for `fwd-in-BR`, `fwd-out-BR`, `fwd-ports-BR`, `nat-BR`, and `delete rule
    /// ip berth published handle H` for the endpoints' DNAT rules.
    /// In `ip6 berth` likewise, whether or not `network.subnet6` is set; removing its last
    /// network deletes the `ip6` table (`delete table ip6 berth`), in the same batch.
    public func removeNetwork(_ network: NetworkRules) throws(FirewallError) {
        let op = OperationName.removeNftablesNetwork
        try NftValidation.network(network, operation: op)
        let scope = NftReadScope.networkRemoval(network.bridge)
        try transact(op, createIfMissing: false, scope: scope, scope6: scope.withAllNetworks) {
            (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            p.removeNetwork(network)
            p6.removeNetwork(network)
            p6.removeTableIfNoNetworks()
        }
    }

    /// Adds one endpoint's published-port rules; the endpoint's network must have been added.
    /// Per mapping `[HOSTIP:]HOSTPORT:PORT/PROTO` of address `IP` on bridge `BR`:
    /// ```
    /// add rule ip berth published iifname != "BR" [ip daddr HOSTIP] tcp dport HOSTPORT dnat to IP:PORT comment "ep:EID br:BR"
    /// add rule ip berth fwd-ports-BR iifname != "BR" ip daddr IP tcp dport PORT accept comment "ep:EID br:BR"
    /// add rule ip berth nat-BR ip saddr IP ip daddr IP tcp dport PORT masquerade comment "ep:EID br:BR"
    /// ```
    /// With `endpoint.hairpin` the DNAT rule has no `iifname != "BR"`, and the masquerade rule is
    /// `add rule ip berth postrouting oifname "BR" ip saddr IP ip daddr IP tcp dport PORT masquerade`
    /// (br_netfilter-bridged hairpin packets reach postrouting without an input interface).
    /// `published` is reached from prerouting/output only for local destinations
    /// (`fib daddr type local`). Same rules present: nothing is sent; different: replaced atomically.
    /// With `address6`, the bindings that `bindsIPv6` get the same rules in `ip6 berth`
    /// (`ip6 daddr HOSTIP6` for a named IPv6 host address, `dnat to [IP6]:PORT`), in the same batch.
    /// - Throws: `.invalidArgument` (port 0, bad IDs, addresses or bridge, network not added, an
    ///   IPv6 address on a network without IPv6 rules); kernel errors.
    public func addPorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        let op = OperationName.addNftablesPorts
        try NftValidation.endpoint(endpoint, operation: op)
        // The endpoint's own rules are compared with the wanted ones: their port sets are read too.
        let scope = NftReadScope.base.union(.endpoint(bridges: [endpoint.bridge])).resolvingPortSets(of: "ep:\(endpoint.endpointID) br:")
        try transact(op, scope: scope, widen: Self.widening(endpointID: endpoint.endpointID)) {
            (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            try p.addEndpoint(endpoint, operation: op)
            try p6.addEndpoint(endpoint, operation: op)
        }
    }

    /// Deletes every rule the endpoint owns (`delete rule ... handle H`), in one batch; absent: no-op.
    public func removePorts(_ endpoint: EndpointPorts) throws(FirewallError) {
        let op = OperationName.removeNftablesPorts
        try NftValidation.identifier(endpoint.endpointID, what: "endpoint ID", operation: op)
        let scope = NftReadScope.endpoint(bridges: [endpoint.bridge])
        try transact(op, createIfMissing: false, scope: scope,
                     widen: Self.widening(endpointID: endpoint.endpointID)) { (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            p.removeEndpoint(endpoint.endpointID)
            p6.removeEndpoint(endpoint.endpointID)
        }
    }

    /// Makes the table equal `state` in one batch: recreates what is missing or different (after
    /// `nft flush ruleset`, everything), removes networks, elements and owned rules the state
    /// does not describe, keeps what is right and the user chain's rules. Also sets ip_forward.
    /// `ip6 berth` likewise holds exactly the state's IPv6 part (`NftLayout.state(_:family:)`),
    /// and is deleted when that part has no network.
    /// - Throws: `.invalidArgument` (any item invalid, duplicate IDs/bridges, an endpoint on a
    ///   bridge that no network of `state` has, an IPv6 endpoint on a network without an IPv6
    ///   subnet); kernel errors.
    public func reapply(_ state: FirewallState) throws(FirewallError) {
        let op = OperationName.reapplyNftablesState
        try Self.validate(state, operation: op)
        try transact(op) { (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            try p.reapply(state, operation: op)
            try p6.reapply(state, operation: op)
        }
        try sysctl("net.ipv4.ip_forward", "1", operation: op, optional: false)
        try bridgeFilteringSysctls(state.networks, operation: op)
    }

    /// Deletes Berth's tables — base chains, maps, every network and endpoint rule, and the user
    /// chain with it — in one batch (`delete table ip berth`, `delete table ip6 berth`); no
    /// table: no-op. Other tables are untouched; sysctls are left as they are (Docker never turns
    /// ip_forward back off).
    public func removeAll(_ state: FirewallState) throws(FirewallError) {
        let op = OperationName.removeNftablesTable
        try transact(op, createIfMissing: false, scope: NftReadScope()) { (p: inout NftPlanner, p6: inout NftPlanner) throws(FirewallError) in
            p.removeTable()
            p6.removeTable()
        }
    }

    // MARK: - Plumbing

    /// Reads both tables (`ip` and `ip6 <tableName>`) — all of them (`scope` nil), or only what
    /// `scope` (`scope6` for the `ip6` table, default `scope`) names, in one round trip, so that
    /// adding or removing one network or endpoint costs the same however many networks exist —
    /// lets `plan` compute each table's commands (`ip` planner first, `ip6` second), sends them
    /// as ONE batch (if any). `widen` may name more bridges to read once the first read is seen
    /// (an endpoint's rules on another bridge); both tables are read again.
    /// With `createIfMissing` false, no table at all means there is nothing to do.
    private func transact(_ operation: OperationName, createIfMissing: Bool = true, scope: NftReadScope? = nil,
                          scope6: NftReadScope? = nil, widen: ((NftSnapshot) -> [String])? = nil,
                          _ plan: (inout NftPlanner, inout NftPlanner) throws(FirewallError) -> Void) throws(FirewallError) {
        try NftValidation.tableName(tableName, operation: operation)
        try withChannel(operation) { (ch: NftChannel) throws(FirewallError) in
            var snapshots: [NftSnapshot]
            if var scope {
                var scope6 = scope6 ?? scope
                snapshots = try NftSnapshotReader.read(table: tableName, scopes: [(.ip, scope), (.ip6, scope6)], channel: ch)
                if let widen {
                    var extra: [String] = []
                    for snapshot in snapshots {
                        for bridge in widen(snapshot) where !scope.chains.contains(NftLayout.forwardPorts(bridge)) && !extra.contains(bridge) {
                            extra.append(bridge)
                        }
                    }
                    if !extra.isEmpty {
                        scope = scope.union(.endpoint(bridges: extra))
                        scope6 = scope6.union(.endpoint(bridges: extra))
                        snapshots = try NftSnapshotReader.read(table: tableName, scopes: [(.ip, scope), (.ip6, scope6)], channel: ch)
                    }
                }
            } else {
                snapshots = try NftSnapshotReader.read(table: tableName, families: [.ip, .ip6], channel: ch)
            }
            if !createIfMissing && !snapshots.contains(where: \.tableExists) { return }
            var planner = NftPlanner(snapshot: snapshots[0], hairpinMode: hairpinMode, family: .ip, table: tableName)
            var planner6 = NftPlanner(snapshot: snapshots[1], hairpinMode: hairpinMode, family: .ip6, table: tableName)
            try plan(&planner, &planner6)
            try ch.commit([(NftMessageEncoder(table: tableName), planner.commands),
                           (NftMessageEncoder(table: tableName, family: .ip6), planner6.commands)], operation: operation)
        }
    }

    /// For endpoint operations: the bridges named by the endpoint's rules found (in
    /// `published`/`postrouting`) — an endpoint that moved has rules on a bridge other than the
    /// scope's, whose chains then become part of the read too.
    private static func widening(endpointID: String) -> (NftSnapshot) -> [String] {
        { snapshot in
            let prefix = "ep:\(endpointID) br:"
            var bridges: [String] = []
            for r in snapshot.rules {
                guard let o = r.owner, o.hasPrefix(prefix) else { continue }
                let bridge = String(o.dropFirst(prefix.count))
                if !bridges.contains(bridge) { bridges.append(bridge) }
            }
            return bridges
        }
    }

    /// `reapply` and `reconcile`'s checks: the state's items, and every endpoint on a network of it.
    private static func validate(_ state: FirewallState, operation: OperationName) throws(FirewallError) {
        try NftValidation.state(state, operation: operation)
        let bridges = Set(state.networks.map(\.bridge))
        for e in state.endpoints where !bridges.contains(e.bridge) {
            throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                detail: "endpoint is on bridge \(e.bridge), which no network of the state has")
        }
    }

    /// `net.bridge.bridge-nf-call-iptables=1` (and `-ip6tables` when a network has an IPv6
    /// subnet) when br_netfilter is loaded and a network filters same-bridge traffic (icc=false)
    /// or hairpins (Docker's `setupBridgeNetFiltering`).
    private func bridgeFilteringSysctls(_ networks: [NetworkRules], operation: OperationName) throws(FirewallError) {
        let filtering = networks.filter { !$0.icc || ($0.hairpin && !$0.isInternal) }
        if !filtering.isEmpty {
            try sysctl("net.bridge.bridge-nf-call-iptables", "1", operation: operation, optional: true)
        }
        if filtering.contains(where: { $0.subnet6 != nil }) {
            try sysctl("net.bridge.bridge-nf-call-ip6tables", "1", operation: operation, optional: true)
        }
    }

    /// Runs `body` with the (lazily opened) channel under the lock; a socket-level failure drops
    /// the channel so the next call opens a fresh one.
    func withChannel(_ operation: OperationName, _ body: (NftChannel) throws(FirewallError) -> Void) throws(FirewallError) {
        try channel.withLock { (box: inout ChannelBox) throws(FirewallError) in
            let ch: NftChannel
            if let existing = box.channel {
                ch = existing
            } else {
                ch = try openChannel(operation)
                box.channel = ch
            }
            do throws(FirewallError) {
                try body(ch)
            } catch {
                if error.code == .system { box.channel = nil }
                throw error
            }
        }
    }

    private func openChannel(_ operation: OperationName) throws(FirewallError) -> NftChannel {
        try NftChannel.open(in: host, object: object, operation: operation)
    }

    /// Writes a sysctl in the host namespace; `optional`: a missing key is not an error.
    func sysctl(_ key: String, _ value: String, operation: OperationName, optional: Bool) throws(FirewallError) {
        do {
            try Sysctl.write(key, value, in: host)
        } catch {
            if optional && error.code == .notFound { return }
            throw FirewallError(error.code == .namespace ? .namespace : (error.code == .permissionDenied ? .missingCapability : .system),
                                errno: error.errno, operation: operation, object: key, detail: "\(error)", cause: .netlink(error))
        }
    }
}

@_spi(BerthInternal) extension NftablesBackend {
    /// The exact reconciliation (`NftPlanner.reconcile`): reads the whole table, sends one batch
    /// (none when everything is right), then the sysctls `reapply` writes.
    /// - Returns: what was removed that `state` does not explain (`delete rule ip berth CHAIN
    ///   handle H (OWNER)`, `delete chain …`, `delete element …`) and what was put back that it
    ///   describes (`ip berth CHAIN|REASON`, `chain ip berth …`, `element ip berth …`).
    /// - Throws: as `reapply(_:)`.
    /// Both tables: `ip6 berth` holds exactly the state's IPv6 part and is deleted when that
    /// part has no network (`delete table ip6 berth` in `removed`); its texts name `ip6 berth`.
    public func reconcile(_ state: FirewallState, dryRun: Bool) throws(FirewallError) -> FirewallReconciliation {
        let op = OperationName.reconcileNftablesState
        try Self.validate(state, operation: op)
        try NftValidation.tableName(tableName, operation: op)
        var removed = FirewallReconciliation()
        try withChannel(op) { (ch: NftChannel) throws(FirewallError) in
            let snapshots = try NftSnapshotReader.read(table: tableName, families: [.ip, .ip6], channel: ch)
            var planner = NftPlanner(snapshot: snapshots[0], hairpinMode: hairpinMode, family: .ip, table: tableName)
            var planner6 = NftPlanner(snapshot: snapshots[1], hairpinMode: hairpinMode, family: .ip6, table: tableName)
            planner.reconcileTable(state)
            planner6.reconcileTable(state)
            removed = FirewallReconciliation(removed: planner.removals + planner6.removals, repaired: planner.repairs + planner6.repairs)
            if dryRun { return }
            try ch.commit([(NftMessageEncoder(table: tableName), planner.commands),
                           (NftMessageEncoder(table: tableName, family: .ip6), planner6.commands)], operation: op)
        }
        if dryRun { return removed }
        try sysctl("net.ipv4.ip_forward", "1", operation: op, optional: false)
        try bridgeFilteringSysctls(state.networks, operation: op)
        return removed
    }

    /// Deletes Berth's table (as `removeAll`); the kernel's forward path was never changed.
    public func undoSetUpBase() throws(FirewallError) {
        try removeAll(FirewallState())
    }
}

@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How to open a controller.
public struct ControllerConfiguration: Sendable, Equatable {
    /// Where state lives (one JSON file per network and per endpoint). Default `/var/lib/berth`.
    public var stateDirectory: String
    /// The firewall backend. Default iptables (Docker's).
    public var backend: FirewallBackendKind
    /// The network namespace treated as "the host", as an nsfs path; nil = the caller's.
    public var hostNamespacePath: String?
    /// Run the host set-up and the reconciliation automatically, once per controller, before its
    /// first operation that changes something (default). `false` leaves both to explicit calls of
    /// `setUpHost()` and `reconcile()`: for reads (`berth network ls` / `inspect`) and for
    /// operations that need neither (`berth detach`). Opening never touches the kernel either way.
    public var setUpHost: Bool
    /// `detach` and `deleteNetwork` wait until the kernel has deleted the veth / bridge (one RCU
    /// grace period each, ~15–40 ms). Default false: they unplug at once (off the bridge, down,
    /// marked pending, the record released, so address, MAC, port, bridge name and subnet are
    /// free when they return) and the links are deleted later in batches (`drain()`).
    public var waitForKernel: Bool
    /// Pending links are deleted by a background thread of the controller (default). `false`
    /// leaves them to the next `reconcile()` / `gc()` / `drain()` or the next open's automatic
    /// reconciliation: for one-shot processes such as the CLI.
    public var reclaimInBackground: Bool
    /// The host set-up creates Docker's default network `bridge` on `docker0` (default). `false`
    /// for a CNI plugin: every network comes from a network configuration, and a CNI host has no
    /// use for docker0 and its 172.17.0.0/16.
    public var createsDefaultNetwork: Bool
    /// dockerd's `--userland-proxy` (default true, Docker's default): published ports get Docker
    /// 20.10's default rules plus one userland proxy process per binding (`berth-proxy` at
    /// `userlandProxyPath`, docker-proxy's role), which holds the host port and serves host →
    /// 127.0.0.1, hairpin and other networks. false: Docker's `--userland-proxy=false` rules
    /// (OUTPUT jump without `! -d 127.0.0.0/8`, host-source masquerade per bridge, DNAT from
    /// every interface), `route_localnet=1` on every bridge and hairpin mode on every bridge
    /// port, no proxy. Controller-wide and recorded in the state directory (`host.json`); a
    /// controller opened with the other value reprograms everything at its first change, as a
    /// dockerd restarted with the other flag (README, "Published ports").
    public var userlandProxy: Bool
    /// dockerd's `--userland-proxy-path`: the `berth-proxy` executable (absolute path). Default
    /// `/usr/local/bin/berth-proxy` (scripts/install.sh puts it there).
    public var userlandProxyPath: String
    /// dockerd's `--ipv6 --fixed-cidr-v6 PREFIX` for the default network `bridge` (docker0):
    /// IPv6 on docker0 (gateway `PREFIX::1`, `fe80::1/64`), endpoints' IPv6 addresses derived
    /// from their MACs (the prefix must be /80 or shorter: 48 bits for the MAC, as Docker 20.10
    /// requires). nil (default): docker0 is IPv4 only when the host set-up creates it, and an
    /// existing default network is kept as it is (a later call need not repeat the prefix).
    /// Applied when the host set-up creates the default network; another prefix later
    /// (or one for a default network set up without IPv6) is `.stateConflict`.
    public var defaultBridgeIPv6: String? = nil
    /// When the iptables backend sets the filter FORWARD policy to DROP (issue 13). `.docker`
    /// (default, dockerd 20.10): only when Berth turns `net.ipv4.ip_forward` on itself (it read
    /// 0 at the state directory's first host set-up); a host that forwarded already keeps its
    /// policy. `.always`: DROP whatever forwarding was (Berth before issue 13). The decision is
    /// taken once and recorded in the state directory (`host.json`), so later processes keep it
    /// and an undo puts back only what Berth changed. The nftables backend has no global policy.
    public var forwardDrop: ForwardDropMode

    /// Where scripts/install.sh installs the proxy.
    public static let defaultUserlandProxyPath = "/usr/local/bin/berth-proxy"

    public init(stateDirectory: String = "/var/lib/berth", backend: FirewallBackendKind = .iptables, hostNamespacePath: String? = nil,
                setUpHost: Bool = true, waitForKernel: Bool = false, reclaimInBackground: Bool = true,
                userlandProxy: Bool = true, userlandProxyPath: String = ControllerConfiguration.defaultUserlandProxyPath,
                createsDefaultNetwork: Bool = true, forwardDrop: ForwardDropMode = .docker) {
        self.forwardDrop = forwardDrop
        self.createsDefaultNetwork = createsDefaultNetwork
        self.userlandProxy = userlandProxy
        self.userlandProxyPath = userlandProxyPath
        self.stateDirectory = stateDirectory
        self.backend = backend
        self.hostNamespacePath = hostNamespacePath
        self.setUpHost = setUpHost
        self.waitForKernel = waitForKernel
        self.reclaimInBackground = reclaimInBackground
    }
}

/// The operations a container runtime calls, Docker-style: host set-up, network create / list /
/// inspect / delete, attach / detach. Synchronous and thread-safe: operations of one controller are
/// serialized in-process, and every mutation holds an exclusive `flock` on the state directory so
/// separate processes never hand out the same address or subnet.
public final class NetworkController: Sendable {
    /// Docker's default network: its name, its bridge and its subnet (dockerd's defaults).
    public static let defaultNetworkName = "bridge"
    /// The bridge of the default network.
    public static let defaultBridge = "docker0"
    /// The subnet of the default network, CIDR text; the gateway is its first address.
    public static let defaultSubnet = "172.17.0.0/16"

    public let configuration: ControllerConfiguration
    /// The host namespace all host-side links and rules live in.
    package let host: NetworkNamespace
    let hostSession: NetlinkSession
    let firewall: any FirewallBackend
    private let binding: HostBinding
    /// The host namespace's key in the host-claim registry (`HostClaim`).
    let hostKey: String
    var hostBinding: HostBinding { binding }
    /// Serializes operations in this process; the store is only touched while it is held.
    private let guarded: Mutex<Guarded>
    /// Deletes pending links in the background (nil: `reclaimInBackground` is off).
    let reclaimer: Reclaimer?
    /// The userland proxies of this state directory.
    let proxies: UserlandProxies
    /// Docker's `--userland-proxy=false` (`!configuration.userlandProxy`).
    var hairpinMode: Bool { !configuration.userlandProxy }

    /// What the in-process lock protects.
    private struct Guarded: ~Copyable {
        let store: StateStore
        /// The host set-up and reconciliation ran in this controller.
        var hostReady = false
        /// The host namespace is claimed for this state directory (`HostClaim`).
        var hostClaimed = false
        /// The recorded userland-proxy mode was compared with this controller's (and the kernel
        /// reprogrammed when they differed).
        var modeChecked = false
    }

    /// Opens a controller: checks CAP_NET_ADMIN, opens the host namespace, a netlink session and
    /// the firewall backend, opens the state directory and checks that it belongs to this backend
    /// and host namespace. Opening changes nothing in the kernel.
    ///
    /// Docker's host set-up (the default network `bridge` on `docker0`, 172.17.0.1/16, up without
    /// carrier until the first attach; the firewall base; `net.ipv4.ip_forward=1`) and the
    /// reconciliation of state and kernel are separate steps, `setUpHost()` and `reconcile()`;
    /// with `configuration.setUpHost` (the default) both run once, automatically, before this
    /// controller's first operation that changes something.
    /// - Throws: `BerthError` `.permissionDenied` (no CAP_NET_ADMIN), `.state`, `.stateConflict` (another backend or host namespace, or another state directory manages this host namespace: `HostClaim`),
    ///   `.sandboxNotFound` / `.notANetworkNamespace` (host path), `.system`.
    public convenience init(_ configuration: ControllerConfiguration = ControllerConfiguration()) throws(BerthError) {
        try self.init(configuration, firewall: nil)
    }

    /// - Parameter firewall: a backend to use instead of the configured one (tests wrap the real
    ///   backend to inject failures into rollback paths).
    init(_ configuration: ControllerConfiguration, firewall custom: (any FirewallBackend)?) throws(BerthError) {
        let op = OperationName.openController
        self.configuration = configuration
        do {
            try Capabilities.requireNetAdmin(for: op)
            host = try configuration.hostNamespacePath.map { p throws(NamespaceError) in try NetworkNamespace.open(path: p) }
                ?? NetworkNamespace.current()
            hostSession = try NetlinkSession.route(in: host)
            firewall = try custom ?? FirewallFactory.make(configuration.backend, host: host, hairpinMode: !configuration.userlandProxy)
            hostKey = try host.identityKey()
        } catch {
            throw BerthError.wrap(error, operation: op, object: configuration.stateDirectory)
        }
        reclaimer = configuration.reclaimInBackground && !configuration.waitForKernel ? Reclaimer(host: host) : nil
        proxies = UserlandProxies(executable: configuration.userlandProxyPath, stateDirectory: configuration.stateDirectory, host: host)
        binding = HostBinding(backend: configuration.backend, userlandProxy: configuration.userlandProxy,
                              hostNamespacePath: configuration.hostNamespacePath,
                              hostDevice: host.device, hostInode: host.inode)
        // Before the state directory is created: a refused one is left as it was (not made).
        try HostClaim.check(hostKey, for: configuration.stateDirectory, binding: binding)
        guarded = Mutex(Guarded(store: try StateStore(directory: configuration.stateDirectory)))
        let binding = binding
        try read(op, configuration.stateDirectory) { store in try store.checkBinding(binding, update: false) }
    }

    deinit { reclaimer?.stop() }

    /// Waits until nothing unplugged is pending any more: every link Berth unplugged in the host
    /// namespace (this controller's and those other processes left; `Pending.isUnplugged`) is
    /// deleted, in one `RTM_DELLINK` by link group when the group holds nothing else. Returns at
    /// once when nothing is pending.
    /// - Throws: `BerthError` `.system` when the kernel refuses the deletion.
    public func drain() throws(BerthError) {
        do {
            if let reclaimer, try reclaimer.drain() { return }
            try sweepPending()
        } catch {
            throw BerthError.wrap(error, operation: .drain, object: configuration.stateDirectory)
        }
    }

    /// Deletes every link Berth unplugged in the host namespace now (`Pending.sweep`).
    func sweepPending() throws(NetlinkError) {
        try Pending.sweep(hostSession)
    }

    /// After an unplug: the background reclaimer deletes it; without one it waits for the next
    /// reconciliation (or is deleted now when the caller asked to wait for the kernel).
    func reclaimLater() {
        reclaimer?.schedule()
    }

    /// Does what `dockerd` does to the host namespace when it starts: records this backend and
    /// host namespace in the state directory, sets up the firewall base (the DOCKER chains, FORWARD
    /// policy DROP; nftables: Berth's table), `net.ipv4.ip_forward=1`, and the default network
    /// `bridge` on `docker0` (172.17.0.1/16) unless it exists. Idempotent: what is right already is
    /// left alone.
    /// - Throws: `BerthError` `.stateConflict`, `.permissionDenied`, `.state`, `.system`.
    public func setUpHost() throws(BerthError) {
        let binding = binding
        try mutate(.setUpHost, configuration.stateDirectory, prepare: false) { store in
            try store.checkBinding(binding, update: true)
            try setUpHostSteps(store)
        }
    }

    /// Makes kernel and records match, both ways (the one reconciler; `gc` is the same code):
    /// resolves the intents of operations that were killed, releases endpoints whose sandbox,
    /// veth or owner process is gone, recreates a missing bridge with its address and puts
    /// surviving host ends back on it, removes unrecorded bridges of Berth's naming and
    /// unrecorded veths on Berth's bridges, and makes the firewall exactly the records' rules in
    /// their original order (removing rules of unknown networks and endpoints). Idempotent.
    /// - Returns: what was removed and repaired.
    /// - Throws: `BerthError` `.state`, `.permissionDenied`, `.system`.
    @discardableResult
    public func reconcile() throws(BerthError) -> GCReport {
        try mutate(.reconcile, configuration.stateDirectory, prepare: false) { store in
            try reconcileSteps(store, ReconcileOptions(operation: .reconcile))
        }
    }

    /// Gives up this state directory's claim on its host namespace (`HostClaim`), for a caller
    /// about to remove the state directory together with the host namespace (`berth demo`).
    package func releaseHostClaim() {
        HostClaim.release(hostKey, for: configuration.stateDirectory)
    }

    /// Runs a mutation holding the in-process lock and the state directory's exclusive flock.
    /// Before a controller's first mutation its host namespace is claimed for the state directory
    /// (`HostClaim`: refused while another state directory manages it); with `prepare` (the
    /// default) and `configuration.setUpHost`, the host set-up and the reconciliation run first,
    /// once per controller.
    func mutate<T: Sendable>(_ operation: OperationName, _ object: String, prepare: Bool = true,
                             _ body: (StateStore) throws -> T) throws(BerthError) -> T {
        let automatic = prepare && configuration.setUpHost
        let binding = binding
        do {
            return try guarded.withLock { (inner: inout Guarded) throws -> T in
                let store = inner.store
                let needsHost = automatic && !inner.hostReady
                let needsClaim = !inner.hostClaimed
                let needsModeCheck = !inner.modeChecked
                let result = try store.locked(exclusive: true) { () throws -> T in
                    applyRecordedForwardPolicy(store)
                    if needsClaim {
                        try HostClaim.claim(hostKey, for: configuration.stateDirectory, binding: binding)
                    }
                    if needsHost {
                        do {
                            let switching = store.recordedUserlandProxy().map { $0 != configuration.userlandProxy } ?? false
                            defer { if switching { try? applyModeToPorts(store) } }
                            try store.checkBinding(binding, update: true)
                            // Unfinished operations first, so the set-up below builds on a clean slate.
                            var resolved = GCReport(dryRun: false)
                            try resolveIntents(store, ReconcileOptions(operation: .reconcile), into: &resolved)
                            // A firewall still as verified (no change by anyone since, records the
                            // same) is not read again: a one-shot process skips the iptables-save.
                            let trusted = resolved.removed.isEmpty && resolved.repaired.isEmpty && firewallStillVerified(store)
                            try setUpHostSteps(store, firewallTrusted: trusted)
                            _ = try reconcileSteps(store, ReconcileOptions(operation: .reconcile, trustFirewall: trusted))
                        } catch {
                            throw BerthError.wrap(error, operation: .setUpHost, object: configuration.stateDirectory)
                        }
                    } else if needsModeCheck, let recorded = store.recordedUserlandProxy(),
                              recorded != configuration.userlandProxy {
                        // The other mode was programmed: reprogram everything first (a dockerd
                        // restart with the other --userland-proxy), even without the automatic set-up.
                        try switchMode(store)
                    }
                    return try body(store)
                }
                inner.modeChecked = true
                if needsHost { inner.hostReady = true }
                inner.hostClaimed = true
                return result
            }
        } catch {
            throw BerthError.wrap(error, operation: operation, object: object)
        }
    }

    /// Runs a read holding a shared flock.
    func read<T: Sendable>(_ operation: OperationName, _ object: String, _ body: (StateStore) throws -> T) throws(BerthError) -> T {
        do {
            return try guarded.withLock { (inner: inout Guarded) throws -> T in
                let store = inner.store
                return try store.locked(exclusive: false) { try body(store) }
            }
        } catch {
            throw BerthError.wrap(error, operation: operation, object: object)
        }
    }

    // MARK: Host set-up and reconciliation

    /// The host set-up (see `setUpHost()`). What can be checked is checked before anything is
    /// written (`net.ipv4.ip_forward` writable); a failure after the first write of a fresh
    /// set-up removes the base again (`undoSetUpBase`), and `realize` undoes docker0.
    /// With `firewallTrusted` (`firewallStillVerified`) and the default network recorded, there is
    /// nothing to do: the base rules and `ip_forward` are as verified, and the reconciliation
    /// that follows repairs links.
    func setUpHostSteps(_ store: StateStore, firewallTrusted: Bool = false) throws {
        let op = OperationName.setUpHost
        let state = try store.load()
        let defaultIPv6 = configuration.createsDefaultNetwork ? try Self.defaultBridgeIPv6Prefix(configuration.defaultBridgeIPv6) : nil
        // nil says nothing about an existing default network (a later call need not repeat the
        // prefix); a different prefix, or one for a default network set up without IPv6, is refused.
        if let existing = state.networks.values.first(where: \.isDefault), let defaultIPv6, existing.subnet6 != defaultIPv6 {
            throw BerthError(.stateConflict, operation: op, object: Self.defaultBridge,
                             detail: "the default network was set up with IPv6 prefix \(existing.subnet6.map { "\($0)" } ?? "none"), "
                                + "not \(defaultIPv6) (defaultBridgeIPv6 / --fixed-cidr-v6); nothing was changed")
        }
        if defaultIPv6 != nil, !state.networks.values.contains(where: \.isDefault) {
            try checkHostIPv6(operation: op, object: Self.defaultBridge)
        }
        if firewallTrusted, !configuration.createsDefaultNetwork || state.networks.values.contains(where: \.isDefault) { return }
        do { try Sysctl.checkWritable("net.ipv4.ip_forward", in: host) } catch {
            throw BerthError(error.code == .permissionDenied ? .permissionDenied : .system, operation: op, object: "net.ipv4.ip_forward",
                             detail: "net.ipv4.ip_forward cannot be written (\(error.description)); nothing was changed",
                             cause: .netlink(error))
        }
        let fresh = state.networks.isEmpty
        try decideForwardPolicy(store, fresh: fresh)
        do {
            try firewall.setUpBase()
            CrashPoint.step(op)
            if !configuration.createsDefaultNetwork || state.networks.values.contains(where: \.isDefault) { return }
            guard let subnet = IPv4Subnet(Self.defaultSubnet) else { return }
            let mac = MACAddress(bytes: RandomID.bridgeMAC()) ?? MACAddress.docker(for: subnet.network)
            let network = Network(id: RandomID.hex(64), name: Self.defaultNetworkName, bridge: Self.defaultBridge, subnet: subnet,
                                  gateway: IPv4Address(subnet.network.value + 1), ipRange: nil, mtu: nil, isInternal: false,
                                  icc: true, masquerade: true, labels: [:], bridgeMAC: mac, created: Self.timestamp(),
                                  isDefault: true, ownsBridge: true, enableIPv6: defaultIPv6 != nil, subnet6: defaultIPv6,
                                  gateway6: defaultIPv6.map(AddressAllocator6.defaultGateway(of:)), macDerived6: defaultIPv6 != nil)
            try realize(network, store: store, operation: op)
        } catch {
            guard fresh else { throw error }
            do { try firewall.undoSetUpBase() } catch let undoFailure {
                throw RolledBack.combining(error, [BerthError.wrap(undoFailure, operation: .undoBaseRules, object: "firewall")])
            }
            throw error
        }
    }

    /// Brings a new network into being: an intent naming it (fsync'd), its bridge (with gateway
    /// address, up), its firewall rules, then its record, then the intent is dropped. On failure
    /// everything done so far is undone; after a kill the next open's reconciliation does it.
    func realize(_ network: Network, store: StateStore, operation op: OperationName) throws {
        let intent = Intent(id: RandomID.hex(16), operation: op.name, network: network)
        try store.record(intent)
        CrashPoint.step(op)
        var undo = UndoStack()
        do {
            if network.enableIPv6 { try decideIPv6ForwardPolicy(store) }
            try ensureBridge(network, undo: &undo, operation: op)
            // Undo first: removing absent rules is not an error, so a partly applied add is covered too.
            undo.push(.removeRules, network.bridge) { try self.firewall.removeNetwork(network.firewallRules) }
            try firewall.addNetwork(network.firewallRules(hairpinMode: hairpinMode))
            CrashPoint.step(op)
            try store.save(network)
            CrashPoint.step(op)
            undo.commit()
        } catch {
            let failures = undo.rollBack()
            if failures.isEmpty { try? store.resolve(intent) }
            throw RolledBack.combining(error, failures)
        }
        try store.resolve(intent)
        CrashPoint.step(op)
    }

    /// Makes the bridge of `network` exist with its gateway address and up; records undo steps
    /// for what it created.
    func ensureBridge(_ network: Network, undo: inout UndoStack, operation op: OperationName = .reconcile) throws {
        let link: Link
        let created: Bool
        if let existing = try? hostSession.link(named: network.bridge) {
            link = existing
            created = false
        } else {
            // No MTU at create, as Docker 20.10 (oracle): the bridge starts at the default and the
            // kernel lowers it to its ports' MTU when the first one joins.
            link = try hostSession.createBridge(name: network.bridge, mtu: nil, mac: network.bridgeMAC)
            let session = hostSession
            undo.push(.deleteBridge, network.bridge) { try session.deleteLink(index: link.index) }
            CrashPoint.step(op)
            created = true
        }
        if created || network.isDefault {
            // Docker 20.10's setupDefaultSysctl: accept_ra=0 on a bridge it creates and on docker0,
            // so a sandbox's router advertisement cannot configure the host (issue 12).
            try Self.refuseRouterAdvertisements(on: network.bridge, in: host)
        }
        let wanted = IPAddress.v4(network.gateway)
        let present = try hostSession.addresses(family: RTNL.AF_INET, linkIndex: link.index)
        if !present.contains(where: { $0.address == wanted && $0.prefixLength == network.subnet.prefixLength }) {
            try hostSession.addAddress(InterfaceAddress(address: wanted, prefixLength: network.subnet.prefixLength,
                                                        linkIndex: link.index, broadcast: network.subnet.broadcast))
            CrashPoint.step(op)
        }
        try ensureBridgeIPv6(network, linkIndex: link.index, operation: op)
        if !link.isUp {
            try hostSession.setLink(index: link.index, LinkChange(up: true), operation: .setLinkUp, object: network.bridge)
            CrashPoint.step(op)
        }
        if hairpinMode {
            // Docker's setupLoopbackAddressing (userland-proxy=false), docker0 included.
            let key = Sysctl.interfaceKey("ipv4", network.bridge, "route_localnet")
            if try Sysctl.write(key, "1", in: host) { CrashPoint.step(op) }
        }
    }

    /// Writes `net.ipv6.conf.<bridge>.accept_ra = 0` (Docker 20.10 `setupDefaultSysctl`, seen by
    /// the oracle on docker0 and every br-*); nothing when the kernel has no IPv6 for the link.
    /// - Throws: `NetlinkError` from the write (e.g. a read-only /proc/sys).
    static func refuseRouterAdvertisements(on bridge: String, in host: NetworkNamespace) throws {
        try Sysctl.writeWherePresent([Sysctl.interfaceKey("ipv6", bridge, "accept_ra")], "0", in: host)
    }

    /// Turns IPv6 off in a sandbox as Docker 20.10 does (oracle: `disable_ipv6=1` on all, default,
    /// lo and ethN): `all` for a sandbox Berth creates (osl's `setIPv6(path, "all", false)` on
    /// every new sandbox), and the endpoint's own interface in every sandbox, since Berth's
    /// endpoints have no IPv6 address (libnetwork `configureInterface`). Without it endpoints get
    /// `::1` and fe80:: addresses and reach each other over IPv6, past the IPv4-only isolation
    /// rules (icc=false, internal). Nothing when the kernel has no IPv6.
    /// - Parameters: `interface` inside `sandbox`; `all` also writes the namespace-wide keys.
    /// - Throws: `NetlinkError` from the write.
    static func disableIPv6(in sandbox: NetworkNamespace, interface: String?, all: Bool) throws {
        try Sysctl.writeWherePresent(disableIPv6Keys(interface: interface, all: all), "1", in: sandbox)  // one visit of the sandbox
    }

    /// The sysctls `disableIPv6` sets to 1.
    static func disableIPv6Keys(interface: String?, all: Bool) -> [String] {
        var keys = all ? ["net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"] : []
        if let interface { keys.append(Sysctl.interfaceKey("ipv6", interface, "disable_ipv6")) }
        return keys
    }

    /// The endpoint's sandbox when its path still names the namespace it was attached in (same
    /// nsfs device and inode), else nil.
    func liveSandbox(_ endpoint: Endpoint) -> NetworkNamespace? {
        guard let ns = try? NetworkNamespace.open(path: endpoint.sandboxPath) else { return nil }
        return ns.inode == endpoint.sandboxInode && ns.device == endpoint.sandboxDevice ? ns : nil
    }

    func sandboxAlive(_ endpoint: Endpoint) -> Bool { liveSandbox(endpoint) != nil }

    func firewallState(_ state: StateSnapshot) -> FirewallState { state.firewallState(hairpinMode: hairpinMode) }

    /// A controller opened with the other userland-proxy mode than the state directory records:
    /// `host.json` takes this mode first (fsync'd), then the reconciliation programs it (rules,
    /// route_localnet, hairpin, proxies started or stopped). A crash in between leaves the new
    /// mode recorded, so the next change's reconciliation finishes the switch.
    func switchMode(_ store: StateStore) throws {
        try store.checkBinding(binding, update: true)
        CrashPoint.step(.reconcile)
        _ = try reconcileSteps(store, ReconcileOptions(operation: .reconcile))
        try applyModeToPorts(store)
    }

    /// After a mode switch: every recorded endpoint's bridge port in hairpin mode or not, and
    /// (proxy on again) `route_localnet` back to 0 on every bridge (Docker leaves it at 1 after
    /// a restart with the proxy on; Berth does not keep 127.0.0.0/8 routable where nothing needs it).
    func applyModeToPorts(_ store: StateStore) throws {
        let state = try store.load()
        for endpoint in state.endpoints.values {
            do { try hostSession.setBridgePortHairpin(endpoint.hostInterface, hairpinMode) } catch {
                if error.code != .notFound { throw error }
            }
        }
        if !hairpinMode {
            let keys = state.networks.values.map { Sysctl.interfaceKey("ipv4", $0.bridge, "route_localnet") }
            try Sysctl.writeWherePresent(keys, "0", in: host)
        }
    }

    /// RFC 3339 with fractional seconds, UTC (as Docker's `Created`).
    static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Finds a network by exact name, exact ID, or unique ID prefix (as Docker resolves).
    /// A network whose removal is under way or was interrupted (`inDelete`) is not found, as
    /// libnetwork hides it; the next change finishes its removal. An empty name is refused.
    func resolve(_ nameOrID: String, in state: StateSnapshot, operation: OperationName) throws(BerthError) -> Network {
        if nameOrID.isEmpty {
            throw BerthError(.invalidArgument, operation: operation, object: "''", detail: "a network name or ID is needed")
        }
        let live = state.networks.values.filter { !$0.inDelete }
        if let n = live.first(where: { $0.name == nameOrID }) { return n }
        if let n = state.networks[nameOrID], !n.inDelete { return n }
        let matches = live.filter { $0.id.hasPrefix(nameOrID) }
        if matches.count == 1, let n = matches.first { return n }
        throw BerthError(.networkNotFound, operation: operation, object: "'\(nameOrID)'",
                         detail: matches.count > 1 ? "ambiguous network ID prefix '\(nameOrID)'" : "network '\(nameOrID)' not found")
    }
}

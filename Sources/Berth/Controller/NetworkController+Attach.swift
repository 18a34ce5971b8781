@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

extension NetworkController {
    /// Attaches a sandbox to a network, as Docker does when a container joins it: a veth pair
    /// `veth<7 hex>` whose peer is created directly inside the sandbox and named there (default
    /// `eth0`), MAC 02:42 + the IPv4 bytes unless given, the lowest free address (or the static one),
    /// `lo` up, a default route via the gateway (none on an internal network), the host end on the
    /// bridge and up, and the published ports. MACs are unique per network: an explicit MAC that
    /// another endpoint of the network has is refused, and dynamic allocation skips an address
    /// whose derived MAC is taken (a static address whose derived MAC is taken gets a random
    /// 02:42 MAC). A kill at any point leaves nothing the next open cannot explain and remove: the
    /// host end is a `veth<7 hex>` on one of Berth's bridges and the port rules are of Berth's
    /// shapes (kernel-side marks the reconciler sweeps when no record explains them); only a
    /// namespace that `.create` makes has no such mark, so only then is an intent naming it (and
    /// the veth and ports) written, fsync'd, before the first kernel step. A failure undoes every step: no veth, no lease,
    /// no rule, no record (and no namespace, when Berth created it).
    /// - Returns: the endpoint.
    /// - Throws: `BerthError` `.networkNotFound`, `.sandboxNotFound`, `.notANetworkNamespace`,
    ///   `.invalidInterfaceName`, `.interfaceInUse`, `.invalidArgument` (address, MAC, port),
    ///   `.addressInUse` (address or MAC), `.addressOutsideSubnet`, `.addressesExhausted`,
    ///   `.duplicateName` (`--create` of an existing name), `.permissionDenied`, `.system`
    ///   (also a bridge at the kernel's port limit, named in the message).
    @discardableResult
    public func attach(network nameOrID: String, sandbox: SandboxSpec, options: AttachOptions = AttachOptions()) throws(BerthError) -> Endpoint {
        let op = OperationName.attach
        let (staticAddress, staticMAC) = try Self.preflight(attach: nameOrID, sandbox: sandbox, options: options)
        return try mutate(op, nameOrID) { store throws -> Endpoint in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            // An IPv6 network on a host that has turned IPv6 off since: refused, nothing changed.
            if network.enableIPv6 { try checkHostIPv6(operation: op, object: network.name) }
            // Docker 20.10 (oracle): nothing is published on an internal network (no rule, no proxy).
            let requested = network.isInternal ? [] : options.ports.map(PortSpec.init) + options.publish
            let bindings = try resolvePorts(requested, in: state, operation: op, object: network.name)
            let peers = state.endpoints(of: network.id)
            let (address, mac) = try chooseAddress(network, state: state, staticAddress: staticAddress, staticMAC: staticMAC, operation: op)
            let address6 = try chooseAddress6(network, state: state, staticAddress: try Self.parseAddress6(options, network: nameOrID),
                                              mac: mac, operation: op)
            let createdName: String? = if case .create(let name) = sandbox { name ?? "berth-" + RandomID.hex(12) } else { nil }
            if let createdName, access("\(NetworkNamespace.runDirectory)/\(createdName)", F_OK) == 0 {
                throw BerthError(.duplicateName, operation: op, object: createdName, detail: "network namespace \(createdName) exists already")
            }
            let endpointID = options.endpointID ?? RandomID.hex(64)
            if let holder = state.endpoints[endpointID] {
                throw BerthError(.interfaceInUse, operation: op, object: network.name,
                                 detail: "endpoint \(endpointID.prefix(12)) exists already (interface \(holder.interfaceName) in \(holder.sandboxPath))")
            }
            let vethNames = (0..<4).map { _ in "veth" + RandomID.hex(7) }
            // One endpoint's bindings are programmed in nat.SortPortMap order (Docker 20.10, oracle).
            let ports = bindings.isEmpty ? nil
                : EndpointPorts(endpointID: endpointID, networkID: network.id, bridge: network.bridge, address: address,
                                ports: PortMapping.dockerOrder(bindings), hairpin: hairpinMode,
                                loopbackLocal: network.loopbackLocal, address6: address6)
            // One durable write only where no kernel-side mark would explain a leftover (a
            // namespace has none): a plain attach stays off the fsync path.
            let intent = createdName.map { name in
                Intent(id: RandomID.hex(16), operation: op.name, endpointID: endpointID, networkID: network.id, bridge: network.bridge,
                       veths: vethNames, namespace: name, ports: ports)
            }
            if let intent {
                try store.record(intent)
                CrashPoint.step(op)
            }
            var undo = UndoStack()
            do {
                // Userland proxy on: the proxies bind the host ports before anything is
                // programmed (a port another program holds is `.portAllocated`, nothing changed),
                // as dockerd binds through docker-proxy before it writes the rules. One proxy per
                // port, a range's too (Docker 20.10 starts one docker-proxy per port of a range).
                var started: [ProxyProcess] = []
                if let ports, configuration.userlandProxy {
                    started = try proxies.start(ports.ports.flatMap(\.singles), container: address, container6: address6, endpointID: endpointID,
                                                operation: op, object: network.name)
                    let running = started
                    undo.push(.stopProxy, String(endpointID.prefix(12))) { self.proxies.stop(running) }
                    CrashPoint.step(op)
                }
                let namespace = try openSandbox(sandbox, createdName: createdName, undo: &undo)
                if createdName != nil {
                    CrashPoint.step(op)
                    try Self.disableIPv6(in: namespace, interface: nil, all: true)
                }
                if namespace.isSame(as: host) {
                    throw BerthError(.invalidArgument, operation: op, object: namespace.description,
                                     detail: "the sandbox is the host namespace itself")
                }
                if peers.contains(where: { $0.sandboxInode == namespace.inode && $0.sandboxDevice == namespace.device }) {
                    throw BerthError(.interfaceInUse, operation: op, object: namespace.description,
                                     detail: "the sandbox is already attached to network \(network.name)")
                }
                let bridge = try hostSession.link(named: network.bridge)
                // The sandbox name is found by trying it: the kernel refuses a peer name the
                // sandbox has (EEXIST), so the first free eth<N> costs no lookup before.
                let (hostName, interfaceName, peerIndex) = try createVeth(network: network, bridgeIndex: bridge.index, names: vethNames,
                                                                          peer: options.interfaceName, namespace: namespace, mac: mac, undo: &undo)
                CrashPoint.step(op)
                if hairpinMode {
                    // Docker's LinkSetHairpin(host, true) with userland-proxy=false.
                    try hostSession.setBridgePortHairpin(hostName)
                    CrashPoint.step(op)
                }
                if network.isolated {
                    // Berth's hardening option: no forwarding between the network's own ports.
                    try hostSession.setBridgePortIsolated(hostName)
                    CrashPoint.step(op)
                }
                // The sandbox session, and for an IPv4-only endpoint the interface's disable_ipv6
                // (Docker's), in one visit of the namespace thread.
                let inside = address6 == nil
                    ? try NetlinkSession.route(in: namespace, writingWherePresent: Self.disableIPv6Keys(interface: interfaceName, all: false), "1").session
                    : try NetlinkSession.route(in: namespace)
                let ethIndex = try peerIndex ?? inside.link(named: interfaceName).index
                try inside.addAddress(InterfaceAddress(address: .v4(address), prefixLength: network.subnet.prefixLength,
                                                       linkIndex: ethIndex, broadcast: network.subnet.broadcast), device: interfaceName)
                CrashPoint.step(op)
                if let address6, let subnet6 = network.subnet6 {
                    try Self.configureIPv6(address6, prefixLength: subnet6.prefixLength, interface: interfaceName, linkIndex: ethIndex,
                                           session: inside, namespace: namespace)
                    CrashPoint.step(op)
                }
                try inside.setLink(index: ethIndex, LinkChange(up: true), operation: .setLinkUp, object: interfaceName)
                try inside.setLink(index: 1, LinkChange(up: true), operation: .setLinkUp, object: "lo")  // lo is ifindex 1 in every netns
                CrashPoint.step(op)
                // Docker 20.10's gateway election (NetworkController+DefaultRoute): internal networks
                // too give a default route, but last; otherwise the network name decides.
                let sandboxPeers = state.endpoints.values.filter { $0.sandboxInode == namespace.inode && $0.sandboxDevice == namespace.device }
                let before = Self.gatewayCandidates(Array(sandboxPeers), in: state)
                let mine = GatewayCandidate(endpointID: endpointID, networkName: network.name, isInternal: network.isInternal,
                                            gateway: network.gateway, interfaceName: interfaceName,
                                            gateway6: address6 != nil ? network.gateway6 : nil)
                if let winner = Self.electGateway(before + [mine]), winner.endpointID == endpointID {
                    let ipv6 = (before + [mine]).contains { $0.gateway6 != nil }
                    if let previous = Self.electGateway(before) {
                        undo.push(.setDefaultRoute, previous.interfaceName) { try Self.installDefaultRoute(previous, session: inside, ipv6: ipv6) }
                    }
                    try Self.installDefaultRoute(winner, session: inside, ipv6: ipv6, interfaceIndex: ethIndex)
                    CrashPoint.step(op)
                }
                let endpoint = Endpoint(id: endpointID, networkID: network.id, networkName: network.name,
                                        sandboxPath: namespace.name.map { "\(NetworkNamespace.runDirectory)/\($0)" } ?? namespace.path,
                                        sandboxName: namespace.name ?? createdName, sandboxDevice: namespace.device, sandboxInode: namespace.inode,
                                        createdSandbox: createdName != nil, hostInterface: hostName, interfaceName: interfaceName,
                                        address: address, prefixLength: network.subnet.prefixLength,
                                        gateway: network.gateway, mac: mac, ports: ports?.ports ?? [],
                                        sequence: state.nextSequence, owner: options.owner, proxies: started.isEmpty ? nil : started,
                                        address6: address6, prefixLength6: address6 != nil ? network.subnet6?.prefixLength : nil,
                                        gateway6: address6 != nil ? network.gateway6 : nil)
                if let ports {
                    undo.push(.removePorts, String(endpoint.id.prefix(12))) { try self.firewall.removePorts(ports) }
                    try firewall.addPorts(ports)
                    CrashPoint.step(op)
                }
                try store.save(endpoint)
                CrashPoint.step(op)
                undo.commit()
                if let intent {
                    try store.resolve(intent)
                    CrashPoint.step(op)
                }
                return endpoint
            } catch {
                let failures = undo.rollBack()
                if failures.isEmpty, let intent { try? store.resolve(intent) }
                throw RolledBack.combining(error, failures)
            }
        }
    }

    /// Host ports for the requests (`PortSpec.resolve`): a host port (protocol, host address) is
    /// published once across all endpoints, ranges included (Docker: "port is already allocated").
    /// The ephemeral range is the host namespace's `net.ipv4.ip_local_port_range`, read only
    /// when a request needs it (Docker's fallback 49153–65535 when it cannot be read).
    func resolvePorts(_ specs: [PortSpec], in state: StateSnapshot, operation: OperationName, object: String) throws(BerthError) -> [PortMapping] {
        if specs.isEmpty { return [] }
        var ephemeral = PortSpec.fallbackEphemeralRange
        if specs.contains(where: { $0.hostPorts == nil }),
           let text = try? Sysctl.read("net.ipv4.ip_local_port_range", in: host), let range = PortSpec.ephemeralRange(sysctl: text) {
            ephemeral = range
        }
        return try PortSpec.resolve(specs, published: state.endpoints.values.flatMap(\.ports), ephemeral: ephemeral,
                                    operation: operation, object: object)
    }

    private func openSandbox(_ spec: SandboxSpec, createdName: String?, undo: inout UndoStack) throws -> NetworkNamespace {
        switch spec {
        case .path(let p): return try NetworkNamespace.open(path: p)
        case .name(let n): return try NetworkNamespace.open(name: n)
        case .pid(let pid): return try NetworkNamespace.open(pid: pid)
        case .create:
            let chosen = createdName ?? "berth-" + RandomID.hex(12)
            let ns = try NetworkNamespace.create(name: chosen)
            undo.push(.deleteNetns, chosen) { try NetworkNamespace.delete(name: chosen) }
            return ns
        }
    }

    /// One RTM_NEWLINK (NLM_F_ECHO): host end (the first free of `names`, all announced in the
    /// intent; master bridge, up, MTU), peer created in the sandbox and named `peer`, or without
    /// one the first `eth<N>` the sandbox does not have (Docker's default naming). A refused
    /// creation (EEXIST) is either our random host name or the peer name: one RTM_GETLINK in the
    /// sandbox tells which, then the next host name or the next `eth<N>` is tried (an explicit
    /// `peer` the sandbox has is `.interfaceInUse`, nothing created).
    /// - Returns: the host end, the sandbox name, and the sandbox end's ifindex from the kernel's
    ///   echo (nil when the kernel sent none: the caller looks it up).
    /// - Throws: the kernel's EXFULL as `.system` naming the bridge and its port limit;
    ///   `.interfaceInUse`; the kernel's refusal.
    private func createVeth(network: Network, bridgeIndex: Int32, names: [String], peer explicit: String?, namespace: NetworkNamespace,
                            mac: MACAddress, undo: inout UndoStack) throws -> (host: String, peer: String, peerIndex: Int32?) {
        var attempt = 0
        var eth = 0
        var sandbox: NetlinkSession?
        while attempt < names.count {
            let name = names[attempt]
            let peer = explicit ?? "eth\(eth)"
            let failure: NetlinkError
            do {
                let echoed = try hostSession.createVeth(name: name, peer: VethPeer(name: peer, namespaceFD: namespace.fileDescriptor,
                                                                                   mtu: network.mtu, mac: mac),
                                                        mtu: network.mtu, masterIndex: bridgeIndex, up: true, echo: true)
                let session = hostSession
                undo.push(.deleteVeth, name) { try session.deleteLink(named: name) }
                return (name, peer, echoed?.peerIndex)
            } catch {
                failure = error
            }
            if failure.errno == Errno(EXFULL) {
                throw BerthError(.system, operation: .attach, object: network.name,
                                 detail: "bridge \(network.bridge) has reached the kernel's port limit (1023 ports per bridge); "
                                     + "detach an endpoint or use another network (\(failure.description))",
                                 cause: .netlink(failure))
            }
            guard failure.code == .exists else { throw failure }
            if sandbox == nil { sandbox = try NetlinkSession.route(in: namespace) }
            if (try? sandbox?.link(named: peer)) != nil {
                guard explicit == nil else {
                    throw BerthError(.interfaceInUse, operation: .attach, object: namespace.description,
                                     detail: "interface \(peer) already exists in the sandbox")
                }
                eth += 1
                continue
            }
            // Our random host name collided.
            guard attempt < names.count - 1 else { throw failure }
            attempt += 1
        }
        throw BerthError(.system, operation: .attach, object: namespace.description, detail: "no free veth name")
    }
}

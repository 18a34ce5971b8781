@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Checks what `attach` can check without the kernel or the state (interface name, address
    /// and MAC syntax, ports, the name of a namespace to create), so a caller can refuse bad input
    /// before opening a controller. `attach` runs it too.
    /// - Returns: the parsed static address and MAC.
    /// - Throws: `.invalidInterfaceName`, `.invalidArgument`, `.invalidName` (namespace name).
    @discardableResult
    public static func preflight(attach network: String, sandbox: SandboxSpec,
                                 options: AttachOptions) throws(BerthError) -> (address: IPv4Address?, mac: MACAddress?) {
        let op = OperationName.attach
        if let name = options.interfaceName {
            try checkInterfaceName(name, role: "interface name", operation: op, object: network)
        }
        if case .create(let name?) = sandbox {
            do { try NetworkNamespace.validateName(name, operation: op) } catch {
                throw BerthError(.invalidName, operation: op, object: network, detail: "sandbox name: \(error.detail ?? error.description)",
                                 cause: .namespace(error))
            }
        }
        let address = try options.address.map { text throws(BerthError) -> IPv4Address in
            guard let a = IPv4Address(text) else { throw BerthError(.invalidArgument, operation: op, object: network, detail: "invalid address '\(text)'") }
            return a
        }
        _ = try parseAddress6(options, network: network)
        let mac = try options.mac.map { text throws(BerthError) -> MACAddress in
            guard let m = MACAddress(text), m.isValidUnicast else {
                throw BerthError(.invalidArgument, operation: op, object: network, detail: "invalid MAC address '\(text)'")
            }
            return m
        }
        if let id = options.endpointID, id.count != 64 || !BerthNames.isLowerHex(id) {
            throw BerthError(.invalidArgument, operation: op, object: network, detail: "an endpoint ID is 64 lowercase hex characters, not '\(id)'")
        }
        for spec in options.ports.map(PortSpec.init) + options.publish {
            try spec.check(operation: op, object: network)
        }
        return (address, mac)
    }

    /// Detaches an endpoint by ID (or unique ID prefix): removes its port rules and its veth, deletes
    /// the sandbox when Berth created it, and releases its address. Idempotent and best-effort: a
    /// sandbox or link already gone does not stop the rest; all errors are reported together.
    /// Detaching an unknown endpoint succeeds and changes nothing (returns false). Without
    /// `waitForKernel` the veth is unplugged (off the bridge, down, pending) rather than deleted,
    /// so the call does not wait for the kernel; it is deleted later in a batch (`drain()`).
    /// - Returns: true when an endpoint was released.
    /// - Throws: `.invalidArgument` when `id` is not 1–64 lowercase hex characters (nothing is
    ///   looked up); `.endpointNotFound` for an ambiguous prefix; `.multiple` with every failure.
    @discardableResult
    public func detach(endpoint id: String) throws(BerthError) -> Bool {
        let op = OperationName.detach
        try Self.checkEndpointID(id, operation: op)
        return try mutate(op, id) { store throws -> Bool in
            let state = try store.load()
            let matches = state.endpoints.values.filter { $0.id == id || $0.id.hasPrefix(id) }
            guard matches.count == 1, let endpoint = matches.first else {
                if matches.count > 1 {
                    throw BerthError(.endpointNotFound, operation: op, object: id, detail: "ambiguous endpoint ID prefix \(id)")
                }
                return false
            }
            let errors = releaseEndpoint(endpoint, store: store, operation: op)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: endpoint.id, errors: errors) }
            return true
        }
    }

    /// `AttachOptions.address6` (`--ip6`) parsed: an IPv6 address that is neither multicast nor link-local.
    /// - Throws: `.invalidArgument` naming the address.
    static func parseAddress6(_ options: AttachOptions, network: String) throws(BerthError) -> IPv6Address? {
        try options.address6.map { text throws(BerthError) -> IPv6Address in
            guard let a = IPv6Address(text) else {
                throw BerthError(.invalidArgument, operation: .attach, object: network, detail: "invalid IPv6 address '\(text)'")
            }
            if a.isMulticast || a.isLinkLocal || a.isIPv4Mapped {
                throw BerthError(.invalidArgument, operation: .attach, object: network,
                                 detail: "IPv6 address \(a) cannot be an endpoint's address (multicast, link-local and IPv4-mapped addresses are refused)")
            }
            return a
        }
    }

    /// The one check of an endpoint ID or ID prefix given by a caller: 1–64 lowercase hex
    /// characters (Docker's IDs are 64), so a typo is refused instead of matching nothing.
    /// - Throws: `.invalidArgument` naming `operation` and the ID.
    static func checkEndpointID(_ id: String, operation: OperationName) throws(BerthError) {
        guard (1...64).contains(id.count), BerthNames.isLowerHex(id) else {
            throw BerthError(.invalidArgument, operation: operation, object: "'\(id)'", detail: "an endpoint ID is 1–64 lowercase hex characters")
        }
    }

    /// Detaches the endpoint that joins `sandbox` to `network` (`docker network disconnect`);
    /// `.name(TAP)` also finds a TAP endpoint (bridge or tc-redirect mode) by its TAP's name.
    /// - Returns: false when no such endpoint exists (nothing changed).
    /// - Throws: `.networkNotFound`, `.invalidArgument` (the name fits two endpoints, e.g. a
    ///   netns and a TAP named alike; nothing changed), `.multiple`.
    @discardableResult
    public func detach(network nameOrID: String, sandbox: SandboxSpec) throws(BerthError) -> Bool {
        let op = OperationName.detach
        let target: (path: String?, name: String?) = switch sandbox {
        case .path(let p): (p, nil)
        case .name(let n): ("\(NetworkNamespace.runDirectory)/\(n)", n)
        case .pid(let pid): ("/proc/\(pid)/ns/net", nil)
        case .create(let n): (n.map { "\(NetworkNamespace.runDirectory)/\($0)" }, n)
        }
        let identity = target.path.flatMap { try? NetworkNamespace.open(path: $0) }
        let id: String? = try read(op, nameOrID) { store in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            let matches = state.endpoints(of: network.id).filter { e in
                // A TAP endpoint by its TAP's name (bridge mode and tc-redirect mode alike).
                if target.name != nil, e.tap?.name == target.name { return true }
                if e.isHostTap { return false }
                return e.sandboxPath == target.path || (target.name != nil && e.sandboxName == target.name)
                    || (identity.map { e.sandboxInode == $0.inode && e.sandboxDevice == $0.device } ?? false)
            }
            if matches.count > 1 {
                // One name for two endpoints (a netns and a TAP called alike): refused, nothing changed.
                throw BerthError(.invalidArgument, operation: op, object: target.name ?? target.path ?? network.name,
                                 detail: "\(target.name ?? target.path ?? "") names \(matches.count) endpoints on network \(network.name) ("
                                    + matches.map { String($0.id.prefix(12)) }.sorted().joined(separator: ", ") + "); detach one by its endpoint ID")
            }
            return matches.first?.id
        }
        guard let id else { return false }
        return try detach(endpoint: id)
    }

    /// Every endpoint, optionally of one network.
    public func endpoints(network nameOrID: String? = nil) throws(BerthError) -> [Endpoint] {
        try read(.listEndpoints, nameOrID ?? "all") { store in
            let state = try store.load()
            guard let nameOrID else { return state.endpoints.values.sorted { $0.id < $1.id } }
            return state.endpoints(of: try resolve(nameOrID, in: state, operation: .listEndpoints).id)
        }
    }

    /// Best-effort release of one endpoint; returns the errors (the record is removed only when
    /// the kernel side is clean, so a retry can finish). A sandbox Berth created lives until its
    /// *last* endpoint goes: while another endpoint of the same sandbox is recorded, ownership
    /// passes to it (its record is rewritten first) and the namespace stays.
    func releaseEndpoint(_ endpoint: Endpoint, store: StateStore, operation op: OperationName = .detach) -> [BerthError] {
        var errors: [BerthError] = []
        let state = try? store.load()
        let peers = (state?.sandboxPeers(of: endpoint) ?? []).sorted { ($0.sequence ?? 0, $0.id) < ($1.sequence ?? 0, $1.id) }
        if endpoint.createdSandbox, let heir = peers.first, !heir.createdSandbox {
            var updated = heir
            updated.createdSandbox = true
            updated.sandboxName = heir.sandboxName ?? endpoint.sandboxName
            updated.owner = heir.owner ?? endpoint.owner
            do { try store.save(updated) } catch { errors.append(error) }
            CrashPoint.step(op)
        }
        errors += removeRedirectedTap(endpoint, operation: op)  // tc-redirect mode's TAP (issue 16)
        if let running = endpoint.proxies, !running.isEmpty {
            // The proxies first: their host ports are free before the rules go.
            proxies.stop(running)
            CrashPoint.step(op)
        }
        if !endpoint.ports.isEmpty {
            let network = state?.networks[endpoint.networkID]
            let ports = EndpointPorts(endpointID: endpoint.id, networkID: endpoint.networkID, bridge: network?.bridge ?? "",
                                      address: endpoint.address, ports: endpoint.ports, hairpin: hairpinMode,
                                      loopbackLocal: network?.loopbackLocal ?? false, address6: endpoint.address6)
            do { try firewall.removePorts(ports) } catch {
                errors.append(BerthError.wrap(error, operation: .removePorts, object: endpoint.id))
            }
            CrashPoint.step(op)
        }
        let sandboxGoes = endpoint.createdSandbox && peers.isEmpty && endpoint.sandboxName != nil
        if configuration.waitForKernel {
            do {
                try hostSession.deleteLink(named: endpoint.hostInterface)
                CrashPoint.step(op)
            } catch where error.code != .notFound {
                errors.append(BerthError.wrap(error, operation: .deleteVeth, object: endpoint.hostInterface))
            } catch {}
        } else {
            errors += unplug(endpoint, sandboxGoes: sandboxGoes, operation: op)
        }
        if !peers.isEmpty, let state {
            // libnetwork re-elects the gateway endpoint when one leaves (NetworkController+DefaultRoute).
            do {
                let candidates = Self.gatewayCandidates(peers, in: state)
                if let winner = Self.electGateway(candidates), let peer = peers.first,
                   let ns = liveSandbox(peer) {
                    let ipv6 = endpoint.gateway6 != nil || candidates.contains { $0.gateway6 != nil }
                    try Self.installDefaultRoute(winner, session: try NetlinkSession.route(in: ns), ipv6: ipv6)
                    CrashPoint.step(op)
                }
            } catch {
                errors.append(BerthError.wrap(error, operation: .setDefaultRoute, object: endpoint.sandboxPath))
            }
        }
        if endpoint.createdSandbox, peers.isEmpty, let name = endpoint.sandboxName {
            do {
                try NetworkNamespace.delete(name: name)
                CrashPoint.step(op)
            } catch where error.code != .notFound {
                errors.append(BerthError.wrap(error, operation: .deleteNetns, object: name))
            } catch {}
        }
        if errors.isEmpty {
            do { try store.removeEndpoint(endpoint.id) } catch { errors.append(error) }
            CrashPoint.step(op)
        }
        if !configuration.waitForKernel { reclaimLater() }
        return errors
    }

    /// Unplugs an endpoint without waiting for the kernel (issue 11): the host end leaves its
    /// bridge, goes down and joins the pending link group in one RTM_NEWLINK (no grace period),
    /// so the endpoint is unreachable at once; in a sandbox that stays, the sandbox end loses its
    /// address (the recorded one: no dump), goes down and is renamed `berthrm<7 hex>` so its `ethN` is free. The pair is deleted later with the
    /// pending group (or with the sandbox, when Berth deletes it).
    func unplug(_ endpoint: Endpoint, sandboxGoes: Bool, operation op: OperationName) -> [BerthError] {
        if endpoint.isHostTap { return unplugTap(endpoint, operation: op) }
        var errors: [BerthError] = []
        do {
            let link = try hostSession.link(named: endpoint.hostInterface)
            try hostSession.setLink(index: link.index, LinkChange(up: false, masterIndex: 0, group: Pending.group),
                                    operation: .unplug, object: endpoint.hostInterface)
            CrashPoint.step(op)
        } catch where error.code != .notFound {
            errors.append(BerthError.wrap(error, operation: .unplug, object: endpoint.hostInterface))
            return errors
        } catch {
            return errors
        }
        guard !sandboxGoes, let ns = liveSandbox(endpoint) else { return errors }
        do {
            let session = try NetlinkSession.route(in: ns)
            let inner = try session.link(named: endpoint.interfaceName)
            // Its address and local route go now, as with Docker's disconnect (new-user trial: the
            // sandbox could still reach its old address until the reclaim).
            let address = InterfaceAddress(address: .v4(endpoint.address), prefixLength: endpoint.prefixLength, linkIndex: inner.index)
            do { try session.deleteAddress(address) } catch where error.code == .notFound {}
            if let address6 = endpoint.address6 {
                let v6 = InterfaceAddress(address: .v6(address6), prefixLength: endpoint.prefixLength6 ?? 64, linkIndex: inner.index)
                do { try session.deleteAddress(v6) } catch where error.code == .notFound {}
            }
            try session.setLink(index: inner.index, LinkChange(up: false, group: Pending.group), operation: .unplug,
                                object: endpoint.interfaceName)
            try session.setLink(index: inner.index, LinkChange(name: Pending.sandboxName(hostInterface: endpoint.hostInterface)),
                                operation: .renameLink, object: endpoint.interfaceName)
            CrashPoint.step(op)
        } catch where error.code != .notFound {
            errors.append(BerthError.wrap(error, operation: .unplug, object: endpoint.interfaceName))
        } catch {}
        return errors
    }
}

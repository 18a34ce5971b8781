import BerthFirewall
import BerthNamespace
import BerthNetlink

extension NetworkController {
    /// Checks what `attach` can check without the kernel or the state (interface name, address
    /// and MAC syntax, ports, the name of a namespace to create), so a caller can refuse bad input
    /// before opening a controller. `attach` runs it too.
    /// - Returns: the parsed static address and MAC.
    /// - Throws: `.invalidInterfaceName`, `.invalidArgument`, `.invalidName` (namespace name).
    @discardableResult
    public static func preflight(attach network: String, sandbox: SandboxSpec,
                                 options: AttachOptions) throws(BerthError) -> (address: IPv4Address?, mac: MACAddress?) {
        let op = "attach"
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
        let mac = try options.mac.map { text throws(BerthError) -> MACAddress in
            guard let m = MACAddress(text), m.isValidUnicast else {
                throw BerthError(.invalidArgument, operation: op, object: network, detail: "invalid MAC address '\(text)'")
            }
            return m
        }
        for p in options.ports where p.hostPort == 0 || p.containerPort == 0 {
            throw BerthError(.invalidArgument, operation: op, object: network, detail: "port \(p.hostPort):\(p.containerPort) is outside 1–65535")
        }
        return (address, mac)
    }

    /// Attaches a sandbox to a network, as Docker does when a container joins it: a veth pair
    /// `veth<7 hex>` whose peer is created directly inside the sandbox and named there (default
    /// `eth0`), MAC 02:42 + the IPv4 bytes unless given, the lowest free address (or the static one),
    /// `lo` up, a default route via the gateway (none on an internal network), the host end on the
    /// bridge and up, and the published ports. A failure undoes every step: no veth, no lease,
    /// no rule, no record (and no namespace, when Berth created it).
    /// - Returns: the endpoint.
    /// - Throws: `BerthError` `.networkNotFound`, `.sandboxNotFound`, `.notANetworkNamespace`,
    ///   `.invalidInterfaceName`, `.interfaceInUse`, `.invalidArgument` (address, MAC, port),
    ///   `.addressInUse`, `.addressOutsideSubnet`, `.addressesExhausted`, `.permissionDenied`, `.system`.
    @discardableResult
    public func attach(network nameOrID: String, sandbox: SandboxSpec, options: AttachOptions = AttachOptions()) throws(BerthError) -> Endpoint {
        let op = "attach"
        let object = "\(nameOrID)"
        let (staticAddress, staticMAC) = try Self.preflight(attach: nameOrID, sandbox: sandbox, options: options)
        return try mutate(op, object) { store throws -> Endpoint in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            try checkPortsFree(options.ports, in: state, operation: op, object: network.name)
            let allocator = AddressAllocator(subnet: network.subnet, gateway: network.gateway, range: network.ipRange)
            let used = Set(state.endpoints(of: network.id).map(\.address))
            let address: IPv4Address
            if let staticAddress {
                try allocator.reserve(staticAddress, used: used, operation: op, object: network.name)
                address = staticAddress
            } else {
                address = try allocator.allocate(used: used, operation: op, object: network.name)
            }
            var undo = UndoStack()
            do {
                let (namespace, createdName) = try openSandbox(sandbox, undo: &undo)
                if namespace.isSame(as: host) {
                    throw BerthError(.invalidArgument, operation: op, object: namespace.description,
                                     detail: "the sandbox is the host namespace itself")
                }
                if state.endpoints(of: network.id).contains(where: { $0.sandboxInode == namespace.inode && $0.sandboxDevice == namespace.device }) {
                    throw BerthError(.interfaceInUse, operation: op, object: namespace.description,
                                     detail: "the sandbox is already attached to network \(network.name)")
                }
                let inside = try NetlinkSession.route(in: namespace)
                let interfaceName: String
                if let name = options.interfaceName {
                    if (try? inside.link(named: name)) != nil {
                        throw BerthError(.interfaceInUse, operation: op, object: namespace.description,
                                         detail: "interface \(name) already exists in the sandbox")
                    }
                    interfaceName = name
                } else {
                    // One RTM_GETLINK per name tried: usually just eth0, answered with ENODEV.
                    var index = 0
                    while (try? inside.link(named: "eth\(index)")) != nil { index += 1 }
                    interfaceName = "eth\(index)"
                }
                let bridge = try hostSession.link(named: network.bridge)
                let mac = staticMAC ?? MACAddress.docker(for: address)
                let hostName = try createVeth(network: network, bridgeIndex: bridge.index, peer: interfaceName,
                                              namespace: namespace, mac: mac, undo: &undo)
                if network.hairpin {
                    // Docker's LinkSetHairpin(host, true) with userland-proxy=false.
                    try hostSession.setBridgePortHairpin(hostName)
                }
                let eth = try inside.link(named: interfaceName)
                try inside.addAddress(InterfaceAddress(address: .v4(address), prefixLength: network.subnet.prefixLength,
                                                       linkIndex: eth.index, broadcast: network.subnet.broadcast), device: interfaceName)
                try inside.setLink(index: eth.index, LinkChange(up: true), operation: "set link up", object: interfaceName)
                try inside.setLink(index: 1, LinkChange(up: true), operation: "set link up", object: "lo")  // lo is ifindex 1 in every netns
                if !network.isInternal {
                    // As Docker: only the first network that gives the sandbox a gateway sets its
                    // default route; a second one (`docker network connect`) leaves it alone.
                    do {
                        try inside.addRoute(.defaultRoute(via: .v4(network.gateway), outputIndex: eth.index), device: interfaceName)
                    } catch let e as NetlinkError where e.code == .exists {}
                }
                let endpoint = Endpoint(id: RandomID.hex(64), networkID: network.id, networkName: network.name,
                                        sandboxPath: namespace.name.map { "\(NetworkNamespace.runDirectory)/\($0)" } ?? namespace.path,
                                        sandboxName: namespace.name ?? createdName, sandboxDevice: namespace.device, sandboxInode: namespace.inode,
                                        createdSandbox: createdName != nil, hostInterface: hostName, interfaceName: interfaceName,
                                        address: address, prefixLength: network.subnet.prefixLength,
                                        gateway: network.isInternal ? nil : network.gateway, mac: mac, ports: options.ports)
                if !options.ports.isEmpty {
                    let ports = EndpointPorts(endpointID: endpoint.id, networkID: network.id, bridge: network.bridge, address: address,
                                              ports: options.ports, hairpin: network.hairpin)
                    undo.push("remove ports of \(endpoint.id.prefix(12))") { try self.firewall.removePorts(ports) }
                    try firewall.addPorts(ports)
                }
                try store.save(endpoint)
                undo.commit()
                return endpoint
            } catch {
                undo.rollBack()
                throw error
            }
        }
    }

    /// A host port (protocol, host address) may be published once (Docker: "port is already allocated").
    private func checkPortsFree(_ ports: [PortMapping], in state: StateSnapshot, operation: String, object: String) throws(BerthError) {
        var seen: [PortMapping] = []
        let published = state.endpoints.values.flatMap(\.ports)
        for p in ports {
            let clash = (published + seen).first { q in
                q.proto == p.proto && q.hostPort == p.hostPort && (q.hostIP == nil || p.hostIP == nil || q.hostIP == p.hostIP)
            }
            if let clash {
                throw BerthError(.portAllocated, operation: operation, object: object,
                                 detail: "host port \(clash.hostIP.map { "\($0):" } ?? "")\(p.hostPort)/\(p.proto.rawValue) is already allocated")
            }
            seen.append(p)
        }
    }

    private func openSandbox(_ spec: SandboxSpec, undo: inout UndoStack) throws -> (NetworkNamespace, String?) {
        switch spec {
        case .path(let p): return (try NetworkNamespace.open(path: p), nil)
        case .name(let n): return (try NetworkNamespace.open(name: n), nil)
        case .pid(let pid): return (try NetworkNamespace.open(pid: pid), nil)
        case .create(let name):
            let chosen = name ?? "berth-" + RandomID.hex(12)
            let ns = try NetworkNamespace.create(name: chosen)
            undo.push("delete netns \(chosen)") { try NetworkNamespace.delete(name: chosen) }
            return (ns, chosen)
        }
    }

    /// One RTM_NEWLINK: host end `veth<7 hex>` (master bridge, up, MTU), peer created in the sandbox.
    private func createVeth(network: Network, bridgeIndex: Int32, peer: String, namespace: NetworkNamespace,
                            mac: MACAddress, undo: inout UndoStack) throws -> String {
        for attempt in 0..<4 {
            let name = "veth" + RandomID.hex(7)
            let failure: NetlinkError
            do {
                try hostSession.createVeth(name: name, peer: VethPeer(name: peer, namespaceFD: namespace.fileDescriptor, mtu: network.mtu, mac: mac),
                                           mtu: network.mtu, masterIndex: bridgeIndex, up: true)
                let session = hostSession
                undo.push("delete veth \(name)") { try session.deleteLink(named: name) }
                return name
            } catch {
                failure = error
            }
            // Either our random name or the peer name collided; a peer clash would repeat, so check it.
            guard failure.code == .exists, attempt < 3 else { throw failure }
            if (try? NetlinkSession.route(in: namespace).link(named: peer)) != nil {
                throw BerthError(.interfaceInUse, operation: "attach", object: namespace.description,
                                 detail: "interface \(peer) already exists in the sandbox")
            }
        }
        throw BerthError(.system, operation: "attach", object: namespace.description, detail: "no free veth name")
    }

    /// Detaches an endpoint by ID (or unique ID prefix): removes its port rules and its veth, deletes
    /// the sandbox when Berth created it, and releases its address. Idempotent and best-effort: a
    /// sandbox or link already gone does not stop the rest; all errors are reported together.
    /// Detaching an unknown endpoint succeeds and changes nothing (returns false).
    /// - Returns: true when an endpoint was released.
    /// - Throws: `.multiple` with every failure.
    @discardableResult
    public func detach(endpoint id: String) throws(BerthError) -> Bool {
        let op = "detach"
        return try mutate(op, id) { store throws -> Bool in
            let state = try store.load()
            let matches = id.isEmpty ? [] : state.endpoints.values.filter { $0.id == id || $0.id.hasPrefix(id) }
            guard matches.count == 1, let endpoint = matches.first else {
                if matches.count > 1 {
                    throw BerthError(.endpointNotFound, operation: op, object: id, detail: "ambiguous endpoint ID prefix \(id)")
                }
                return false
            }
            let errors = releaseEndpoint(endpoint, store: store)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: endpoint.id, errors: errors) }
            return true
        }
    }

    /// Detaches the endpoint that joins `sandbox` to `network` (`docker network disconnect`).
    /// - Returns: false when no such endpoint exists (nothing changed).
    /// - Throws: `.networkNotFound`, `.multiple`.
    @discardableResult
    public func detach(network nameOrID: String, sandbox: SandboxSpec) throws(BerthError) -> Bool {
        let op = "detach"
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
            return state.endpoints(of: network.id).first { e in
                e.sandboxPath == target.path || (target.name != nil && e.sandboxName == target.name)
                    || (identity.map { e.sandboxInode == $0.inode && e.sandboxDevice == $0.device } ?? false)
            }?.id
        }
        guard let id else { return false }
        return try detach(endpoint: id)
    }

    /// Every endpoint, optionally of one network.
    public func endpoints(network nameOrID: String? = nil) throws(BerthError) -> [Endpoint] {
        try read("list endpoints", nameOrID ?? "all") { store in
            let state = try store.load()
            guard let nameOrID else { return state.endpoints.values.sorted { $0.id < $1.id } }
            return state.endpoints(of: try resolve(nameOrID, in: state, operation: "list endpoints").id)
        }
    }

    /// Best-effort release of one endpoint; returns the errors (the record is removed only when
    /// the kernel side is clean, so a retry can finish).
    func releaseEndpoint(_ endpoint: Endpoint, store: StateStore) -> [BerthError] {
        var errors: [BerthError] = []
        if !endpoint.ports.isEmpty {
            let network = (try? store.load().networks[endpoint.networkID]) ?? nil
            let ports = EndpointPorts(endpointID: endpoint.id, networkID: endpoint.networkID, bridge: network?.bridge ?? "",
                                      address: endpoint.address, ports: endpoint.ports, hairpin: network?.hairpin ?? false)
            do { try firewall.removePorts(ports) } catch {
                errors.append(BerthError.wrap(error, operation: "remove ports", object: endpoint.id))
            }
        }
        do { try hostSession.deleteLink(named: endpoint.hostInterface) } catch where error.code != .notFound {
            errors.append(BerthError.wrap(error, operation: "delete veth", object: endpoint.hostInterface))
        } catch {}
        if endpoint.createdSandbox, let name = endpoint.sandboxName {
            do { try NetworkNamespace.delete(name: name) } catch where error.code != .notFound {
                errors.append(BerthError.wrap(error, operation: "delete netns", object: name))
            } catch {}
        }
        if errors.isEmpty {
            do { try store.removeEndpoint(endpoint.id) } catch { errors.append(error) }
        }
        return errors
    }
}

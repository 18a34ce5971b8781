@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// A network with its endpoints, as `inspect` returns it.
public struct NetworkDetails: Sendable, Equatable {
    public var network: Network
    /// Sorted by address.
    public var endpoints: [Endpoint]
}

extension NetworkController {
    /// Docker's network-name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
    public static func isValidNetworkName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { c in
            c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "." || c == "-")
        }
    }

    /// Checks everything about `options` that needs neither the kernel nor the state (name,
    /// reserved names, MTU, bridge name, CIDR syntax and sanity, gateway and ip-range against an
    /// explicit subnet), so a caller can refuse bad input before opening a controller (which sets
    /// up the host). `createNetwork` runs it too.
    /// - Returns: the explicit subnet, parsed, when one was given.
    /// - Throws: `.invalidName`, `.duplicateName` (`host`, `none`), `.invalidInterfaceName`,
    ///   `.invalidArgument`, `.gatewayOutsideSubnet`, `.ipRangeOutsideSubnet`.
    @discardableResult
    public static func preflight(_ options: NetworkOptions) throws(BerthError) -> IPv4Subnet? {
        let op = OperationName.createNetwork
        let name = options.name
        guard isValidNetworkName(name) else {
            throw BerthError(.invalidName, operation: op, object: "'\(name)'",
                             detail: "invalid network name '\(name)': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if name == "host" || name == "none" {
            throw BerthError(.duplicateName, operation: op, object: name, detail: "network with name \(name) already exists (predefined)")
        }
        if let mtu = options.mtu, !(68...65535).contains(mtu) {
            throw BerthError(.invalidArgument, operation: op, object: name, detail: "mtu \(mtu) is outside 68–65535")
        }
        if let bridge = options.bridgeName {
            try checkInterfaceName(bridge, role: "bridge name", operation: op, object: name)
        }
        let subnet = try options.subnet.map { text throws(BerthError) -> IPv4Subnet in
            guard let s = IPv4Subnet(text) else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid subnet '\(text)': expected a.b.c.d/len")
            }
            guard s.address == s.network else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid subnet '\(text)': it should be \(s.canonical)")
            }
            if let reason = unusableSubnetReason(s) {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid subnet '\(text)': \(reason)")
            }
            return s
        }
        if subnet == nil, options.gateway != nil || options.ipRange != nil {
            // The docker CLI's rule (opts/network.go, consolidateIpam), checked before anything runs.
            throw BerthError(.invalidArgument, operation: op, object: name,
                             detail: "every ip-range or gateway must have a corresponding subnet")
        }
        if let text = options.gateway {
            guard let g = IPv4Address(text) else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid gateway '\(text)'")
            }
            if let subnet, !AddressAllocator(subnet: subnet, gateway: nil).isAssignable(g) {
                throw BerthError(.gatewayOutsideSubnet, operation: op, object: name, detail: "gateway \(g) is not a usable address of \(subnet)")
            }
        }
        if let text = options.ipRange {
            guard let r = IPv4Subnet(text) else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)'")
            }
            guard r.address == r.network else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)': it should be \(r.canonical)")
            }
            if let subnet {
                guard subnet.contains(r) else {
                    throw BerthError(.ipRangeOutsideSubnet, operation: op, object: name, detail: "ip-range \(r) is not inside subnet \(subnet)")
                }
                let gateway = options.gateway.flatMap(IPv4Address.init) ?? IPv4Address(subnet.network.value + 1)
                if (try? AddressAllocator(subnet: subnet, gateway: gateway, range: r).allocate(used: [], operation: op, object: name)) == nil {
                    throw BerthError(.invalidArgument, operation: op, object: name, detail: "ip-range \(r) holds no usable address")
                }
            }
        }
        _ = try preflight6(options)
        return subnet
    }

    /// Creates a bridge network (`docker network create`): a 64-hex ID; bridge `br-<first 12 hex>`
    /// unless named; the subnet given or the first free one of Docker's default pools (skipping
    /// other networks and the host's routes); the gateway (first address unless given) on the
    /// bridge; the firewall rules. A failure removes everything created so far.
    /// - Returns: the recorded network.
    /// - Throws: `BerthError` `.invalidName`, `.duplicateName`, `.invalidInterfaceName`,
    ///   `.invalidArgument` (malformed CIDR/MTU), `.gatewayOutsideSubnet`, `.ipRangeOutsideSubnet`,
    ///   `.subnetOverlap`, `.subnetsExhausted`, `.permissionDenied`, `.system`.
    @discardableResult
    public func createNetwork(_ options: NetworkOptions) throws(BerthError) -> Network {
        let op = OperationName.createNetwork
        let name = options.name
        let explicitSubnet = try Self.preflight(options)
        let plan6 = try Self.preflight6(options)
        let id = RandomID.hex(64)
        let bridge = options.bridgeName ?? "br-" + id.prefix(12)
        return try mutate(op, name) { store throws -> Network in
            let state = try store.load()
            if state.networks.values.contains(where: { $0.name == name }) {
                throw BerthError(.duplicateName, operation: op, object: name, detail: "a network named \(name) exists already")
            }
            if state.networks.values.contains(where: { $0.bridge == bridge }) {
                throw BerthError(.interfaceInUse, operation: op, object: name, detail: "bridge \(bridge) is used by another network")
            }
            if let plan6 {
                try checkHostIPv6(operation: op, object: name)
                if let clash = state.networks.values.compactMap(\.subnet6).first(where: { $0.overlaps(plan6.subnet) }) {
                    throw BerthError(.subnetOverlap, operation: op, object: name, detail: "subnet \(plan6.subnet) overlaps network subnet \(clash)")
                }
            }
            let routes = try hostSession.routes().compactMap { r -> IPv4Subnet? in
                guard case .v4(let d)? = r.destination, r.destinationPrefixLength > 0 else { return nil }
                return IPv4Subnet(address: d, prefixLength: r.destinationPrefixLength)
            }
            let ours = state.networks.values.map(\.subnet)
            let subnet: IPv4Subnet
            if let explicit = explicitSubnet {
                if let clash = ours.first(where: { $0.overlaps(explicit) }) {
                    throw BerthError(.subnetOverlap, operation: op, object: name, detail: "subnet \(explicit) overlaps network subnet \(clash)")
                }
                if let clash = routes.first(where: { $0.overlaps(explicit) }) {
                    throw BerthError(.subnetOverlap, operation: op, object: name, detail: "subnet \(explicit) overlaps host route \(clash)")
                }
                subnet = explicit
            } else {
                guard let pick = SubnetPools.rotating(startIndex: store.poolStartIndex(), networks: ours, routes: routes) else {
                    throw BerthError(.subnetsExhausted, operation: op, object: name, detail: "no free subnet left in the default address pools")
                }
                try store.savePoolStartIndex(pick.nextStart)
                subnet = pick.subnet
            }
            let allocator = AddressAllocator(subnet: subnet, gateway: nil)
            var explicitGateway: IPv4Address?
            if let text = options.gateway {
                guard let g = IPv4Address(text) else {
                    throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid gateway '\(text)'")
                }
                guard allocator.isAssignable(g) else {
                    throw BerthError(.gatewayOutsideSubnet, operation: op, object: name, detail: "gateway \(g) is not a usable address of \(subnet)")
                }
                explicitGateway = g
            }
            var range: IPv4Subnet?
            if let text = options.ipRange {
                guard let r = IPv4Subnet(text) else {
                    throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)'")
                }
                guard subnet.contains(r) else {
                    throw BerthError(.ipRangeOutsideSubnet, operation: op, object: name, detail: "ip-range \(r) is not inside subnet \(subnet)")
                }
                guard r.address == r.network else {
                    throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)': it should be \(r.canonical)")
                }
                range = r
            }
            // Docker 20.10 (oracle): without --gateway the gateway is the first address IPAM gives,
            // in the ip-range when there is one (its first address, even a .0 inside the subnet),
            // and endpoints come after it.
            let gateway = try explicitGateway
                ?? AddressAllocator(subnet: subnet, gateway: nil, range: range).allocate(used: [], operation: op, object: name)
            let preexisting = options.bridgeName != nil ? try? hostSession.link(named: bridge) : nil
            if let preexisting, preexisting.kind != "bridge" {
                throw BerthError(.interfaceInUse, operation: op, object: name, detail: "\(bridge) exists and is not a bridge")
            }
            let network = Network(id: id, name: name, bridge: bridge, subnet: subnet, gateway: gateway, ipRange: range, mtu: options.mtu,
                                  isInternal: options.isInternal, icc: options.icc, masquerade: options.masquerade, labels: options.labels,
                                  bridgeMAC: MACAddress(bytes: RandomID.bridgeMAC()) ?? MACAddress.docker(for: gateway),
                                  created: Self.timestamp(), isDefault: false, ownsBridge: preexisting == nil,
                                  hairpin: options.hairpin, subnetConfigured: explicitSubnet != nil, isolated: options.isolated,
                                  loopbackLocal: options.loopbackLocal, directRouting: options.directRouting,
                                  trustedInterfaces: options.trustedInterfaces, enableIPv6: plan6 != nil, subnet6: plan6?.subnet,
                                  gateway6: plan6?.gateway, ipRange6: plan6?.range, gatewayConfigured: options.gateway != nil,
                                  gateway6Configured: options.gateway6 != nil)
            try realize(network, store: store, operation: op)
            return network
        }
    }

    /// Why a subnet cannot carry a bridge network, or nil: room for a gateway and one endpoint
    /// (prefix at most /30), and not in loopback, multicast, reserved or "this network" space.
    static func unusableSubnetReason(_ s: IPv4Subnet) -> String? {
        if s.prefixLength > 30 { return "a /\(s.prefixLength) has no room for a gateway and an endpoint (at most /30)" }
        let special: [(String, String)] = [("0.0.0.0/8", "\"this network\""), ("127.0.0.0/8", "loopback"),
                                           ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved")]
        for (cidr, what) in special {
            if let block = IPv4Subnet(cidr), block.overlaps(s) { return "it overlaps the \(what) block \(cidr)" }
        }
        return nil
    }

    /// Every network, oldest first (`docker network ls`).
    public func networks() throws(BerthError) -> [Network] {
        try read(.listNetworks, "all") { store in
            try store.load().networks.values.filter { !$0.inDelete }.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
        }
    }

    /// One network with its endpoints (`docker network inspect`), by name, ID or unique ID prefix.
    /// - Throws: `.networkNotFound`.
    public func inspect(_ nameOrID: String) throws(BerthError) -> NetworkDetails {
        try read(.inspectNetwork, nameOrID) { store in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: .inspectNetwork)
            return NetworkDetails(network: network, endpoints: state.endpoints(of: network.id))
        }
    }

    /// Deletes a network (`docker network rm`): its rules, its bridge (when Berth created it) and
    /// its record. Refused while endpoints are attached unless `force`, which detaches them first.
    /// Best-effort: every step runs even after an error, and all errors are reported together
    /// (the record is kept then, so a retry finishes the job). Without `waitForKernel` the bridge
    /// is unplugged and renamed rather than deleted (name and subnet free at once) and deleted
    /// later in a batch (`drain()`).
    /// - Throws: `.networkNotFound`, `.predefinedNetwork` (`bridge`), `.hasActiveEndpoints`, `.multiple`.
    public func deleteNetwork(_ nameOrID: String, force: Bool = false) throws(BerthError) {
        let op = OperationName.deleteNetwork
        try mutate(op, nameOrID) { store in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            if network.isDefault {
                throw BerthError(.predefinedNetwork, operation: op, object: network.name,
                                 detail: "\(network.name) is a pre-defined network and cannot be removed")
            }
            let attached = state.endpoints(of: network.id)
            if !attached.isEmpty && !force {
                throw BerthError(.hasActiveEndpoints, operation: op, object: network.name,
                                 detail: "network \(network.name) has \(attached.count) active endpoint(s)")
            }
            let errors = try takeDown(network, attached: attached, store: store, operation: op)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: network.name, errors: errors) }
        }
    }

    /// The steps of a network removal, shared by `deleteNetwork` and the reconciler (which finishes
    /// a removal a crash interrupted): the record is marked `inDelete` first (durably), then the
    /// endpoints are released, the rules removed, the bridge deleted (when Berth created it;
    /// without `waitForKernel` unplugged and left pending, so its name and subnet are free at
    /// once), and the record removed when all of that succeeded. Best-effort: every step runs
    /// even after an error; the errors are returned (the record stays then, so a retry finishes).
    func takeDown(_ network: Network, attached: [Endpoint], store: StateStore, operation op: OperationName) throws(BerthError) -> [BerthError] {
        if !network.inDelete {
            var marked = network
            marked.inDelete = true
            try store.save(marked)
            CrashPoint.step(op)
        }
        var errors: [BerthError] = []
        for endpoint in attached { errors += releaseEndpoint(endpoint, store: store, operation: op) }
        do {
            try firewall.removeNetwork(network.firewallRules)
            CrashPoint.step(op)
        } catch {
            errors.append(BerthError.wrap(error, operation: .removeRules, object: network.bridge))
        }
        if network.ownsBridge && configuration.waitForKernel {
            do {
                try hostSession.deleteLink(named: network.bridge)
                CrashPoint.step(op)
            } catch where error.code == .notFound {
            } catch {
                errors.append(BerthError.wrap(error, operation: .deleteBridge, object: network.bridge))
            }
        } else if network.ownsBridge {
            errors += unplug(bridge: network, operation: op)
        }
        if errors.isEmpty {
            try store.removeNetwork(network.id)
            CrashPoint.step(op)
        }
        if !configuration.waitForKernel { reclaimLater() }
        return errors
    }

    /// Unplug now, reclaim later (issue 11): the bridge loses its gateway address, goes down and
    /// joins the pending group, then is renamed `berthrm<8 hex>` so its name is free at once; it
    /// is deleted with the pending group. A kill between the two leaves a pending `br-…`, which
    /// the next reconciliation deletes with the group before it finishes the `inDelete` record.
    private func unplug(bridge network: Network, operation op: OperationName) -> [BerthError] {
        let bridge = network.bridge
        do {
            let link = try hostSession.link(named: bridge)
            // The gateway address and its local route go now (a new network may take the subnet at once).
            let gateway = InterfaceAddress(address: .v4(network.gateway), prefixLength: network.subnet.prefixLength, linkIndex: link.index)
            do { try hostSession.deleteAddress(gateway) } catch where error.code == .notFound {}
            if let gateway6 = network.gateway6, let subnet6 = network.subnet6 {
                let address = InterfaceAddress(address: .v6(gateway6), prefixLength: subnet6.prefixLength, linkIndex: link.index)
                do { try hostSession.deleteAddress(address) } catch where error.code == .notFound {}
            }
            try hostSession.setLink(index: link.index, LinkChange(up: false, group: Pending.group), operation: .unplug, object: bridge)
            try hostSession.setLink(index: link.index, LinkChange(name: Pending.bridgeName()), operation: .renameLink, object: bridge)
            CrashPoint.step(op)
        } catch where error.code == .notFound {
        } catch {
            return [BerthError.wrap(error, operation: .unplug, object: bridge)]
        }
        return []
    }
}

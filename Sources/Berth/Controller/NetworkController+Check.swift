@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// One thing `check(endpoint:)` found not as the record says.
public struct EndpointProblem: Sendable, Equatable, CustomStringConvertible {
    /// What is wrong: `sandbox`, `interface`, `address`, `route`, `veth`, `bridge`, `rules`.
    public var kind: String
    /// One sentence naming the object and what was expected.
    public var detail: String

    public var description: String { "\(kind): \(detail)" }
}

extension NetworkController {
    /// Verifies one endpoint against the kernel, reading only (CNI `CHECK`, spec 1.1 "CHECK:
    /// Check container's networking is as expected"): its sandbox is the namespace it was attached
    /// in; the sandbox interface exists, is up, has the recorded MAC and address; the sandbox's
    /// default route goes via this endpoint's gateway when it is the elected gateway endpoint
    /// (NetworkController+DefaultRoute); the host end exists and is enslaved to the network's
    /// bridge, which exists, is up and holds the gateway address; the firewall holds every rule
    /// the records describe (a dry-run `reconcile` of the recorded firewall state finds none
    /// missing; rules merely out of order behind another tool's are not a problem).
    /// - Returns: the problems found, empty when the endpoint is as recorded.
    /// - Throws: `.invalidArgument` (not an endpoint ID), `.endpointNotFound` (no such endpoint),
    ///   `.state`, `.system` (a read failed).
    public func check(endpoint id: String) throws(BerthError) -> [EndpointProblem] {
        let op = OperationName.check
        try Self.checkEndpointID(id, operation: op)
        return try read(op, id) { store throws -> [EndpointProblem] in
            let state = try store.load()
            guard let endpoint = state.endpoints[id] else {
                throw BerthError(.endpointNotFound, operation: op, object: id, detail: "no endpoint \(id.prefix(12)) is recorded")
            }
            var problems: [EndpointProblem] = []
            guard let network = state.networks[endpoint.networkID] else {
                return [EndpointProblem(kind: "network", detail: "network \(endpoint.networkName) of the endpoint is not recorded")]
            }
            problems += try sandboxProblems(endpoint, state: state)
            problems += try hostProblems(endpoint, network)
            // Missing rules only: another tool's rules above Berth's (the reference `firewall`
            // plugin inserts its FORWARD jump first, as a DOCKER-USER rule would be) reorder
            // Berth's base and chains without removing anything the records describe.
            applyRecordedForwardPolicy(store)
            let firewall = try self.firewall.reconcile(firewallState(state), dryRun: true)
            let missing = firewall.repaired.filter {
                !$0.hasPrefix("filter base|") && !$0.hasPrefix("ip6tables filter base|") && !$0.hasSuffix("rules are out of the records' order")
            }
            if !missing.isEmpty {
                problems.append(EndpointProblem(kind: "rules", detail: "firewall rules the records describe are missing: "
                                                    + missing.joined(separator: "; ")))
            }
            return problems
        }
    }

    private func sandboxProblems(_ endpoint: Endpoint, state: StateSnapshot) throws -> [EndpointProblem] {
        guard let ns = liveSandbox(endpoint) else {
            return [EndpointProblem(kind: "sandbox", detail: "\(endpoint.sandboxPath) is not the network namespace the endpoint was attached in")]
        }
        let inside = try NetlinkSession.route(in: ns)
        guard let eth = try? inside.link(named: endpoint.interfaceName) else {
            return [EndpointProblem(kind: "interface", detail: "\(endpoint.interfaceName) is missing in \(endpoint.sandboxPath)")]
        }
        var problems: [EndpointProblem] = []
        if !eth.isUp { problems.append(EndpointProblem(kind: "interface", detail: "\(endpoint.interfaceName) is down")) }
        if eth.mac != endpoint.mac {
            problems.append(EndpointProblem(kind: "interface", detail: "\(endpoint.interfaceName) has MAC \(eth.mac.map { "\($0)" } ?? "none"), not \(endpoint.mac)"))
        }
        let addresses = try inside.addresses(family: RTNL.AF_INET, linkIndex: eth.index)
        if !addresses.contains(where: { $0.address == .v4(endpoint.address) && $0.prefixLength == endpoint.prefixLength }) {
            problems.append(EndpointProblem(kind: "address", detail: "\(endpoint.interfaceName) lacks \(endpoint.cidr)"))
        }
        let peers = state.endpoints.values.filter { $0.sandboxInode == endpoint.sandboxInode && $0.sandboxDevice == endpoint.sandboxDevice }
        if let winner = Self.electGateway(Self.gatewayCandidates(Array(peers), in: state)), winner.endpointID == endpoint.id,
           let gateway = winner.gateway {
            let defaults = try inside.routes().filter { $0.destination == nil && $0.destinationPrefixLength == 0 }
            if !defaults.contains(where: { $0.gateway == .v4(gateway) && $0.outputIndex == eth.index }) {
                problems.append(EndpointProblem(kind: "route", detail: "no default route via \(gateway) dev \(endpoint.interfaceName)"))
            }
        }
        return problems
    }

    private func hostProblems(_ endpoint: Endpoint, _ network: Network) throws -> [EndpointProblem] {
        guard let bridge = try? hostSession.link(named: network.bridge) else {
            return [EndpointProblem(kind: "bridge", detail: "bridge \(network.bridge) is missing")]
        }
        var problems: [EndpointProblem] = []
        if !bridge.isUp { problems.append(EndpointProblem(kind: "bridge", detail: "bridge \(network.bridge) is down")) }
        let present = try hostSession.addresses(family: RTNL.AF_INET, linkIndex: bridge.index)
        if !present.contains(where: { $0.address == .v4(network.gateway) && $0.prefixLength == network.subnet.prefixLength }) {
            problems.append(EndpointProblem(kind: "bridge", detail: "bridge \(network.bridge) lacks \(network.gateway)/\(network.subnet.prefixLength)"))
        }
        guard let veth = try? hostSession.link(named: endpoint.hostInterface) else {
            return problems + [EndpointProblem(kind: "veth", detail: "host end \(endpoint.hostInterface) is missing")]
        }
        if veth.masterIndex != bridge.index {
            problems.append(EndpointProblem(kind: "veth", detail: "host end \(endpoint.hostInterface) is not on bridge \(network.bridge)"))
        }
        if !veth.isUp { problems.append(EndpointProblem(kind: "veth", detail: "host end \(endpoint.hostInterface) is down")) }
        return problems
    }

    /// Whether `network` can take one more dynamically addressed endpoint (CNI `STATUS`): a free
    /// address is left in its subnet (or ip-range). Reads only.
    /// - Throws: `.networkNotFound`, `.state`.
    public func hasFreeAddress(network nameOrID: String) throws(BerthError) -> Bool {
        let op = OperationName.status
        return try read(op, nameOrID) { store throws -> Bool in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            let allocator = AddressAllocator(subnet: network.subnet, gateway: network.gateway, range: network.ipRange)
            do {
                _ = try allocator.allocate(used: Set(state.endpoints(of: network.id).map(\.address)), operation: op, object: network.name)
                return true
            } catch where (error as? BerthError)?.code == .addressesExhausted {
                return false
            }
        }
    }
}

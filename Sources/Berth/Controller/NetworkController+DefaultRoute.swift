@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// The default route of a sandbox with several endpoints, as libnetwork 20.10 elects it
/// (`Sandbox.getGatewayEndpoint` over `endpoints.Less`): endpoints of internal networks come last,
/// the others by network name; the first gives the default route. So `network connect` of a
/// network whose name sorts first moves the default route to it, and disconnecting the endpoint
/// that gives it re-elects one of those left (oracle, issue 12).
extension NetworkController {
    /// One endpoint of a sandbox as the election sees it.
    struct GatewayCandidate {
        var endpointID: String
        var networkName: String
        var isInternal: Bool
        var gateway: IPv4Address?
        var interfaceName: String
        /// The endpoint's IPv6 gateway (an IPv6 endpoint of a non-internal network), else nil.
        var gateway6: IPv6Address? = nil
    }

    /// The elected endpoint among `candidates`, or nil when none has a gateway: internal
    /// networks last, then dual-stack endpoints (an IPv4 and an IPv6 gateway) before the others,
    /// then the network name (libnetwork 20.10 `epHeap.Less`; the oracle's v6-and-v4-networks).
    static func electGateway(_ candidates: [GatewayCandidate]) -> GatewayCandidate? {
        func key(_ c: GatewayCandidate) -> (Int, Int, String) {
            (c.isInternal ? 1 : 0, c.gateway != nil && c.gateway6 != nil ? 0 : 1, c.networkName)
        }
        return candidates.filter { $0.gateway != nil }.min { key($0) < key($1) }
    }

    /// The candidates of the recorded endpoints `peers` (networks looked up in `state`).
    static func gatewayCandidates(_ peers: [Endpoint], in state: StateSnapshot) -> [GatewayCandidate] {
        peers.compactMap { e in
            guard let n = state.networks[e.networkID] else { return nil }
            return GatewayCandidate(endpointID: e.id, networkName: n.name, isInternal: n.isInternal, gateway: e.gateway,
                                    interfaceName: e.interfaceName, gateway6: e.gateway6)
        }
    }

    /// Makes `winner` the sandbox's default route (`ip route del default; ip route add default via
    /// GW dev IF`), as libnetwork's `updateGateway` (UnsetGateway, then SetGateway).
    /// With `ipv6` (some endpoint of the sandbox has IPv6) the IPv6 default route follows the same
    /// winner (UnsetGatewayIPv6, SetGatewayIPv6): via its `gateway6`, or none when it has none.
    /// `interfaceIndex`: the winner's ifindex when the caller has it (an attach just created the
    /// interface), else it is looked up by name.
    /// - Throws: `NetlinkError` from the route requests.
    static func installDefaultRoute(_ winner: GatewayCandidate, session inside: NetlinkSession, ipv6: Bool = false,
                                    interfaceIndex: Int32? = nil) throws {
        if ipv6 { try installDefaultRoute6(winner, session: inside, interfaceIndex: interfaceIndex) }
        guard let gateway = winner.gateway else { return }
        let current = try inside.routes().filter { $0.destination == nil && $0.destinationPrefixLength == 0 }
        let index = try interfaceIndex ?? inside.link(named: winner.interfaceName).index
        if current.count == 1, current.first?.gateway == .v4(gateway), current.first?.outputIndex == index { return }
        for r in current {
            _ = try? inside.deleteRoute(r)   // already gone is fine; a failure shows in the add below
        }
        try inside.addRoute(.defaultRoute(via: .v4(gateway), outputIndex: index), device: winner.interfaceName)
    }

    /// The IPv6 half of `installDefaultRoute`: the main table's `::/0` routes replaced by one via
    /// the winner's `gateway6` on its interface (none when it has none).
    private static func installDefaultRoute6(_ winner: GatewayCandidate, session inside: NetlinkSession, interfaceIndex: Int32?) throws {
        let current = try inside.routes(family: RTNL.AF_INET6).filter { $0.destination == nil && $0.destinationPrefixLength == 0 }
        let index = try interfaceIndex ?? inside.link(named: winner.interfaceName).index
        if let gateway6 = winner.gateway6, current.count == 1, current.first?.gateway == .v6(gateway6),
           current.first?.outputIndex == index { return }
        for r in current { _ = try? inside.deleteRoute(r) }
        guard let gateway6 = winner.gateway6 else { return }
        try inside.addRoute(Route(destination: nil, gateway: .v6(gateway6), outputIndex: index, family: RTNL.AF_INET6),
                            device: winner.interfaceName)
    }
}

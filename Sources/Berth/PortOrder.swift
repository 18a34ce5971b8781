import BerthFirewall

extension PortMapping {
    /// The order in which Docker 20.10 programs one endpoint's bindings (go-connections
    /// `nat.SortPortMap`, called by the daemon's `buildCreateEndpointOptions`): bindings sorted by
    /// larger host port first, then larger container port, tcp before udp; then grouped by
    /// container port (port and protocol), the groups in the order of their first binding.
    /// Observed by the oracle: `-p 7000:70 -p 9001:80 -p 8000:80` is programmed as 9001→80,
    /// 8000→80, 7000→70.
    /// - Parameter ports: the bindings in command-line order.
    /// - Returns: the same bindings in Docker's order.
    public static func dockerOrder(_ ports: [PortMapping]) -> [PortMapping] {
        let sorted = ports.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            if x.hostPort != y.hostPort { return x.hostPort > y.hostPort }
            if x.containerPort != y.containerPort { return x.containerPort > y.containerPort }
            if x.proto != y.proto { return x.proto == .tcp }
            return a.offset < b.offset
        }.map(\.element)
        var groups: [(key: String, members: [PortMapping])] = []
        for p in sorted {
            let key = "\(p.containerPort)/\(p.proto.rawValue)"
            if let i = groups.firstIndex(where: { $0.key == key }) { groups[i].members.append(p) } else { groups.append((key, [p])) }
        }
        return groups.flatMap(\.members)
    }
}

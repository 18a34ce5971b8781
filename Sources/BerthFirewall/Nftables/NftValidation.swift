@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// Input checks run before anything is sent; every failure is `FirewallError(.invalidArgument)`.
enum NftValidation {
    /// An interface name under Berth's one rule, `LinkName` (BerthNetlink/Wire/LinkName.swift):
    /// 1–15 bytes of `[A-Za-z0-9_.-]`, not starting with `-`, not `.`/`..`, so nftables matches it
    /// literally (no `*` wildcard) and it needs no quoting in chain names.
    /// - Throws: `FirewallError(.invalidArgument)`, no errno (the refusal is ours), with the rule's reason.
    static func interfaceName(_ name: String, operation: OperationName) throws(FirewallError) {
        if let reason = LinkName.problem(with: name) {
            throw FirewallError(.invalidArgument, operation: operation, object: name,
                                detail: "interface name \"\(name)\" \(reason)")
        }
    }

    /// A network or endpoint ID: 1–64 bytes of `[A-Za-z0-9_.-]` (it becomes a rule comment).
    static func identifier(_ id: String, what: String, operation: OperationName) throws(FirewallError) {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= 64, bytes.allSatisfy(isNameByte) else {
            throw FirewallError(.invalidArgument, operation: operation, object: id,
                                detail: "\(what) must be 1-64 characters of [A-Za-z0-9_.-]")
        }
    }

    /// The table name: 1–64 bytes of `[A-Za-z0-9_-]`.
    static func tableName(_ name: String, operation: OperationName) throws(FirewallError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 64, bytes.allSatisfy({ isNameByte($0) && $0 != UInt8(ascii: ".") }) else {
            throw FirewallError(.invalidArgument, operation: operation, object: name,
                                detail: "table name must be 1-64 characters of [A-Za-z0-9_-]")
        }
    }

    static func network(_ n: NetworkRules, operation: OperationName) throws(FirewallError) {
        try identifier(n.id, what: "network ID", operation: operation)
        try interfaceName(n.bridge, operation: operation)
        guard n.subnet.prefixLength >= 1, n.subnet.prefixLength <= 32, n.subnet.address == n.subnet.network else {
            throw FirewallError(.invalidArgument, operation: operation, object: n.bridge,
                                detail: "subnet \(n.subnet) must have a prefix of 1-32 and no host bits")
        }
        if let subnet6 = n.subnet6 {
            guard subnet6.prefixLength >= 1, subnet6.prefixLength <= 128, subnet6.address == subnet6.network else {
                throw FirewallError(.invalidArgument, operation: operation, object: n.bridge,
                                    detail: "IPv6 subnet \(subnet6) must have a prefix of 1-128 and no host bits")
            }
        }
    }

    static func endpoint(_ e: EndpointPorts, operation: OperationName) throws(FirewallError) {
        try identifier(e.endpointID, what: "endpoint ID", operation: operation)
        try identifier(e.networkID, what: "network ID", operation: operation)
        try interfaceName(e.bridge, operation: operation)
        guard e.address.value != 0, e.address.value != UInt32.max else {
            throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                detail: "endpoint address \(e.address) is not a unicast address")
        }
        if let address6 = e.address6, address6.value == 0 || address6.isMulticast || address6.value == 1 {
            throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                detail: "endpoint IPv6 address \(address6) is not a unicast address")
        }
        for p in e.ports {
            if let problem = p.problem { throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID, detail: problem) }
            if let hostIP6 = p.hostIP6, hostIP6.isMulticast {
                throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                    detail: "port mapping \(p.hostPort)/\(p.proto.rawValue): host address \(hostIP6) is a multicast address")
            }
        }
    }

    /// A whole state: each item valid, network IDs and bridges unique, endpoint IDs unique.
    static func state(_ s: FirewallState, operation: OperationName) throws(FirewallError) {
        var ids = Set<String>(), bridges = Set<String>(), endpoints = Set<String>()
        for n in s.networks {
            try network(n, operation: operation)
            guard ids.insert(n.id).inserted, bridges.insert(n.bridge).inserted else {
                throw FirewallError(.invalidArgument, operation: operation, object: n.id,
                                    detail: "network ID or bridge \(n.bridge) appears twice")
            }
        }
        let bridges6 = Set(s.networks.filter { $0.subnet6 != nil }.map(\.bridge))
        for e in s.endpoints {
            try endpoint(e, operation: operation)
            guard endpoints.insert(e.endpointID).inserted else {
                throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                    detail: "endpoint ID appears twice")
            }
            if let address6 = e.address6, bridges.contains(e.bridge), !bridges6.contains(e.bridge) {
                throw FirewallError(.invalidArgument, operation: operation, object: e.endpointID,
                                    detail: "endpoint has IPv6 address \(address6) but the network of bridge \(e.bridge) has no IPv6 subnet")
            }
        }
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// Input checks run before anything is applied; every failure is `FirewallError(.invalidArgument)`
/// with errno EINVAL. The rules are text fed to iptables-restore, so anything that could change
/// the meaning of a line (spaces, quotes, `!`, `#`, the `+` wildcard) is refused.
enum IptablesValidation {
    /// An interface name under Berth's one rule, `LinkName` (BerthNetlink/Wire/LinkName.swift):
    /// 1–15 bytes of `[A-Za-z0-9_.-]`, not starting with `-`, not `.`/`..`, so iptables matches
    /// it literally (no `+` wildcard) and it cannot change the meaning of an iptables-restore line.
    /// - Throws: `FirewallError(.invalidArgument)`, no errno (the refusal is ours), with the rule's reason.
    static func interfaceName(_ name: String, operation: OperationName, object: String) throws(FirewallError) {
        if let reason = LinkName.problem(with: name) {
            throw FirewallError(.invalidArgument, operation: operation, object: object,
                                detail: "interface name \"\(name)\" \(reason)")
        }
    }

    /// Bridge name, and a subnet of prefix length 1–32 (a /0 would read as "any address"); an
    /// IPv6 subnet of prefix length 1–128.
    static func network(_ network: NetworkRules, operation: OperationName) throws(FirewallError) {
        try interfaceName(network.bridge, operation: operation, object: network.bridge)
        if network.subnet.prefixLength < 1 || network.subnet.prefixLength > 32 {
            throw FirewallError(.invalidArgument, operation: operation, object: network.bridge,
                                detail: "subnet \(network.subnet): prefix length must be 1-32")
        }
        if let subnet6 = network.subnet6, subnet6.prefixLength < 1 {
            throw FirewallError(.invalidArgument, operation: operation, object: network.bridge,
                                detail: "IPv6 subnet \(subnet6): prefix length must be 1-128")
        }
    }

    /// Bridge name, a unicast endpoint address (not 0.0.0.0 / 255.255.255.255; IPv6 not `::`,
    /// `::1` or multicast), ports 1–65535.
    static func endpoint(_ endpoint: EndpointPorts, operation: OperationName) throws(FirewallError) {
        let object = endpoint.endpointID.isEmpty ? endpoint.bridge : endpoint.endpointID
        try interfaceName(endpoint.bridge, operation: operation, object: object)
        if endpoint.address.value == 0 || endpoint.address.value == UInt32.max {
            throw FirewallError(.invalidArgument, operation: operation, object: object,
                                detail: "endpoint address \(endpoint.address) is not a unicast address")
        }
        if let a6 = endpoint.address6, a6.value == 0 || a6.value == 1 || a6.isMulticast {
            throw FirewallError(.invalidArgument, operation: operation, object: object,
                                detail: "endpoint IPv6 address \(a6) is not a unicast address")
        }
        for port in endpoint.ports {
            if let problem = port.problem { throw FirewallError(.invalidArgument, operation: operation, object: object, detail: problem) }
        }
    }

    static func state(_ state: FirewallState, operation: OperationName) throws(FirewallError) {
        for network in state.networks { try self.network(network, operation: operation) }
        for endpoint in state.endpoints { try self.endpoint(endpoint, operation: operation) }
    }
}

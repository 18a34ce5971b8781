#if canImport(Glibc)
import Glibc
#endif

/// Input checks run before anything is applied; every failure is `FirewallError(.invalidArgument)`
/// with errno EINVAL. The rules are text fed to iptables-restore, so anything that could change
/// the meaning of a line (spaces, quotes, `!`, `#`, the `+` wildcard) is refused.
enum IptablesValidation {
    /// An interface name as the kernel accepts it and iptables matches it literally:
    /// 1–15 bytes of `[A-Za-z0-9_.-]`, not starting with `-`, not `.`/`..`.
    static func interfaceName(_ name: String, operation: String, object: String) throws(FirewallError) {
        let bytes = Array(name.utf8)
        func fail(_ why: String) -> FirewallError {
            FirewallError(.invalidArgument, errno: EINVAL, operation: operation, object: object,
                          detail: "interface name \"\(name)\": \(why)")
        }
        if bytes.isEmpty { throw fail("empty") }
        if bytes.count > 15 { throw fail("longer than 15 bytes") }
        if name == "." || name == ".." { throw fail("reserved name") }
        if bytes[0] == UInt8(ascii: "-") { throw fail("starts with '-'") }
        let ok = bytes.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
        }
        if !ok { throw fail("only letters, digits, '_', '.', '-' are allowed") }
    }

    /// Bridge name, and a subnet of prefix length 1–32 (a /0 would read as "any address").
    static func network(_ network: NetworkRules, operation: String) throws(FirewallError) {
        try interfaceName(network.bridge, operation: operation, object: network.bridge)
        if network.subnet.prefixLength < 1 || network.subnet.prefixLength > 32 {
            throw FirewallError(.invalidArgument, errno: EINVAL, operation: operation, object: network.bridge,
                                detail: "subnet \(network.subnet): prefix length must be 1-32")
        }
    }

    /// Bridge name, a unicast endpoint address (not 0.0.0.0 / 255.255.255.255), ports 1–65535.
    static func endpoint(_ endpoint: EndpointPorts, operation: String) throws(FirewallError) {
        let object = endpoint.endpointID.isEmpty ? endpoint.bridge : endpoint.endpointID
        try interfaceName(endpoint.bridge, operation: operation, object: object)
        if endpoint.address.value == 0 || endpoint.address.value == UInt32.max {
            throw FirewallError(.invalidArgument, errno: EINVAL, operation: operation, object: object,
                                detail: "endpoint address \(endpoint.address) is not a unicast address")
        }
        for port in endpoint.ports where port.hostPort == 0 || port.containerPort == 0 {
            throw FirewallError(.invalidArgument, errno: EINVAL, operation: operation, object: object,
                                detail: "port \(port.hostPort):\(port.containerPort)/\(port.proto.rawValue): ports must be 1-65535")
        }
    }

    static func state(_ state: FirewallState, operation: String) throws(FirewallError) {
        for network in state.networks { try self.network(network, operation: operation) }
        for endpoint in state.endpoints { try self.endpoint(endpoint, operation: operation) }
    }
}

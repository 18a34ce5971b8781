import BerthFirewall
import BerthNamespace
import BerthNetlink

/// The one error type of the façade: a closed code, the operation and object, and — when a lower
/// layer failed — that layer's typed error, kept whole (never flattened to a string).
///
/// `description` reads like `"create network test1: a network named test1 exists already"`.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    /// What went wrong (append only; the C ABI maps these to status codes).
    public enum Code: String, Sendable, Equatable, Codable {
        /// A network name outside Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, or empty.
        case invalidName
        /// Another network has that name.
        case duplicateName
        /// A bridge or interface name outside the one rule (`LinkName`): 1–15 bytes of `[A-Za-z0-9_.-]`,
        /// not starting with `-`, not `.`/`..` (what the kernel, iptables and nftables all take literally).
        case invalidInterfaceName
        /// A subnet, gateway, ip-range, address or MAC that does not parse, or a bad option value.
        case invalidArgument
        /// The gateway lies outside the subnet (or is its network/broadcast address).
        case gatewayOutsideSubnet
        /// The ip-range is not inside the subnet.
        case ipRangeOutsideSubnet
        /// The subnet overlaps another network's or an on-link route of the host.
        case subnetOverlap
        /// No free subnet is left in the default pools.
        case subnetsExhausted
        /// No such network (by name, ID or ID prefix).
        case networkNotFound
        /// No such endpoint.
        case endpointNotFound
        /// The sandbox path, name or pid does not exist.
        case sandboxNotFound
        /// The sandbox path exists but is not a network namespace.
        case notANetworkNamespace
        /// The interface name is already used inside the sandbox.
        case interfaceInUse
        /// The requested address is held by another endpoint (or is the gateway).
        case addressInUse
        /// The requested address is outside the subnet, or is its network or broadcast address.
        case addressOutsideSubnet
        /// No free address is left in the subnet (or ip-range).
        case addressesExhausted
        /// The network still has endpoints; detach them or pass `force`.
        case hasActiveEndpoints
        /// The default network `bridge` cannot be removed.
        case predefinedNetwork
        /// The caller lacks a capability or permission (CAP_NET_ADMIN, the state directory).
        case permissionDenied
        /// The state directory cannot be read or written, or holds a record that does not decode.
        case state
        /// A lower layer (netlink, firewall, namespace) failed; see `cause`.
        case system
        /// Several errors from one best-effort operation (detach, delete); see `errors`.
        case multiple
        /// The host port (protocol, host address) is already published by another endpoint
        /// (Docker: "port is already allocated").
        case portAllocated
        /// The state directory belongs to another firewall backend or host namespace.
        case stateConflict
    }

    /// The lower layer's own error, kept whole.
    public enum Cause: Sendable, CustomStringConvertible {
        case netlink(NetlinkError)
        case firewall(FirewallError)
        case namespace(NamespaceError)

        public var description: String {
            switch self {
            case .netlink(let e): e.description
            case .firewall(let e): e.description
            case .namespace(let e): e.description
            }
        }

        /// The errno carried by the lower error (0 when none).
        public var errno: Int32 {
            switch self {
            case .netlink(let e): e.errno
            case .firewall(let e): e.errno
            case .namespace(let e): e.errno
            }
        }
    }

    public let code: Code
    public let operation: OperationName
    public let object: String
    public let detail: String?
    public let cause: Cause?
    /// For `.multiple`: every error that occurred, in order.
    public let errors: [BerthError]

    public init(_ code: Code, operation: OperationName, object: String, detail: String? = nil, cause: Cause? = nil, errors: [BerthError] = []) {
        self.code = code
        self.operation = operation
        self.object = object
        self.detail = detail
        self.cause = cause
        self.errors = errors
    }

    /// The errno behind this error, from its cause (0 when none).
    public var errno: Int32 { cause?.errno ?? 0 }

    public var description: String {
        if code == .multiple {
            return "\(operation) \(object): " + errors.map(\.description).joined(separator: "; ")
        }
        if let detail { return "\(operation) \(object): \(detail)" }
        if let cause { return "\(operation) \(object): \(cause)" }
        return "\(operation) \(object): \(code.rawValue)"
    }

    static func wrap(_ error: any Error, operation: OperationName, object: String) -> BerthError {
        switch error {
        case let e as BerthError:
            return e
        case let e as NetlinkError:
            let code: Code = switch e.code {
            case .missingCapability, .permissionDenied: .permissionDenied
            case .invalidName: .invalidInterfaceName
            default: .system
            }
            return BerthError(code, operation: operation, object: object, cause: .netlink(e))
        case let e as FirewallError:
            let code: Code = switch e.code {
            case .missingCapability: .permissionDenied
            case .invalidArgument: .invalidArgument
            default: .system
            }
            return BerthError(code, operation: operation, object: object, cause: .firewall(e))
        case let e as NamespaceError:
            let code: Code = switch e.code {
            case .notFound: .sandboxNotFound
            case .alreadyExists: .duplicateName
            case .notANetworkNamespace: .notANetworkNamespace
            case .missingCapability, .permissionDenied: .permissionDenied
            case .invalidName: .invalidName
            default: .system
            }
            return BerthError(code, operation: operation, object: object, cause: .namespace(e))
        default:
            return BerthError(.system, operation: operation, object: object, detail: "\(error)")
        }
    }
}

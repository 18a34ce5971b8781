#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Firewall layer: a closed code, errno (0 when none), the operation
/// and object, and the text the backend tool or kernel gave.
///
/// `description` reads like `"add network rules br-1a2b3c4d5e6f: iptables-restore: line 3 failed"`.
public struct FirewallError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Bad input found before anything was applied (interface name, port, protocol, subnet).
        case invalidArgument
        /// The backend program (iptables-restore) is not installed or not runnable.
        case toolMissing
        /// The backend program or the kernel rejected the rules; nothing was applied.
        case rejected
        /// The caller lacks CAP_NET_ADMIN; `object` names it.
        case missingCapability
        /// The host namespace could not be entered.
        case namespace
        /// Any other system failure (spawn, pipe, netlink socket).
        case system
    }

    public let code: Code
    public let errno: Int32
    public let operation: String
    public let object: String
    public let detail: String?

    public init(_ code: Code, errno: Int32 = 0, operation: String, object: String, detail: String? = nil) {
        self.code = code
        self.errno = errno
        self.operation = operation
        self.object = object
        self.detail = detail
    }

    public var description: String {
        let text = detail ?? (errno != 0 ? String(cString: strerror(errno)) : code.rawValue)
        return "\(operation) \(object): \(text)"
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Firewall layer: a closed code, its `ErrorContext` (operation, object,
/// errno — nil when the failure is ours — and the text the backend tool or kernel gave), and —
/// when a lower layer failed — that layer's own error, kept whole in `cause`.
///
/// `description` reads like `"add network rules br-1a2b3c4d5e6f: iptables-restore: line 3 failed"`;
/// it is built from `detail` (or errno, or the code), never from `cause`.
public struct FirewallError: LayerError, Equatable {
    /// The lower layer's error behind a Firewall error.
    public enum Cause: Sendable, Equatable, CustomStringConvertible {
        /// A netlink exchange or socket (nftables), or a sysctl write, failed.
        case netlink(NetlinkError)
        /// The host namespace could not be entered.
        case namespace(NamespaceError)
        /// A backend program (iptables-save / iptables-restore) could not be run.
        case process(ProcessFailure)

        public var description: String {
            switch self {
            case .netlink(let e): e.description
            case .namespace(let e): e.description
            case .process(let e): e.description
            }
        }

        public static func == (a: Cause, b: Cause) -> Bool {
            switch (a, b) {
            case (.netlink(let x), .netlink(let y)): x == y
            case (.namespace(let x), .namespace(let y)): x == y
            case (.process(let x), .process(let y)): x == y
            default: false
            }
        }
    }

    public let code: Code
    public let context: ErrorContext
    /// The lower-layer error this one wraps (nil: the failure is the Firewall layer's own, or the
    /// backend program's exit status and text).
    public let cause: Cause?

    public init(_ code: Code, errno: Errno? = nil, operation: OperationName, object: String, detail: String? = nil,
                cause: Cause? = nil) {
        self.code = code
        self.context = ErrorContext(operation, object: object, errno: errno, detail: detail)
        self.cause = cause
    }
}

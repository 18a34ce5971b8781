@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// The one error type of the façade: a closed code, its `ErrorContext` (see `LayerError`), — when a
/// lower layer failed — that layer's typed error, kept whole (never flattened to a string), and
/// the failures of the rollback that followed, if any.
///
/// `description` reads like `"create network test1: a network named test1 exists already"`.
public struct BerthError: LayerError {
    /// What went wrong (append only; the C ABI maps these to status codes).
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

        /// The errno carried by the lower error (nil when none).
        public var errno: Errno? {
            switch self {
            case .netlink(let e): e.errno
            case .firewall(let e): e.errno
            case .namespace(let e): e.errno
            }
        }
    }

    public let code: Code
    /// Operation, object, detail, and the errno: the failing call's own (state files), else the
    /// cause's; nil when the failure is Berth's own.
    public let context: ErrorContext
    public let cause: Cause?
    /// For `.multiple`: every error that occurred, in order.
    public let errors: [BerthError]
    /// Undo steps that failed while a failed operation was rolled back (what may be left behind,
    /// for the next `reconcile()` to remove), in the order they ran; empty when rollback was clean.
    public let rollbackFailures: [BerthError]

    public init(_ code: Code, errno: Errno? = nil, operation: OperationName, object: String, detail: String? = nil,
                cause: Cause? = nil, errors: [BerthError] = [], rollbackFailures: [BerthError] = []) {
        self.code = code
        self.context = ErrorContext(operation, object: object, errno: errno ?? cause?.errno, detail: detail)
        self.cause = cause
        self.errors = errors
        self.rollbackFailures = rollbackFailures
    }

    /// This error with `failures` (of its rollback) appended to `rollbackFailures`.
    func addingRollbackFailures(_ failures: [BerthError]) -> BerthError {
        guard !failures.isEmpty else { return self }
        return BerthError(code, errno: errno, operation: operation, object: object, detail: detail, cause: cause,
                          errors: errors, rollbackFailures: rollbackFailures + failures)
    }

    /// `.multiple`: every error, joined with "; "; else `detail`, else the cause's description,
    /// else the code.
    public var reason: String {
        if code == .multiple { return errors.map(\.description).joined(separator: "; ") }
        return detail ?? cause?.description ?? code.rawValue
    }

    /// `"<operation> <object>: <reason>"`, then `"; rollback: <failure>; <failure>"` when undo
    /// steps failed, e.g. `"attach test1: add port rules …: injected; rollback: delete veth vethab12cd3: …"`.
    public var description: String {
        let main = "\(operation) \(object): \(reason)"
        guard !rollbackFailures.isEmpty else { return main }
        return main + "; rollback: " + rollbackFailures.map(\.description).joined(separator: "; ")
    }

    static func wrap(_ e: NetlinkError, operation: OperationName, object: String) -> BerthError {
        let code: Code = switch e.code {
        case .missingCapability, .permissionDenied: .permissionDenied
        case .invalidName: .invalidInterfaceName
        default: .system
        }
        return BerthError(code, operation: operation, object: object, cause: .netlink(e))
    }

    static func wrap(_ e: FirewallError, operation: OperationName, object: String) -> BerthError {
        let code: Code = switch e.code {
        case .missingCapability: .permissionDenied
        case .invalidArgument: .invalidArgument
        default: .system
        }
        return BerthError(code, operation: operation, object: object, cause: .firewall(e))
    }

    static func wrap(_ e: NamespaceError, operation: OperationName, object: String) -> BerthError {
        let code: Code = switch e.code {
        case .notFound: .sandboxNotFound
        case .alreadyExists: .duplicateName
        case .notANetworkNamespace: .notANetworkNamespace
        case .missingCapability, .permissionDenied: .permissionDenied
        case .invalidName: .invalidName
        case .tapBusy: .tapBusy
        case .tapFlagMismatch: .tapFlagMismatch
        case .tunUnavailable: .tunUnavailable
        default: .system
        }
        return BerthError(code, operation: operation, object: object, cause: .namespace(e))
    }

    /// The façade error for a failure of the façade's untyped internals: a `BerthError` stays as
    /// it is, a lower layer's error is kept whole as the cause, a rolled-back failure carries its
    /// rollback failures. Only a truly foreign error (none of Berth's types) is flattened to text.
    static func wrap(_ error: any Error, operation: OperationName, object: String) -> BerthError {
        switch error {
        case let e as BerthError: e
        case let e as NetlinkError: wrap(e, operation: operation, object: object)
        case let e as FirewallError: wrap(e, operation: operation, object: object)
        case let e as NamespaceError: wrap(e, operation: operation, object: object)
        case let e as RolledBack:
            wrap(e.error, operation: operation, object: object).addingRollbackFailures(e.failures)
        default: BerthError(.system, operation: operation, object: object, detail: "\(error)")
        }
    }
}

/// What every Berth error says about a failure, whatever the layer: the operation and the object
/// it was applied to, the errno of the failing system call (nil when the failure is Berth's own),
/// and Berth's own explanation (nil: the errno's text speaks for it).
public struct ErrorContext: Sendable, Equatable {
    /// The operation that failed, e.g. `.createBridge`.
    public var operation: OperationName
    /// The object the operation was applied to, e.g. `"br-1a2b3c4d5e6f"` or a path.
    public var object: String
    /// The errno of the failing call, captured right after it; nil when the failure is ours.
    public var errno: Errno?
    /// Extra text; when nil the description uses the errno's text, else the code.
    public var detail: String?

    public init(_ operation: OperationName, object: String, errno: Errno? = nil, detail: String? = nil) {
        self.operation = operation
        self.object = object
        self.errno = errno
        self.detail = detail
    }
}

/// The shape shared by the error types of every layer (`NamespaceError`, `NetlinkError`,
/// `FirewallError`, `BerthError`): a closed `code` and an `ErrorContext`, and one description
/// format, `"<operation> <object>: <reason>"`, e.g. `"create bridge br-1a2b3c4d5e6f: File exists"`.
public protocol LayerError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: RawRepresentable where Code.RawValue == String
    /// What kind of failure this is (append-only per layer).
    var code: Code { get }
    /// Operation, object, errno and detail.
    var context: ErrorContext { get }
    /// What went wrong, without operation and object. Default: `detail`, else the errno's text,
    /// else the code's name.
    var reason: String { get }
}

extension LayerError {
    /// The operation that failed.
    public var operation: OperationName { context.operation }
    /// The object the operation was applied to.
    public var object: String { context.object }
    /// The errno of the failing system call; nil when the failure is Berth's own.
    public var errno: Errno? { context.errno }
    /// Berth's own explanation, when there is one.
    public var detail: String? { context.detail }

    public var reason: String { detail ?? errno?.description ?? code.rawValue }

    public var description: String { "\(operation) \(object): \(reason)" }
}

#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Namespace layer: a closed code and its `ErrorContext` (operation,
/// object, the errno behind it — nil when the failure is ours — and detail); see `LayerError`.
///
/// `description` reads like `"open netns /run/netns/x: No such file or directory"`.
public struct NamespaceError: LayerError, Equatable {
    public let code: Code
    public let context: ErrorContext

    public init(_ code: Code, errno: Errno? = nil, operation: OperationName, object: String, detail: String? = nil) {
        self.code = code
        self.context = ErrorContext(operation, object: object, errno: errno, detail: detail)
    }

    /// Builds an error from an errno, choosing the code that errno implies.
    public static func fromErrno(_ err: Errno, operation: OperationName, object: String) -> NamespaceError {
        let code: Code
        switch err.rawValue {
        case ENOENT, ESRCH: code = .notFound
        case EEXIST: code = .alreadyExists
        case EPERM, EACCES: code = .permissionDenied
        default: code = .system
        }
        return NamespaceError(code, errno: err, operation: operation, object: object)
    }
}

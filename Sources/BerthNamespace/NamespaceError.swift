#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Namespace layer: a closed code, the errno behind it (0 when none),
/// the operation that failed and the object it was applied to.
///
/// `description` reads like `"open netns /run/netns/x: No such file or directory"`.
public struct NamespaceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; stable across releases (append only).
    public enum Code: String, Sendable, Equatable {
        /// The namespace path, name or pid does not exist (ENOENT, ESRCH).
        case notFound
        /// The path exists but is not a network namespace (not on nsfs, or another CLONE_NEW* type).
        case notANetworkNamespace
        /// A namespace name that `ip netns` would refuse (empty, `/`, `.` or `..`, over NAME_MAX).
        case invalidName
        /// A named namespace with that name exists already (EEXIST).
        case alreadyExists
        /// The kernel refused for lack of privilege (EPERM, EACCES).
        case permissionDenied
        /// The calling thread lacks a capability; `object` names it (e.g. `CAP_NET_ADMIN`).
        case missingCapability
        /// The namespace thread could not be started or restored.
        case threadFailure
        /// Any other system call failure; see `errno`.
        case system
    }

    public let code: Code
    /// The errno reported by the failing system call, or 0.
    public let errno: Int32
    /// The operation in words, e.g. `"create netns"`.
    public let operation: String
    /// The object the operation was applied to, e.g. a path or a name.
    public let object: String
    /// Extra text; when nil the description uses `strerror(errno)`.
    public let detail: String?

    public init(_ code: Code, errno: Int32 = 0, operation: String, object: String, detail: String? = nil) {
        self.code = code
        self.errno = errno
        self.operation = operation
        self.object = object
        self.detail = detail
    }

    /// Builds an error from an errno, choosing the code that errno implies.
    public static func fromErrno(_ err: Int32, operation: String, object: String) -> NamespaceError {
        let code: Code
        switch err {
        case ENOENT, ESRCH: code = .notFound
        case EEXIST: code = .alreadyExists
        case EPERM, EACCES: code = .permissionDenied
        default: code = .system
        }
        return NamespaceError(code, errno: err, operation: operation, object: object)
    }

    public var description: String {
        let text = detail ?? (errno != 0 ? String(cString: strerror(errno)) : code.rawValue)
        return "\(operation) \(object): \(text)"
    }
}

@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Netlink layer: a closed code, its `ErrorContext` (operation, object,
/// errno — nil when the failure is ours — detail; see `LayerError`), and the kernel's extended-ack
/// text when it sent one.
///
/// `description` reads like `"create bridge br-1a2b3c4d5e6f: File exists"`.
public struct NetlinkError: LayerError, Equatable {
    public let code: Code
    public let context: ErrorContext
    /// Text sent by the kernel in NLMSGERR_ATTR_MSG (extended ack), when present.
    public let kernelMessage: String?
    /// True when the kernel itself answered the request with this errno (an NLMSG_ERROR reply, or
    /// an NLMSG_DONE carrying an error): the request was understood and refused. False for
    /// failures of the socket, the namespace, or the reply (time-out, malformed, interrupted).
    public let isRefusal: Bool

    public init(_ code: Code, errno: Errno? = nil, operation: OperationName, object: String,
                kernelMessage: String? = nil, detail: String? = nil, isRefusal: Bool = false) {
        self.code = code
        self.context = ErrorContext(operation, object: object, errno: errno, detail: detail)
        self.kernelMessage = kernelMessage
        self.isRefusal = isRefusal
    }

    /// Maps a kernel errno to a code.
    public static func code(forErrno err: Errno) -> Code {
        switch err.rawValue {
        case EEXIST: .exists
        case ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL: .notFound
        case EPERM, EACCES: .permissionDenied
        case EINVAL, ERANGE, EAFNOSUPPORT, EOPNOTSUPP: .invalidArgument
        case EBUSY: .busy
        case EAGAIN: .timeout
        default: .kernel
        }
    }

    /// An error from a system call's errno (read with `Errno.current` right after the call), with
    /// the extended-ack text if any.
    public static func kernel(_ err: Errno, operation: OperationName, object: String, message: String? = nil) -> NetlinkError {
        NetlinkError(code(forErrno: err), errno: err, operation: operation, object: object, kernelMessage: message)
    }

    /// The kernel's answer to a request: errno `err` from NLMSG_ERROR or NLMSG_DONE, with the
    /// extended-ack text if any; `isRefusal` is set.
    public static func refusal(_ err: Errno, operation: OperationName, object: String, message: String? = nil) -> NetlinkError {
        NetlinkError(code(forErrno: err), errno: err, operation: operation, object: object,
                     kernelMessage: message, isRefusal: true)
    }

    /// Wraps a namespace-layer failure without flattening it.
    public static func wrapping(_ error: NamespaceError, operation: OperationName, object: String) -> NetlinkError {
        let code: Code = switch error.code {
        case .missingCapability: .missingCapability
        case .permissionDenied: .permissionDenied
        case .notFound: .notFound
        default: .namespace
        }
        return NetlinkError(code, errno: error.errno, operation: operation, object: object, detail: error.description)
    }

    /// What went wrong, without the operation and object: `detail`, else the errno's text, else
    /// the code; then the kernel's extended-ack text in parentheses, e.g.
    /// `"File exists (Link already exists)"`.
    public var reason: String {
        let text = detail ?? errno?.description ?? code.rawValue
        guard let kernelMessage, !kernelMessage.isEmpty else { return text }
        return text + " (\(kernelMessage))"
    }
}

internal import CCap
#if canImport(Glibc)
import Glibc
#endif

/// Capability checks done up front with libcap, so an unprivileged caller gets a clear error that
/// names the missing capability instead of a bare EPERM halfway through an operation.
@_spi(BerthInternal) public enum Capabilities {
    /// True when the calling thread has CAP_NET_ADMIN in its effective set (capabilities(7)).
    public static func hasNetAdmin() -> Bool {
        guard let caps = cap_get_proc() else { return false }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var value = CAP_CLEAR
        guard cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &value) == 0 else { return false }
        return value == CAP_SET
    }

    /// Throws `NamespaceError.Code.missingCapability` (object `CAP_NET_ADMIN`) when the calling
    /// thread lacks CAP_NET_ADMIN.
    /// - Parameter operation: the operation that needs it, used in the error text.
    public static func requireNetAdmin(for operation: OperationName) throws(NamespaceError) {
        if !hasNetAdmin() {
            throw NamespaceError(.missingCapability, operation: operation, object: "CAP_NET_ADMIN",
                                 detail: "the calling thread lacks CAP_NET_ADMIN (see capabilities(7))")
        }
    }

    /// Drops CAP_NET_ADMIN from the calling thread's effective set (capabilities are per thread on
    /// Linux). Used by tests and by callers that want to run unprivileged code on a thread.
    /// - Returns: false when libcap could not apply the change.
    @discardableResult
    public static func dropNetAdminOnCurrentThread() -> Bool {
        guard let caps = cap_get_proc() else { return false }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var list: [cap_value_t] = [CAP_NET_ADMIN]
        guard cap_set_flag(caps, CAP_EFFECTIVE, 1, &list, CAP_CLEAR) == 0 else { return false }
        return cap_set_proc(caps) == 0
    }
}

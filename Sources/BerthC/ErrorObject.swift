@_spi(BerthInternal) import BerthNamespace
// What a `berth_error *` (include/berth.h) points to.

import CBerth

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The object behind a `berth_error *`: immutable, built from one `CallError`, its strings
/// malloc'ed once and freed with it (berth_error_free()). Every accessor of berth.h reads one
/// field; none allocates.
final class ErrorBox: @unchecked Sendable {
    let status: berth_status
    let errnoValue: Int32
    // Owned C strings (nil only when malloc failed; accessors fall back to "").
    let operation: UnsafeMutablePointer<CChar>?
    let object: UnsafeMutablePointer<CChar>?
    let message: UnsafeMutablePointer<CChar>?

    init(_ failure: CallError) {
        status = failure.status
        errnoValue = failure.errno
        operation = strdup(failure.operation.name)
        object = strdup(failure.object)
        message = strdup(failure.message)
    }

    deinit {
        free(operation)
        free(object)
        free(message)
    }

    /// The box behind a handle, without taking ownership; nil for NULL.
    static func borrow(_ handle: OpaquePointer?) -> ErrorBox? {
        guard let handle else { return nil }
        return Unmanaged<ErrorBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// A new retained handle for `failure` (released by berth_error_free()).
    static func handle(_ failure: CallError) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(ErrorBox(failure)).toOpaque())
    }
}

@_spi(BerthInternal) import BerthNamespace
// A failed C call: what its status and its `berth_error` report, and the one place that turns a
// Swift failure into them.

import Berth
import CBerth

/// Everything a failed call reports through its status and `berth_error` (the fields of the
/// error accessors of berth.h).
struct CallError: Error {
    /// One of `enum berth_status_code`.
    var status: berth_status
    /// The lower layer's errno; 0 when none.
    var errno: Int32
    var operation: OperationName
    var object: String
    /// "<operation> <object>: <detail>" ("<operation>: <detail>" without an object).
    var message: String

    /// A façade error: its code's status, its errno, operation, object and description.
    init(_ error: BerthError) {
        status = error.code.cStatus
        errno = error.errno.code
        operation = error.operation
        object = error.object
        message = error.description
    }

    init(status: berth_status_code, operation: OperationName, object: String, detail: String) {
        self.status = statusCode(status)
        errno = 0
        self.operation = operation
        self.object = object
        message = object.isEmpty ? "\(operation): \(detail)" : "\(operation) \(object): \(detail)"
    }

    /// BERTH_ERR_INVALID_ARGUMENT: a bad argument of the caller's.
    static func invalid(_ operation: OperationName, _ object: String, _ detail: String) -> CallError {
        CallError(status: .BERTH_ERR_INVALID_ARGUMENT, operation: operation, object: object, detail: detail)
    }

    /// BERTH_ERR_INTERNAL: a failure inside the library.
    static func `internal`(_ operation: OperationName, _ object: String, _ detail: String) -> CallError {
        CallError(status: .BERTH_ERR_INTERNAL, operation: operation, object: object, detail: detail)
    }
}

/// Runs one C call: clears `*outError`, runs `body`, and turns a failure into its status and (when
/// `outError` is given) a new error object. Returns BERTH_OK on success.
func perform(_ outError: UnsafeMutablePointer<OpaquePointer?>?, _ body: () throws(CallError) -> Void) -> berth_status {
    outError?.pointee = nil
    do {
        try body()
        return statusCode(.BERTH_OK)
    } catch {
        if let outError { outError.pointee = ErrorBox.handle(error) }
        return error.status
    }
}

/// Calls the façade, converting its error.
func api<T>(_ body: () throws(BerthError) -> T) throws(CallError) -> T {
    do { return try body() } catch { throw CallError(error) }
}

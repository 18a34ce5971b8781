@_spi(BerthInternal) import BerthNamespace
// The arguments of the C calls (include/berth.h "Conventions"): C strings and handles in.

import Berth

/// A required C string argument: non-NULL, valid UTF-8.
/// - Throws: BERTH_ERR_INVALID_ARGUMENT naming `name` ("name is NULL", "name is not valid UTF-8").
func requiredString(_ pointer: UnsafePointer<CChar>?, _ name: String, _ operation: OperationName) throws(CallError) -> String {
    guard let pointer else { throw CallError.invalid(operation, "", "\(name) is NULL") }
    guard let text = String(validatingCString: pointer) else { throw CallError.invalid(operation, "", "\(name) is not valid UTF-8") }
    return text
}

/// An optional C string argument: NULL = nil; otherwise valid UTF-8.
/// - Throws: BERTH_ERR_INVALID_ARGUMENT for invalid UTF-8.
func optionalString(_ pointer: UnsafePointer<CChar>?, _ name: String, _ operation: OperationName) throws(CallError) -> String? {
    guard let pointer else { return nil }
    guard let text = String(validatingCString: pointer) else { throw CallError.invalid(operation, "", "\(name) is not valid UTF-8") }
    return text
}

/// A required controller handle.
/// - Throws: BERTH_ERR_INVALID_ARGUMENT for NULL.
func requiredController(_ handle: OpaquePointer?, _ operation: OperationName) throws(CallError) -> NetworkController {
    guard let box = ControllerBox.borrow(handle) else { throw CallError.invalid(operation, "", "controller is NULL") }
    return box.controller
}

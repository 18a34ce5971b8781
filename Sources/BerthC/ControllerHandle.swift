// What a `berth_controller *` (include/berth.h) points to.

import Berth

/// The object behind a `berth_controller *`: retained by berth_controller_open(), released by
/// berth_controller_close(). The controller serializes its own calls, so the box is Sendable.
final class ControllerBox: Sendable {
    let controller: NetworkController
    init(_ controller: NetworkController) { self.controller = controller }

    /// The box behind a handle, without taking ownership; nil for NULL.
    static func borrow(_ handle: OpaquePointer?) -> ControllerBox? {
        guard let handle else { return nil }
        return Unmanaged<ControllerBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }
}

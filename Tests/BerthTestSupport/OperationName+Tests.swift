@_spi(BerthInternal) import BerthNamespace

/// The operation name tests give calls whose error text they do not check.
extension OperationName {
    package static let test = OperationName("t")
}

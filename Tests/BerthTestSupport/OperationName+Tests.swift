import BerthNamespace

/// The operation name tests give calls whose error text they do not check.
extension OperationName {
    public static let test = OperationName("t")
}

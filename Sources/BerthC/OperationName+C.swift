import BerthNamespace

/// The operations of the C layer (the words errors show before the object).
extension OperationName {
    static let listNetworks = OperationName("list networks")
}

@_spi(BerthInternal) import BerthNamespace

/// The operations of the CLI layer (the words errors show before the object).
extension OperationName {
    static let demo = OperationName("demo")
    /// Parsing the value of a command-line option, e.g. `parse -o`.
    static func parse(_ flag: String) -> OperationName { OperationName("parse \(flag)") }
    static let run = OperationName("run")
}

import BerthNamespace

/// The operations of the CLI layer (the words errors show before the object).
extension OperationName {
    static let demo = OperationName("demo")
    static let parsePublish = OperationName("parse --publish")
    static let run = OperationName("run")
}

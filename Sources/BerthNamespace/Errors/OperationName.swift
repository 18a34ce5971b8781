/// The name of an operation that can fail, as errors show it: `"create bridge"`, `"open netns"`.
///
/// Every layer declares the operations it performs as static constants, in one file per layer
/// (`OperationName+Namespace.swift`, `+Netlink`, `+Firewall`, `+Berth`), and every error and throw
/// site names its operation with one of them: `NamespaceError(…, operation: .openNetns, …)`.
/// The `description` is the text users see, unchanged: `"open netns /run/netns/x: No such file…"`.
public struct OperationName: Hashable, Sendable, CustomStringConvertible {
    /// The words shown to users, e.g. `"create bridge"`.
    public let name: String

    /// An operation named `name` (lowercase words, no object). Layers declare theirs as constants.
    public init(_ name: String) { self.name = name }

    public var description: String { name }
}

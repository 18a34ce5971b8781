@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthFirewall

/// The intent journal (design notes, "Ownership"): before the first kernel step of an operation
/// that creates something, a record of everything it may create is written and fsync'd
/// (`<state>/intents/<id>.json`); it is removed once the operation's own record is written. An
/// intent found by the next open (always under the exclusive lock, so its writer is dead) is
/// resolved: when the operation's record exists the intent is dropped, else everything it names
/// is removed. So a kill between any two steps leaves nothing that neither a record nor an
/// intent explains.
struct Intent: Codable, Sendable, Equatable {
    /// 16 hex: the file name.
    var id: String
    /// `create network`, `set up host`, `attach`.
    var operation: String
    /// The network being created (its bridge, its rules).
    var network: Network?
    /// Attach: the endpoint about to be recorded, its network, its bridge.
    var endpointID: String?
    var networkID: String?
    var bridge: String?
    /// Attach: every host-end name the operation may give the veth.
    var veths: [String] = []
    /// Attach `--create`: the namespace name under /run/netns being created.
    var namespace: String?
    /// Attach `-p`: the port rules about to be added.
    var ports: EndpointPorts?
}

@_spi(BerthInternal) import BerthNamespace
/// What one reconciliation (`reconcile()`, `gc(validEndpoints:dryRun:)`) removed and repaired.
/// Encodes as `{"dryRun": Bool, "removed": [{"kind", "name", "reason"}], "repaired": [...]}`.
public struct GCReport: Sendable, Equatable, Codable {
    /// One object.
    public struct Item: Sendable, Equatable, Codable, CustomStringConvertible {
        /// `intent`, `endpoint`, `bridge`, `veth`, `netns`, `rule`.
        public var kind: String
        /// The object: an ID, a link or namespace name, a rule line.
        public var name: String
        /// Why: which record is missing, which owner is gone.
        public var reason: String

        public init(kind: String, name: String, reason: String) {
            self.kind = kind
            self.name = name
            self.reason = reason
        }

        public var description: String { "\(kind) \(name): \(reason)" }
    }

    /// True when nothing was changed (only reported).
    public var dryRun: Bool
    /// What no record explained, removed (or removable, with `dryRun`).
    public var removed: [Item] = []
    /// What a record says must exist and was put back (bridges, ports on bridges).
    public var repaired: [Item] = []

    public init(dryRun: Bool, removed: [Item] = [], repaired: [Item] = []) {
        self.dryRun = dryRun
        self.removed = removed
        self.repaired = repaired
    }
}

/// How a reconciliation runs.
struct ReconcileOptions {
    /// The label of crash points and errors (`reconcile`, `gc`).
    var operation: OperationName
    /// CNI GC: endpoints not listed are released; nil keeps every recorded endpoint.
    var validEndpoints: Set<String>? = nil
    /// Report only.
    var dryRun = false
    /// The firewall is still the verified one (`NetworkController.firewallStillVerified`): its
    /// step is skipped when no earlier step changed anything.
    var trustFirewall = false
}

/// What Berth's table holds right now, read with netlink dumps (NFT_MSG_GETTABLE/GETCHAIN/GETSET/
/// GETSETELEM/GETRULE) at the start of each operation, so every operation is computed against
/// the kernel's truth, also after someone flushed or edited the table.
struct NftSnapshot: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        var chain: String
        var handle: UInt64
        /// The rule comment (our owner tag), nil when the rule has none.
        var owner: String?
        /// The decoded expressions; nil when the rule uses an expression Berth never writes.
        var exprs: [NftExpr]?
    }

    var tableExists = false
    var chains: Set<String> = []
    var sets: Set<String> = []
    /// Set name → element key (interface name) → jump target (nil for a plain set element).
    var elements: [String: [String: String?]] = [:]
    /// Every rule, chain by chain in kernel order.
    var rules: [Rule] = []

    static let empty = NftSnapshot()
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

@_spi(BerthInternal) extension NftablesBackend {
    /// The generation read on the backend's own NETLINK_NETFILTER socket.
    public func rulesetGeneration() throws(FirewallError) -> UInt32? {
        var id: UInt32 = 0
        try withChannel(.readRulesetGeneration) { (channel: NftChannel) throws(FirewallError) in
            id = try channel.generation(operation: .readRulesetGeneration)
        }
        return id
    }
}

@_spi(BerthInternal) extension IptablesBackend {
    /// iptables-nft: the generation of the nf_tables ruleset its tables live in (a
    /// NETLINK_NETFILTER socket opened in `host` for the one query); iptables-legacy: nil.
    public func rulesetGeneration() throws(FirewallError) -> UInt32? {
        guard variant == .nft else { return nil }
        let op = OperationName.readRulesetGeneration
        return try NftChannel.open(in: host, object: "nf_tables generation", operation: op).generation(operation: op)
    }
}

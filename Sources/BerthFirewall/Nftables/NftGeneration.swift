@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
internal import CNftnl
internal import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// The nf_tables ruleset generation of a network namespace (`NFT_MSG_GETGEN` → `NFTA_GEN_ID`,
/// linux/netfilter/nf_tables.h): a per-namespace counter the kernel increments with every
/// committed nf_tables transaction — nft's, iptables-nft's, Berth's. Two equal readings mean no
/// rule, chain, set or table of any nf_tables program changed in between; nft itself uses the
/// number the same way to detect a ruleset that changed under it (`mnl_genid_get`).
extension NftChannel {
    /// One GETGEN round trip.
    /// - Returns: the generation ID (a 32-bit counter that wraps).
    /// - Throws: `FirewallError` `.system` (socket or malformed reply), `.rejected` (the kernel
    ///   refused: no nf_tables support), `.missingCapability`.
    func generation(operation: OperationName) throws(FirewallError) -> UInt32 {
        let request = NftMessageEncoder.message { buf in
            // AF_UNSPEC: the generation is the namespace's, not a family's.
            nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETGEN.rawValue), UInt16(AF_UNSPEC), UInt16(NLM_F_ACK), 0)
        }
        let replies = try query(encoded: [request], operation: operation)
        guard let reply = replies.first else {
            throw FirewallError(.system, operation: operation, object: "nf_tables generation", detail: "no reply to NFT_MSG_GETGEN")
        }
        if let error = reply.error {
            throw FirewallError(.rejected, errno: error.errno, operation: operation, object: "nf_tables generation",
                                detail: error.kernelMessage ?? error.reason, cause: .netlink(error))
        }
        let newgen = UInt16((NFNL_SUBSYS_NFTABLES << 8) | Int32(NFT_MSG_NEWGEN.rawValue))
        for message in reply.messages where message.type == newgen {
            var id: UInt32?
            message.bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, let gen = nftnl_gen_alloc() else { return }
                defer { nftnl_gen_free(gen) }
                let header = base.assumingMemoryBound(to: nlmsghdr.self)
                if nftnl_gen_nlmsg_parse(header, gen) >= 0, nftnl_gen_is_set(gen, UInt16(NFTNL_GEN_ID)) {
                    id = nftnl_gen_get_u32(gen, UInt16(NFTNL_GEN_ID))
                }
            }
            if let id { return id }
        }
        throw FirewallError(.system, operation: operation, object: "nf_tables generation", detail: "NFT_MSG_NEWGEN without NFTA_GEN_ID")
    }
}

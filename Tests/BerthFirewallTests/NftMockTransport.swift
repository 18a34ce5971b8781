@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

import BerthTestSupport

/// The scripted transport of the nftables channel tests: each reply is built from the sequence
/// numbers of the last datagram sent (BATCH_BEGIN, the commands, END).
typealias NftMockTransport = ScriptedTransport<[UInt32]>

extension ScriptedTransport where Context == [UInt32] {
    convenience init(portID: UInt32 = 777) {
        self.init(portID: portID) { last in
            guard let last else { return [] }
            return ((try? NetlinkParser.messages(in: last, operation: OperationName("mock"), object: "mock")) ?? []).map(\.sequence)
        }
    }
}

/// Kernel-like nfnetlink replies.
enum NftReply {
    static func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, port: UInt32 = 777, payload: [UInt8]) -> [UInt8] {
        KernelReply.message(type: type, flags: flags, seq: seq, port: port, payload: payload)
    }

    /// NLMSG_ERROR with `errno` (0: ACK), the capped original header and the ext-ack text.
    static func ack(seq: UInt32, port: UInt32 = 777, errno: Int32 = 0, extAck: String? = nil) -> [UInt8] {
        KernelReply.ack(seq: seq, port: port, errno: errno, extAck: extAck,
                        original: NetlinkMessageBuilder(type: 0x0a00, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK))
    }

    static func done(seq: UInt32, port: UInt32 = 777, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        KernelReply.done(seq: seq, port: port, flags: flags)
    }

    /// An NFT_MSG_NEWTABLE object: nfgenmsg (AF_INET, v0, res_id 0) and NFTA_TABLE_NAME.
    static func table(_ name: String, seq: UInt32, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: newTable, flags: flags)
        b.append(UInt8(2)); b.append(UInt8(0)); b.append(UInt16(0))
        b.attribute(1, string: name)
        return b.finish(sequence: seq, portID: 777)
    }

    /// (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE.
    static let newTable: UInt16 = 0x0a00
}

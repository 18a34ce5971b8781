@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// A scripted NETLINK_NETFILTER transport for the nftables channel: records every datagram
/// sent and every buffer reservation, and answers each receive with the next scripted datagram,
/// built from the sequence numbers of the last datagram sent (BATCH_BEGIN, the commands, END).
final class NftMockTransport: NetlinkTransport, @unchecked Sendable {
    let portID: UInt32
    private(set) var sent: [[UInt8]] = []
    private(set) var reserved: [(receive: Int, send: Int)] = []
    /// Each entry builds one datagram from the sequence numbers of the last request.
    var replies: [([UInt32]) -> [UInt8]] = []
    /// The nl_pid the datagrams come from (0: the kernel).
    var senderPort: UInt32 = 0

    init(portID: UInt32 = 777) { self.portID = portID }

    func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError) {
        sent.append(bytes)
    }

    func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram {
        guard !replies.isEmpty else { throw NetlinkError(.timeout, errno: 11, operation: operation, object: object) }
        return NetlinkDatagram(replies.removeFirst()(lastSequences), senderPort: senderPort)
    }

    func reserveBuffers(receiveBytes: Int, sendBytes: Int) {
        reserved.append((receiveBytes, sendBytes))
    }

    /// The messages of the last datagram sent.
    var lastMessages: [NetlinkMessage] {
        guard let last = sent.last else { return [] }
        return (try? NetlinkParser.messages(in: last, operation: OperationName("mock"), object: "mock")) ?? []
    }

    var lastSequences: [UInt32] { lastMessages.map(\.sequence) }
}

/// Kernel-like nfnetlink replies.
enum NftReply {
    static func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, port: UInt32 = 777, payload: [UInt8]) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: type, flags: flags)
        b.appendAligned(payload)
        return b.finish(sequence: seq, portID: port)
    }

    /// NLMSG_ERROR with `errno` (0: ACK), the capped original header and the ext-ack text.
    static func ack(seq: UInt32, port: UInt32 = 777, errno: Int32 = 0, extAck: String? = nil) -> [UInt8] {
        var payload = withUnsafeBytes(of: -errno) { Array($0) }
        payload += NetlinkMessageBuilder(type: 0x0a00, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK).finish(sequence: seq, portID: port)
        var flags = RTNL.NLM_F_CAPPED
        if let extAck {
            flags |= RTNL.NLM_F_ACK_TLVS
            var tlv = NetlinkMessageBuilder(type: 0, flags: 0)
            tlv.attribute(RTNL.NLMSGERR_ATTR_MSG, string: extAck)
            payload += tlv.bytes.dropFirst(NetlinkMessageBuilder.headerLength)
        }
        return message(type: RTNL.NLMSG_ERROR, flags: flags, seq: seq, port: port, payload: payload)
    }

    static func done(seq: UInt32, port: UInt32 = 777, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        message(type: RTNL.NLMSG_DONE, flags: flags, seq: seq, port: port, payload: [0, 0, 0, 0])
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

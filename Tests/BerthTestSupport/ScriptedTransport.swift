@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// A scripted netlink transport for unit tests of the engine and its users (rtnetlink sessions,
/// the nftables channel): records every datagram sent and every buffer reservation, and answers
/// each receive with the next scripted datagram, built from what `context` reads out of the last
/// datagram sent (its first sequence number for rtnetlink, all of them for an nfnetlink batch).
/// An empty script answers like a socket time-out (EAGAIN).
package final class ScriptedTransport<Context>: NetlinkTransport, @unchecked Sendable {
    package let portID: UInt32
    package private(set) var sent: [[UInt8]] = []
    /// Every `reserveBuffers` call: (receive bytes, send bytes).
    package private(set) var reserved: [(receive: Int, send: Int)] = []
    /// Each entry builds one datagram from the context of the last datagram sent.
    package var replies: [(Context) -> [UInt8]] = []
    /// The nl_pid the datagrams come from (0: the kernel).
    package var senderPort: UInt32 = 0
    private let context: ([UInt8]?) -> Context

    package init(portID: UInt32, context: @escaping ([UInt8]?) -> Context) {
        self.portID = portID
        self.context = context
    }

    package func reserveBuffers(receiveBytes: Int, sendBytes: Int) {
        reserved.append((receiveBytes, sendBytes))
    }

    package func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError) {
        sent.append(bytes)
    }

    package func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram {
        guard !replies.isEmpty else {
            throw NetlinkError(.timeout, errno: Errno(rawValue: 11), operation: operation, object: object)
        }
        return NetlinkDatagram(replies.removeFirst()(context(sent.last)), senderPort: senderPort)
    }

    /// The messages of the last datagram sent.
    package var lastMessages: [NetlinkMessage] {
        guard let last = sent.last else { return [] }
        return (try? NetlinkParser.messages(in: last, operation: OperationName("mock"), object: "mock")) ?? []
    }
}

/// Kernel-like netlink replies shared by both families.
package enum KernelReply {
    package static func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, port: UInt32, payload: [UInt8]) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: type, flags: flags)
        b.appendAligned(payload)
        return b.finish(sequence: seq, portID: port)
    }

    /// NLMSG_ERROR with `errno` (0: ACK), the original header (capped: NETLINK_CAP_ACK) and the
    /// extended-ack text.
    package static func ack(seq: UInt32, port: UInt32, errno: Int32, extAck: String?, original: NetlinkMessageBuilder) -> [UInt8] {
        var payload = withUnsafeBytes(of: -errno) { Array($0) }
        payload += Array(original.finish(sequence: seq, portID: port).prefix(NetlinkMessageBuilder.headerLength))
        var flags = RTNL.NLM_F_CAPPED
        if let extAck {
            flags |= RTNL.NLM_F_ACK_TLVS
            var tlv = NetlinkMessageBuilder(type: 0, flags: 0)
            tlv.attribute(RTNL.NLMSGERR_ATTR_MSG, string: extAck)
            payload += tlv.bytes.dropFirst(NetlinkMessageBuilder.headerLength)
        }
        return message(type: RTNL.NLMSG_ERROR, flags: flags, seq: seq, port: port, payload: payload)
    }

    package static func done(seq: UInt32, port: UInt32, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        message(type: RTNL.NLMSG_DONE, flags: flags, seq: seq, port: port, payload: [0, 0, 0, 0])
    }
}

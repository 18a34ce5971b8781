@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// A scripted transport: records what was sent and hands out queued datagrams; a reply builder
/// can stamp the sequence number of the last request.
final class MockTransport: NetlinkTransport, @unchecked Sendable {
    let portID: UInt32
    var sent: [[UInt8]] = []
    /// Each entry builds one datagram from the last request's sequence number.
    var replies: [(UInt32) -> [UInt8]] = []

    /// Every `reserveBuffers` call: (receive bytes, send bytes).
    var reserved: [(receive: Int, send: Int)] = []

    init(portID: UInt32 = 4242) { self.portID = portID }

    func reserveBuffers(receiveBytes: Int, sendBytes: Int) {
        reserved.append((receiveBytes, sendBytes))
    }

    func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError) {
        sent.append(bytes)
    }

    /// The sender port of the scripted datagrams (0: the kernel).
    var senderPort: UInt32 = 0

    func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram {
        guard !replies.isEmpty else {
            throw NetlinkError(.timeout, errno: 11, operation: operation, object: object)
        }
        return NetlinkDatagram(replies.removeFirst()(lastSequence), senderPort: senderPort)
    }

    var lastSequence: UInt32 {
        guard let last = sent.last else { return 0 }
        return ByteReader(last).read(UInt32.self, at: 8) ?? 0
    }
}

/// Builders for kernel-like replies.
enum Reply {
    static func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, port: UInt32 = 4242, payload: [UInt8]) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: type, flags: flags)
        b.appendAligned(payload)
        return b.finish(sequence: seq, portID: port)
    }

    static func ack(seq: UInt32, port: UInt32 = 4242, errno: Int32 = 0, extAck: String? = nil) -> [UInt8] {
        var payload: [UInt8] = []
        withUnsafeBytes(of: -errno) { payload += $0 }
        // the original header (capped: NETLINK_CAP_ACK), 16 bytes
        var original = NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK, flags: 5).finish(sequence: seq, portID: port)
        original = Array(original.prefix(16))
        payload += original
        var flags: UInt16 = RTNL.NLM_F_CAPPED
        if let extAck {
            flags |= RTNL.NLM_F_ACK_TLVS
            var tlv = NetlinkMessageBuilder(type: 0, flags: 0)
            tlv.attribute(RTNL.NLMSGERR_ATTR_MSG, string: extAck)
            payload += tlv.bytes.dropFirst(16)
        }
        return message(type: RTNL.NLMSG_ERROR, flags: flags, seq: seq, port: port, payload: payload)
    }

    static func done(seq: UInt32, port: UInt32 = 4242, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        message(type: RTNL.NLMSG_DONE, flags: flags, seq: seq, port: port, payload: [0, 0, 0, 0])
    }

    /// An RTM_NEWLINK payload for a link.
    static func link(index: Int32, name: String, kind: String? = nil, mtu: UInt32 = 1500, flags: UInt32 = 0) -> [UInt8] {
        var b = NetlinkMessageBuilder(type: 0, flags: 0)
        b.append(UInt8(0)); b.append(UInt8(0)); b.append(UInt16(1))
        b.append(index); b.append(flags); b.append(UInt32(0))
        b.attribute(RTNL.IFLA_IFNAME, string: name)
        b.attribute(RTNL.IFLA_MTU, u32: mtu)
        if let kind {
            let n = b.beginNested(RTNL.IFLA_LINKINFO)
            b.attribute(RTNL.IFLA_INFO_KIND, string: kind)
            b.endNested(n)
        }
        return Array(b.bytes.dropFirst(16))
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

import BerthTestSupport

/// The scripted transport of the rtnetlink tests: each reply is built from the sequence number of
/// the last request (one request per datagram).
typealias MockTransport = ScriptedTransport<UInt32>

extension ScriptedTransport where Context == UInt32 {
    convenience init(portID: UInt32 = 4242) {
        self.init(portID: portID) { last in last.flatMap { ByteReader($0).read(UInt32.self, at: 8) } ?? 0 }
    }
}

/// Builders for kernel-like replies.
enum Reply {
    static func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, port: UInt32 = 4242, payload: [UInt8]) -> [UInt8] {
        KernelReply.message(type: type, flags: flags, seq: seq, port: port, payload: payload)
    }

    static func ack(seq: UInt32, port: UInt32 = 4242, errno: Int32 = 0, extAck: String? = nil) -> [UInt8] {
        KernelReply.ack(seq: seq, port: port, errno: errno, extAck: extAck, original: NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK, flags: 5))
    }

    static func done(seq: UInt32, port: UInt32 = 4242, flags: UInt16 = RTNL.NLM_F_MULTI) -> [UInt8] {
        KernelReply.done(seq: seq, port: port, flags: flags)
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

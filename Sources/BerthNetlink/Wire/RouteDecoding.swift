@_spi(BerthInternal) import BerthNamespace
/// Decoders from RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE payloads to the model types. A payload
/// shorter than its fixed header, or with broken attributes, is a typed error.
package enum RouteDecoding {
    /// struct ifinfomsg (16 bytes) + IFLA_* attributes.
    package static func link(_ m: NetlinkMessage, operation: OperationName, object: String) throws(NetlinkError) -> Link {
        let r = ByteReader(m.payload)
        guard let index = r.read(Int32.self, at: 4), let flags = r.read(UInt32.self, at: 8) else {
            throw NetlinkError(.truncatedReply, operation: operation, object: object, detail: "ifinfomsg shorter than 16 bytes")
        }
        let attrs = try NetlinkParser.attributes(in: m.payload[16...], operation: operation, object: object)
        var kind: String?
        var tun: TunInfo?
        if let info = attrs[RTNL.IFLA_LINKINFO] {
            let infoAttrs = try NetlinkParser.attributes(in: info, operation: operation, object: object)
            kind = infoAttrs[RTNL.IFLA_INFO_KIND]?.netlinkString
            if kind == "tun", let data = infoAttrs[RTNL.IFLA_INFO_DATA] {
                tun = try tunInfo(data, operation: operation, object: object)
            }
        }
        var link = Link(index: index,
                    name: attrs[RTNL.IFLA_IFNAME]?.netlinkString ?? "",
                    kind: kind,
                    mtu: attrs[RTNL.IFLA_MTU]?.netlinkU32 ?? 0,
                    mac: attrs[RTNL.IFLA_ADDRESS].flatMap { MACAddress(bytes: Array($0)) },
                    flags: flags,
                    masterIndex: attrs[RTNL.IFLA_MASTER]?.netlinkI32,
                    operationalState: attrs[RTNL.IFLA_OPERSTATE]?.netlinkU8 ?? 0,
                    peerIndex: attrs[RTNL.IFLA_LINK]?.netlinkI32,
                    linkNetnsID: attrs[RTNL.IFLA_LINK_NETNSID]?.netlinkI32,
                    group: attrs[RTNL.IFLA_GROUP]?.netlinkU32 ?? 0)
        link.tun = tun
        return link
    }

    /// IFLA_INFO_DATA of a tun link: IFLA_TUN_* (u8 flags, u32 owner/group/queues).
    static func tunInfo(_ data: ArraySlice<UInt8>, operation: OperationName, object: String) throws(NetlinkError) -> TunInfo {
        let a = try NetlinkParser.attributes(in: data, operation: operation, object: object)
        return TunInfo(type: a[RTNL.IFLA_TUN_TYPE]?.netlinkU8 ?? 0, vnetHeader: (a[RTNL.IFLA_TUN_VNET_HDR]?.netlinkU8 ?? 0) != 0,
                       persistent: (a[RTNL.IFLA_TUN_PERSIST]?.netlinkU8 ?? 0) != 0,
                       multiQueue: (a[RTNL.IFLA_TUN_MULTI_QUEUE]?.netlinkU8 ?? 0) != 0,
                       queues: a[RTNL.IFLA_TUN_NUM_QUEUES]?.netlinkU32 ?? 0,
                       owner: a[RTNL.IFLA_TUN_OWNER]?.netlinkU32, group: a[RTNL.IFLA_TUN_GROUP]?.netlinkU32)
    }

    /// struct ifaddrmsg (8 bytes) + IFA_* attributes.
    package static func address(_ m: NetlinkMessage, operation: OperationName, object: String) throws(NetlinkError) -> InterfaceAddress {
        let r = ByteReader(m.payload)
        guard let prefix = r.read(UInt8.self, at: 1), let scope = r.read(UInt8.self, at: 3),
              let index = r.read(Int32.self, at: 4) else {
            throw NetlinkError(.truncatedReply, operation: operation, object: object, detail: "ifaddrmsg shorter than 8 bytes")
        }
        let attrs = try NetlinkParser.attributes(in: m.payload[8...], operation: operation, object: object)
        guard let raw = attrs[RTNL.IFA_LOCAL] ?? attrs[RTNL.IFA_ADDRESS], let address = IPAddress(bytes: raw) else {
            throw NetlinkError(.malformedReply, operation: operation, object: object, detail: "address reply without IFA_ADDRESS")
        }
        var brd: IPv4Address?
        if let b = attrs[RTNL.IFA_BROADCAST], case .v4(let v4)? = IPAddress(bytes: b) { brd = v4 }
        return InterfaceAddress(address: address, prefixLength: Int(prefix), linkIndex: index, broadcast: brd, scope: scope)
    }

    /// struct rtmsg (12 bytes) + RTA_* attributes.
    package static func route(_ m: NetlinkMessage, operation: OperationName, object: String) throws(NetlinkError) -> Route {
        let r = ByteReader(m.payload)
        guard let family = r.read(UInt8.self, at: 0), let dstLen = r.read(UInt8.self, at: 1),
              let table = r.read(UInt8.self, at: 4), let proto = r.read(UInt8.self, at: 5),
              let scope = r.read(UInt8.self, at: 6), let flags = r.read(UInt32.self, at: 8) else {
            throw NetlinkError(.truncatedReply, operation: operation, object: object, detail: "rtmsg shorter than 12 bytes")
        }
        let attrs = try NetlinkParser.attributes(in: m.payload[12...], operation: operation, object: object)
        return Route(destination: attrs[RTNL.RTA_DST].flatMap { IPAddress(bytes: $0) },
                     destinationPrefixLength: Int(dstLen),
                     gateway: attrs[RTNL.RTA_GATEWAY].flatMap { IPAddress(bytes: $0) },
                     outputIndex: attrs[RTNL.RTA_OIF]?.netlinkI32,
                     metric: attrs[RTNL.RTA_PRIORITY]?.netlinkU32,
                     table: attrs[RTNL.RTA_TABLE]?.netlinkU32 ?? UInt32(table),
                     proto: proto, scope: scope, flags: flags, family: family)
    }

    /// The errno (positive, 0 for an ACK) and extended-ack text of an NLMSG_ERROR payload
    /// (struct nlmsgerr: int error, struct nlmsghdr msg, then TLVs when NLM_F_ACK_TLVS is set).
    package static func error(_ m: NetlinkMessage, operation: OperationName, object: String) throws(NetlinkError) -> (errno: Int32, message: String?) {
        let r = ByteReader(m.payload)
        guard let code = r.read(Int32.self, at: 0) else {
            throw NetlinkError(.truncatedReply, operation: operation, object: object, detail: "NLMSG_ERROR without an error code")
        }
        var text: String?
        if m.flags & RTNL.NLM_F_ACK_TLVS != 0 {
            var offset = 4 + NetlinkMessageBuilder.headerLength
            if m.flags & RTNL.NLM_F_CAPPED == 0, let origLen = r.read(UInt32.self, at: 4) {
                offset = 4 + NetlinkParser.align(Int(origLen))
            }
            if offset <= m.payload.count {
                let tlvs = try NetlinkParser.attributes(in: m.payload[offset...], operation: operation, object: object)
                text = tlvs[RTNL.NLMSGERR_ATTR_MSG]?.netlinkString
            }
        }
        return (code == Int32.min ? Int32.max : -code, text)
    }
}

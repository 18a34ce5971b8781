@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import CMnl
import Testing

/// Byte-exact request encoding. The reference bytes are produced independently with libmnl's own
/// builders (mnl_nlmsg_put_header, mnl_attr_put*, mnl_attr_nest_*), plus one hand-written dump.
@Suite("Netlink wire encoding (no privileges)")
struct EncodingTests {
    @Test func bridgeRequestMatchesHandWrittenBytes() {
        let bytes = LinkRequest.newBridge(name: "br0").finish(sequence: 7, portID: 0)
        let expected: [UInt8] = [
            64, 0, 0, 0, 16, 0, 0x05, 0x06, 7, 0, 0, 0, 0, 0, 0, 0,   // nlmsghdr: len 64, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            // ifinfomsg
            8, 0, 3, 0, 0x62, 0x72, 0x30, 0,                            // IFLA_IFNAME "br0"
            8, 0, 13, 0, 0, 0, 0, 0,                                    // IFLA_TXQLEN 0 (Docker 20.10's qlen 0)
            16, 0, 18, 0x80,                                            // IFLA_LINKINFO | NLA_F_NESTED
            11, 0, 1, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0,      // IFLA_INFO_KIND "bridge" + pad
        ]
        #expect(bytes == expected)
    }

    @Test func constantsMatchKernelHeaders() {
        #expect(Int(RTNL.RTM_NEWLINK) == Int(RTM_NEWLINK))
        #expect(Int(RTNL.RTM_GETROUTE) == Int(RTM_GETROUTE))
        #expect(Int(RTNL.IFLA_NET_NS_FD) == Int(IFLA_NET_NS_FD))
        #expect(Int(RTNL.IFLA_LINKINFO) == Int(IFLA_LINKINFO))
        #expect(Int(RTNL.IFLA_EXT_MASK) == Int(IFLA_EXT_MASK))
        #expect(Int(RTNL.IFLA_LINK_NETNSID) == Int(IFLA_LINK_NETNSID))
        #expect(Int(RTNL.VETH_INFO_PEER) == Int(VETH_INFO_PEER))
        #expect(Int(RTNL.IFA_BROADCAST) == Int(IFA_BROADCAST))
        #expect(Int(RTNL.RTA_PRIORITY) == Int(RTA_PRIORITY.rawValue))
        #expect(Int(RTNL.NLM_F_CREATE) == Int(NLM_F_CREATE))
        #expect(Int(RTNL.NETLINK_EXT_ACK) == Int(NETLINK_EXT_ACK))
        #expect(Int(RTNL.NLM_F_ACK_TLVS) == Int(NLM_F_ACK_TLVS))
    }

    @Test func vethWithPeerInNamespaceMatchesLibmnl() {
        let mac = MACAddress("02:42:ac:11:00:02")
        let ours = LinkRequest.newVeth(name: "veth1234567", peer: VethPeer(name: "eth0", namespaceFD: 9, mtu: 1450, mac: mac),
                                       mtu: 1450, masterIndex: 3, up: true).finish(sequence: 42, portID: 0)
        let reference = Mnl.build(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), seq: 42) { nlh in
            Mnl.ifinfomsg(nlh, flags: UInt32(IFF_UP.rawValue), change: UInt32(IFF_UP.rawValue))
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), "veth1234567")
            mnl_attr_put_u32(nlh, UInt16(IFLA_TXQLEN), 0)
            mnl_attr_put_u32(nlh, UInt16(IFLA_MTU), 1450)
            mnl_attr_put_u32(nlh, UInt16(IFLA_MASTER), 3)
            let info = mnl_attr_nest_start(nlh, UInt16(IFLA_LINKINFO))
            mnl_attr_put_strz(nlh, UInt16(IFLA_INFO_KIND), "veth")
            let data = mnl_attr_nest_start(nlh, UInt16(IFLA_INFO_DATA))
            let peer = mnl_attr_nest_start(nlh, UInt16(VETH_INFO_PEER))
            // struct ifinfomsg inside VETH_INFO_PEER, then the peer's attributes
            Mnl.putIfinfomsg(nlh, flags: 0, change: 0)
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), "eth0")
            mnl_attr_put_u32(nlh, UInt16(IFLA_TXQLEN), 0)
            mnl_attr_put_u32(nlh, UInt16(IFLA_MTU), 1450)
            var macBytes: [UInt8] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]
            mnl_attr_put(nlh, UInt16(IFLA_ADDRESS), 6, &macBytes)
            mnl_attr_put_u32(nlh, UInt16(IFLA_NET_NS_FD), 9)
            mnl_attr_nest_end(nlh, peer)
            mnl_attr_nest_end(nlh, data)
            mnl_attr_nest_end(nlh, info)
        }
        #expect(ours == reference)
    }

    @Test func bridgePortHairpinMatchesLibmnl() {
        for on in [true, false] {
            let ours = LinkRequest.bridgePortHairpin(index: 17, on).finish(sequence: 5, portID: 0)
            let reference = Mnl.build(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), seq: 5) { nlh in
                let ifm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<CMnl.ifinfomsg>.size).assumingMemoryBound(to: CMnl.ifinfomsg.self)
                ifm.pointee.ifi_family = UInt8(AF_UNSPEC)
                ifm.pointee.ifi_index = 17
                let info = mnl_attr_nest_start(nlh, UInt16(IFLA_LINKINFO))
                mnl_attr_put_strz(nlh, UInt16(IFLA_INFO_SLAVE_KIND), "bridge")
                let data = mnl_attr_nest_start(nlh, UInt16(IFLA_INFO_SLAVE_DATA))
                mnl_attr_put_u8(nlh, UInt16(IFLA_BRPORT_MODE), on ? 1 : 0)
                mnl_attr_nest_end(nlh, data)
                mnl_attr_nest_end(nlh, info)
            }
            #expect(ours == reference)
        }
        #expect(Int(RTNL.IFLA_INFO_SLAVE_KIND) == Int(IFLA_INFO_SLAVE_KIND))
        #expect(Int(RTNL.IFLA_INFO_SLAVE_DATA) == Int(IFLA_INFO_SLAVE_DATA))
        #expect(Int(RTNL.IFLA_BRPORT_MODE) == Int(IFLA_BRPORT_MODE))
    }

    @Test func addressRequestMatchesLibmnl() throws {
        let a = InterfaceAddress(address: .v4(try #require(IPv4Address("172.18.0.1"))), prefixLength: 16, linkIndex: 5,
                                 broadcast: IPv4Address("172.18.255.255"))
        let ours = AddressRequest.add(a).finish(sequence: 3)
        let reference = Mnl.build(type: UInt16(RTM_NEWADDR), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), seq: 3) { nlh in
            let ifa = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifaddrmsg>.size).assumingMemoryBound(to: ifaddrmsg.self)
            ifa.pointee.ifa_family = UInt8(AF_INET)
            ifa.pointee.ifa_prefixlen = 16
            ifa.pointee.ifa_index = 5
            var addr: [UInt8] = [172, 18, 0, 1]
            var brd: [UInt8] = [172, 18, 255, 255]
            mnl_attr_put(nlh, UInt16(IFA_LOCAL), 4, &addr)
            mnl_attr_put(nlh, UInt16(IFA_ADDRESS), 4, &addr)
            mnl_attr_put(nlh, UInt16(IFA_BROADCAST), 4, &brd)
        }
        #expect(ours == reference)
    }

    /// Issue 15: a sandbox's v6 address as Docker adds it (`ip -6 addr add fd00:1::2/64 dev eth0 nodad`).
    @Test func nodadIPv6AddressRequestMatchesLibmnl() throws {
        let v6 = try #require(IPv6Address("fd00:1::2"))
        let a = InterfaceAddress(address: .v6(v6), prefixLength: 64, linkIndex: 7, flags: RTNL.IFA_F_NODAD)
        let ours = AddressRequest.add(a).finish(sequence: 4)
        let reference = Mnl.build(type: UInt16(RTM_NEWADDR), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), seq: 4) { nlh in
            let ifa = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifaddrmsg>.size).assumingMemoryBound(to: ifaddrmsg.self)
            ifa.pointee.ifa_family = UInt8(AF_INET6)
            ifa.pointee.ifa_prefixlen = 64
            ifa.pointee.ifa_flags = UInt8(IFA_F_NODAD)
            ifa.pointee.ifa_index = 7
            var addr = v6.bytes
            mnl_attr_put(nlh, UInt16(IFA_LOCAL), 16, &addr)
            mnl_attr_put(nlh, UInt16(IFA_ADDRESS), 16, &addr)
        }
        #expect(ours == reference)
        // Flags above 8 bits travel as IFA_FLAGS (iproute2's rule).
        let wide = AddressRequest.add(InterfaceAddress(address: .v6(v6), prefixLength: 64, linkIndex: 7, flags: 0x100)).finish(sequence: 4)
        #expect(wide.count == ours.count + 8)
    }

    @Test func defaultRouteRequestMatchesLibmnl() throws {
        let r = Route.defaultRoute(via: .v4(try #require(IPv4Address("172.18.0.1"))), outputIndex: 2)
        let ours = RouteRequest.add(r).finish(sequence: 11)
        let reference = Mnl.build(type: UInt16(RTM_NEWROUTE), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), seq: 11) { nlh in
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size).assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(AF_INET)
            rtm.pointee.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            rtm.pointee.rtm_protocol = UInt8(RTPROT_BOOT)
            rtm.pointee.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            rtm.pointee.rtm_type = UInt8(RTN_UNICAST)
            var gw: [UInt8] = [172, 18, 0, 1]
            mnl_attr_put(nlh, UInt16(RTA_GATEWAY.rawValue), 4, &gw)
            mnl_attr_put_u32(nlh, UInt16(RTA_OIF.rawValue), 2)
        }
        #expect(ours == reference)
    }

    @Test func onLinkRouteHasLinkScopeAndDestination() throws {
        let r = Route(destination: .v4(try #require(IPv4Address("10.1.0.0"))), destinationPrefixLength: 16, outputIndex: 4, metric: 100)
        let bytes = RouteRequest.add(r).finish(sequence: 1)
        #expect(bytes[16] == RTNL.AF_INET)
        #expect(bytes[17] == 16)                      // rtm_dst_len
        #expect(bytes[22] == RTNL.RT_SCOPE_LINK)      // rtm_scope
        let attrs = try NetlinkParser.attributes(in: bytes[28...], operation: .test, object: "t")
        #expect(attrs[RTNL.RTA_DST].map(Array.init) == [10, 1, 0, 0])
        #expect(attrs[RTNL.RTA_PRIORITY]?.netlinkU32 == 100)
    }
}

/// libmnl-built reference messages.
enum Mnl {
    static func build(type: UInt16, flags: UInt16, seq: UInt32, _ fill: (UnsafeMutablePointer<nlmsghdr>) -> Void) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBytes { raw -> [UInt8] in
            let nlh = mnl_nlmsg_put_header(raw.baseAddress)!
            nlh.pointee.nlmsg_type = type
            nlh.pointee.nlmsg_flags = flags
            nlh.pointee.nlmsg_seq = seq
            fill(nlh)
            return Array(raw.prefix(Int(nlh.pointee.nlmsg_len)))
        }
    }

    static func ifinfomsg(_ nlh: UnsafeMutablePointer<nlmsghdr>, flags: UInt32 = 0, change: UInt32 = 0) {
        let ifm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<CMnl.ifinfomsg>.size).assumingMemoryBound(to: CMnl.ifinfomsg.self)
        ifm.pointee.ifi_family = UInt8(AF_UNSPEC)
        ifm.pointee.ifi_flags = flags
        ifm.pointee.ifi_change = change
    }

    /// A struct ifinfomsg appended at the message tail (inside a nest), as iproute2 does for VETH_INFO_PEER.
    static func putIfinfomsg(_ nlh: UnsafeMutablePointer<nlmsghdr>, flags: UInt32, change: UInt32) {
        var ifm = CMnl.ifinfomsg()
        ifm.ifi_flags = flags
        ifm.ifi_change = change
        let tail = mnl_nlmsg_get_payload_tail(nlh)!
        withUnsafeBytes(of: &ifm) { tail.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        nlh.pointee.nlmsg_len += UInt32(MemoryLayout<CMnl.ifinfomsg>.size)
    }
}

/// What to set on an existing link in one RTM_NEWLINK request (`ip link set`); nil fields are left
/// unchanged.
@_spi(BerthInternal) public struct LinkChange: Sendable, Equatable {
    /// Set (true) or clear (false) IFF_UP.
    public var up: Bool?
    /// IFLA_MASTER; 0 releases the link from its master (`nomaster`).
    public var masterIndex: Int32?
    public var mtu: UInt32?
    public var mac: MACAddress?
    /// IFLA_IFNAME: renames the link.
    public var name: String?
    /// IFLA_NET_NS_FD: moves the link into that namespace.
    public var namespaceFD: Int32?
    /// IFLA_GROUP: the link group (`ip link set NAME group N`).
    public var group: UInt32?

    public init(up: Bool? = nil, masterIndex: Int32? = nil, mtu: UInt32? = nil, mac: MACAddress? = nil,
                name: String? = nil, namespaceFD: Int32? = nil, group: UInt32? = nil) {
        self.group = group
        self.up = up
        self.masterIndex = masterIndex
        self.mtu = mtu
        self.mac = mac
        self.name = name
        self.namespaceFD = namespaceFD
    }
}

/// The veth end created inside another namespace (VETH_INFO_PEER with IFLA_NET_NS_FD).
@_spi(BerthInternal) public struct VethPeer: Sendable, Equatable {
    public var name: String
    /// The namespace the peer is created in, by fd; nil keeps it next to the first end.
    public var namespaceFD: Int32?
    public var mtu: UInt32?
    public var mac: MACAddress?
    // No `up`: the kernel configures the peer before the pair is linked, so a peer created with
    // IFF_UP fails with ENOTCONN (drivers/net/veth.c, veth_open). Bring it up from its namespace.

    public init(name: String, namespaceFD: Int32? = nil, mtu: UInt32? = nil, mac: MACAddress? = nil) {
        self.name = name
        self.namespaceFD = namespaceFD
        self.mtu = mtu
        self.mac = mac
    }
}

/// Builders for RTM_*LINK requests. Each returns an unfinished message; the session stamps the
/// sequence number. Pure, so the bytes are unit-tested.
package enum LinkRequest {
    /// struct ifinfomsg (16 bytes): family, pad, type, index, flags, change.
    static func ifinfomsg(into b: inout NetlinkMessageBuilder, index: Int32 = 0, up: Bool? = nil) {
        b.append(RTNL.AF_UNSPEC)
        b.append(UInt8(0))
        b.append(UInt16(0))
        b.append(index)
        b.append(up == true ? RTNL.IFF_UP : 0)        // ifi_flags
        b.append(up == nil ? UInt32(0) : RTNL.IFF_UP)   // ifi_change
    }

    /// `ip link add NAME txqueuelen 0 [mtu M] [address MAC] type bridge`: RTM_NEWLINK,
    /// NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK, IFLA_IFNAME, IFLA_TXQLEN 0, IFLA_MTU, IFLA_ADDRESS,
    /// IFLA_LINKINFO{IFLA_INFO_KIND "bridge"}. `qlen 0` as Docker 20.10's bridges (its netlink
    /// library sends the zero TxQLen of the link attributes; seen by the oracle).
    package static func newBridge(name: String, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool = false) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK,
                                      flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_CREATE | RTNL.NLM_F_EXCL)
        ifinfomsg(into: &b, up: up ? true : nil)
        b.attribute(RTNL.IFLA_IFNAME, string: name)
        b.attribute(RTNL.IFLA_TXQLEN, u32: 0)
        if let mtu { b.attribute(RTNL.IFLA_MTU, u32: mtu) }
        if let mac { b.attribute(RTNL.IFLA_ADDRESS, mac.bytes) }
        let info = b.beginNested(RTNL.IFLA_LINKINFO)
        b.attribute(RTNL.IFLA_INFO_KIND, string: "bridge")
        b.endNested(info)
        return b
    }

    /// `ip link add NAME txqueuelen 0 [mtu M] [master BR] type veth peer name PEER txqueuelen 0 netns NS`:
    /// RTM_NEWLINK with IFLA_TXQLEN 0 and IFLA_LINKINFO{KIND "veth", INFO_DATA{VETH_INFO_PEER{ifinfomsg,
    /// IFLA_IFNAME, IFLA_TXQLEN 0, IFLA_MTU, IFLA_ADDRESS, IFLA_NET_NS_FD}}}, so the peer is created
    /// directly in its namespace. Both ends `qlen 0`, as Docker 20.10's veths (oracle).
    package static func newVeth(name: String, peer: VethPeer, mtu: UInt32? = nil, mac: MACAddress? = nil,
                               masterIndex: Int32? = nil, up: Bool = false, echo: Bool = false) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK,
                                      flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_CREATE | RTNL.NLM_F_EXCL
                                          | (echo ? RTNL.NLM_F_ECHO : 0))
        ifinfomsg(into: &b, up: up ? true : nil)
        b.attribute(RTNL.IFLA_IFNAME, string: name)
        b.attribute(RTNL.IFLA_TXQLEN, u32: 0)
        if let mtu { b.attribute(RTNL.IFLA_MTU, u32: mtu) }
        if let mac { b.attribute(RTNL.IFLA_ADDRESS, mac.bytes) }
        if let masterIndex { b.attribute(RTNL.IFLA_MASTER, u32: UInt32(bitPattern: masterIndex)) }
        let info = b.beginNested(RTNL.IFLA_LINKINFO)
        b.attribute(RTNL.IFLA_INFO_KIND, string: "veth")
        let data = b.beginNested(RTNL.IFLA_INFO_DATA)
        let peerStart = b.beginNested(RTNL.VETH_INFO_PEER)
        ifinfomsg(into: &b)
        b.attribute(RTNL.IFLA_IFNAME, string: peer.name)
        b.attribute(RTNL.IFLA_TXQLEN, u32: 0)
        if let m = peer.mtu { b.attribute(RTNL.IFLA_MTU, u32: m) }
        if let m = peer.mac { b.attribute(RTNL.IFLA_ADDRESS, m.bytes) }
        if let fd = peer.namespaceFD { b.attribute(RTNL.IFLA_NET_NS_FD, u32: UInt32(bitPattern: fd)) }
        b.endNested(peerStart)
        b.endNested(data)
        b.endNested(info)
        return b
    }

    /// `ip link set ...`: RTM_NEWLINK on an existing index with the changed fields only.
    package static func change(index: Int32, _ change: LinkChange) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        ifinfomsg(into: &b, index: index, up: change.up)
        if let name = change.name { b.attribute(RTNL.IFLA_IFNAME, string: name) }
        if let mtu = change.mtu { b.attribute(RTNL.IFLA_MTU, u32: mtu) }
        if let mac = change.mac { b.attribute(RTNL.IFLA_ADDRESS, mac.bytes) }
        if let master = change.masterIndex { b.attribute(RTNL.IFLA_MASTER, u32: UInt32(bitPattern: master)) }
        if let fd = change.namespaceFD { b.attribute(RTNL.IFLA_NET_NS_FD, u32: UInt32(bitPattern: fd)) }
        if let group = change.group { b.attribute(RTNL.IFLA_GROUP, u32: group) }
        return b
    }

    /// `ip link set NAME type bridge_slave hairpin on|off`: RTM_NEWLINK on the bridge port `index`
    /// with IFLA_LINKINFO{IFLA_INFO_SLAVE_KIND "bridge", IFLA_INFO_SLAVE_DATA{IFLA_BRPORT_MODE u8}}
    /// (1 = hairpin, BRIDGE_MODE_HAIRPIN), the bytes iproute2 sends.
    package static func bridgePortHairpin(index: Int32, _ on: Bool) -> NetlinkMessageBuilder {
        bridgePortFlag(index: index, RTNL.IFLA_BRPORT_MODE, on)
    }

    /// `ip link set NAME type bridge_slave isolated on|off` (`bridge link set dev NAME isolated on`):
    /// RTM_NEWLINK with IFLA_LINKINFO{IFLA_INFO_SLAVE_KIND "bridge", IFLA_INFO_SLAVE_DATA{IFLA_BRPORT_ISOLATED u8}}.
    /// An isolated port forwards only to non-isolated ports (the bridge itself, uplinks), never
    /// to another isolated port (kernel br_forward.c, should_deliver; Linux 4.18+).
    package static func bridgePortIsolated(index: Int32, _ on: Bool) -> NetlinkMessageBuilder {
        bridgePortFlag(index: index, RTNL.IFLA_BRPORT_ISOLATED, on)
    }

    /// One u8 bridge-port flag through IFLA_INFO_SLAVE_DATA.
    private static func bridgePortFlag(index: Int32, _ attribute: UInt16, _ on: Bool) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        ifinfomsg(into: &b, index: index)
        let info = b.beginNested(RTNL.IFLA_LINKINFO)
        b.attribute(RTNL.IFLA_INFO_SLAVE_KIND, string: "bridge")
        let data = b.beginNested(RTNL.IFLA_INFO_SLAVE_DATA)
        b.attribute(attribute, u8: on ? 1 : 0)
        b.endNested(data)
        b.endNested(info)
        return b
    }

    /// `ip link del`: RTM_DELLINK by index, or by IFLA_IFNAME when `index` is 0.
    package static func delete(index: Int32, name: String? = nil) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_DELLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        ifinfomsg(into: &b, index: index)
        if index == 0, let name { b.attribute(RTNL.IFLA_IFNAME, string: name) }
        return b
    }

    /// `ip link del group N`: RTM_DELLINK with ifindex 0 and IFLA_GROUP only; the kernel deletes
    /// every link of the group in one batch (one RCU grace period for all).
    package static func deleteGroup(_ group: UInt32) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_DELLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        ifinfomsg(into: &b)
        b.attribute(RTNL.IFLA_GROUP, u32: group)
        return b
    }

    /// `ip link show NAME` / by index: RTM_GETLINK with IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS.
    package static func get(index: Int32, name: String? = nil) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_GETLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        ifinfomsg(into: &b, index: index)
        if index == 0, let name { b.attribute(RTNL.IFLA_IFNAME, string: name) }
        b.attribute(RTNL.IFLA_EXT_MASK, u32: RTNL.RTEXT_FILTER_SKIP_STATS)
        return b
    }

    /// `ip link show`: RTM_GETLINK with NLM_F_DUMP.
    package static func dump() -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_GETLINK, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP)
        ifinfomsg(into: &b)
        b.attribute(RTNL.IFLA_EXT_MASK, u32: RTNL.RTEXT_FILTER_SKIP_STATS)
        return b
    }
}

/// A network interface as reported by RTM_NEWLINK (struct ifinfomsg plus IFLA_* attributes).
@_spi(BerthInternal) public struct Link: Sendable, Equatable {
    /// ifi_index.
    public var index: Int32
    /// IFLA_IFNAME.
    public var name: String
    /// IFLA_INFO_KIND inside IFLA_LINKINFO (`"bridge"`, `"veth"`), nil for devices without one.
    public var kind: String?
    /// IFLA_MTU in bytes.
    public var mtu: UInt32
    /// IFLA_ADDRESS, when it is an Ethernet address.
    public var mac: MACAddress?
    /// ifi_flags (IFF_*).
    public var flags: UInt32
    /// IFLA_MASTER: the bridge (or other master) index, when enslaved.
    public var masterIndex: Int32?
    /// IFLA_OPERSTATE (RFC 2863: 2 down, 6 up, ...).
    public var operationalState: UInt8
    /// IFLA_LINK: for a veth, the peer's index (in the peer's namespace when `linkNetnsID` is set).
    public var peerIndex: Int32?
    /// IFLA_LINK_NETNSID: the peer's namespace id, for links whose peer lives elsewhere.
    public var linkNetnsID: Int32?
    /// IFLA_GROUP.
    public var group: UInt32

    /// IFF_UP: administratively up (`ip link set up`).
    public var isUp: Bool { flags & RTNL.IFF_UP != 0 }
    /// IFF_LOWER_UP: the device has carrier.
    public var hasCarrier: Bool { flags & RTNL.IFF_LOWER_UP != 0 }

    public init(index: Int32, name: String, kind: String? = nil, mtu: UInt32 = 0, mac: MACAddress? = nil,
                flags: UInt32 = 0, masterIndex: Int32? = nil, operationalState: UInt8 = 0,
                peerIndex: Int32? = nil, linkNetnsID: Int32? = nil, group: UInt32 = 0) {
        self.index = index
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.flags = flags
        self.masterIndex = masterIndex
        self.operationalState = operationalState
        self.peerIndex = peerIndex
        self.linkNetnsID = linkNetnsID
        self.group = group
    }
}

/// An address on an interface (struct ifaddrmsg plus IFA_* attributes).
@_spi(BerthInternal) public struct InterfaceAddress: Sendable, Equatable {
    /// IFA_LOCAL (or IFA_ADDRESS when there is no IFA_LOCAL).
    public var address: IPAddress
    /// ifa_prefixlen.
    public var prefixLength: Int
    /// ifa_index.
    public var linkIndex: Int32
    /// IFA_BROADCAST (IPv4 only).
    public var broadcast: IPv4Address?
    /// ifa_scope (0 universe/global, 253 link, 254 host).
    public var scope: UInt8
    /// IFA_F_* flags to set when adding (`RTNL.IFA_F_NODAD`); 0 for none. Sent as `ifa_flags`
    /// when they fit in 8 bits, else as IFA_FLAGS, as iproute2 does.
    public var flags: UInt32

    public init(address: IPAddress, prefixLength: Int, linkIndex: Int32, broadcast: IPv4Address? = nil,
                scope: UInt8 = RTNL.RT_SCOPE_UNIVERSE, flags: UInt32 = 0) {
        self.address = address
        self.prefixLength = prefixLength
        self.linkIndex = linkIndex
        self.broadcast = broadcast
        self.scope = scope
        self.flags = flags
    }
}

/// A route (struct rtmsg plus RTA_* attributes). `destination == nil` is the default route.
@_spi(BerthInternal) public struct Route: Sendable, Equatable {
    /// RTA_DST and rtm_dst_len; nil for the default route.
    public var destination: IPAddress?
    public var destinationPrefixLength: Int
    /// RTA_GATEWAY.
    public var gateway: IPAddress?
    /// RTA_OIF.
    public var outputIndex: Int32?
    /// RTA_PRIORITY (the metric).
    public var metric: UInt32?
    /// rtm_table / RTA_TABLE (254 = main).
    public var table: UInt32
    /// rtm_protocol (2 kernel, 3 boot, 4 static).
    public var proto: UInt8
    /// rtm_scope.
    public var scope: UInt8
    /// rtm_flags (RTNH_F_LINKDOWN is `linkdown` in `ip route`).
    public var flags: UInt32
    /// rtm_family (AF_INET or AF_INET6).
    public var family: UInt8

    /// `ip route` shows `linkdown`.
    public var isLinkDown: Bool { flags & RTNL.RTNH_F_LINKDOWN != 0 }

    public init(destination: IPAddress?, destinationPrefixLength: Int = 0, gateway: IPAddress? = nil,
                outputIndex: Int32? = nil, metric: UInt32? = nil, table: UInt32 = UInt32(RTNL.RT_TABLE_MAIN),
                proto: UInt8 = RTNL.RTPROT_BOOT, scope: UInt8? = nil, flags: UInt32 = 0, family: UInt8? = nil) {
        self.destination = destination
        self.destinationPrefixLength = destination == nil ? 0 : destinationPrefixLength
        self.gateway = gateway
        self.outputIndex = outputIndex
        self.metric = metric
        self.table = table
        self.proto = proto
        self.scope = scope ?? (gateway == nil ? RTNL.RT_SCOPE_LINK : RTNL.RT_SCOPE_UNIVERSE)
        self.flags = flags
        self.family = family ?? destination?.family ?? gateway?.family ?? RTNL.AF_INET
    }

    /// The default route via `gateway` (`ip route add default via GW [dev IF]`).
    public static func defaultRoute(via gateway: IPAddress, outputIndex: Int32? = nil, metric: UInt32? = nil) -> Route {
        Route(destination: nil, gateway: gateway, outputIndex: outputIndex, metric: metric)
    }
}

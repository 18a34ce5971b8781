/// Numeric constants of the netlink and rtnetlink ABI, spelled as in the kernel's UAPI headers
/// (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/veth.h, linux/if.h).
/// They are ABI-stable; a unit test compares each with the C definition.
public enum RTNL {
    // linux/netlink.h: message types
    public static let NLMSG_NOOP: UInt16 = 1
    public static let NLMSG_ERROR: UInt16 = 2
    public static let NLMSG_DONE: UInt16 = 3
    public static let NLMSG_OVERRUN: UInt16 = 4
    // linux/netlink.h: flags
    public static let NLM_F_REQUEST: UInt16 = 0x1
    public static let NLM_F_MULTI: UInt16 = 0x2
    public static let NLM_F_ACK: UInt16 = 0x4
    public static let NLM_F_DUMP_INTR: UInt16 = 0x10
    public static let NLM_F_DUMP: UInt16 = 0x300
    public static let NLM_F_REPLACE: UInt16 = 0x100
    public static let NLM_F_EXCL: UInt16 = 0x200
    public static let NLM_F_CREATE: UInt16 = 0x400
    public static let NLM_F_CAPPED: UInt16 = 0x100
    public static let NLM_F_ACK_TLVS: UInt16 = 0x200
    public static let NLMSGERR_ATTR_MSG: UInt16 = 1
    // linux/netlink.h: socket options (level SOL_NETLINK)
    public static let SOL_NETLINK: Int32 = 270
    public static let NETLINK_CAP_ACK: Int32 = 10
    public static let NETLINK_EXT_ACK: Int32 = 11
    // linux/rtnetlink.h: message types
    public static let RTM_NEWLINK: UInt16 = 16
    public static let RTM_DELLINK: UInt16 = 17
    public static let RTM_GETLINK: UInt16 = 18
    public static let RTM_NEWADDR: UInt16 = 20
    public static let RTM_DELADDR: UInt16 = 21
    public static let RTM_GETADDR: UInt16 = 22
    public static let RTM_NEWROUTE: UInt16 = 24
    public static let RTM_DELROUTE: UInt16 = 25
    public static let RTM_GETROUTE: UInt16 = 26
    // linux/if_link.h: link attributes
    public static let IFLA_ADDRESS: UInt16 = 1
    public static let IFLA_IFNAME: UInt16 = 3
    public static let IFLA_MTU: UInt16 = 4
    public static let IFLA_LINK: UInt16 = 5
    public static let IFLA_MASTER: UInt16 = 10
    public static let IFLA_OPERSTATE: UInt16 = 16
    public static let IFLA_LINKINFO: UInt16 = 18
    public static let IFLA_NET_NS_PID: UInt16 = 19
    public static let IFLA_GROUP: UInt16 = 27
    public static let IFLA_NET_NS_FD: UInt16 = 28
    public static let IFLA_EXT_MASK: UInt16 = 29
    public static let IFLA_CARRIER: UInt16 = 33
    public static let IFLA_LINK_NETNSID: UInt16 = 37
    public static let IFLA_INFO_KIND: UInt16 = 1
    public static let IFLA_INFO_DATA: UInt16 = 2
    public static let IFLA_INFO_SLAVE_KIND: UInt16 = 4
    public static let IFLA_INFO_SLAVE_DATA: UInt16 = 5
    /// linux/if_link.h: bridge port attributes (IFLA_BRPORT_*), inside IFLA_INFO_SLAVE_DATA.
    public static let IFLA_BRPORT_MODE: UInt16 = 4
    public static let VETH_INFO_PEER: UInt16 = 1
    public static let RTEXT_FILTER_SKIP_STATS: UInt32 = 1 << 3
    // linux/if.h
    public static let IFF_UP: UInt32 = 0x1
    public static let IFF_RUNNING: UInt32 = 0x40
    public static let IFF_LOWER_UP: UInt32 = 0x10000
    // linux/if_addr.h
    public static let IFA_ADDRESS: UInt16 = 1
    public static let IFA_LOCAL: UInt16 = 2
    public static let IFA_LABEL: UInt16 = 3
    public static let IFA_BROADCAST: UInt16 = 4
    // linux/rtnetlink.h: route attributes and values
    public static let RTA_DST: UInt16 = 1
    public static let RTA_OIF: UInt16 = 4
    public static let RTA_GATEWAY: UInt16 = 5
    public static let RTA_PRIORITY: UInt16 = 6
    public static let RTA_PREFSRC: UInt16 = 7
    public static let RTA_TABLE: UInt16 = 15
    public static let RT_TABLE_MAIN: UInt8 = 254
    public static let RTPROT_KERNEL: UInt8 = 2
    public static let RTPROT_BOOT: UInt8 = 3
    public static let RT_SCOPE_UNIVERSE: UInt8 = 0
    public static let RT_SCOPE_LINK: UInt8 = 253
    public static let RT_SCOPE_HOST: UInt8 = 254
    public static let RT_SCOPE_NOWHERE: UInt8 = 255
    public static let RTN_UNICAST: UInt8 = 1
    public static let RTNH_F_LINKDOWN: UInt32 = 16
    // sys/socket.h
    public static let AF_UNSPEC: UInt8 = 0
    public static let AF_INET: UInt8 = 2
    public static let AF_INET6: UInt8 = 10
}

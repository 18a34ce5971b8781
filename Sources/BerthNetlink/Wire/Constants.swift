internal import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// Numeric constants of the netlink and rtnetlink ABI, spelled as in the kernel's UAPI headers
/// (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/veth.h, linux/if.h,
/// sys/socket.h). Every value is read from the C definition imported through CMnl (libmnl pulls
/// in linux/netlink.h; CMnl's shim.h adds the others), converted to the width of its wire field,
/// so no number is copied by hand. Function-like macros Swift cannot import (NLMSG_ALIGN,
/// NLMSG_HDRLEN, NLA_ALIGN) are mirrored in `NetlinkParser.align` and
/// `NetlinkMessageBuilder.headerLength`; a unit test compares those with the C macros.
@_spi(BerthInternal) public enum RTNL {
    // linux/netlink.h: protocols (bus numbers for socket(AF_NETLINK, …, protocol))
    public static let NETLINK_ROUTE = Int32(CMnl.NETLINK_ROUTE)
    public static let NETLINK_NETFILTER = Int32(CMnl.NETLINK_NETFILTER)
    // linux/netlink.h: message types
    public static let NLMSG_NOOP = UInt16(CMnl.NLMSG_NOOP)
    public static let NLMSG_ERROR = UInt16(CMnl.NLMSG_ERROR)
    public static let NLMSG_DONE = UInt16(CMnl.NLMSG_DONE)
    public static let NLMSG_OVERRUN = UInt16(CMnl.NLMSG_OVERRUN)
    /// Types below this are control messages (NOOP, ERROR, DONE, OVERRUN).
    public static let NLMSG_MIN_TYPE = UInt16(CMnl.NLMSG_MIN_TYPE)
    // linux/netlink.h: flags
    public static let NLM_F_REQUEST = UInt16(CMnl.NLM_F_REQUEST)
    public static let NLM_F_MULTI = UInt16(CMnl.NLM_F_MULTI)
    public static let NLM_F_ACK = UInt16(CMnl.NLM_F_ACK)
    /// Echo the request's result to the sender (the kernel honours it for RTM_NEWLINK since 6.1).
    public static let NLM_F_ECHO = UInt16(CMnl.NLM_F_ECHO)
    public static let NLM_F_DUMP_INTR = UInt16(CMnl.NLM_F_DUMP_INTR)
    public static let NLM_F_DUMP = UInt16(CMnl.NLM_F_DUMP)
    public static let NLM_F_REPLACE = UInt16(CMnl.NLM_F_REPLACE)
    public static let NLM_F_EXCL = UInt16(CMnl.NLM_F_EXCL)
    public static let NLM_F_CREATE = UInt16(CMnl.NLM_F_CREATE)
    public static let NLM_F_APPEND = UInt16(CMnl.NLM_F_APPEND)
    public static let NLM_F_CAPPED = UInt16(CMnl.NLM_F_CAPPED)
    public static let NLM_F_ACK_TLVS = UInt16(CMnl.NLM_F_ACK_TLVS)
    public static let NLMSGERR_ATTR_MSG = UInt16(CMnl.NLMSGERR_ATTR_MSG.rawValue)
    // linux/netlink.h: attribute type bits
    public static let NLA_F_NESTED = UInt16(CMnl.NLA_F_NESTED)
    public static let NLA_F_NET_BYTEORDER = UInt16(CMnl.NLA_F_NET_BYTEORDER)
    /// NLA_TYPE_MASK: `~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)`.
    public static let NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
    // linux/netlink.h: socket options (level SOL_NETLINK, from bits/socket.h)
    public static let SOL_NETLINK = Int32(Glibc.SOL_NETLINK)
    public static let NETLINK_CAP_ACK = Int32(CMnl.NETLINK_CAP_ACK)
    public static let NETLINK_EXT_ACK = Int32(CMnl.NETLINK_EXT_ACK)
    // linux/rtnetlink.h: message types
    public static let RTM_NEWLINK = UInt16(CMnl.RTM_NEWLINK)
    public static let RTM_DELLINK = UInt16(CMnl.RTM_DELLINK)
    public static let RTM_GETLINK = UInt16(CMnl.RTM_GETLINK)
    public static let RTM_NEWADDR = UInt16(CMnl.RTM_NEWADDR)
    public static let RTM_DELADDR = UInt16(CMnl.RTM_DELADDR)
    public static let RTM_GETADDR = UInt16(CMnl.RTM_GETADDR)
    public static let RTM_NEWROUTE = UInt16(CMnl.RTM_NEWROUTE)
    public static let RTM_DELROUTE = UInt16(CMnl.RTM_DELROUTE)
    public static let RTM_GETROUTE = UInt16(CMnl.RTM_GETROUTE)
    // linux/if_link.h: link attributes
    public static let IFLA_ADDRESS = UInt16(CMnl.IFLA_ADDRESS)
    public static let IFLA_IFNAME = UInt16(CMnl.IFLA_IFNAME)
    public static let IFLA_MTU = UInt16(CMnl.IFLA_MTU)
    public static let IFLA_TXQLEN = UInt16(CMnl.IFLA_TXQLEN)
    public static let IFLA_LINK = UInt16(CMnl.IFLA_LINK)
    public static let IFLA_MASTER = UInt16(CMnl.IFLA_MASTER)
    public static let IFLA_OPERSTATE = UInt16(CMnl.IFLA_OPERSTATE)
    public static let IFLA_LINKINFO = UInt16(CMnl.IFLA_LINKINFO)
    public static let IFLA_NET_NS_PID = UInt16(CMnl.IFLA_NET_NS_PID)
    public static let IFLA_GROUP = UInt16(CMnl.IFLA_GROUP)
    public static let IFLA_NET_NS_FD = UInt16(CMnl.IFLA_NET_NS_FD)
    public static let IFLA_EXT_MASK = UInt16(CMnl.IFLA_EXT_MASK)
    public static let IFLA_CARRIER = UInt16(CMnl.IFLA_CARRIER)
    public static let IFLA_LINK_NETNSID = UInt16(CMnl.IFLA_LINK_NETNSID)
    public static let IFLA_INFO_KIND = UInt16(CMnl.IFLA_INFO_KIND)
    public static let IFLA_INFO_DATA = UInt16(CMnl.IFLA_INFO_DATA)
    public static let IFLA_INFO_SLAVE_KIND = UInt16(CMnl.IFLA_INFO_SLAVE_KIND)
    public static let IFLA_INFO_SLAVE_DATA = UInt16(CMnl.IFLA_INFO_SLAVE_DATA)
    /// linux/if_link.h: bridge port attributes (IFLA_BRPORT_*), inside IFLA_INFO_SLAVE_DATA.
    public static let IFLA_BRPORT_MODE = UInt16(CMnl.IFLA_BRPORT_MODE)
    public static let IFLA_BRPORT_ISOLATED = UInt16(CMnl.IFLA_BRPORT_ISOLATED)
    // linux/if_link.h: IFLA_INFO_DATA of a tun link
    public static let IFLA_TUN_OWNER = UInt16(CMnl.IFLA_TUN_OWNER)
    public static let IFLA_TUN_GROUP = UInt16(CMnl.IFLA_TUN_GROUP)
    public static let IFLA_TUN_TYPE = UInt16(CMnl.IFLA_TUN_TYPE)
    public static let IFLA_TUN_VNET_HDR = UInt16(CMnl.IFLA_TUN_VNET_HDR)
    public static let IFLA_TUN_PERSIST = UInt16(CMnl.IFLA_TUN_PERSIST)
    public static let IFLA_TUN_MULTI_QUEUE = UInt16(CMnl.IFLA_TUN_MULTI_QUEUE)
    public static let IFLA_TUN_NUM_QUEUES = UInt16(CMnl.IFLA_TUN_NUM_QUEUES)
    // linux/veth.h
    public static let VETH_INFO_PEER = UInt16(CMnl.VETH_INFO_PEER)
    // linux/rtnetlink.h: IFLA_EXT_MASK values
    public static let RTEXT_FILTER_SKIP_STATS = UInt32(CMnl.RTEXT_FILTER_SKIP_STATS)
    // linux/if.h (enum net_device_flags)
    public static let IFF_UP = UInt32(CMnl.IFF_UP.rawValue)
    public static let IFF_RUNNING = UInt32(CMnl.IFF_RUNNING.rawValue)
    public static let IFF_LOWER_UP = UInt32(CMnl.IFF_LOWER_UP.rawValue)
    // linux/if_addr.h
    public static let IFA_ADDRESS = UInt16(CMnl.IFA_ADDRESS)
    public static let IFA_LOCAL = UInt16(CMnl.IFA_LOCAL)
    public static let IFA_LABEL = UInt16(CMnl.IFA_LABEL)
    public static let IFA_BROADCAST = UInt16(CMnl.IFA_BROADCAST)
    public static let IFA_FLAGS = UInt16(CMnl.IFA_FLAGS)
    /// No duplicate address detection (linux/if_addr.h): the v6 address is usable at once, as
    /// Docker adds a sandbox's v6 address (`AddrAdd` with `IFA_F_NODAD`).
    public static let IFA_F_NODAD = UInt32(CMnl.IFA_F_NODAD)
    // linux/rtnetlink.h: route attributes and values
    public static let RTA_DST = UInt16(CMnl.RTA_DST.rawValue)
    public static let RTA_OIF = UInt16(CMnl.RTA_OIF.rawValue)
    public static let RTA_GATEWAY = UInt16(CMnl.RTA_GATEWAY.rawValue)
    public static let RTA_PRIORITY = UInt16(CMnl.RTA_PRIORITY.rawValue)
    public static let RTA_PREFSRC = UInt16(CMnl.RTA_PREFSRC.rawValue)
    public static let RTA_TABLE = UInt16(CMnl.RTA_TABLE.rawValue)
    public static let RT_TABLE_MAIN = UInt8(CMnl.RT_TABLE_MAIN.rawValue)
    public static let RTPROT_KERNEL = UInt8(CMnl.RTPROT_KERNEL)
    public static let RTPROT_BOOT = UInt8(CMnl.RTPROT_BOOT)
    public static let RT_SCOPE_UNIVERSE = UInt8(CMnl.RT_SCOPE_UNIVERSE.rawValue)
    public static let RT_SCOPE_LINK = UInt8(CMnl.RT_SCOPE_LINK.rawValue)
    public static let RT_SCOPE_HOST = UInt8(CMnl.RT_SCOPE_HOST.rawValue)
    public static let RT_SCOPE_NOWHERE = UInt8(CMnl.RT_SCOPE_NOWHERE.rawValue)
    public static let RTN_UNICAST = UInt8(CMnl.RTN_UNICAST)
    public static let RTNH_F_LINKDOWN = UInt32(CMnl.RTNH_F_LINKDOWN)
    // sys/socket.h
    public static let AF_UNSPEC = UInt8(Glibc.AF_UNSPEC)
    public static let AF_INET = UInt8(Glibc.AF_INET)
    public static let AF_INET6 = UInt8(Glibc.AF_INET6)
}

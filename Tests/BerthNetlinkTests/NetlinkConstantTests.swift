@_spi(BerthInternal) import BerthNetlink
import CBerthShims
import CMnl
import Testing

/// The few netlink definitions Swift cannot import (function-like macros) are mirrored in Swift;
/// each mirror is compared with the C macro through CBerthShims. Everything else in `RTNL` is
/// read from the C headers themselves.
@Suite("Netlink constants mirrored from C macros (no privileges)")
struct NetlinkConstantTests {
    @Test func alignmentMatchesNLMSG_ALIGNAndNLA_ALIGN() {
        for n in 0...80 {
            #expect(NetlinkParser.align(n) == Int(berth_nlmsg_align(n)))
            #expect(NetlinkParser.align(n) == Int(berth_nla_align(n)))
        }
    }

    @Test func headerLengthsAndTypeMaskMatchTheMacros() {
        #expect(NetlinkMessageBuilder.headerLength == Int(berth_nlmsg_hdrlen()))
        #expect(NetlinkMessageBuilder.headerLength == MemoryLayout<nlmsghdr>.size)
        #expect(Int(RTNL.NLA_TYPE_MASK) == Int(berth_nla_type_mask()) & 0xffff)
        #expect(Int(RTNL.NLA_F_NESTED) == Int(NLA_F_NESTED))
        #expect(berth_nla_hdrlen() == 4)
    }

    @Test func controlMessagesAndFlagsMatchTheHeaders() {
        #expect(Int(RTNL.NLMSG_NOOP) == Int(NLMSG_NOOP))
        #expect(Int(RTNL.NLMSG_ERROR) == Int(NLMSG_ERROR))
        #expect(Int(RTNL.NLMSG_DONE) == Int(NLMSG_DONE))
        #expect(Int(RTNL.NLMSG_OVERRUN) == Int(NLMSG_OVERRUN))
        #expect(Int(RTNL.NLM_F_DUMP) == Int(NLM_F_DUMP))
        #expect(Int(RTNL.NLM_F_DUMP_INTR) == Int(NLM_F_DUMP_INTR))
        #expect(Int(RTNL.NETLINK_ROUTE) == Int(NETLINK_ROUTE))
        #expect(Int(RTNL.NETLINK_NETFILTER) == Int(NETLINK_NETFILTER))
    }
}

internal import CMnl

/// Numeric constants of the traffic-control ABI (linux/rtnetlink.h, linux/pkt_sched.h,
/// linux/pkt_cls.h, linux/tc_act/tc_mirred.h, linux/if_ether.h), read from the C definitions.
@_spi(BerthInternal) extension RTNL {
    public static let RTM_NEWQDISC = UInt16(CMnl.RTM_NEWQDISC)
    public static let RTM_DELQDISC = UInt16(CMnl.RTM_DELQDISC)
    public static let RTM_NEWTFILTER = UInt16(CMnl.RTM_NEWTFILTER)
    public static let TCA_KIND = UInt16(CMnl.TCA_KIND)
    public static let TCA_OPTIONS = UInt16(CMnl.TCA_OPTIONS)
    public static let TCA_U32_SEL = UInt16(CMnl.TCA_U32_SEL)
    public static let TCA_U32_ACT = UInt16(CMnl.TCA_U32_ACT)
    public static let TCA_ACT_KIND = UInt16(CMnl.TCA_ACT_KIND)
    public static let TCA_ACT_OPTIONS = UInt16(CMnl.TCA_ACT_OPTIONS)
    public static let TCA_MIRRED_PARMS = UInt16(CMnl.TCA_MIRRED_PARMS)
    /// TC_H_INGRESS: the parent of an ingress qdisc (0xFFFFFFF1).
    public static let TC_H_INGRESS = UInt32(CMnl.TC_H_INGRESS)
    /// The ingress qdisc's handle, `ffff:` (TC_H_MAKE(TC_H_INGRESS, 0) = 0xFFFF0000).
    public static let TC_H_INGRESS_HANDLE: UInt32 = UInt32(CMnl.TC_H_INGRESS) & UInt32(CMnl.TC_H_MAJ_MASK)
    public static let TC_ACT_STOLEN = Int32(CMnl.TC_ACT_STOLEN)
    public static let TCA_EGRESS_REDIR = Int32(CMnl.TCA_EGRESS_REDIR)
    public static let TC_U32_TERMINAL = UInt8(CMnl.TC_U32_TERMINAL)
    public static let ETH_P_ALL = UInt16(CMnl.ETH_P_ALL)
}

/// Builders for the tc requests of the tc-redirect wiring (issue 16; what tc-redirect-tap and
/// Kata's `tcfilter` model program): an ingress qdisc and a u32 match-all filter whose mirred
/// action redirects every frame to another device's egress. Byte-exact with iproute2's `tc`
/// (fixture: Tests/BerthNetlinkTests/TrafficControlRequestTests.swift, captured from tc 6.1):
/// like `tc`, the outer nests (TCA_OPTIONS, TCA_U32_ACT and the action slot) carry no
/// NLA_F_NESTED, TCA_ACT_OPTIONS does.
package enum TrafficControlRequest {
    /// struct tcmsg (20 bytes): family, pad1, pad2, ifindex, handle, parent, info.
    static func tcmsg(into b: inout NetlinkMessageBuilder, index: Int32, handle: UInt32, parent: UInt32, info: UInt32) {
        b.append(RTNL.AF_UNSPEC)
        b.append(UInt8(0))
        b.append(UInt16(0))
        b.append(index)
        b.append(handle)
        b.append(parent)
        b.append(info)
    }

    /// `tc qdisc add dev DEV ingress`: RTM_NEWQDISC, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK, handle
    /// ffff:, parent TC_H_INGRESS, TCA_KIND "ingress".
    package static func addIngressQdisc(index: Int32) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWQDISC,
                                      flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_EXCL | RTNL.NLM_F_CREATE)
        tcmsg(into: &b, index: index, handle: RTNL.TC_H_INGRESS_HANDLE, parent: RTNL.TC_H_INGRESS, info: 0)
        b.attribute(RTNL.TCA_KIND, string: "ingress")
        return b
    }

    /// `tc qdisc del dev DEV ingress`: RTM_DELQDISC (its filters go with it).
    package static func deleteIngressQdisc(index: Int32) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_DELQDISC, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK)
        tcmsg(into: &b, index: index, handle: RTNL.TC_H_INGRESS_HANDLE, parent: RTNL.TC_H_INGRESS, info: 0)
        b.attribute(RTNL.TCA_KIND, string: "ingress")
        return b
    }

    /// `tc filter add dev DEV parent ffff: protocol all u32 match u32 0 0 action mirred egress
    /// redirect dev TARGET`: RTM_NEWTFILTER on the ingress qdisc, tcm_info = protocol ETH_P_ALL
    /// (network order) with priority 0 (the kernel picks one), TCA_KIND "u32", TCA_OPTIONS {
    /// TCA_U32_ACT { 1 { TCA_ACT_KIND "mirred", TCA_ACT_OPTIONS { TCA_MIRRED_PARMS struct
    /// tc_mirred { index 0, capab 0, action TC_ACT_STOLEN, refcnt 0, bindcnt 0, eaction
    /// TCA_EGRESS_REDIR, ifindex TARGET } } } }, TCA_U32_SEL struct tc_u32_sel { flags
    /// TC_U32_TERMINAL, nkeys 1, key { mask 0, val 0, off 0, offmask 0 } } }.
    package static func addRedirectFilter(index: Int32, to target: Int32) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_NEWTFILTER,
                                      flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_EXCL | RTNL.NLM_F_CREATE)
        tcmsg(into: &b, index: index, handle: 0, parent: RTNL.TC_H_INGRESS_HANDLE, info: UInt32(RTNL.ETH_P_ALL.bigEndian))
        b.attribute(RTNL.TCA_KIND, string: "u32")
        let options = b.beginNested(RTNL.TCA_OPTIONS, flagged: false)
        let actions = b.beginNested(RTNL.TCA_U32_ACT, flagged: false)
        let first = b.beginNested(1, flagged: false)
        b.attribute(RTNL.TCA_ACT_KIND, string: "mirred")
        let parms = b.beginNested(RTNL.TCA_ACT_OPTIONS)
        var mirred = NetlinkMessageBuilder.Payload()
        mirred.append(UInt32(0))            // tc_gen.index
        mirred.append(UInt32(0))            // tc_gen.capab
        mirred.append(RTNL.TC_ACT_STOLEN)   // tc_gen.action
        mirred.append(Int32(0))             // tc_gen.refcnt
        mirred.append(Int32(0))             // tc_gen.bindcnt
        mirred.append(RTNL.TCA_EGRESS_REDIR) // eaction
        mirred.append(UInt32(bitPattern: target)) // ifindex
        b.attribute(RTNL.TCA_MIRRED_PARMS, mirred.bytes)
        b.endNested(parms)
        b.endNested(first)
        b.endNested(actions)
        var sel = NetlinkMessageBuilder.Payload()
        sel.append(RTNL.TC_U32_TERMINAL)    // flags
        sel.append(UInt8(0))                // offshift
        sel.append(UInt8(1))                // nkeys
        sel.append(UInt8(0))                // padding before the __be16
        sel.append(UInt16(0))               // offmask
        sel.append(UInt16(0))               // off
        sel.append(Int16(0))                // offoff
        sel.append(Int16(0))                // hoff
        sel.append(UInt32(0))               // hmask
        for _ in 0..<4 { sel.append(UInt32(0)) }  // keys[0]: mask, val, off, offmask
        b.attribute(RTNL.TCA_U32_SEL, sel.bytes)
        b.endNested(options)
        return b
    }
}

/// Builders for RTM_*ADDR requests (struct ifaddrmsg, 8 bytes, then IFA_* attributes).
package enum AddressRequest {
    static func header(_ type: UInt16, flags: UInt16, family: UInt8, prefixLength: Int, scope: UInt8, index: Int32,
                       addressFlags: UInt32 = 0) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: type, flags: flags)
        b.append(family)
        b.append(UInt8(truncatingIfNeeded: prefixLength))
        b.append(addressFlags <= 0xff ? UInt8(addressFlags) : UInt8(0))  // ifa_flags
        b.append(scope)
        b.append(UInt32(bitPattern: index))
        return b
    }

    /// `ip addr add A/LEN [brd B] dev IF [nodad]`: RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL, IFA_LOCAL + IFA_ADDRESS
    /// (+ IFA_BROADCAST for IPv4 when given; `flags` in ifa_flags, or IFA_FLAGS above 8 bits).
    package static func add(_ a: InterfaceAddress) -> NetlinkMessageBuilder {
        var b = header(RTNL.RTM_NEWADDR, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_CREATE | RTNL.NLM_F_EXCL,
                       family: a.address.family, prefixLength: a.prefixLength, scope: a.scope, index: a.linkIndex,
                       addressFlags: a.flags)
        b.attribute(RTNL.IFA_LOCAL, a.address.bytes)
        b.attribute(RTNL.IFA_ADDRESS, a.address.bytes)
        if let brd = a.broadcast { b.attribute(RTNL.IFA_BROADCAST, brd.bytes) }
        if a.flags > 0xff { b.attribute(RTNL.IFA_FLAGS, u32: a.flags) }
        return b
    }

    /// `ip addr del A/LEN dev IF`: RTM_DELADDR with IFA_LOCAL.
    package static func delete(_ a: InterfaceAddress) -> NetlinkMessageBuilder {
        var b = header(RTNL.RTM_DELADDR, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK,
                       family: a.address.family, prefixLength: a.prefixLength, scope: 0, index: a.linkIndex)
        b.attribute(RTNL.IFA_LOCAL, a.address.bytes)
        return b
    }

    /// `ip addr show`: RTM_GETADDR dump of one family (0 = both).
    package static func dump(family: UInt8) -> NetlinkMessageBuilder {
        header(RTNL.RTM_GETADDR, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP, family: family, prefixLength: 0, scope: 0, index: 0)
    }
}

/// Builders for RTM_*ROUTE requests (struct rtmsg, 12 bytes, then RTA_* attributes).
package enum RouteRequest {
    static func header(_ type: UInt16, flags: UInt16, route r: Route, scope: UInt8, proto: UInt8) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: type, flags: flags)
        b.append(r.family)
        b.append(UInt8(truncatingIfNeeded: r.destinationPrefixLength))
        b.append(UInt8(0))                                  // rtm_src_len
        b.append(UInt8(0))                                  // rtm_tos
        b.append(r.table < 256 ? UInt8(r.table) : 252)     // rtm_table (RT_TABLE_COMPAT when > 255)
        b.append(proto)
        b.append(scope)
        b.append(RTNL.RTN_UNICAST)
        b.append(UInt32(0))                                 // rtm_flags
        return b
    }

    static func attributes(into b: inout NetlinkMessageBuilder, _ r: Route) {
        if r.table >= 256 { b.attribute(RTNL.RTA_TABLE, u32: r.table) }
        if let d = r.destination { b.attribute(RTNL.RTA_DST, d.bytes) }
        if let g = r.gateway { b.attribute(RTNL.RTA_GATEWAY, g.bytes) }
        if let o = r.outputIndex { b.attribute(RTNL.RTA_OIF, u32: UInt32(bitPattern: o)) }
        if let m = r.metric { b.attribute(RTNL.RTA_PRIORITY, u32: m) }
    }

    /// `ip route add ...`: RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL, protocol and scope from the route.
    package static func add(_ r: Route) -> NetlinkMessageBuilder {
        var b = header(RTNL.RTM_NEWROUTE, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK | RTNL.NLM_F_CREATE | RTNL.NLM_F_EXCL,
                       route: r, scope: r.scope, proto: r.proto)
        attributes(into: &b, r)
        return b
    }

    /// `ip route del ...`: RTM_DELROUTE with scope RT_SCOPE_NOWHERE (matches any scope, as iproute2 does).
    package static func delete(_ r: Route) -> NetlinkMessageBuilder {
        var b = header(RTNL.RTM_DELROUTE, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_ACK, route: r,
                       scope: RTNL.RT_SCOPE_NOWHERE, proto: 0)
        attributes(into: &b, r)
        return b
    }

    /// `ip route show table all`: RTM_GETROUTE dump of one family.
    package static func dump(family: UInt8) -> NetlinkMessageBuilder {
        var b = NetlinkMessageBuilder(type: RTNL.RTM_GETROUTE, flags: RTNL.NLM_F_REQUEST | RTNL.NLM_F_DUMP)
        b.append(family)
        for _ in 0..<7 { b.append(UInt8(0)) }
        b.append(UInt32(0))
        return b
    }
}

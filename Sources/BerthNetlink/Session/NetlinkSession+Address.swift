@_spi(BerthInternal) import BerthNamespace
/// Address operations (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR).
@_spi(BerthInternal) extension NetlinkSession {
    /// `ip addr add A/LEN [brd B] dev IF`.
    /// - Throws: `.missingCapability`, `.exists` (already assigned), `.notFound` (no such link),
    ///   `.invalidArgument` (prefix length beyond the family's width).
    /// - Parameter device: the link's name, for error messages (default `#index`).
    public func addAddress(_ address: InterfaceAddress, device: String? = nil) throws(NetlinkError) {
        let op = OperationName.addAddress
        let obj = "\(address.address)/\(address.prefixLength) on \(device ?? "#\(address.linkIndex)")"
        guard address.prefixLength >= 0, address.prefixLength <= address.address.bitWidth else {
            throw NetlinkError(.invalidArgument, operation: op, object: obj, detail: "prefix length out of range")
        }
        try requireNetAdmin(op, obj)
        _ = try request(AddressRequest.add(address), operation: op, object: obj)
    }

    /// `ip addr del A/LEN dev IF`.
    /// - Throws: `.missingCapability`, `.notFound` (EADDRNOTAVAIL) when the address is not there.
    public func deleteAddress(_ address: InterfaceAddress) throws(NetlinkError) {
        let op = OperationName.deleteAddress
        let obj = "\(address.address)/\(address.prefixLength) on #\(address.linkIndex)"
        try requireNetAdmin(op, obj)
        _ = try request(AddressRequest.delete(address), operation: op, object: obj)
    }

    /// `ip addr show [dev IF]`: addresses of `family` (RTNL.AF_INET / AF_INET6 / AF_UNSPEC for both),
    /// optionally only those of link `index`.
    public func addresses(family: UInt8 = RTNL.AF_UNSPEC, linkIndex: Int32? = nil) throws(NetlinkError) -> [InterfaceAddress] {
        let op = OperationName.listAddresses
        var out: [InterfaceAddress] = []
        for m in try dump(AddressRequest.dump(family: family), operation: op, object: "all") where m.type == RTNL.RTM_NEWADDR {
            let a = try RouteDecoding.address(m, operation: op, object: "all")
            if linkIndex == nil || a.linkIndex == linkIndex { out.append(a) }
        }
        return out
    }
}

/// Route operations (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE).
@_spi(BerthInternal) extension NetlinkSession {
    /// `ip route add [DST/LEN | default] [via GW] [dev IF] [metric M]`.
    /// - Throws: `.missingCapability`, `.exists`, `.notFound`/`.kernel` (ENETUNREACH: gateway not on-link).
    /// - Parameter device: the output link's name, for error messages (default `#index`).
    public func addRoute(_ route: Route, device: String? = nil) throws(NetlinkError) {
        let op = OperationName.addRoute
        let obj = Self.describe(route, device: device)
        try requireNetAdmin(op, obj)
        _ = try request(RouteRequest.add(route), operation: op, object: obj)
    }

    /// `ip route del ...`.
    /// - Throws: `.missingCapability`, `.notFound` (ESRCH) when no such route exists.
    public func deleteRoute(_ route: Route) throws(NetlinkError) {
        let op = OperationName.deleteRoute
        let obj = Self.describe(route)
        try requireNetAdmin(op, obj)
        _ = try request(RouteRequest.delete(route), operation: op, object: obj)
    }

    /// `ip route show table TABLE`: routes of `family` in `table` (default main; nil for all tables).
    public func routes(family: UInt8 = RTNL.AF_INET, table: UInt32? = UInt32(RTNL.RT_TABLE_MAIN)) throws(NetlinkError) -> [Route] {
        let op = OperationName.listRoutes
        var out: [Route] = []
        for m in try dump(RouteRequest.dump(family: family), operation: op, object: "all") where m.type == RTNL.RTM_NEWROUTE {
            let r = try RouteDecoding.route(m, operation: op, object: "all")
            if table == nil || r.table == table { out.append(r) }
        }
        return out
    }

    static func describe(_ r: Route, device: String? = nil) -> String {
        var s = r.destination.map { "\($0)/\(r.destinationPrefixLength)" } ?? "default"
        if let g = r.gateway { s += " via \(g)" }
        if let d = device { s += " dev \(d)" } else if let o = r.outputIndex { s += " dev #\(o)" }
        return s
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// IPv6 on bridge networks (issue 15), as Docker 20.10 does it (Tests/Fixtures/docker-20.10/ipv6/,
/// libnetwork drivers/bridge setup_ipv6.go, osl interface_linux.go), with Docker 28's host sysctl
/// behaviour: the host's `net.ipv6.conf.all.forwarding` is only turned on after every interface
/// that accepts router advertisements (`accept_ra=1`) was moved to `accept_ra=2`, so the host
/// keeps its RA default route (moby #43466).
extension NetworkController {
    /// The IPv6 part of `NetworkOptions`, checked.
    struct IPv6Plan: Sendable, Equatable {
        var subnet: IPv6Subnet
        var gateway: IPv6Address
        var range: IPv6Subnet?
    }

    /// The link-local address Docker 20.10 puts on every IPv6 bridge (`bridgeIPv6Str`).
    static let bridgeLinkLocal = IPv6Address("fe80::1")

    /// Checks the IPv6 options without the kernel or the state: a subnet is required with
    /// `--ipv6` (Docker 20.10 has no default IPv6 pool) and refused without it; gateway and
    /// ip-range inside it.
    /// - Returns: nil for an IPv4-only network.
    /// - Throws: `.invalidArgument`, `.gatewayOutsideSubnet`, `.ipRangeOutsideSubnet`.
    static func preflight6(_ options: NetworkOptions) throws(BerthError) -> IPv6Plan? {
        let op = OperationName.createNetwork
        let name = options.name
        guard options.enableIPv6 else {
            if options.subnet6 != nil || options.gateway6 != nil || options.ipRange6 != nil {
                throw BerthError(.invalidArgument, operation: op, object: name,
                                 detail: "an IPv6 subnet, gateway or ip-range needs IPv6 enabled (--ipv6)")
            }
            return nil
        }
        guard let text = options.subnet6 else {
            if options.gateway6 != nil || options.ipRange6 != nil {
                throw BerthError(.invalidArgument, operation: op, object: name,
                                 detail: "every ip-range or gateway must have a corresponding subnet")
            }
            throw BerthError(.invalidArgument, operation: op, object: name,
                             detail: "--ipv6 needs an IPv6 subnet (--subnet fd00:1::/64): could not find an available, non-overlapping "
                                + "IPv6 address pool among the defaults to assign to the network (Docker 20.10 has no default IPv6 pool)")
        }
        guard let subnet = IPv6Subnet(text) else {
            throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid IPv6 subnet '\(text)': expected x:x::/len")
        }
        guard subnet.address == subnet.network else {
            throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid subnet '\(text)': it should be \(subnet.canonical)")
        }
        try AddressAllocator6.checkSubnet(subnet, operation: op, object: name)
        var range: IPv6Subnet?
        if let text = options.ipRange6 {
            guard let r = IPv6Subnet(text) else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)'")
            }
            guard r.address == r.network else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid ip-range '\(text)': it should be \(r.canonical)")
            }
            guard subnet.contains(r) else {
                throw BerthError(.ipRangeOutsideSubnet, operation: op, object: name, detail: "ip-range \(r) is not inside subnet \(subnet)")
            }
            if (try? AddressAllocator6(subnet: subnet, gateway: nil, range: r).allocate(used: [], operation: op, object: name)) == nil {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "ip-range \(r) holds no usable address")
            }
            range = r
        }
        let gateway: IPv6Address
        if let text = options.gateway6 {
            guard let g = IPv6Address(text), !g.isIPv4Mapped else {
                throw BerthError(.invalidArgument, operation: op, object: name, detail: "invalid gateway '\(text)'")
            }
            guard AddressAllocator6(subnet: subnet, gateway: nil).isAssignable(g) else {
                throw BerthError(.gatewayOutsideSubnet, operation: op, object: name, detail: "gateway \(g) is not a usable address of \(subnet)")
            }
            gateway = g
        } else {
            // As for IPv4 (oracle): the first address IPAM gives, in the ip-range when there is one.
            gateway = try AddressAllocator6(subnet: subnet, gateway: nil, range: range).allocate(used: [], operation: op, object: name)
        }
        if let range, (try? AddressAllocator6(subnet: subnet, gateway: gateway, range: range).allocate(used: [], operation: op, object: name)) == nil {
            throw BerthError(.invalidArgument, operation: op, object: name, detail: "ip-range \(range) holds no usable address")
        }
        return IPv6Plan(subnet: subnet, gateway: gateway, range: range)
    }

    /// `ControllerConfiguration.defaultBridgeIPv6` checked: a canonical IPv6 prefix of at most
    /// /80 (Docker 20.10 derives docker0's endpoint addresses from their 48-bit MACs: "At least 48
    /// host bits are needed").
    /// - Throws: `.invalidArgument` naming docker0 and the prefix.
    static func defaultBridgeIPv6Prefix(_ text: String?) throws(BerthError) -> IPv6Subnet? {
        guard let text else { return nil }
        let op = OperationName.setUpHost
        guard let prefix = IPv6Subnet(text), prefix.address == prefix.network else {
            throw BerthError(.invalidArgument, operation: op, object: defaultBridge,
                             detail: "fixed-cidr-v6 '\(text)' is not a canonical IPv6 prefix (e.g. 2001:db8:1::/64)")
        }
        try AddressAllocator6.checkSubnet(prefix, operation: op, object: defaultBridge)
        guard prefix.prefixLength <= 80 else {
            throw BerthError(.invalidArgument, operation: op, object: defaultBridge,
                             detail: "fixed-cidr-v6 \(prefix): at least 48 host bits are needed to derive addresses from MACs (at most /80)")
        }
        return prefix
    }

    /// Refuses IPv6 where the host namespace has none: `net.ipv6.conf.all.disable_ipv6=1`, or no
    /// `/proc/sys/net/ipv6` (kernel booted with `ipv6.disable=1`).
    /// - Throws: `.ipv6Unavailable` naming the operation and the network.
    func checkHostIPv6(operation op: OperationName, object: String) throws(BerthError) {
        let value: String
        do { value = try Sysctl.read("net.ipv6.conf.all.disable_ipv6", in: host) } catch {
            throw BerthError(.ipv6Unavailable, operation: op, object: object,
                             detail: "the host namespace has no IPv6 (no net.ipv6.conf.all.disable_ipv6: \(error.description)); nothing was changed",
                             cause: .netlink(error))
        }
        if value == "1" {
            throw BerthError(.ipv6Unavailable, operation: op, object: object,
                             detail: "IPv6 is disabled in the host namespace (net.ipv6.conf.all.disable_ipv6 = 1); nothing was changed")
        }
    }

    /// The bridge side of an IPv6 network (setup_ipv6.go): `disable_ipv6=0` on the bridge,
    /// `fe80::1/64` and the gateway with its prefix (DAD off, as Docker 28: the gateway answers at
    /// once), then host forwarding (`enableIPv6Forwarding`). Each step only when missing.
    /// - Throws: `NetlinkError` from the sysctl and address requests.
    func ensureBridgeIPv6(_ network: Network, linkIndex: Int32, operation op: OperationName) throws {
        guard network.enableIPv6, let subnet = network.subnet6, let gateway = network.gateway6 else { return }
        if try Sysctl.write(Sysctl.interfaceKey("ipv6", network.bridge, "disable_ipv6"), "0", in: host) { CrashPoint.step(op) }
        let present = try hostSession.addresses(family: RTNL.AF_INET6, linkIndex: linkIndex)
        var wanted: [(IPv6Address, Int, UInt8)] = [(gateway, subnet.prefixLength, RTNL.RT_SCOPE_UNIVERSE)]
        if let linkLocal = Self.bridgeLinkLocal { wanted.insert((linkLocal, 64, RTNL.RT_SCOPE_LINK), at: 0) }
        for (address, length, scope) in wanted where !present.contains(where: { $0.address == .v6(address) && $0.prefixLength == length }) {
            try hostSession.addAddress(InterfaceAddress(address: .v6(address), prefixLength: length, linkIndex: linkIndex, scope: scope,
                                                        flags: RTNL.IFA_F_NODAD), device: network.bridge)
            CrashPoint.step(op)
        }
        try enableIPv6Forwarding(operation: op)
    }

    /// Turns on IPv6 forwarding in the host namespace, as an IPv6 bridge network needs (the kernel
    /// forwards IPv6 only with `net.ipv6.conf.all.forwarding=1`). Docker 20.10 writes
    /// `default.forwarding` and `all.forwarding`; that makes every interface with `accept_ra=1`
    /// ignore router advertisements, and a host configured by RA loses its default route (moby
    /// #43466). So, as Docker 27+: first every uplink with `accept_ra=1` gets `accept_ra=2`
    /// (RAs accepted even when forwarding), then `all.forwarding=1`. Uplinks are the links that
    /// are neither `lo`, nor a bridge, nor a bridge port (sandboxes' host ends and TAPs must not
    /// take router advertisements from sandboxes: they keep ignoring them). Nothing when
    /// forwarding is on already. Neither is turned back when the last IPv6 network goes (Docker
    /// neither).
    /// - Throws: `NetlinkError` from the sysctl writes.
    func enableIPv6Forwarding(operation op: OperationName) throws {
        if (try? Sysctl.read("net.ipv6.conf.all.forwarding", in: host)) == "1" { return }
        for link in try hostSession.links() where link.name != "lo" && link.kind != "bridge" && link.masterIndex == nil {
            let key = Sysctl.interfaceKey("ipv6", link.name, "accept_ra")
            if (try? Sysctl.read(key, in: host)) == "1" {
                _ = try Sysctl.write(key, "2", in: host)
                CrashPoint.step(op)
            }
        }
        _ = try Sysctl.writeWherePresent(["net.ipv6.conf.default.forwarding", "net.ipv6.conf.all.forwarding"], "1", in: host)
        CrashPoint.step(op)
    }

    /// An endpoint's IPv6 address on `network`: the static one (`--ip6`, only on a network with an
    /// IPv6 subnet), the MAC-derived one (default bridge with `--fixed-cidr-v6` of /80 or
    /// shorter), or the lowest free one (from `::2` up; inside the IPv6 ip-range when set).
    /// - Returns: nil for an IPv4-only network.
    /// - Throws: `.invalidArgument` (`--ip6` on an IPv4-only network), `.addressOutsideSubnet`,
    ///   `.addressInUse`, `.addressesExhausted`.
    func chooseAddress6(_ network: Network, state: StateSnapshot, staticAddress: IPv6Address?, mac: MACAddress,
                        operation op: OperationName) throws(BerthError) -> IPv6Address? {
        guard network.enableIPv6, let subnet = network.subnet6 else {
            if let staticAddress {
                throw BerthError(.invalidArgument, operation: op, object: network.name,
                                 detail: "IPv6 address \(staticAddress) given, but network \(network.name) has no IPv6 (created without --ipv6)")
            }
            return nil
        }
        let allocator = AddressAllocator6(subnet: subnet, gateway: network.gateway6, range: network.ipRange6)
        let used = Set(state.endpoints(of: network.id).compactMap(\.address6))
        if let staticAddress {
            try allocator.reserve(staticAddress, used: used, operation: op, object: network.name)
            return staticAddress
        }
        if network.macDerived6, let derived = AddressAllocator6.macDerived(prefix: subnet, mac: mac) {
            try allocator.reserve(derived, used: used, operation: op, object: network.name)
            return derived
        }
        return try allocator.allocate(used: used, operation: op, object: network.name)
    }

    /// The sandbox side of an IPv6 endpoint (osl `setInterfaceIPv6`, `checkLoV6`): `disable_ipv6=0`
    /// on the interface and on `lo` (so `lo` has `::1`, as in Docker's containers: golden
    /// ipv6/c-containers.ctr-c6.sysctl.txt), `all` and `default` untouched (a sandbox Berth
    /// creates has them at 1, as Docker's), then the address with DAD off (IFA_F_NODAD).
    /// - Throws: `NetlinkError` from the sysctl and address requests.
    static func configureIPv6(_ address: IPv6Address, prefixLength: Int, interface: String, linkIndex: Int32,
                              session inside: NetlinkSession, namespace: NetworkNamespace) throws {
        _ = try Sysctl.writeWherePresent([Sysctl.interfaceKey("ipv6", interface, "disable_ipv6"), "net.ipv6.conf.lo.disable_ipv6"], "0",
                                         in: namespace)
        try inside.addAddress(InterfaceAddress(address: .v6(address), prefixLength: prefixLength, linkIndex: linkIndex,
                                               flags: RTNL.IFA_F_NODAD), device: interface)
    }
}

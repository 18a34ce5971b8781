@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// IPv6 address management for one network (pure; the used addresses come from the state).
///
/// Docker 20.10's rules for a user-defined v6 subnet (libnetwork `ipam/allocator.go`,
/// `insertBitMask`: the subnet's first address is reserved "so that bridge ip starts with
/// XXXX...::1"): the first address (`::`) is never handed out, nor the gateway (`::1` unless
/// given); dynamic allocation takes the lowest free address, inside the ip-range when one is set.
/// IPv6 has no broadcast address, so the last address is usable.
///
/// Never enumerates the subnet (a /64 has 2^64 addresses): the lowest free address is found by
/// walking the sorted used addresses from the start of the pool, O(n log n) in the number of
/// endpoints.
package struct AddressAllocator6: Sendable {
    package let subnet: IPv6Subnet
    package let gateway: IPv6Address?
    /// Limits dynamic allocation (`--ip-range`); nil means the whole subnet.
    package let range: IPv6Subnet?

    package init(subnet: IPv6Subnet, gateway: IPv6Address?, range: IPv6Subnet? = nil) {
        self.subnet = subnet.canonical
        self.gateway = gateway
        self.range = range?.canonical
    }

    /// The gateway Docker picks when none is given: the subnet's first address + 1 (`fd00::1`).
    package static func defaultGateway(of subnet: IPv6Subnet) -> IPv6Address {
        IPv6Address(subnet.canonical.network.value &+ 1)
    }

    /// True when `address` can be given to an endpoint at all (inside the subnet, not its first address).
    package func isAssignable(_ address: IPv6Address) -> Bool {
        subnet.contains(address) && address != subnet.network
    }

    /// The lowest free address (within the ip-range when set).
    /// - Parameter used: addresses already held by endpoints.
    /// - Throws: `BerthError.Code.addressesExhausted`.
    package func allocate(used: Set<IPv6Address>, operation: OperationName, object: String) throws(BerthError) -> IPv6Address {
        let pool = range ?? subnet
        var taken = used.filter { pool.contains($0) }
        taken.insert(subnet.network)
        if let gateway, pool.contains(gateway) { taken.insert(gateway) }
        var candidate = pool.network.value
        let last = pool.last.value
        for address in taken.map(\.value).sorted() where address >= candidate {
            if address != candidate { break }
            if candidate == last {
                throw BerthError(.addressesExhausted, operation: operation, object: object, detail: "no free address left in \(pool)")
            }
            candidate += 1
        }
        return IPv6Address(candidate)
    }

    /// Checks a requested static address.
    /// - Throws: `.addressOutsideSubnet` (outside, or the subnet's first address), `.addressInUse`
    ///   (held by an endpoint, or the gateway).
    package func reserve(_ address: IPv6Address, used: Set<IPv6Address>, operation: OperationName, object: String) throws(BerthError) {
        guard isAssignable(address) else {
            throw BerthError(.addressOutsideSubnet, operation: operation, object: object,
                             detail: "address \(address) is not usable in subnet \(subnet)")
        }
        if address == gateway || used.contains(address) {
            throw BerthError(.addressInUse, operation: operation, object: object, detail: "address \(address) is already in use")
        }
    }

    /// The address Docker 20.10 gives an endpoint of the default bridge with `--fixed-cidr-v6`
    /// of /80 or shorter (bridge driver Join): the prefix with the endpoint's 6 MAC bytes in bytes
    /// 10–15 (`2001:db8:1::/64` + `02:42:ac:11:00:02` → `2001:db8:1::242:ac11:2`); nil above /80.
    package static func macDerived(prefix: IPv6Subnet, mac: MACAddress) -> IPv6Address? {
        guard prefix.prefixLength <= 80, mac.bytes.count == 6 else { return nil }
        var bytes = prefix.canonical.network.bytes
        for i in 0..<6 { bytes[10 + i] |= mac.bytes[i] }
        return IPv6Address(bytes: bytes)
    }

    /// The one check of a v6 subnet given to `network create` (issue 15's bad input): a unicast
    /// prefix with room for a gateway and endpoints. /127 and /128 leave none (the first address
    /// is reserved, the gateway takes the next); multicast (`ff00::/8`) and link-local
    /// (`fe80::/10`, every bridge already has `fe80::1/64`) are no subnets for endpoints; an
    /// IPv4-mapped prefix is IPv4 in disguise.
    /// - Throws: `.invalidArgument` naming the subnet and the rule.
    package static func checkSubnet(_ subnet: IPv6Subnet, operation: OperationName, object: String) throws(BerthError) {
        let reason: String?
        if subnet.prefixLength > 126 {
            reason = "a /\(subnet.prefixLength) leaves no address for endpoints (at most /126)"
        } else if subnet.network.isMulticast {
            reason = "it is a multicast prefix (ff00::/8)"
        } else if subnet.network.isLinkLocal || IPv6Subnet("fe80::/10").map({ subnet.contains($0.network) || subnet.overlaps($0) }) == true {
            reason = "it overlaps the link-local prefix fe80::/10"
        } else if subnet.network.isIPv4Mapped {
            reason = "it is an IPv4-mapped prefix (::ffff:0:0/96)"
        } else if subnet.prefixLength == 0 {
            reason = "::/0 is every address"
        } else {
            reason = nil
        }
        if let reason {
            throw BerthError(.invalidArgument, operation: operation, object: object, detail: "IPv6 subnet \(subnet) is refused: \(reason)")
        }
    }
}

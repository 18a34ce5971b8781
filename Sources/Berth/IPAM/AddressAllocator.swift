@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// Address management for one network (pure; the set of used addresses comes from the state).
///
/// Rules (Docker's default IPAM): the network and broadcast addresses are never handed out (for
/// prefixes up to /30), nor the gateway; dynamic allocation takes the lowest free address, inside
/// the ip-range when one is set; a static address may lie anywhere in the subnet but must be free.
package struct AddressAllocator: Sendable {
    package let subnet: IPv4Subnet
    package let gateway: IPv4Address?
    /// Limits dynamic allocation (`--ip-range`); nil means the whole subnet.
    package let range: IPv4Subnet?

    package init(subnet: IPv4Subnet, gateway: IPv4Address?, range: IPv4Subnet? = nil) {
        self.subnet = subnet.canonical
        self.gateway = gateway
        self.range = range?.canonical
    }

    /// True when `address` can be given to an endpoint at all (inside the subnet, not its network
    /// or broadcast address).
    package func isAssignable(_ address: IPv4Address) -> Bool {
        guard subnet.contains(address) else { return false }
        if subnet.prefixLength <= 30 && (address == subnet.network || address == subnet.broadcast) { return false }
        return true
    }

    /// The lowest free address (within the ip-range when set).
    /// - Parameter used: addresses already held by endpoints.
    /// - Throws: `BerthError.Code.addressesExhausted`.
    package func allocate(used: Set<IPv4Address>, operation: OperationName, object: String) throws(BerthError) -> IPv4Address {
        let pool = range ?? subnet
        var candidate = pool.network.value
        let last = pool.broadcast.value
        while true {
            let address = IPv4Address(candidate)
            if isAssignable(address) && address != gateway && !used.contains(address) { return address }
            if candidate == last { break }
            candidate += 1
        }
        throw BerthError(.addressesExhausted, operation: operation, object: object,
                         detail: "no free address left in \(pool)")
    }

    /// Checks a requested static address.
    /// - Throws: `.addressOutsideSubnet` (outside, network or broadcast address), `.addressInUse`
    ///   (held by an endpoint, or the gateway).
    package func reserve(_ address: IPv4Address, used: Set<IPv4Address>, operation: OperationName, object: String) throws(BerthError) {
        guard isAssignable(address) else {
            throw BerthError(.addressOutsideSubnet, operation: operation, object: object,
                             detail: "address \(address) is not usable in subnet \(subnet)")
        }
        if address == gateway || used.contains(address) {
            throw BerthError(.addressInUse, operation: operation, object: object,
                             detail: "address \(address) is already in use")
        }
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// An endpoint's address and MAC on `network` (a sandbox's veth or a micro-VM guest's), by
    /// Docker 20.10's rules: the static address (only on a network with a configured subnet) or
    /// the lowest free one, skipping addresses whose derived MAC another endpoint holds; MAC
    /// 02:42 + IPv4 unless given, unique on the network.
    /// - Throws: `.addressInUse` (address or MAC), `.invalidArgument` (static address on a
    ///   network without a configured subnet), `.addressOutsideSubnet`, `.addressesExhausted`.
    func chooseAddress(_ network: Network, state: StateSnapshot, staticAddress: IPv4Address?, staticMAC: MACAddress?,
                       operation op: OperationName) throws(BerthError) -> (IPv4Address, MACAddress) {
        let peers = state.endpoints(of: network.id)
        let takenMACs = Set(peers.map(\.mac))
        if let staticMAC, let holder = peers.first(where: { $0.mac == staticMAC }) {
            throw BerthError(.addressInUse, operation: op, object: network.name,
                             detail: "MAC address \(staticMAC) is already in use by endpoint \(holder.id.prefix(12)) on network \(network.name)")
        }
        let allocator = AddressAllocator(subnet: network.subnet, gateway: network.gateway, range: network.ipRange)
        let used = Set(peers.map(\.address))
        let address: IPv4Address
        if let staticAddress {
            guard network.subnetConfigured else {
                throw BerthError(.invalidArgument, operation: op, object: network.name,
                                 detail: "user specified IP address is supported only when connecting to networks with user configured subnets")
            }
            try allocator.reserve(staticAddress, used: used, operation: op, object: network.name)
            address = staticAddress
        } else {
            // Addresses whose derived MAC another endpoint holds are skipped (one MAC per bridge).
            address = try allocator.allocate(used: used.union(takenMACs.compactMap(\.dockerAddress)), operation: op, object: network.name)
        }
        var mac = staticMAC ?? MACAddress.docker(for: address)
        while staticMAC == nil && takenMACs.contains(mac) { mac = MACAddress(bytes: RandomID.bridgeMAC()) ?? mac }
        return (address, mac)
    }
}

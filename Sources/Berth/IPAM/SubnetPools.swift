@_spi(BerthInternal) import BerthNetlink

/// Docker's default address pools and its choice of a subnet for a new network (libnetwork
/// ipamutils: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 cut into /20s): the first
/// candidate that overlaps no existing network and no route of the host.
package enum SubnetPools {
    /// Every candidate in Docker's order: 15 /16s then 16 /20s.
    package static let candidates: [IPv4Subnet] = {
        var out: [IPv4Subnet] = []
        for second in 17...31 {
            if let s = IPv4Subnet(address: IPv4Address(172, UInt8(second), 0, 0), prefixLength: 16) { out.append(s) }
        }
        for third in stride(from: 0, to: 256, by: 16) {
            if let s = IPv4Subnet(address: IPv4Address(192, 168, UInt8(third), 0), prefixLength: 20) { out.append(s) }
        }
        return out
    }()

    /// The first candidate overlapping none of `taken`.
    /// - Parameter taken: subnets of existing networks and destinations of the host's routes.
    /// - Returns: nil when every candidate is taken.
    package static func firstFree(avoiding taken: [IPv4Subnet]) -> IPv4Subnet? {
        candidates.first { candidate in !taken.contains { $0.overlaps(candidate) } }
    }
}

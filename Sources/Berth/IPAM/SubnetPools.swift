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

    /// Docker 20.10's choice (libnetwork ipam `getPredefinedPool` with its per-address-space start
    /// index, and `network.requestPoolHelper`): candidates are tried from `startIndex` on, wrapping
    /// round; the first that overlaps no network is taken and the start index moves just past it
    /// (back to 0 past the end of the list). A pick that overlaps a host route is held (so the next
    /// try moves on) and the search goes on. So a freed subnet is not given again until the list
    /// wraps (oracle: after 172.18 and 172.19, removing 172.18 gives 172.20 next).
    /// - Parameters: `startIndex` into `candidates`; `networks`: subnets of existing networks;
    ///   `routes`: destinations of the host's routes.
    /// - Returns: the subnet and the next start index, or nil when every candidate is taken.
    package static func rotating(startIndex: Int, networks: [IPv4Subnet], routes: [IPv4Subnet]) -> (subnet: IPv4Subnet, nextStart: Int)? {
        var index = (0..<candidates.count).contains(startIndex) ? startIndex : 0
        var held: [IPv4Subnet] = []
        while true {
            let rotated = Array(candidates[index...] + candidates[..<index])
            guard let i = rotated.firstIndex(where: { c in !(networks + held).contains { $0.overlaps(c) } }) else { return nil }
            let pick = rotated[i]
            index = index + i + 1 >= candidates.count ? 0 : index + i + 1
            if routes.contains(where: { $0.overlaps(pick) }) {
                held.append(pick)
                continue
            }
            return (pick, index)
        }
    }
}

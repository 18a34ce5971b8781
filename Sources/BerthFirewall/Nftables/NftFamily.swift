internal import CNftnl
#if canImport(Glibc)
import Glibc
#endif

/// The address family of one of Berth's two tables: `ip berth` (IPv4, every network) and
/// `ip6 berth` (IPv6, only while a network has an IPv6 subnet). Both tables have the same
/// layout (`NftLayout`); the family decides the header offsets of the address matches, the
/// NAT family of the DNAT expressions and the `nfgenmsg` family of every message
/// (linux/netfilter.h NFPROTO_IPV4 = 2, NFPROTO_IPV6 = 10).
enum NftFamily: Hashable, Sendable, CaseIterable {
    case ip
    case ip6

    /// The `nfgenmsg.nfgen_family` of the table's messages and the NAT expressions' family.
    var nfproto: UInt16 {
        switch self {
        case .ip: UInt16(NFPROTO_IPV4)
        case .ip6: UInt16(NFPROTO_IPV6)
        }
    }

    /// The family keyword of `nft` (`table ip berth`, `table ip6 berth`).
    var name: String {
        switch self {
        case .ip: "ip"
        case .ip6: "ip6"
        }
    }

    /// The address match keyword (`ip saddr`, `ip6 saddr`).
    var addressKeyword: String { name }

    /// Offsets of the source and destination address in the network header and their length:
    /// IPv4 (RFC 791) saddr 12, daddr 16, 4 bytes; IPv6 (RFC 8200) saddr 8, daddr 24, 16 bytes.
    var sourceOffset: UInt32 { self == .ip ? 12 : 8 }
    var destinationOffset: UInt32 { self == .ip ? 16 : 24 }
    var addressLength: Int { self == .ip ? 4 : 16 }
}

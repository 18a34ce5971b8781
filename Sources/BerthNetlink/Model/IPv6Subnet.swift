/// 128-bit arithmetic, ordering and JSON for `IPv6Address` (issue 15: v6 subnets are too large
/// to enumerate; allocation works on numbers).
extension IPv6Address: Comparable, Codable {
    /// The address as one big-endian 128-bit number (`fd00::2` → 0xfd00…0002).
    public var value: UInt128 {
        bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
    }

    /// The address whose big-endian number is `value`.
    public init(_ value: UInt128) {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { bytes[15 - i] = UInt8(truncatingIfNeeded: value >> UInt128(8 * i)) }
        self.bytes = bytes
    }

    /// Multicast (`ff00::/8`, RFC 4291 §2.7).
    public var isMulticast: Bool { bytes[0] == 0xff }
    /// Link-local unicast (`fe80::/10`, RFC 4291 §2.5.6).
    public var isLinkLocal: Bool { bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 }
    /// An IPv4-mapped address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2).
    public var isIPv4Mapped: Bool { bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { lhs.value < rhs.value }

    /// Decodes RFC 4291 text (`"fd00::2"`, also the dotted form `inet_ntop` writes for an
    /// IPv4-mapped address, `"::ffff:127.0.0.1"`, so every encoded value decodes); anything else
    /// is `DecodingError.dataCorrupted`. Refusing mapped addresses is the input validators' job.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPv6Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad IPv6 \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An IPv6 prefix (`fd00:1::/64`): an address and a prefix length 0–128, as `ip -6 addr` and
/// Docker's `--subnet` write it.
public struct IPv6Subnet: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The address as given (host bits may be set; `canonical` clears them).
    public var address: IPv6Address
    /// 0...128.
    public var prefixLength: Int

    /// nil unless `prefixLength` is 0–128.
    public init?(address: IPv6Address, prefixLength: Int) {
        guard (0...128).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `ADDRESS/LEN` (RFC 4291 §2.3 text, LEN 0–128 in decimal without leading zeros);
    /// an IPv4 CIDR is not an IPv6 subnet.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].contains(":"), let address = IPv6Address(String(parts[0])),
              !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              parts[1].count == 1 || parts[1].first != "0", let length = Int(parts[1]) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The netmask as a number (`/64` → 0xffff_ffff_ffff_ffff_0000_0000_0000_0000).
    public var mask: UInt128 { prefixLength == 0 ? 0 : UInt128.max << UInt128(128 - prefixLength) }
    /// The subnet's first address (host bits cleared).
    public var network: IPv6Address { IPv6Address(address.value & mask) }
    /// The subnet's last address (host bits set).
    public var last: IPv6Address { IPv6Address(address.value | ~mask) }
    /// This subnet with the host bits cleared.
    public var canonical: IPv6Subnet { IPv6Subnet(unchecked: network, prefixLength) }

    /// True when `other` lies in this prefix.
    public func contains(_ other: IPv6Address) -> Bool { other.value & mask == network.value }

    /// True when the two prefixes share at least one address.
    public func overlaps(_ other: IPv6Subnet) -> Bool {
        let shorter = min(prefixLength, other.prefixLength)
        let m: UInt128 = shorter == 0 ? 0 : UInt128.max << UInt128(128 - shorter)
        return address.value & m == other.address.value & m
    }

    /// True when `other` lies wholly inside this subnet.
    public func contains(_ other: IPv6Subnet) -> Bool { other.prefixLength >= prefixLength && contains(other.address) }

    /// `ADDRESS/LEN` with the address in RFC 5952 text, as `ip -6 addr` prints it.
    public var description: String { "\(address)/\(prefixLength)" }

    private init(unchecked address: IPv6Address, _ prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Decodes the `ADDRESS/LEN` text; anything else is `DecodingError.dataCorrupted`.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPv6Subnet(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad IPv6 prefix \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

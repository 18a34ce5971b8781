#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address held as a host-order 32-bit value (so arithmetic and ordering are numeric).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`"172.17.0.1"`), exactly four decimal parts 0–255, no leading `+`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for part in parts {
            // No leading zeros: "010" is octal to inet_aton, decimal to others; refuse the ambiguity.
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part.count == 1 || part.first != "0", let n = UInt32(part), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad IPv4 \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An IPv6 address as its 16 bytes in network order.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// - Precondition-free: returns nil unless exactly 16 bytes are given.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses RFC 4291 text with `inet_pton(AF_INET6)`.
    public init?(_ text: String) {
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &raw) { Array($0) }
    }

    /// RFC 5952 text from `inet_ntop(AF_INET6)`.
    public var description: String {
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "::?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family's text form.
    public init?(_ text: String) {
        if let v4 = IPv4Address(text) { self = .v4(v4) }
        else if let v6 = IPv6Address(text) { self = .v6(v6) }
        else { return nil }
    }

    /// Decodes 4 or 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        switch array.count {
        case 4: self = .v4(IPv4Address(array[0], array[1], array[2], array[3]))
        case 16: guard let v6 = IPv6Address(bytes: array) else { return nil }; self = .v6(v6)
        default: return nil
        }
    }

    /// AF_INET or AF_INET6.
    public var family: UInt8 {
        switch self {
        case .v4: UInt8(AF_INET)
        case .v6: UInt8(AF_INET6)
        }
    }

    /// The address bytes in network order.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    /// The maximum prefix length of the family: 32 or 128.
    public var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }
}

/// An IPv4 subnet in CIDR form; the address is kept as given (`172.18.0.5/16` keeps `.5`).
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible, Codable {
    public var address: IPv4Address
    /// 0...32.
    public var prefixLength: Int

    public init?(address: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/len`; len 0–32 is required.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[1].count <= 2,
              let length = Int(parts[1]) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The netmask as a host-order value (`/16` → 0xffff0000).
    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }
    /// The network address (host bits cleared).
    public var network: IPv4Address { IPv4Address(address.value & mask) }
    /// The broadcast address (host bits set).
    public var broadcast: IPv4Address { IPv4Address(address.value | ~mask) }
    /// This subnet with the host bits cleared.
    public var canonical: IPv4Subnet { IPv4Subnet(uncheckedAddress: network, prefixLength: prefixLength) }
    /// Number of addresses, 2^(32-len).
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == network.value }

    /// True when the two address ranges share at least one address.
    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefixLength, other.prefixLength)
        let m: UInt32 = shorter == 0 ? 0 : UInt32.max << UInt32(32 - shorter)
        return address.value & m == other.address.value & m
    }

    /// True when `other` lies wholly inside this subnet.
    public func contains(_ other: IPv4Subnet) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private init(uncheckedAddress: IPv4Address, prefixLength: Int) {
        self.address = uncheckedAddress
        self.prefixLength = prefixLength
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPv4Subnet(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad CIDR \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An Ethernet (EUI-48) address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    public var bytes: [UInt8]

    /// Exactly six bytes, or nil.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (hex, either case).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard p.count == 2, let b = UInt8(p, radix: 16) else { return nil }
            out.append(b)
        }
        bytes = out
    }

    /// Docker 20.10's container MAC: `02:42:` followed by the four IPv4 bytes.
    public static func docker(for address: IPv4Address) -> MACAddress {
        MACAddress(unchecked: [0x02, 0x42] + address.bytes)
    }

    /// The IPv4 address a Docker-derived MAC (`02:42` + the 4 address bytes) stands for; nil for
    /// any other MAC. The inverse of `docker(for:)`.
    public var dockerAddress: IPv4Address? {
        bytes.count == 6 && bytes[0] == 0x02 && bytes[1] == 0x42 ? IPv4Address(bytes[2], bytes[3], bytes[4], bytes[5]) : nil
    }

    private init(unchecked: [UInt8]) { bytes = unchecked }

    /// True when the multicast bit is clear and the address is not all zeros.
    public var isValidUnicast: Bool { bytes[0] & 1 == 0 && bytes.contains { $0 != 0 } }

    public var description: String {
        bytes.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad MAC \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

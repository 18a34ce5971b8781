@_spi(BerthInternal) import BerthNetlink

/// Builds one rule's expressions together with its `nft` text, match by match, producing the same
/// expressions `nft` generates for that text (checked with `nft --debug=netlink` and by the parity
/// test), so `nft list ruleset` prints our rules exactly like the equivalent script's.
struct NftRuleBuilder {
    private(set) var exprs: [NftExpr] = []
    private var words: [String] = []

    /// `iifname "NAME"` / `iifname != "NAME"`
    mutating func iifname(_ name: String, equal: Bool = true) {
        interface(.iifname, name, equal: equal)
    }

    /// `oifname "NAME"` / `oifname != "NAME"`
    mutating func oifname(_ name: String, equal: Bool = true) {
        interface(.oifname, name, equal: equal)
    }

    private mutating func interface(_ key: NftExpr.MetaKey, _ name: String, equal: Bool) {
        exprs += [.meta(key), .cmp(equal: equal, data: NftRuleBuilder.ifnameBytes(name))]
        words.append("\(key == .iifname ? "iifname" : "oifname") \(equal ? "" : "!= ")\"\(name)\"")
    }

    /// `iifname @SET`
    mutating func iifnameInSet(_ set: String, equal: Bool = true) {
        exprs += [.meta(.iifname), equal ? .lookup(set: set) : .lookupNot(set: set)]
        words.append("iifname \(equal ? "" : "!= ")@\(set)")
    }

    /// `iifname vmap @MAP` / `oifname vmap @MAP`
    mutating func vmap(_ key: NftExpr.MetaKey, _ map: String) {
        exprs += [.meta(key), .vmap(set: map)]
        words.append("\(key == .iifname ? "iifname" : "oifname") vmap @\(map)")
    }

    /// `ip saddr A.B.C.D[/LEN]` (source) or `ip daddr ...` (destination), optionally `!=`.
    /// Like nft: a prefix loads only its ceil(LEN/8) leading bytes, with a bitwise mask when LEN
    /// is not a multiple of 8; a /32 is printed as a plain address.
    mutating func ip(source: Bool, _ subnet: IPv4Subnet, equal: Bool = true) {
        let value = subnet.prefixLength == 32 ? subnet.network.description : "\(subnet.network)/\(subnet.prefixLength)"
        address(.ip, source: source, network: subnet.network.bytes, prefixLength: subnet.prefixLength, equal: equal, text: value)
    }

    /// `ip6 saddr X::[/LEN]` (source) or `ip6 daddr ...` (destination), optionally `!=`: the
    /// same shape as `ip(source:_:equal:)` on the IPv6 header (saddr at 8, daddr at 24, 16
    /// bytes: RFC 8200 §3); a /128 is printed as a plain address.
    mutating func ip6(source: Bool, _ subnet: IPv6Subnet, equal: Bool = true) {
        let value = subnet.prefixLength == 128 ? subnet.network.description : "\(subnet.network)/\(subnet.prefixLength)"
        address(.ip6, source: source, network: subnet.network.bytes, prefixLength: subnet.prefixLength, equal: equal, text: value)
    }

    /// `ip6 saddr X` / `ip6 daddr X`
    mutating func ip6(source: Bool, _ address: IPv6Address, equal: Bool = true) {
        guard let host = IPv6Subnet(address: address, prefixLength: 128) else { return }
        ip6(source: source, host, equal: equal)
    }

    /// The address match of either family: the leading ceil(LEN/8) bytes of the address field,
    /// masked when LEN is not a multiple of 8, compared with the network's bytes.
    private mutating func address(_ family: NftFamily, source: Bool, network: [UInt8], prefixLength length: Int, equal: Bool, text: String) {
        let byteCount = (length + 7) / 8
        exprs.append(.payload(.network, offset: source ? family.sourceOffset : family.destinationOffset, length: UInt32(byteCount)))
        if length % 8 != 0 {
            let mask = (0..<byteCount).map { i -> UInt8 in
                let bits = min(8, length - 8 * i)
                return bits >= 8 ? 0xff : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            }
            exprs.append(.bitwise(mask: mask, xor: [UInt8](repeating: 0, count: byteCount)))
        }
        exprs.append(.cmp(equal: equal, data: Array(network.prefix(byteCount))))
        words.append("\(family.addressKeyword) \(source ? "saddr" : "daddr") \(equal ? "" : "!= ")\(text)")
    }

    /// `ip saddr A.B.C.D` / `ip daddr A.B.C.D`
    mutating func ip(source: Bool, _ address: IPv4Address) {
        guard let host = IPv4Subnet(address: address, prefixLength: 32) else { return }
        ip(source: source, host)
    }

    /// `tcp dport N` / `udp dport N` / `sctp dport N`, or `... dport N-M` for a run of ports
    /// (meta l4proto dependency, then the transport header; a run is nft's range expression).
    mutating func destinationPort(_ proto: PortMapping.TransportProtocol, _ port: UInt16, through last: UInt16? = nil) {
        exprs += [.meta(.l4proto), .cmp(equal: true, data: [proto.number]), .payload(.transport, offset: 2, length: 2)]
        if let last, last != port {
            exprs.append(.range(from: NftRuleBuilder.bigEndian(port), to: NftRuleBuilder.bigEndian(last)))
            words.append("\(proto.rawValue) dport \(port)-\(last)")
        } else {
            exprs.append(.cmp(equal: true, data: NftRuleBuilder.bigEndian(port)))
            words.append("\(proto.rawValue) dport \(port)")
        }
    }

    /// `tcp dport { A, B, … }` (nft's anonymous set: the same dependency and load, then a lookup
    /// in a set bound to the rule, `NftPortSet`); a single distinct port is `destinationPort`'s
    /// plain `tcp dport A`.
    mutating func destinationPorts(_ proto: PortMapping.TransportProtocol, _ ports: [UInt16]) {
        let set = NftPortSet(ports: ports, proto: proto)
        guard set.keys.count > 1 else {
            if let port = ports.first { destinationPort(proto, port) }
            return
        }
        exprs += [.meta(.l4proto), .cmp(equal: true, data: [proto.number]), .payload(.transport, offset: 2, length: 2), .portSet(set)]
        words.append("\(proto.rawValue) dport \(set.text)")
    }

    /// `meta l4proto tcp` (the dependency nft requires before a port map in `dnat`).
    mutating func l4proto(_ proto: PortMapping.TransportProtocol) {
        exprs += [.meta(.l4proto), .cmp(equal: true, data: [proto.number])]
        words.append("meta l4proto \(proto.rawValue)")
    }

    /// `dnat to A.B.C.D:tcp dport map { HOST : CONTAINER, … }` (IPv6: `dnat to [X]:…`): the
    /// destination port is looked up in an anonymous map bound to the rule, which also is the
    /// rule's port match (no element, no match). As nft generates it: the address in reg 1, the
    /// port loaded into reg 2 and replaced by its value, then the NAT of reg 1 and reg 2.
    /// Follows `l4proto(_:)` of the same protocol.
    mutating func dnat(to address: IPAddress, proto: PortMapping.TransportProtocol, map: [(key: UInt16, value: UInt16)]) {
        let set = NftPortSet(map: map)
        exprs += [.immediate(register: 1, data: address.bytes), .payloadToRegister2(.transport, offset: 2, length: 2), .portMap(set), .dnat]
        words.append("dnat to \(Self.withPort(address)):\(proto.rawValue) dport map \(set.text)")
    }

    /// `ct state established,related`
    mutating func ctEstablishedRelated() {
        // NF_CT_STATE_BIT(ESTABLISHED)=2 | NF_CT_STATE_BIT(RELATED)=4, host byte order.
        exprs += [.ctState, .bitwise(mask: NftRuleBuilder.hostOrder(6), xor: NftRuleBuilder.hostOrder(0)),
                  .cmp(equal: false, data: NftRuleBuilder.hostOrder(0))]
        words.append("ct state established,related")
    }

    /// `ct status dnat` (IPS_DST_NAT = 1 << 5, host byte order): the connection was DNAT'd.
    mutating func ctStatusDNAT() {
        exprs += [.ctStatus, .bitwise(mask: NftRuleBuilder.hostOrder(0x20), xor: NftRuleBuilder.hostOrder(0)),
                  .cmp(equal: false, data: NftRuleBuilder.hostOrder(0))]
        words.append("ct status dnat")
    }

    /// `ct status & dnat == 0`: the connection was not DNAT'd (reached a container address directly).
    mutating func ctStatusNotDNAT() {
        exprs += [.ctStatus, .bitwise(mask: NftRuleBuilder.hostOrder(0x20), xor: NftRuleBuilder.hostOrder(0)),
                  .cmp(equal: true, data: NftRuleBuilder.hostOrder(0))]
        words.append("ct status & dnat == 0")
    }

    /// `fib saddr type local` (RTN_LOCAL = 2, host byte order): the source is a local address.
    mutating func fibSaddrLocal() {
        exprs += [.fibSaddrType, .cmp(equal: true, data: NftRuleBuilder.hostOrder(2))]
        words.append("fib saddr type local")
    }

    /// `fib daddr type local` (RTN_LOCAL = 2, host byte order).
    mutating func fibDaddrLocal() {
        exprs += [.fibDaddrType, .cmp(equal: true, data: NftRuleBuilder.hostOrder(2))]
        words.append("fib daddr type local")
    }

    /// A final verdict.
    mutating func verdict(_ verdict: NftVerdict) {
        exprs.append(.verdict(verdict))
        words.append(verdict.text)
    }

    /// `dnat to A.B.C.D:PORT`
    mutating func dnat(to address: IPv4Address, port: UInt16) {
        dnat(to: .v4(address), port: port)
    }

    /// The DNAT of a run of `count` host ports from `hostPort` to container ports from
    /// `containerPort` (one rule for the whole run): the same numbers keep the port
    /// (`dnat to A.B.C.D`); a shifted run uses the kernel's offset mapping (NF_NAT_RANGE_PROTO_OFFSET,
    /// new port = MIN + dport % (MAX - MIN + 1), `shiftedRange`).
    /// - Returns: false (nothing added) when no such MIN/MAX exists; the caller then writes one
    ///   rule per port of that run.
    @discardableResult
    mutating func dnat(to address: IPv4Address, hostPort: UInt16, containerPort: UInt16, count: UInt16) -> Bool {
        dnat(to: .v4(address), hostPort: hostPort, containerPort: containerPort, count: count)
    }

    /// `dnat to [X]:PORT` (IPv6: the address fills the 16-byte register 1, the NAT expression's
    /// family, NFPROTO_IPV6, comes from the table's encoder).
    mutating func dnat(to address: IPv6Address, port: UInt16) {
        dnat(to: .v6(address), port: port)
    }

    /// `dnat(to:hostPort:containerPort:count:)` of an IPv6 address (`dnat to X`, `dnat to [X]:MIN-MAX`).
    @discardableResult
    mutating func dnat(to address: IPv6Address, hostPort: UInt16, containerPort: UInt16, count: UInt16) -> Bool {
        dnat(to: .v6(address), hostPort: hostPort, containerPort: containerPort, count: count)
    }

    private mutating func dnat(to address: IPAddress, port: UInt16) {
        exprs += [.immediate(register: 1, data: address.bytes), .immediate(register: 2, data: NftRuleBuilder.bigEndian(port)), .dnat]
        words.append("dnat to \(Self.withPort(address)):\(port)")
    }

    private mutating func dnat(to address: IPAddress, hostPort: UInt16, containerPort: UInt16, count: UInt16) -> Bool {
        if count <= 1 {
            dnat(to: address, port: containerPort)
            return true
        }
        if hostPort == containerPort {
            exprs += [.immediate(register: 1, data: address.bytes), .dnatAddress]
            words.append("dnat to \(address)")
            return true
        }
        guard let (low, high) = NftRuleBuilder.shiftedRange(hostPort: hostPort, containerPort: containerPort, count: count) else { return false }
        exprs += [.immediate(register: 1, data: address.bytes), .immediate(register: 2, data: NftRuleBuilder.bigEndian(low)),
                  .immediate(register: 3, data: NftRuleBuilder.bigEndian(high)), .dnatShifted]
        words.append("dnat to \(Self.withPort(address)):\(low)-\(high) offset")
        return true
    }

    /// An address as nft writes it before `:PORT`: IPv6 in brackets.
    private static func withPort(_ address: IPAddress) -> String {
        if case .v6 = address { return "[\(address)]" }
        return address.description
    }

    /// MIN and MAX of the kernel's offset port mapping that sends host port `hostPort + i` to
    /// `containerPort + i` for every i < count: with S = MAX - MIN + 1 the kernel computes
    /// MIN + dport % S, so S must give every host port of the run the same quotient q
    /// (`hostPort / S == (hostPort + count - 1) / S`) and MIN = containerPort - hostPort % S ≥ 0,
    /// MAX = MIN + S - 1 ≤ 65535. The smallest such S is taken; nil when there is none.
    static func shiftedRange(hostPort: UInt16, containerPort: UInt16, count: UInt16) -> (UInt16, UInt16)? {
        let h = Int(hostPort), c = Int(containerPort), last = h + Int(count) - 1
        for s in Int(count)...65536 where h / s == last / s {
            let low = c - h % s
            let high = low + s - 1
            if low >= 0 && high <= 65535 { return (UInt16(low), UInt16(high)) }
        }
        return nil
    }

    /// `masquerade`
    mutating func masquerade() {
        exprs.append(.masquerade)
        words.append("masquerade")
    }

    func rule(chain: String, owner: String) -> NftRule {
        NftRule(chain: chain, owner: owner, exprs: exprs, text: words.joined(separator: " "))
    }

    /// An interface name as the kernel compares it: 16 bytes (IFNAMSIZ), NUL padded.
    static func ifnameBytes(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8.prefix(15))
        return bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
    }

    static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }

    static func hostOrder(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
}

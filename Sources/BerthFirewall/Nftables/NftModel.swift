/// The pure (C-free) model of what the nftables backend programs: expressions, rules, and the
/// commands of one transaction. `NftMessageEncoder` turns commands into libnftnl messages;
/// `NftRuleDecoder` turns dumped rules back into `NftExpr` so they can be compared.

/// A verdict (`accept`, `drop`, `jump CHAIN`).
enum NftVerdict: Hashable, Sendable {
    case accept
    case drop
    case jump(String)

    var text: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .jump(let chain): "jump \(chain)"
        }
    }
}

/// An anonymous, constant set or map of ports bound to one rule (nft `tcp dport { 80, 443 }`,
/// `dnat to IP:tcp dport map { 8080 : 80, 8443 : 443 }`): the kernel creates it with the rule
/// (NFT_MSG_NEWSET with NFT_SET_ANONYMOUS | NFT_SET_CONSTANT [| NFT_SET_MAP], then
/// NFT_MSG_NEWSETELEM, in the same batch) and destroys it with the rule. Keys and values are
/// ports (nft's `inet_service`, 2 bytes, network order); elements are kept sorted by key so two
/// sets with the same elements compare equal whatever order the kernel dumps them in.
struct NftPortSet: Hashable, Sendable, CustomStringConvertible {
    /// The ports of a set, or the keys of a map.
    private(set) var keys: [UInt16]
    /// The map's value of each key (same order as `keys`); nil for a plain set.
    private(set) var values: [UInt16]?
    /// The protocol of the `tcp dport` the keys stand for: only nft's userdata (`typeof`) of a
    /// plain set, written like nft and not compared (it is not read back).
    var proto: PortMapping.TransportProtocol = .tcp

    /// A set of ports (duplicates dropped).
    init(ports: [UInt16], proto: PortMapping.TransportProtocol) {
        keys = Array(Set(ports)).sorted()
        values = nil
        self.proto = proto
    }

    /// A map from key ports to value ports (each key once).
    init(map: [(key: UInt16, value: UInt16)]) {
        let sorted = map.sorted { $0.key < $1.key }
        keys = sorted.map(\.key)
        values = sorted.map(\.value)
    }

    var isMap: Bool { values != nil }
    /// The kernel name template (`__set%d`, `__map%d`: the kernel picks the number, as for nft's sets).
    var nameTemplate: String { isMap ? "__map%d" : "__set%d" }

    /// nft's text of the elements: `{ 80, 443 }` or `{ 8080 : 80, 8443 : 443 }`.
    var text: String {
        let items = keys.indices.map { i in values.map { "\(keys[i]) : \($0[i])" } ?? "\(keys[i])" }
        return "{ " + items.joined(separator: ", ") + " }"
    }

    /// `text` (the planner's string keys compare what `==` compares).
    var description: String { text }

    static func == (a: NftPortSet, b: NftPortSet) -> Bool { a.keys == b.keys && a.values == b.values }
    func hash(into h: inout Hasher) {
        h.combine(keys)
        h.combine(values)
    }
}

/// One kernel expression, with registers fixed the way `nft` allocates them: loads go to reg 1,
/// the DNAT port to reg 2, a DNAT port range's end to reg 3 (nf_tables.h NFT_REG_1..3). Byte arrays are exactly what the
/// kernel stores (network order for header fields, host order for ct state and fib results).
enum NftExpr: Hashable, Sendable {
    enum MetaKey: Hashable, Sendable { case iifname, oifname, l4proto }
    enum PayloadBase: Hashable, Sendable { case network, transport }

    /// `[ meta load KEY => reg 1 ]`
    case meta(MetaKey)
    /// `[ payload load LEN b @ BASE header + OFFSET => reg 1 ]`
    case payload(PayloadBase, offset: UInt32, length: UInt32)
    /// `[ payload load LEN b @ BASE header + OFFSET => reg 2 ]` (the key of a DNAT port map, as
    /// nft loads it: the address is already in reg 1)
    case payloadToRegister2(PayloadBase, offset: UInt32, length: UInt32)
    /// `[ bitwise reg 1 = ( reg 1 & MASK ) ^ XOR ]`
    case bitwise(mask: [UInt8], xor: [UInt8])
    /// `[ cmp eq|neq reg 1 DATA ]`
    case cmp(equal: Bool, data: [UInt8])
    /// `[ range eq reg 1 FROM TO ]` (nft's `tcp dport 8000-8009`)
    case range(from: [UInt8], to: [UInt8])
    /// `[ lookup reg 1 set NAME ]`
    case lookup(set: String)
    /// `[ lookup reg 1 set NAME 0x1 ]` (NFT_LOOKUP_F_INV: not in the set)
    case lookupNot(set: String)
    /// `[ lookup reg 1 set NAME dreg 0 ]` (a verdict map)
    case vmap(set: String)
    /// `[ lookup reg 1 set __setN ]`: reg 1 is in the rule's anonymous set (nft `tcp dport { … }`).
    case portSet(NftPortSet)
    /// `[ lookup reg 2 set __mapN dreg 2 ]`: reg 2 replaced by its value in the rule's anonymous
    /// map; no element, no match (nft `dnat to IP:tcp dport map { … }`).
    case portMap(NftPortSet)
    /// A lookup in an anonymous set whose elements were not read (`NftSnapshotReader` resolves
    /// the rules an operation compares): equal to nothing Berth writes. `map`: with `dreg 2`.
    case unresolvedSet(name: String, map: Bool)
    /// `[ ct load state => reg 1 ]`
    case ctState
    /// `[ ct load status => reg 1 ]`
    case ctStatus
    /// `[ fib daddr type => reg 1 ]`
    case fibDaddrType
    /// `[ fib saddr type => reg 1 ]`
    case fibSaddrType
    /// `[ immediate reg N DATA ]`
    case immediate(register: UInt32, data: [UInt8])
    /// `[ immediate reg 0 VERDICT ]`
    case verdict(NftVerdict)
    /// `[ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]`
    case dnat
    /// `[ nat dnat ip addr_min reg 1 ]`: the address only, the port is kept (nft `dnat to A.B.C.D`).
    case dnatAddress
    /// `[ nat dnat ip addr_min reg 1 proto_min reg 2 proto_max reg 3 flags 0x22 ]`: a shifted
    /// port range (NF_NAT_RANGE_PROTO_OFFSET, nf_nat.h): the new port is
    /// `proto_min + dport % (proto_max - proto_min + 1)` (nf_nat_core.c, base port 0 under nft).
    case dnatShifted
    /// `[ masq ]`
    case masquerade
}

extension NftExpr {
    /// The anonymous set or map of a `portSet` / `portMap` lookup.
    var portSet: NftPortSet? {
        switch self {
        case .portSet(let set), .portMap(let set): set
        default: nil
        }
    }
}

/// One rule: where it goes, its owner tag (stored as the rule comment, NFTNL_UDATA_RULE_COMMENT),
/// its expressions and the equivalent `nft` text (without the comment).
struct NftRule: Hashable, Sendable {
    var chain: String
    var owner: String
    var exprs: [NftExpr]
    var text: String

    /// The line `nft list ruleset` prints for this rule.
    var listing: String { "\(text) comment \"\(owner)\"" }
}

/// A base chain's hook (`type T hook H priority P; policy accept;`).
struct NftHook: Hashable, Sendable {
    enum Point: Hashable, Sendable { case prerouting, forward, output, postrouting }
    var type: String
    var point: Point
    var priority: Int32
}

/// A set or verdict map keyed by interface name (`type ifname` / `type ifname : verdict`).
struct NftSetSpec: Hashable, Sendable {
    var name: String
    var isVerdictMap: Bool
}

/// One message of a transaction.
enum NftCommand: Hashable, Sendable {
    case addTable
    case deleteTable
    case addChain(String, hook: NftHook?)
    case flushChain(String)
    case deleteChain(String)
    case addSet(NftSetSpec)
    /// Adds `key` (an interface name) to a set, or `key : jump CHAIN` to a verdict map.
    case addElement(set: String, key: String, jump: String?)
    case deleteElement(set: String, key: String)
    case addRule(NftRule)
    case deleteRule(chain: String, handle: UInt64)

    /// What the message does, for error texts (`add rule forward: jump berth-user`).
    var summary: String {
        switch self {
        case .addTable: "add table"
        case .deleteTable: "delete table"
        case .addChain(let c, _): "add chain \(c)"
        case .flushChain(let c): "flush chain \(c)"
        case .deleteChain(let c): "delete chain \(c)"
        case .addSet(let s): "add \(s.isVerdictMap ? "map" : "set") \(s.name)"
        case .addElement(let s, let k, let j): "add element \(s) { \"\(k)\"\(j.map { " : jump \($0)" } ?? "") }"
        case .deleteElement(let s, let k): "delete element \(s) { \"\(k)\" }"
        case .addRule(let r): "add rule \(r.chain) \(r.listing)"
        case .deleteRule(let c, let h): "delete rule \(c) handle \(h)"
        }
    }
}

/// One single-object lookup of `NftSnapshotReader.read(table:scope:channel:)`.
enum NftQuery: Hashable, Sendable {
    case table
    case chain(String)
    case set(String)
    /// The element `key` of a set or verdict map (its verdict comes back with it).
    case element(set: String, key: String)
}

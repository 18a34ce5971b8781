@_spi(BerthInternal) import BerthNamespace
internal import CNftnl
internal import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// Encodes `NftCommand`s as nf_tables netlink messages with libnftnl (`nftnl_*_alloc`, setters,
/// `nftnl_nlmsg_build_hdr`, `nftnl_*_nlmsg_build_payload`) — the one place where commands meet
/// C objects. Every message asks for an ACK (NLM_F_ACK) so each one's outcome is checked by seq.
struct NftMessageEncoder {
    let table: String
    /// The table's family (`ip <table>` or `ip6 <table>`): every message's `nfgen_family`, the
    /// object family attributes and the NAT expressions' NFTA_NAT_FAMILY.
    let tableFamily: NftFamily

    init(table: String, family: NftFamily = .ip) {
        self.table = table
        tableFamily = family
    }

    /// The `nfgen_family` of the messages (NFPROTO_IPV4 or NFPROTO_IPV6).
    var family: UInt16 { tableFamily.nfproto }
    /// nftables' `TYPE_IFNAME` (enum datatypes, include/datatype.h of nftables): userspace's own
    /// number, which `nft list` uses to print the set's key type; no kernel header defines it.
    static let nftTypeIfname: UInt32 = 41
    /// Room for one message; our largest (a DNAT rule) is well under 1 KiB.
    private static let scratchSize = 16384

    enum EncodeError: Error { case allocation(String) }

    /// `NFNL_MSG_BATCH_BEGIN` (res_id NFNL_SUBSYS_NFTABLES) — nftnl_batch_begin.
    static func batchBegin(seq: UInt32) -> [UInt8] {
        message { nftnl_batch_begin($0, seq) }
    }

    /// `NFNL_MSG_BATCH_END` — nftnl_batch_end.
    static func batchEnd(seq: UInt32) -> [UInt8] {
        message { nftnl_batch_end($0, seq) }
    }

    /// A dump request (NLM_F_DUMP) of tables, chains, sets or rules of our family; rules and
    /// set elements are filtered by table (and set) in the kernel.
    /// With `chain` (GETRULE only), the kernel dumps that chain's rules alone (a hash lookup).
    /// `family`: the kernel dumps only that family's objects.
    static func dumpRequest(_ type: nf_tables_msg_types, table: String?, set: String? = nil, chain: String? = nil,
                            family tableFamily: NftFamily = .ip, seq: UInt32) throws(FirewallError) -> [UInt8] {
        let flags = UInt16(NLM_F_DUMP)
        let family = tableFamily.nfproto
        switch type {
        case NFT_MSG_GETRULE:
            guard let r = nftnl_rule_alloc() else { throw allocFailure("rule") }
            defer { nftnl_rule_free(r) }
            if let table { nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table) }
            if let chain { nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain) }
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq)
                nftnl_rule_nlmsg_build_payload(nlh, r)
                return nlh
            }
        case NFT_MSG_GETSETELEM:
            guard let s = nftnl_set_alloc() else { throw allocFailure("set") }
            defer { nftnl_set_free(s) }
            if let table { nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table) }
            if let set { nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set) }
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq)
                nftnl_set_elems_nlmsg_build_payload(nlh, s)
                return nlh
            }
        default:
            return message { buf in nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq) }
        }
    }

    /// A single-object GET (no NLM_F_DUMP, NLM_F_ACK set): the kernel answers with the object
    /// (when found) followed by an NLMSG_ERROR carrying 0 or the errno (ENOENT: absent).
    static func queryRequest(_ query: NftQuery, table: String, family tableFamily: NftFamily = .ip, seq: UInt32) throws(FirewallError) -> [UInt8] {
        let flags = UInt16(NLM_F_ACK)
        let family = tableFamily.nfproto
        switch query {
        case .table:
            guard let t = nftnl_table_alloc() else { throw allocFailure("table") }
            defer { nftnl_table_free(t) }
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table)
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETTABLE.rawValue), family, flags, seq)
                nftnl_table_nlmsg_build_payload(nlh, t)
                return nlh
            }
        case .chain(let name):
            guard let c = nftnl_chain_alloc() else { throw allocFailure("chain") }
            defer { nftnl_chain_free(c) }
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETCHAIN.rawValue), family, flags, seq)
                nftnl_chain_nlmsg_build_payload(nlh, c)
                return nlh
            }
        case .set(let name):
            guard let s = nftnl_set_alloc() else { throw allocFailure("set") }
            defer { nftnl_set_free(s) }
            nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), name)
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETSET.rawValue), family, flags, seq)
                nftnl_set_nlmsg_build_payload(nlh, s)
                return nlh
            }
        case .element(let set, let key):
            guard let s = nftnl_set_alloc() else { throw allocFailure("set") }
            defer { nftnl_set_free(s) }
            nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set)
            guard let e = nftnl_set_elem_alloc() else { throw allocFailure("set element") }
            let keyBytes = NftRuleBuilder.ifnameBytes(key)
            keyBytes.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
            nftnl_set_elem_add(s, e)  // the set owns the element from here on
            return message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_GETSETELEM.rawValue), family, flags, seq)
                nftnl_set_elems_nlmsg_build_payload(nlh, s)
                return nlh
            }
        }
    }

    /// One batch message for `command`.
    func encode(_ command: NftCommand, seq: UInt32, setID: UInt32) throws(FirewallError) -> [UInt8] {
        let ack = UInt16(NLM_F_ACK)
        let create = UInt16(NLM_F_CREATE)
        let family = self.family
        switch command {
        case .addTable, .deleteTable:
            guard let t = nftnl_table_alloc() else { throw Self.allocFailure("table") }
            defer { nftnl_table_free(t) }
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table)
            nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(family))
            let (type, flags) = command == .addTable ? (NFT_MSG_NEWTABLE, create | ack) : (NFT_MSG_DELTABLE, ack)
            return Self.message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq)
                nftnl_table_nlmsg_build_payload(nlh, t)
                return nlh
            }
        case .addChain(let name, _), .deleteChain(let name):
            guard let c = nftnl_chain_alloc() else { throw Self.allocFailure("chain") }
            defer { nftnl_chain_free(c) }
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(family))
            var type = NFT_MSG_DELCHAIN
            var flags = ack
            if case .addChain(_, let hook) = command {
                type = NFT_MSG_NEWCHAIN
                flags = create | ack
                if let hook {
                    nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), Self.hookNumber(hook.point))
                    nftnl_chain_set_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue), hook.priority)
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue), hook.type)
                    nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(NF_ACCEPT))
                }
            }
            return Self.message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq)
                nftnl_chain_nlmsg_build_payload(nlh, c)
                return nlh
            }
        case .flushChain(let chain), .deleteRule(let chain, _):
            guard let r = nftnl_rule_alloc() else { throw Self.allocFailure("rule") }
            defer { nftnl_rule_free(r) }
            nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table)
            nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
            nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(family))
            if case .deleteRule(_, let handle) = command {
                nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue), handle)
            }
            return Self.message { buf in
                let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_DELRULE.rawValue), family, ack, seq)
                nftnl_rule_nlmsg_build_payload(nlh, r)
                return nlh
            }
        case .addRule(let rule):
            return try encodeRule(rule, seq: seq)
        case .addSet(let spec):
            return try encodeSet(spec, seq: seq, setID: setID)
        case .addElement(let set, let key, let jump):
            return try encodeElement(set: set, key: key, jump: jump, delete: false, seq: seq)
        case .deleteElement(let set, let key):
            return try encodeElement(set: set, key: key, jump: nil, delete: true, seq: seq)
        }
    }

    private func encodeSet(_ spec: NftSetSpec, seq: UInt32, setID: UInt32) throws(FirewallError) -> [UInt8] {
        guard let s = nftnl_set_alloc() else { throw Self.allocFailure("set") }
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), spec.name)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), spec.isVerdictMap ? UInt32(NFT_SET_MAP.rawValue) : 0)
        // nft's datatype TYPE_IFNAME (41, nftables' include/datatype.h, not a kernel header):
        // `type ifname`, IFNAMSIZ bytes.
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), Self.nftTypeIfname)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(CMnl.IFNAMSIZ))
        if spec.isVerdictMap {
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_TYPE.rawValue), UInt32(bitPattern: Int32(bitPattern: NFT_DATA_VERDICT.rawValue)))
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_LEN.rawValue), 0)
        }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), setID)
        // The userdata nft writes for these sets: key byte order host (1); for maps also data
        // byte order and "data interval" 0 — so `nft list` prints them as it prints its own.
        guard let udata = nftnl_udata_buf_alloc(64) else { throw Self.allocFailure("set userdata") }
        defer { nftnl_udata_buf_free(udata) }
        nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), 1)
        if spec.isVerdictMap {
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_DATABYTEORDER.rawValue), 0)
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_DATA_INTERVAL.rawValue), 0)
        }
        nftnl_set_set_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata))
        return Self.message { buf in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWSET.rawValue), family, UInt16(NLM_F_CREATE | NLM_F_ACK), seq)
            nftnl_set_nlmsg_build_payload(nlh, s)
            return nlh
        }
    }

    private func encodeElement(set: String, key: String, jump: String?, delete: Bool, seq: UInt32) throws(FirewallError) -> [UInt8] {
        guard let s = nftnl_set_alloc() else { throw Self.allocFailure("set") }
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family))
        guard let e = nftnl_set_elem_alloc() else { throw Self.allocFailure("set element") }
        let keyBytes = NftRuleBuilder.ifnameBytes(key)
        keyBytes.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
        if let jump {
            nftnl_set_elem_set_u32(e, UInt16(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: NFT_JUMP.rawValue))
            nftnl_set_elem_set_str(e, UInt16(NFTNL_SET_ELEM_CHAIN), jump)
        }
        nftnl_set_elem_add(s, e)  // the set owns the element from here on
        let (type, flags) = delete ? (NFT_MSG_DELSETELEM, UInt16(NLM_F_ACK)) : (NFT_MSG_NEWSETELEM, UInt16(NLM_F_CREATE | NLM_F_ACK))
        return Self.message { buf in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), family, flags, seq)
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
            return nlh
        }
    }

    /// The batch messages of `command`, in order: one for most commands; for a rule with
    /// anonymous port sets (`NftPortSet`), each set's NFT_MSG_NEWSET and NFT_MSG_NEWSETELEM,
    /// then the rule, whose lookups name the sets by their batch IDs (NFTA_LOOKUP_SET_ID), as
    /// nft sends them. `setID`: the last set ID used in this batch, advanced for each set.
    func messages(_ command: NftCommand, setID: inout UInt32) throws(FirewallError) -> [[UInt8]] {
        switch command {
        case .addSet:
            setID += 1
            return [try encode(command, seq: 0, setID: setID)]
        case .addRule(let rule):
            var out: [[UInt8]] = []
            var ids: [UInt32] = []
            for set in rule.exprs.compactMap(\.portSet) {
                setID += 1
                ids.append(setID)
                out.append(try encodePortSet(set, setID: setID, seq: 0))
                out.append(try encodePortSetElements(set, setID: setID, seq: 0))
            }
            out.append(try encodeRule(rule, seq: 0, setIDs: ids))
            return out
        default:
            return [try encode(command, seq: 0, setID: setID)]
        }
    }

    /// NFT_MSG_NEWSET of an anonymous port set or map, as nft writes one: name `__set%d` /
    /// `__map%d` (the kernel fills in the number), flags NFT_SET_ANONYMOUS | NFT_SET_CONSTANT
    /// (| NFT_SET_MAP), key (and value) type `inet_service` (nftables datatype 13, 2 bytes),
    /// the batch ID, NFTA_SET_DESC_SIZE the number of elements, and nft's userdata: key (and
    /// value) byte order big endian (2); a set also the `typeof` of its key (`tcp dport`:
    /// payload expression 7, protocol description TCP 8 / UDP 6 / SCTP 10, field 2), a map
    /// "data interval" 0.
    func encodePortSet(_ set: NftPortSet, setID: UInt32, seq: UInt32) throws(FirewallError) -> [UInt8] {
        guard let s = nftnl_set_alloc() else { throw Self.allocFailure("set") }
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.nameTemplate)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family))
        var flags = UInt32(NFT_SET_ANONYMOUS.rawValue | NFT_SET_CONSTANT.rawValue)
        if set.isMap { flags |= UInt32(NFT_SET_MAP.rawValue) }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), flags)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), Self.nftTypeInetService)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), 2)
        if set.isMap {
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_TYPE.rawValue), Self.nftTypeInetService)
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_LEN.rawValue), 2)
        }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), setID)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_DESC_SIZE.rawValue), UInt32(set.keys.count))
        guard let udata = nftnl_udata_buf_alloc(64) else { throw Self.allocFailure("set userdata") }
        defer { nftnl_udata_buf_free(udata) }
        nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), 2)
        if set.isMap {
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_DATABYTEORDER.rawValue), 2)
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_DATA_INTERVAL.rawValue), 0)
        } else if let typeOf = nftnl_udata_nest_start(udata, UInt8(NFTNL_UDATA_SET_KEY_TYPEOF.rawValue)) {
            nftnl_udata_put_u32(udata, UInt8(NFTNL_UDATA_SET_TYPEOF_EXPR), 7)
            if let data = nftnl_udata_nest_start(udata, UInt8(NFTNL_UDATA_SET_TYPEOF_DATA)) {
                nftnl_udata_put_u32(udata, 0, Self.nftProtoDescription(set.proto))
                nftnl_udata_put_u32(udata, 1, 2)
                nftnl_udata_nest_end(udata, data)
            }
            nftnl_udata_nest_end(udata, typeOf)
        }
        nftnl_set_set_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata))
        return Self.message { buf in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWSET.rawValue), family, UInt16(NLM_F_CREATE | NLM_F_ACK), seq)
            nftnl_set_nlmsg_build_payload(nlh, s)
            return nlh
        }
    }

    /// NFT_MSG_NEWSETELEM of the elements of an anonymous port set or map, naming the set by
    /// its template and batch ID (NFTA_SET_ELEM_LIST_SET_ID); keys (and values) 2 bytes in
    /// network order.
    func encodePortSetElements(_ set: NftPortSet, setID: UInt32, seq: UInt32) throws(FirewallError) -> [UInt8] {
        guard let s = nftnl_set_alloc() else { throw Self.allocFailure("set") }
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.nameTemplate)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), setID)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family))
        for (i, key) in set.keys.enumerated() {
            guard let e = nftnl_set_elem_alloc() else { throw Self.allocFailure("set element") }
            NftRuleBuilder.bigEndian(key).withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, 2) }
            if let values = set.values {
                NftRuleBuilder.bigEndian(values[i]).withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, 2) }
            }
            nftnl_set_elem_add(s, e)  // the set owns the element from here on
        }
        return Self.message { buf in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWSETELEM.rawValue), family, UInt16(NLM_F_CREATE | NLM_F_ACK), seq)
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
            return nlh
        }
    }

    /// nftables' `TYPE_INET_SERVICE` (13, nftables' include/datatype.h): a port.
    static let nftTypeInetService: UInt32 = 13

    /// nftables' `enum proto_desc_id` (include/proto.h) of a transport protocol, as nft's set
    /// userdata stores it: PROTO_DESC_UDP 6, PROTO_DESC_TCP 8, PROTO_DESC_SCTP 10.
    static func nftProtoDescription(_ proto: PortMapping.TransportProtocol) -> UInt32 {
        switch proto {
        case .tcp: 8
        case .udp: 6
        case .sctp: 10
        }
    }

    /// `setIDs`: the batch IDs of the rule's anonymous sets, in the order of its lookups.
    private func encodeRule(_ rule: NftRule, seq: UInt32, setIDs: [UInt32] = []) throws(FirewallError) -> [UInt8] {
        guard let r = nftnl_rule_alloc() else { throw Self.allocFailure("rule") }
        defer { nftnl_rule_free(r) }
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
        nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(family))
        var nextSet = 0
        for expr in rule.exprs {
            var id: UInt32?
            if expr.portSet != nil, nextSet < setIDs.count {
                id = setIDs[nextSet]
                nextSet += 1
            }
            guard let e = Self.makeExpr(expr, family: tableFamily, setID: id) else { throw Self.allocFailure("expression") }
            nftnl_rule_add_expr(r, e)  // the rule owns the expression
        }
        // The comment, exactly as `nft ... comment "..."` stores it (NFTNL_UDATA_RULE_COMMENT).
        guard let udata = nftnl_udata_buf_alloc(256) else { throw Self.allocFailure("rule userdata") }
        defer { nftnl_udata_buf_free(udata) }
        guard nftnl_udata_put_strz(udata, UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue), rule.owner) else {
            throw FirewallError(.invalidArgument, operation: .encodeRule, object: rule.chain,
                                detail: "comment too long: \(rule.owner)")
        }
        nftnl_rule_set_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata))
        return Self.message { buf in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWRULE.rawValue), family,
                                            UInt16(NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK), seq)
            nftnl_rule_nlmsg_build_payload(nlh, r)
            return nlh
        }
    }

    // MARK: - Expressions

    private static let reg1 = UInt32(NFT_REG_1.rawValue)
    private static let reg2 = UInt32(NFT_REG_2.rawValue)
    private static let reg3 = UInt32(NFT_REG_3.rawValue)
    private static let regVerdict = UInt32(NFT_REG_VERDICT.rawValue)

    /// `family`: the table's, which is the NAT family of the DNAT expressions (NFPROTO_IPV6 makes
    /// the kernel read 16-byte addresses from the address registers, nft_nat.c).
    /// `setID`: the batch ID of an anonymous set's lookup (`portSet`, `portMap`).
    private static func makeExpr(_ expr: NftExpr, family: NftFamily, setID: UInt32? = nil) -> OpaquePointer? {
        func alloc(_ name: String) -> OpaquePointer? { nftnl_expr_alloc(name) }
        func setU32(_ e: OpaquePointer, _ attr: Int, _ v: UInt32) { nftnl_expr_set_u32(e, UInt16(attr), v) }
        func setBytes(_ e: OpaquePointer, _ attr: Int, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(attr), $0.baseAddress, UInt32($0.count)) }
        }
        /// A payload load (`NftExpr.payload`, `.payloadToRegister2`) into `register`.
        func payload(_ base: NftExpr.PayloadBase, _ offset: UInt32, _ length: UInt32, into register: UInt32) -> OpaquePointer? {
            guard let e = alloc("payload") else { return nil }
            setU32(e, NFTNL_EXPR_PAYLOAD_DREG, register)
            setU32(e, NFTNL_EXPR_PAYLOAD_BASE, base == .network
                   ? UInt32(NFT_PAYLOAD_NETWORK_HEADER.rawValue) : UInt32(NFT_PAYLOAD_TRANSPORT_HEADER.rawValue))
            setU32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            setU32(e, NFTNL_EXPR_PAYLOAD_LEN, length)
            return e
        }
        switch expr {
        case .meta(let key):
            guard let e = alloc("meta") else { return nil }
            let k: UInt32 = switch key {
            case .iifname: UInt32(NFT_META_IIFNAME.rawValue)
            case .oifname: UInt32(NFT_META_OIFNAME.rawValue)
            case .l4proto: UInt32(NFT_META_L4PROTO.rawValue)
            }
            setU32(e, NFTNL_EXPR_META_KEY, k)
            setU32(e, NFTNL_EXPR_META_DREG, reg1)
            return e
        case .payload(let base, let offset, let length):
            return payload(base, offset, length, into: reg1)
        case .bitwise(let mask, let xor):
            guard let e = alloc("bitwise") else { return nil }
            setU32(e, NFTNL_EXPR_BITWISE_SREG, reg1)
            setU32(e, NFTNL_EXPR_BITWISE_DREG, reg1)
            setU32(e, NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
            setBytes(e, NFTNL_EXPR_BITWISE_MASK, mask)
            setBytes(e, NFTNL_EXPR_BITWISE_XOR, xor)
            return e
        case .cmp(let equal, let data):
            guard let e = alloc("cmp") else { return nil }
            setU32(e, NFTNL_EXPR_CMP_SREG, reg1)
            setU32(e, NFTNL_EXPR_CMP_OP, equal ? UInt32(NFT_CMP_EQ.rawValue) : UInt32(NFT_CMP_NEQ.rawValue))
            setBytes(e, NFTNL_EXPR_CMP_DATA, data)
            return e
        case .range(let from, let to):
            guard let e = alloc("range") else { return nil }
            setU32(e, NFTNL_EXPR_RANGE_SREG, reg1)
            setU32(e, NFTNL_EXPR_RANGE_OP, UInt32(NFT_RANGE_EQ.rawValue))
            setBytes(e, NFTNL_EXPR_RANGE_FROM_DATA, from)
            setBytes(e, NFTNL_EXPR_RANGE_TO_DATA, to)
            return e
        case .payloadToRegister2(let base, let offset, let length):
            return payload(base, offset, length, into: reg2)
        case .portSet(let set), .portMap(let set):
            guard let e = alloc("lookup") else { return nil }
            let map = set.isMap
            setU32(e, NFTNL_EXPR_LOOKUP_SREG, map ? reg2 : reg1)
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), set.nameTemplate)
            if let setID { setU32(e, NFTNL_EXPR_LOOKUP_SET_ID, setID) }
            if map { setU32(e, NFTNL_EXPR_LOOKUP_DREG, reg2) }
            return e
        case .unresolvedSet:
            return nil
        case .lookup(let set), .vmap(let set), .lookupNot(let set):
            guard let e = alloc("lookup") else { return nil }
            setU32(e, NFTNL_EXPR_LOOKUP_SREG, reg1)
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), set)
            if case .vmap = expr { setU32(e, NFTNL_EXPR_LOOKUP_DREG, regVerdict) }
            if case .lookupNot = expr { setU32(e, NFTNL_EXPR_LOOKUP_FLAGS, UInt32(NFT_LOOKUP_F_INV.rawValue)) }
            return e
        case .ctState:
            guard let e = alloc("ct") else { return nil }
            setU32(e, NFTNL_EXPR_CT_KEY, UInt32(NFT_CT_STATE.rawValue))
            setU32(e, NFTNL_EXPR_CT_DREG, reg1)
            return e
        case .ctStatus:
            guard let e = alloc("ct") else { return nil }
            setU32(e, NFTNL_EXPR_CT_KEY, UInt32(NFT_CT_STATUS.rawValue))
            setU32(e, NFTNL_EXPR_CT_DREG, reg1)
            return e
        case .fibDaddrType, .fibSaddrType:
            guard let e = alloc("fib") else { return nil }
            let flag = expr == .fibDaddrType ? NFTA_FIB_F_DADDR : NFTA_FIB_F_SADDR
            setU32(e, NFTNL_EXPR_FIB_FLAGS, UInt32(flag.rawValue))
            setU32(e, NFTNL_EXPR_FIB_RESULT, UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue))
            setU32(e, NFTNL_EXPR_FIB_DREG, reg1)
            return e
        case .immediate(let register, let data):
            guard let e = alloc("immediate") else { return nil }
            setU32(e, NFTNL_EXPR_IMM_DREG, register == 3 ? reg3 : register == 2 ? reg2 : reg1)
            setBytes(e, NFTNL_EXPR_IMM_DATA, data)
            return e
        case .verdict(let verdict):
            guard let e = alloc("immediate") else { return nil }
            setU32(e, NFTNL_EXPR_IMM_DREG, regVerdict)
            switch verdict {
            case .accept: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(NF_ACCEPT))
            case .drop: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(NF_DROP))
            case .jump(let chain):
                setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: NFT_JUMP.rawValue))
                nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain)
            }
            return e
        case .dnat:
            guard let e = alloc("nat") else { return nil }
            setU32(e, NFTNL_EXPR_NAT_TYPE, UInt32(NFT_NAT_DNAT.rawValue))
            setU32(e, NFTNL_EXPR_NAT_FAMILY, UInt32(family.nfproto))
            setU32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg1)
            setU32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg2)
            setU32(e, NFTNL_EXPR_NAT_FLAGS, UInt32(NF_NAT_RANGE_PROTO_SPECIFIED))  // as nft sets it
            return e
        case .dnatAddress:
            guard let e = alloc("nat") else { return nil }
            setU32(e, NFTNL_EXPR_NAT_TYPE, UInt32(NFT_NAT_DNAT.rawValue))
            setU32(e, NFTNL_EXPR_NAT_FAMILY, UInt32(family.nfproto))
            setU32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg1)
            return e
        case .dnatShifted:
            guard let e = alloc("nat") else { return nil }
            setU32(e, NFTNL_EXPR_NAT_TYPE, UInt32(NFT_NAT_DNAT.rawValue))
            setU32(e, NFTNL_EXPR_NAT_FAMILY, UInt32(family.nfproto))
            setU32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg1)
            setU32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg2)
            setU32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, reg3)
            setU32(e, NFTNL_EXPR_NAT_FLAGS, UInt32(NF_NAT_RANGE_PROTO_SPECIFIED | NF_NAT_RANGE_PROTO_OFFSET))
            return e
        case .masquerade:
            return alloc("masq")
        }
    }

    static func hookNumber(_ point: NftHook.Point) -> UInt32 {
        switch point {
        case .prerouting: UInt32(NF_INET_PRE_ROUTING.rawValue)
        case .forward: UInt32(NF_INET_FORWARD.rawValue)
        case .output: UInt32(NF_INET_LOCAL_OUT.rawValue)
        case .postrouting: UInt32(NF_INET_POST_ROUTING.rawValue)
        }
    }

    /// Runs a libnftnl builder on a scratch buffer and returns the message bytes (nlmsg_len).
    static func message(_ build: (UnsafeMutablePointer<CChar>) -> UnsafeMutablePointer<nlmsghdr>?) -> [UInt8] {
        var scratch = [CChar](repeating: 0, count: scratchSize)
        return scratch.withUnsafeMutableBufferPointer { buf -> [UInt8] in
            guard let base = buf.baseAddress, let nlh = build(base) else { return [] }
            let length = min(Int(nlh.pointee.nlmsg_len), scratchSize)
            return UnsafeRawBufferPointer(start: base, count: length).map { $0 }
        }
    }

    private static func allocFailure(_ what: String) -> FirewallError {
        FirewallError(.system, operation: .encodeNftablesMessage, object: what, detail: "out of memory")
    }
}

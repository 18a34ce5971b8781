internal import CNftnl
#if canImport(Glibc)
import Glibc
#endif

/// Decodes a dumped rule's expressions (libnftnl `nftnl_expr_iter_*`, `nftnl_expr_get_*`) into
/// `NftExpr`, the inverse of `NftMessageEncoder.makeExpr`. A rule using anything Berth never
/// writes (other registers, operators or expressions) decodes to nil, so it never compares equal.
enum NftRuleDecoder {
    /// `family`: the table's; a NAT expression of another family decodes to nil.
    static func expressions(of rule: OpaquePointer, family: NftFamily = .ip) -> [NftExpr]? {
        guard let iter = nftnl_expr_iter_create(rule) else { return nil }
        defer { nftnl_expr_iter_destroy(iter) }
        var out: [NftExpr] = []
        var next = nftnl_expr_iter_next(iter)
        while let e = next {
            guard let decoded = decode(e, family: family) else { return nil }
            out.append(decoded)
            next = nftnl_expr_iter_next(iter)
        }
        return out
    }

    private static let reg1 = UInt32(NFT_REG_1.rawValue)
    private static let reg2 = UInt32(NFT_REG_2.rawValue)
    private static let reg3 = UInt32(NFT_REG_3.rawValue)
    private static let regVerdict = UInt32(NFT_REG_VERDICT.rawValue)

    private static func decode(_ e: OpaquePointer, family: NftFamily) -> NftExpr? {
        func has(_ attr: Int) -> Bool { nftnl_expr_is_set(e, UInt16(attr)) }
        func u32(_ attr: Int) -> UInt32 { nftnl_expr_get_u32(e, UInt16(attr)) }
        func bytes(_ attr: Int) -> [UInt8] {
            var length: UInt32 = 0
            guard let p = nftnl_expr_get(e, UInt16(attr), &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: Int(length)))
        }
        func string(_ attr: Int) -> String? {
            guard has(attr), let p = nftnl_expr_get_str(e, UInt16(attr)) else { return nil }
            return String(cString: p)
        }
        guard let name = string(NFTNL_EXPR_NAME) else { return nil }
        switch name {
        case "meta":
            guard u32(NFTNL_EXPR_META_DREG) == reg1 else { return nil }
            switch u32(NFTNL_EXPR_META_KEY) {
            case UInt32(NFT_META_IIFNAME.rawValue): return .meta(.iifname)
            case UInt32(NFT_META_OIFNAME.rawValue): return .meta(.oifname)
            case UInt32(NFT_META_L4PROTO.rawValue): return .meta(.l4proto)
            default: return nil
            }
        case "payload":
            let dreg = u32(NFTNL_EXPR_PAYLOAD_DREG)
            guard dreg == reg1 || dreg == reg2 else { return nil }
            let base: NftExpr.PayloadBase
            switch u32(NFTNL_EXPR_PAYLOAD_BASE) {
            case UInt32(NFT_PAYLOAD_NETWORK_HEADER.rawValue): base = .network
            case UInt32(NFT_PAYLOAD_TRANSPORT_HEADER.rawValue): base = .transport
            default: return nil
            }
            let offset = u32(NFTNL_EXPR_PAYLOAD_OFFSET), length = u32(NFTNL_EXPR_PAYLOAD_LEN)
            return dreg == reg1 ? .payload(base, offset: offset, length: length) : .payloadToRegister2(base, offset: offset, length: length)
        case "bitwise":
            guard u32(NFTNL_EXPR_BITWISE_SREG) == reg1, u32(NFTNL_EXPR_BITWISE_DREG) == reg1,
                  !has(NFTNL_EXPR_BITWISE_OP) || u32(NFTNL_EXPR_BITWISE_OP) == 0 else { return nil }
            return .bitwise(mask: bytes(NFTNL_EXPR_BITWISE_MASK), xor: bytes(NFTNL_EXPR_BITWISE_XOR))
        case "cmp":
            guard u32(NFTNL_EXPR_CMP_SREG) == reg1 else { return nil }
            switch u32(NFTNL_EXPR_CMP_OP) {
            case UInt32(NFT_CMP_EQ.rawValue): return .cmp(equal: true, data: bytes(NFTNL_EXPR_CMP_DATA))
            case UInt32(NFT_CMP_NEQ.rawValue): return .cmp(equal: false, data: bytes(NFTNL_EXPR_CMP_DATA))
            default: return nil
            }
        case "range":
            guard u32(NFTNL_EXPR_RANGE_SREG) == reg1, u32(NFTNL_EXPR_RANGE_OP) == UInt32(NFT_RANGE_EQ.rawValue) else { return nil }
            return .range(from: bytes(NFTNL_EXPR_RANGE_FROM_DATA), to: bytes(NFTNL_EXPR_RANGE_TO_DATA))
        case "lookup":
            guard let set = string(NFTNL_EXPR_LOOKUP_SET) else { return nil }
            if set.hasPrefix("__") {
                // An anonymous set (nft names them __setN / __mapN): its elements are read by
                // NftSnapshotReader for the rules an operation compares.
                let flags = has(NFTNL_EXPR_LOOKUP_FLAGS) ? u32(NFTNL_EXPR_LOOKUP_FLAGS) : 0
                let sreg = u32(NFTNL_EXPR_LOOKUP_SREG)
                guard flags == 0 else { return nil }
                if !has(NFTNL_EXPR_LOOKUP_DREG) && sreg == reg1 { return .unresolvedSet(name: set, map: false) }
                if has(NFTNL_EXPR_LOOKUP_DREG) && sreg == reg2 && u32(NFTNL_EXPR_LOOKUP_DREG) == reg2 { return .unresolvedSet(name: set, map: true) }
                return nil
            }
            guard u32(NFTNL_EXPR_LOOKUP_SREG) == reg1 else { return nil }
            if has(NFTNL_EXPR_LOOKUP_FLAGS) && u32(NFTNL_EXPR_LOOKUP_FLAGS) != 0 {
                return u32(NFTNL_EXPR_LOOKUP_FLAGS) == UInt32(NFT_LOOKUP_F_INV.rawValue) && !has(NFTNL_EXPR_LOOKUP_DREG)
                    ? .lookupNot(set: set) : nil
            }
            if has(NFTNL_EXPR_LOOKUP_DREG) {
                return u32(NFTNL_EXPR_LOOKUP_DREG) == regVerdict ? .vmap(set: set) : nil
            }
            return .lookup(set: set)
        case "ct":
            guard u32(NFTNL_EXPR_CT_DREG) == reg1, !has(NFTNL_EXPR_CT_DIR) else { return nil }
            switch u32(NFTNL_EXPR_CT_KEY) {
            case UInt32(NFT_CT_STATE.rawValue): return .ctState
            case UInt32(NFT_CT_STATUS.rawValue): return .ctStatus
            default: return nil
            }
        case "fib":
            guard u32(NFTNL_EXPR_FIB_DREG) == reg1,
                  u32(NFTNL_EXPR_FIB_RESULT) == UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue) else { return nil }
            switch u32(NFTNL_EXPR_FIB_FLAGS) {
            case UInt32(NFTA_FIB_F_DADDR.rawValue): return .fibDaddrType
            case UInt32(NFTA_FIB_F_SADDR.rawValue): return .fibSaddrType
            default: return nil
            }
        case "immediate":
            let dreg = u32(NFTNL_EXPR_IMM_DREG)
            if dreg == regVerdict {
                switch Int32(bitPattern: u32(NFTNL_EXPR_IMM_VERDICT)) {
                case Int32(NF_ACCEPT): return .verdict(.accept)
                case Int32(NF_DROP): return .verdict(.drop)
                case NFT_JUMP.rawValue:
                    guard let chain = string(NFTNL_EXPR_IMM_CHAIN) else { return nil }
                    return .verdict(.jump(chain))
                default: return nil
                }
            }
            guard dreg == reg1 || dreg == reg2 || dreg == reg3 else { return nil }
            return .immediate(register: dreg == reg1 ? 1 : dreg == reg2 ? 2 : 3, data: bytes(NFTNL_EXPR_IMM_DATA))
        case "nat":
            guard u32(NFTNL_EXPR_NAT_TYPE) == UInt32(NFT_NAT_DNAT.rawValue), u32(NFTNL_EXPR_NAT_FAMILY) == UInt32(family.nfproto),
                  u32(NFTNL_EXPR_NAT_REG_ADDR_MIN) == reg1,
                  !has(NFTNL_EXPR_NAT_REG_ADDR_MAX) || u32(NFTNL_EXPR_NAT_REG_ADDR_MAX) == reg1 else { return nil }
            // The kernel adds NF_NAT_RANGE_MAP_IPS (1) to the flags we give.
            let flags = has(NFTNL_EXPR_NAT_FLAGS) ? u32(NFTNL_EXPR_NAT_FLAGS) & ~UInt32(1) : 0
            let protoMin = has(NFTNL_EXPR_NAT_REG_PROTO_MIN) ? u32(NFTNL_EXPR_NAT_REG_PROTO_MIN) : 0
            let protoMax = has(NFTNL_EXPR_NAT_REG_PROTO_MAX) ? u32(NFTNL_EXPR_NAT_REG_PROTO_MAX) : 0
            if protoMin == 0 { return flags == 0 && protoMax == 0 ? .dnatAddress : nil }
            guard protoMin == reg2 else { return nil }
            if protoMax == reg3 && flags == UInt32(NF_NAT_RANGE_PROTO_SPECIFIED | NF_NAT_RANGE_PROTO_OFFSET) { return .dnatShifted }
            guard protoMax == 0 || protoMax == reg2, flags == UInt32(NF_NAT_RANGE_PROTO_SPECIFIED) else { return nil }
            return .dnat
        case "masq":
            guard !has(NFTNL_EXPR_MASQ_FLAGS) || u32(NFTNL_EXPR_MASQ_FLAGS) == 0,
                  !has(NFTNL_EXPR_MASQ_REG_PROTO_MIN) else { return nil }
            return .masquerade
        default:
            return nil
        }
    }
}

@_spi(BerthInternal) import BerthNamespace
internal import CNftnl
internal import CMnl
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// Reads `NftSnapshot` from the kernel: tables, chains and sets of one family, ip or ip6
/// (attributes parsed directly), set elements and rules of our table of that family (parsed with libnftnl, rules decoded back into
/// `NftExpr` so they can be compared with what Berth wants).
enum NftSnapshotReader {
    // linux/netfilter/nf_tables.h: the attributes of the names we read.
    private static let tableName = UInt16(NFTA_TABLE_NAME.rawValue)
    private static let chainTable = UInt16(NFTA_CHAIN_TABLE.rawValue)
    private static let chainName = UInt16(NFTA_CHAIN_NAME.rawValue)
    private static let setTable = UInt16(NFTA_SET_TABLE.rawValue)
    private static let setName = UInt16(NFTA_SET_NAME.rawValue)

    static func read(table: String, family: NftFamily = .ip, channel: NftChannel) throws(FirewallError) -> NftSnapshot {
        let op = OperationName.readNftablesTable
        var snapshot = NftSnapshot()
        func names(_ messages: [NftChannel.Message], tableAttr: UInt16, nameAttr: UInt16) throws(FirewallError) -> [String] {
            var out: [String] = []
            for m in messages {
                let attrs: [UInt16: ArraySlice<UInt8>]
                do { attrs = try m.attributes(operation: op, object: table) } catch {
                    throw FirewallError(.system, operation: op, object: table, detail: "\(error)",
                                        cause: .netlink(error))
                }
                guard attrs[tableAttr]?.netlinkString == table, let name = attrs[nameAttr]?.netlinkString else { continue }
                out.append(name)
            }
            return out
        }
        let tables = try channel.dump(NFT_MSG_GETTABLE, table: nil, family: family, operation: op)
        guard try names(tables, tableAttr: tableName, nameAttr: tableName).contains(table) else { return snapshot }
        snapshot.tableExists = true
        snapshot.chains = Set(try names(try channel.dump(NFT_MSG_GETCHAIN, table: nil, family: family, operation: op),
                                        tableAttr: chainTable, nameAttr: chainName))
        // Berth's named sets; the anonymous ones (`__setN`, bound to rules) are read with their rules.
        snapshot.sets = Set(try names(try channel.dump(NFT_MSG_GETSET, table: nil, family: family, operation: op),
                                      tableAttr: setTable, nameAttr: setName).filter { !$0.hasPrefix("__") })
        for spec in NftLayout.sets where snapshot.sets.contains(spec.name) {
            let messages = try channel.dump(NFT_MSG_GETSETELEM, table: table, set: spec.name, family: family, operation: op)
            var elements: [String: String?] = [:]
            for m in messages { try parseElements(m, into: &elements) }
            snapshot.elements[spec.name] = elements
        }
        for m in try channel.dump(NFT_MSG_GETRULE, table: table, family: family, operation: op) {
            if let rule = try parseRule(m, table: table, family: family) { snapshot.rules.append(rule) }
        }
        try resolvePortSets(in: &snapshot, table: table, family: family, channel: channel) { _ in true }
        return snapshot
    }

    /// Replaces each `unresolvedSet` of the rules whose owner `wanted` accepts with the set's
    /// elements (`portSet` / `portMap`), one GETSETELEM dump per set. A set whose elements are
    /// not Berth's shape (keys, values of 2 bytes, no element flags such as an interval end)
    /// makes the rule's expressions nil: it equals nothing Berth wants and gets replaced.
    private static func resolvePortSets(in snapshot: inout NftSnapshot, table: String, family: NftFamily, channel: NftChannel,
                                        wanted: (String) -> Bool) throws(FirewallError) {
        var cache: [String: NftPortSet?] = [:]
        for i in snapshot.rules.indices {
            guard let exprs = snapshot.rules[i].exprs, let owner = snapshot.rules[i].owner, wanted(owner),
                  exprs.contains(where: { if case .unresolvedSet = $0 { true } else { false } }) else { continue }
            var resolved: [NftExpr] = []
            var ok = true
            for expr in exprs {
                guard case .unresolvedSet(let name, let map) = expr else {
                    resolved.append(expr)
                    continue
                }
                if cache[name] == nil { cache[name] = .some(try portSet(name, map: map, table: table, family: family, channel: channel)) }
                guard let set = cache[name] ?? nil, set.isMap == map else {
                    ok = false
                    break
                }
                resolved.append(map ? .portMap(set) : .portSet(set))
            }
            snapshot.rules[i].exprs = ok ? resolved : nil
        }
    }

    /// The elements of the anonymous set `name` as an `NftPortSet`, nil when not of its shape.
    private static func portSet(_ name: String, map: Bool, table: String, family: NftFamily, channel: NftChannel) throws(FirewallError) -> NftPortSet? {
        var keys: [UInt16] = []
        var pairs: [(key: UInt16, value: UInt16)] = []
        var shaped = true
        for m in try channel.dump(NFT_MSG_GETSETELEM, table: table, set: name, family: family, operation: .readNftablesTable) {
            guard let s = nftnl_set_alloc() else { throw FirewallError(.system, operation: .parseSetElements, object: name, detail: "out of memory") }
            defer { nftnl_set_free(s) }
            let parsed = m.bytes.withUnsafeBytes { raw -> Bool in
                guard let base = raw.baseAddress else { return false }
                return nftnl_set_elems_nlmsg_parse(base.assumingMemoryBound(to: nlmsghdr.self), s) >= 0
            }
            guard parsed, let iter = nftnl_set_elems_iter_create(s) else { return nil }
            defer { nftnl_set_elems_iter_destroy(iter) }
            var e = nftnl_set_elems_iter_next(iter)
            while let elem = e {
                func port(_ attr: Int) -> UInt16? {
                    var length: UInt32 = 0
                    guard nftnl_set_elem_is_set(elem, UInt16(attr)), let p = nftnl_set_elem_get(elem, UInt16(attr), &length), length == 2 else { return nil }
                    let b = UnsafeRawBufferPointer(start: p, count: 2)
                    return UInt16(b[0]) << 8 | UInt16(b[1])
                }
                let flags = nftnl_set_elem_is_set(elem, UInt16(NFTNL_SET_ELEM_FLAGS)) ? nftnl_set_elem_get_u32(elem, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
                let key = port(NFTNL_SET_ELEM_KEY)
                let value = port(NFTNL_SET_ELEM_DATA)
                if flags != 0 || key == nil || (map != (value != nil)) { shaped = false }
                if let key {
                    if let value { pairs.append((key, value)) } else { keys.append(key) }
                }
                e = nftnl_set_elems_iter_next(iter)
            }
        }
        guard shaped else { return nil }
        if map { return pairs.isEmpty ? nil : NftPortSet(map: pairs) }
        return keys.isEmpty ? nil : NftPortSet(ports: keys, proto: .tcp)
    }

    /// The full read (`read(table:family:channel:)`) of each family's table, in `families`' order.
    static func read(table: String, families: [NftFamily], channel: NftChannel) throws(FirewallError) -> [NftSnapshot] {
        var out: [NftSnapshot] = []
        for family in families { out.append(try read(table: table, family: family, channel: channel)) }
        return out
    }

    /// Reads only what `scope` names, so the cost does not grow with the number of networks:
    /// ONE round trip of single-object GETs (the table, the sets, the scope's chains, the scope's
    /// keys in every set), then a rule dump of each existing chain of `scope.ruleChains`
    /// (filtered by table and chain in the kernel). The snapshot holds exactly those objects;
    /// the planner only looks at what the operation touches, which the scope must cover.
    static func read(table: String, scope: NftReadScope, channel: NftChannel) throws(FirewallError) -> NftSnapshot {
        try read(table: table, scopes: [(.ip, scope)], channel: channel)[0]
    }

    /// The scoped read of several families' tables (`ip` and `ip6 <table>`) with their GETs in
    /// the same ONE round trip, so a table that does not exist costs no extra round trip (and
    /// no rule dump). Returns one snapshot per scope, in order. `scope.fullSets` are dumped
    /// whole when the table exists.
    static func read(table: String, scopes: [(family: NftFamily, scope: NftReadScope)],
                     channel: NftChannel) throws(FirewallError) -> [NftSnapshot] {
        let op = OperationName.readNftablesTable
        var queries: [(family: NftFamily, query: NftQuery)] = []
        var ranges: [Range<Int>] = []
        for (family, scope) in scopes {
            let start = queries.count
            queries.append((family, .table))
            for spec in NftLayout.sets { queries.append((family, .set(spec.name))) }
            for chain in scope.chains { queries.append((family, .chain(chain))) }
            for chain in scope.ruleChains where !scope.chains.contains(chain) { queries.append((family, .chain(chain))) }
            for key in scope.elementKeys {
                for spec in NftLayout.sets { queries.append((family, .element(set: spec.name, key: key))) }
            }
            ranges.append(start..<queries.count)
        }
        let replies = try channel.query(queries, table: table, operation: op)
        var out: [NftSnapshot] = []
        for ((family, scope), range) in zip(scopes, ranges) {
            out.append(try snapshot(table: table, family: family, scope: scope, queries: queries[range].map(\.query),
                                    replies: Array(replies[range]), channel: channel))
        }
        return out
    }

    /// One family's snapshot from its share of the GET replies, then its rule and full-set dumps.
    private static func snapshot(table: String, family: NftFamily, scope: NftReadScope, queries: [NftQuery],
                                 replies: [NftChannel.QueryReply], channel: NftChannel) throws(FirewallError) -> NftSnapshot {
        let op = OperationName.readNftablesTable
        var snapshot = NftSnapshot()
        for (query, reply) in zip(queries, replies) {
            if reply.errno == ENOENT { continue }
            if reply.errno != 0 {
                if case .element(let set, _) = query, reply.errno == EOPNOTSUPP, snapshot.sets.contains(set) {
                    // A set type without single-element lookup: read the whole set instead.
                    var elements: [String: String?] = [:]
                    for m in try channel.dump(NFT_MSG_GETSETELEM, table: table, set: set, family: family, operation: op) {
                        try parseElements(m, into: &elements)
                    }
                    for key in scope.elementKeys { if let v = elements[key] { snapshot.elements[set, default: [:]][key] = v } }
                    continue
                }
                let err = Errno(reply.errno)
                throw FirewallError(err.rawValue == EPERM ? .missingCapability : .rejected, errno: err, operation: op, object: table,
                                    detail: "\(query): " + (reply.text ?? err.description),
                                    cause: reply.error.map { .netlink($0) })
            }
            switch query {
            case .table:
                snapshot.tableExists = true
            case .set(let name):
                snapshot.sets.insert(name)
                if snapshot.elements[name] == nil { snapshot.elements[name] = [:] }
            case .chain(let name):
                snapshot.chains.insert(name)
            case .element(let set, _):
                var elements = snapshot.elements[set] ?? [:]
                for m in reply.messages { try parseElements(m, into: &elements) }
                snapshot.elements[set] = elements
            }
        }
        guard snapshot.tableExists else { return NftSnapshot() }
        for set in scope.fullSets where snapshot.sets.contains(set) {
            var elements: [String: String?] = [:]
            for m in try channel.dump(NFT_MSG_GETSETELEM, table: table, set: set, family: family, operation: op) {
                try parseElements(m, into: &elements)
            }
            snapshot.elements[set] = elements
        }
        for chain in scope.ruleChains where snapshot.chains.contains(chain) {
            for m in try channel.dump(NFT_MSG_GETRULE, table: table, chain: chain, family: family, operation: op) {
                if let rule = try parseRule(m, table: table, family: family) { snapshot.rules.append(rule) }
            }
        }
        if !scope.portSetOwners.isEmpty {
            try resolvePortSets(in: &snapshot, table: table, family: family, channel: channel) { owner in
                scope.portSetOwners.contains { owner.hasPrefix($0) }
            }
        }
        return snapshot
    }

    private static func parseElements(_ m: NftChannel.Message, into elements: inout [String: String?]) throws(FirewallError) {
        guard let s = nftnl_set_alloc() else { throw FirewallError(.system, operation: .parseSetElements, object: "", detail: "out of memory") }
        defer { nftnl_set_free(s) }
        let ok = m.bytes.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            return nftnl_set_elems_nlmsg_parse(base.assumingMemoryBound(to: nlmsghdr.self), s) >= 0
        }
        guard ok, let iter = nftnl_set_elems_iter_create(s) else { return }
        defer { nftnl_set_elems_iter_destroy(iter) }
        var e = nftnl_set_elems_iter_next(iter)
        while let elem = e {
            var length: UInt32 = 0
            if let key = nftnl_set_elem_get(elem, UInt16(NFTNL_SET_ELEM_KEY), &length) {
                let bytes = UnsafeRawBufferPointer(start: key, count: Int(length))
                let name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                var jump: String?
                if nftnl_set_elem_is_set(elem, UInt16(NFTNL_SET_ELEM_CHAIN)), let chain = nftnl_set_elem_get_str(elem, UInt16(NFTNL_SET_ELEM_CHAIN)) {
                    jump = String(cString: chain)
                }
                elements[name] = .some(jump)
            }
            e = nftnl_set_elems_iter_next(iter)
        }
    }

    private static func parseRule(_ m: NftChannel.Message, table: String, family: NftFamily) throws(FirewallError) -> NftSnapshot.Rule? {
        guard let r = nftnl_rule_alloc() else { throw FirewallError(.system, operation: .parseRule, object: table, detail: "out of memory") }
        defer { nftnl_rule_free(r) }
        let ok = m.bytes.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            return nftnl_rule_nlmsg_parse(base.assumingMemoryBound(to: nlmsghdr.self), r) >= 0
        }
        guard ok, let t = nftnl_rule_get_str(r, UInt16(NFTNL_RULE_TABLE.rawValue)), String(cString: t) == table,
              let c = nftnl_rule_get_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue)) else { return nil }
        var rule = NftSnapshot.Rule(chain: String(cString: c), handle: nftnl_rule_get_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue)),
                                    owner: nil, exprs: NftRuleDecoder.expressions(of: r, family: family))
        var length: UInt32 = 0
        if nftnl_rule_is_set(r, UInt16(NFTNL_RULE_USERDATA.rawValue)),
           let data = nftnl_rule_get_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), &length) {
            rule.owner = comment(in: UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        return rule
    }

    /// The NFTNL_UDATA_RULE_COMMENT entry of rule userdata (TLVs of type u8, length u8, value).
    static func comment(in udata: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset + 2 <= udata.count {
            let type = udata[offset], length = Int(udata[offset + 1])
            guard offset + 2 + length <= udata.count else { return nil }
            if type == UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue) {
                return String(decoding: udata[(offset + 2)..<(offset + 2 + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += 2 + length
        }
        return nil
    }
}

/// The tables of `IptablesTable` (filter, nat, raw, mangle) as `iptables-save` shows them:
/// chains in order, built-in policies, rules as canonical spec text. Other tables (security) are
/// ignored: Berth never touches them. Pure value; parsing never fails (unknown lines are skipped).
struct IptablesRuleset: Sendable, Equatable {
    struct Chain: Sendable, Equatable {
        /// `ACCEPT`/`DROP` for a built-in chain, nil for a user chain.
        var policy: String?
        /// Rule specs, in order (the text after `-A CHAIN `).
        var rules: [String]
    }

    struct Table: Sendable, Equatable {
        var chainOrder: [String]
        var chains: [String: Chain]

        /// A table as the kernel has it before anything is added: built-in chains, policy ACCEPT.
        init(_ table: IptablesTable) {
            chainOrder = table.builtinChains
            chains = Dictionary(uniqueKeysWithValues: table.builtinChains.map { ($0, Chain(policy: "ACCEPT", rules: [])) })
        }
    }

    var tables: [IptablesTable: Table]

    init() {
        tables = Dictionary(uniqueKeysWithValues: IptablesTable.allCases.map { ($0, Table($0)) })
    }

    /// Parses `iptables-save` output (with or without counters; comment lines ignored).
    init(parsing text: String) {
        self.init()
        var current: IptablesTable?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var line = Substring(rawLine)
            while line.last == " " || line.last == "\r" { line.removeLast() }
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("*") {
                current = IptablesTable(rawValue: String(line.dropFirst()))
                continue
            }
            guard let table = current else { continue }
            if line == "COMMIT" { current = nil; continue }
            if line.hasPrefix("[") , let close = line.firstIndex(of: "]") {
                // `-c` form: "[pkts:bytes] -A CHAIN ..."
                line = line[line.index(after: close)...].drop(while: { $0 == " " })
            }
            if line.hasPrefix(":") {
                let parts = line.dropFirst().split(separator: " ")
                guard let name = parts.first.map(String.init) else { continue }
                let policy = parts.count > 1 && parts[1] != "-" ? String(parts[1]) : nil
                if tables[table]?.chains[name] == nil { tables[table]?.chainOrder.append(name) }
                let rules = tables[table]?.chains[name]?.rules ?? []
                tables[table]?.chains[name] = Chain(policy: policy, rules: rules)
            } else if line.hasPrefix("-A ") {
                let rest = line.dropFirst(3)
                let chainEnd = rest.firstIndex(of: " ") ?? rest.endIndex
                let name = String(rest[..<chainEnd])
                let spec = String(rest[chainEnd...].drop(while: { $0 == " " }))
                if tables[table]?.chains[name] == nil {
                    tables[table]?.chainOrder.append(name)
                    tables[table]?.chains[name] = Chain(policy: nil, rules: [])
                }
                tables[table]?.chains[name]?.rules.append(spec)
            }
        }
    }

    func hasChain(_ table: IptablesTable, _ chain: String) -> Bool {
        tables[table]?.chains[chain] != nil
    }

    func rules(_ table: IptablesTable, _ chain: String) -> [String] {
        tables[table]?.chains[chain]?.rules ?? []
    }

    func policy(_ table: IptablesTable, _ chain: String) -> String? {
        tables[table]?.chains[chain]?.policy
    }

    func contains(_ rule: IptablesRule) -> Bool {
        rules(rule.table, rule.chain).contains(rule.spec)
    }

    /// First index of `rule` in its chain.
    func index(of rule: IptablesRule) -> Int? {
        rules(rule.table, rule.chain).firstIndex(of: rule.spec)
    }

    /// The `iptables -S` lines of one table (`-P`, `-N`, `-A`), as `iptables -t T -S` prints them.
    func listing(_ table: IptablesTable) -> [String] {
        guard let t = tables[table] else { return [] }
        var lines: [String] = []
        for name in t.chainOrder {
            if let policy = t.chains[name]?.policy { lines.append("-P \(name) \(policy)") }
        }
        for name in t.chainOrder where t.chains[name]?.policy == nil { lines.append("-N \(name)") }
        for name in t.chainOrder {
            for spec in t.chains[name]?.rules ?? [] { lines.append("-A \(name) \(spec)") }
        }
        return lines
    }
}

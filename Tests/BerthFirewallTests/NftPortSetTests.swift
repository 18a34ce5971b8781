import CNftnl
import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Issue 13, ports at scale: an endpoint's separate single ports (at least
/// `NftLayout.leastPortsPerSet` of a kind) share one rule of each kind with an anonymous set or map bound to it (`NftPortSet`), in both tables, checked against
/// `nft -f` of the same listing (libnftnl's encoding, byte for byte: rules, sets, elements),
/// and through removal, re-adding, reconciliation and a dry run.
@Suite("nftables anonymous port sets in a namespace", .enabled(if: Sandbox.isActive), .serialized)
struct NftPortSetTests {
    typealias F = NftFixtures
    typealias V = NftV6Fixtures

    /// 32 separate tcp ports (host 20000+2i → container 1000+3i, PortsCompare's shape), two udp
    /// ports, a tcp range and one tcp port on a host address, on the dual-stack network.
    static let separate: [PortMapping] = (0..<32).map { (i: Int) -> PortMapping in
        PortMapping(hostPort: UInt16(20000 + 2 * i), containerPort: UInt16(1000 + 3 * i))
    }
    static let others: [PortMapping] = [
        PortMapping(proto: .udp, hostPort: 5353, containerPort: 53), PortMapping(proto: .udp, hostPort: 6363, containerPort: 63),
        PortMapping(hostPort: 9000, containerPort: 9000, count: 10), PortMapping(hostIP: Fixtures.address("10.0.0.5"), hostPort: 7070, containerPort: 70),
    ]
    static let endpoint = EndpointPorts(
        endpointID: String(repeating: "5", count: 64), networkID: V.net6.id, bridge: V.net6.bridge, address: Fixtures.address("172.20.0.3"),
        ports: separate + others, address6: V.address6("fd00:1::3"))

    static var tcpMap: String { (0..<32).map { (i: Int) -> String in "\(20000 + 2 * i) : \(1000 + 3 * i)" }.joined(separator: ", ") }
    static var tcpPorts: String {
        let ports: [Int] = (0..<32).map { (i: Int) -> Int in 1000 + 3 * i } + [70]
        return ports.sorted().map(String.init).joined(separator: ", ")
    }
    static var tcpPorts6: String { (0..<32).map { (i: Int) -> String in String(1000 + 3 * i) }.joined(separator: ", ") }

    static let owner = "ep:\(String(repeating: "5", count: 64)) br:br-dddddddddddd"

    /// The endpoint's rules as `nft list ruleset` prints them, chain by chain.
    static var expectedRules: [String: [String]] {
        [
            "ip published": [
                "iifname != @bridges meta l4proto tcp dnat to 172.20.0.3:tcp dport map { \(tcpMap) }",
                "iifname != @bridges udp dport 5353 dnat to 172.20.0.3:53",
                "iifname != @bridges udp dport 6363 dnat to 172.20.0.3:63",
                "iifname != @bridges tcp dport 9000-9009 dnat to 172.20.0.3",
                "iifname != @bridges ip daddr 10.0.0.5 tcp dport 7070 dnat to 172.20.0.3:70",
            ],
            "ip fwd-ports-br-dddddddddddd": [
                "iifname != \"br-dddddddddddd\" ip daddr 172.20.0.3 tcp dport { \(tcpPorts) } accept",
                "iifname != \"br-dddddddddddd\" ip daddr 172.20.0.3 udp dport 53 accept",
                "iifname != \"br-dddddddddddd\" ip daddr 172.20.0.3 udp dport 63 accept",
                "iifname != \"br-dddddddddddd\" ip daddr 172.20.0.3 tcp dport 9000-9009 accept",
            ],
            "ip nat-br-dddddddddddd": [
                "ip saddr 172.20.0.3 ip daddr 172.20.0.3 tcp dport { \(tcpPorts) } masquerade",
                "ip saddr 172.20.0.3 ip daddr 172.20.0.3 udp dport 53 masquerade",
                "ip saddr 172.20.0.3 ip daddr 172.20.0.3 udp dport 63 masquerade",
                "ip saddr 172.20.0.3 ip daddr 172.20.0.3 tcp dport 9000-9009 masquerade",
            ],
            "ip6 published": [
                "iifname != @bridges meta l4proto tcp dnat to [fd00:1::3]:tcp dport map { \(tcpMap) }",
                "iifname != @bridges udp dport 5353 dnat to [fd00:1::3]:53",
                "iifname != @bridges udp dport 6363 dnat to [fd00:1::3]:63",
                "iifname != @bridges tcp dport 9000-9009 dnat to fd00:1::3",
            ],
            "ip6 fwd-ports-br-dddddddddddd": [
                "iifname != \"br-dddddddddddd\" ip6 daddr fd00:1::3 tcp dport { \(tcpPorts6) } accept",
                "iifname != \"br-dddddddddddd\" ip6 daddr fd00:1::3 udp dport 53 accept",
                "iifname != \"br-dddddddddddd\" ip6 daddr fd00:1::3 udp dport 63 accept",
                "iifname != \"br-dddddddddddd\" ip6 daddr fd00:1::3 tcp dport 9000-9009 accept",
            ],
            "ip6 nat-br-dddddddddddd": [
                "ip6 saddr fd00:1::3 ip6 daddr fd00:1::3 tcp dport { \(tcpPorts6) } masquerade",
                "ip6 saddr fd00:1::3 ip6 daddr fd00:1::3 udp dport 53 masquerade",
                "ip6 saddr fd00:1::3 ip6 daddr fd00:1::3 udp dport 63 masquerade",
                "ip6 saddr fd00:1::3 ip6 daddr fd00:1::3 tcp dport 9000-9009 masquerade",
            ],
        ]
    }

    private func channel(_ host: NftHost) throws -> NftChannel {
        NftChannel(transport: try MnlSocket.open(bus: MnlSocket.netfilterBus, in: host.namespace), object: "test")
    }

    /// The endpoint's rules from `nft list chain`, comments stripped (only rules with its comment).
    private func endpointRules(_ host: NftHost) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for key in Self.expectedRules.keys {
            let parts = key.split(separator: " ").map(String.init)
            let text = try host.nft(["list", "chain", parts[0], "berth", parts[1]]).stdout
            out[key] = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasSuffix("comment \"\(Self.owner)\"") }
                .map { String($0.dropLast(" comment \"\(Self.owner)\"".count)) }
        }
        return out
    }

    /// Every rule of Berth's table of `family` as the kernel dumps it, with each anonymous set's
    /// name replaced by the set's own attributes (flags, key and data types and lengths,
    /// description, userdata) and elements as the kernel dumps them: chain → rules in order.
    private func ruleAndSetBytes(_ host: NftHost, family: NftFamily) throws -> [String: [[UInt8]]] {
        let ch = try channel(host)
        var sets: [String: [UInt8]] = [:]
        for m in try ch.dump(NFT_MSG_GETSET, table: nil, family: family, operation: .test) {
            let attrs = try m.attributes(operation: .test, object: "set")
            guard let name = attrs[UInt16(NFTA_SET_NAME.rawValue)]?.netlinkString, name.hasPrefix("__") else { continue }
            var bytes: [UInt8] = []
            for a in [NFTA_SET_FLAGS, NFTA_SET_KEY_TYPE, NFTA_SET_KEY_LEN, NFTA_SET_DATA_TYPE, NFTA_SET_DATA_LEN, NFTA_SET_DESC, NFTA_SET_USERDATA] {
                bytes += [0xfe] + (attrs[UInt16(a.rawValue)].map(Array.init) ?? [])
            }
            for e in try ch.dump(NFT_MSG_GETSETELEM, table: "berth", set: name, family: family, operation: .test) {
                let ea = try e.attributes(operation: .test, object: "elements")
                // Each element is one nested attribute; a hash set dumps them in its own order.
                let list = ea[UInt16(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue)].map(Array.init) ?? []
                var elements: [[UInt8]] = []
                var at = 0
                while at + 4 <= list.count {
                    let length = Int(list[at]) | Int(list[at + 1]) << 8
                    guard length >= 4 else { break }
                    elements.append(Array(list[at..<min(list.count, at + length)]))
                    at += (length + 3) & ~3
                }
                bytes += [0xfd] + elements.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { $0 }
            }
            sets[name] = bytes
        }
        var out: [String: [[UInt8]]] = [:]
        for m in try ch.dump(NFT_MSG_GETRULE, table: "berth", family: family, operation: .test) {
            let attrs = try m.attributes(operation: .test, object: "rule")
            let chain = attrs[UInt16(NFTA_RULE_CHAIN.rawValue)]?.netlinkString ?? "?"
            var exprs = attrs[UInt16(NFTA_RULE_EXPRESSIONS.rawValue)].map(Array.init) ?? []
            // Replace "__setN"/"__mapN" (NUL-terminated, in a lookup) by the set's bytes.
            for (name, bytes) in sets {
                let needle = Array(name.utf8) + [0]
                var i = 0
                while i + needle.count <= exprs.count {
                    if Array(exprs[i..<(i + needle.count)]) == needle {
                        exprs.replaceSubrange(i..<(i + needle.count), with: bytes)
                        i += bytes.count
                    } else {
                        i += 1
                    }
                }
            }
            let udata = attrs[UInt16(NFTA_RULE_USERDATA.rawValue)].map(Array.init) ?? []
            out[chain, default: []].append(exprs + [0xff] + udata)
        }
        return out
    }

    /// The rules Berth wrote with a `range` expression, which nft 1.0 writes as two `cmp`s
    /// (the listing comparison covers them), are left out of the byte comparison on both sides.
    private func withoutRanges(_ bytes: [String: [[UInt8]]], host: NftHost, family: NftFamily) throws -> [String: [[UInt8]]] {
        let decoded = try NftSnapshotReader.read(table: "berth", family: family, channel: channel(host)).rules
        var ranged: [String: Set<Int>] = [:]
        var position: [String: Int] = [:]
        for rule in decoded {
            let i = position[rule.chain, default: 0]
            position[rule.chain] = i + 1
            if rule.exprs?.contains(where: { if case .range = $0 { true } else { false } }) == true { ranged[rule.chain, default: []].insert(i) }
        }
        return bytes.mapValues { _ in [] }.merging(bytes.map { chain, rules in
            (chain, rules.enumerated().filter { !(ranged[chain]?.contains($0.offset) ?? false) }.map(\.element))
        }) { $1 }
    }

    @Test func separatePortsShareOneRuleOfEachKind() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.addNetwork(V.net6)
        try host.backend.addPorts(Self.endpoint)
        let rules = try endpointRules(host)
        if let out = ProcessInfo.processInfo.environment["BERTH_WRITE_LISTING"] { try host.ruleset().write(toFile: out, atomically: true, encoding: .utf8) }
        #expect(rules == Self.expectedRules)
        if rules != Self.expectedRules { print(try host.ruleset()) }
        // 25 rules for 46 ports in two families (13 ip, 12 ip6), 6 of them with a set or map;
        // the two udp ports (fewer than NftLayout.leastPortsPerSet) keep a rule each.
        #expect(try host.ruleOwners().filter { $0.comment == Self.owner }.count == 25)
    }

    /// The same listing loaded with `nft -f` gives the same kernel bytes: rules, and each
    /// anonymous set's attributes and elements.
    @Test func nftWritesTheSameRulesSetsAndElements() throws {
        let host = try NftHost()
        defer { host.close() }
        let state = FirewallState(networks: [V.net6], endpoints: [Self.endpoint])
        try host.backend.reapply(state)
        let listing = try host.ruleset()
        let reference = try NftHost()
        defer { reference.close() }
        try reference.nft(["-f", "-"], stdin: listing)
        #expect(F.normalized(try reference.ruleset()) == F.normalized(listing))
        for family in NftFamily.allCases {
            let ours = try withoutRanges(ruleAndSetBytes(host, family: family), host: host, family: family)
            let theirs = try withoutRanges(ruleAndSetBytes(reference, family: family), host: host, family: family)
            #expect(ours == theirs, "\(family.name) berth")
            for (chain, rules) in ours where theirs[chain] != rules {
                for (i, (a, b)) in zip(rules, theirs[chain] ?? []).enumerated() where a != b {
                    let at = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                    print("DIFF \(family.name) \(chain) #\(i) at \(at): ours \(Array(a[max(0, at - 24)..<min(a.count, at + 40)])) theirs \(Array(b[max(0, at - 24)..<min(b.count, at + 40)]))")
                }
            }
            let decoded = try NftSnapshotReader.read(table: "berth", family: family, channel: channel(host)).rules
            let withSets = decoded.filter { $0.exprs?.contains { $0.portSet != nil } == true }.count
            #expect(withSets == 3, "\(family.name): rules with a set compared")
        }
    }

    @Test func addingTwiceChangesNothingAndRemovalRestoresTheRuleset() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.addNetwork(V.net6)
        try host.backend.addPorts(V.endpoint6)
        let before = try host.rulesetWithHandles()
        let setsBefore = try host.nft(["list", "sets"]).stdout
        let anonymousBefore = try NftFamily.allCases.map { try anonymousSets(host, family: $0) }
        try host.backend.addPorts(Self.endpoint)
        let added = try host.rulesetWithHandles()
        try host.backend.addPorts(Self.endpoint)
        #expect(try host.rulesetWithHandles() == added, "the same rules (sets included) are recognised: nothing re-created")
        try host.backend.removePorts(Self.endpoint)
        #expect(try host.rulesetWithHandles() == before, "byte-identical after removal")
        #expect(try host.nft(["list", "sets"]).stdout == setsBefore)
        // No anonymous set of the endpoint is left behind in either table (V.endpoint6 keeps its own).
        #expect(try NftFamily.allCases.map { try anonymousSets(host, family: $0) } == anonymousBefore)
        // Removing the network (its chains flushed, the endpoints' published rules deleted) takes
        // every anonymous set with it; the ip6 table goes with its last network.
        try host.backend.addPorts(Self.endpoint)
        try host.backend.removeNetwork(V.net6)
        #expect(try anonymousSets(host, family: .ip).isEmpty)
        #expect(try host.nft(["list", "tables"]).stdout.split(separator: "\n") == ["table ip berth"])
    }

    /// The names of the anonymous sets of Berth's table of `family`.
    private func anonymousSets(_ host: NftHost, family: NftFamily) throws -> [String] {
        try channel(host).dump(NFT_MSG_GETSET, table: nil, family: family, operation: .test).compactMap {
            try $0.attributes(operation: .test, object: "set")[UInt16(NFTA_SET_NAME.rawValue)]?.netlinkString
        }.filter { $0.hasPrefix("__") }.sorted()
    }

    @Test func changedPortsReplaceTheRuleAndItsSet() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.addNetwork(V.net6)
        try host.backend.addPorts(Self.endpoint)
        var fewer = Self.endpoint
        fewer.ports.removeFirst(20)
        try host.backend.addPorts(fewer)
        let published = try host.nft(["list", "chain", "ip", "berth", "published"]).stdout
        #expect(published.contains("tcp dport map { 20040 : 1060, 20042 : 1063,"), "\(published)")
        #expect(published.contains("20060 : 1090, 20062 : 1093 }"), "\(published)")
        #expect(!published.contains("20000 : 1000"))
    }

    @Test func reconcileRecognisesAndRepairsPortSets() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        let state = FirewallState(networks: [V.net6], endpoints: [Self.endpoint])
        try b.reapply(state)
        let full = F.normalized(try host.ruleset())
        #expect(try b.reconcile(state, dryRun: true) == FirewallReconciliation(), "a right table needs nothing")
        // A rule with the endpoint's comment and another port set in place of its accept rule.
        let chain = "fwd-ports-\(V.net6.bridge)"
        let handles = try host.json().compactMap { $0["rule"] as? [String: Any] }
            .filter { $0["family"] as? String == "ip" && $0["chain"] as? String == chain && $0["comment"] as? String == Self.owner }
            .compactMap { $0["handle"] as? Int }
        guard let first = handles.first else {
            Issue.record("no accept rule")
            return
        }
        try host.nft(["replace", "rule", "ip", "berth", chain, "handle", String(first),
                      "iifname", "!=", "\"\(V.net6.bridge)\"", "ip", "daddr", "172.20.0.3", "tcp", "dport", "{", "1000,", "1003", "}", "accept",
                      "comment", "\"\(Self.owner)\""])
        let damaged = try host.rulesetWithHandles()
        let dry = try b.reconcile(state, dryRun: true)
        #expect(try host.rulesetWithHandles() == damaged, "a dry run changes nothing")
        #expect(dry.repaired.contains { $0.hasPrefix("ip berth \(chain)|") }, "\(dry)")
        let done = try b.reconcile(state, dryRun: false)
        #expect(done == dry, "the dry run said what the run does")
        #expect(F.normalized(try host.ruleset()) == full)
        #expect(try b.reconcile(state, dryRun: false) == FirewallReconciliation())
    }
}

/// `NftLayout.endpointRules`' grouping of single ports, without a kernel.
@Suite("nftables port sets (rendering)")
struct NftPortSetRenderingTests {
    static func endpoint(_ ports: [PortMapping], loopbackLocal: Bool = false) -> EndpointPorts {
        EndpointPorts(endpointID: String(repeating: "4", count: 64), networkID: NftFixtures.netA.id, bridge: NftFixtures.netA.bridge,
                      address: Fixtures.address("172.18.0.4"), ports: ports, loopbackLocal: loopbackLocal)
    }

    static func singles(_ count: Int, hostIP: IPv4Address? = nil) -> [PortMapping] {
        (0..<count).map { (i: Int) -> PortMapping in PortMapping(hostIP: hostIP, hostPort: UInt16(30000 + 2 * i), containerPort: UInt16(500 + 2 * i)) }
    }

    @Test func fewerThanLeastPortsPerSetKeepARuleEach() {
        let rules = NftLayout.endpointRules(Self.endpoint(Self.singles(NftLayout.leastPortsPerSet - 1)))
        #expect(rules.count == 3 * (NftLayout.leastPortsPerSet - 1))
        #expect(rules.allSatisfy { !$0.exprs.contains { $0.portSet != nil } })
    }

    @Test func leastPortsPerSetShareOneRuleOfEachKind() {
        let rules = NftLayout.endpointRules(Self.endpoint(Self.singles(NftLayout.leastPortsPerSet)))
        #expect(rules.map(\.text) == [
            "iifname != @bridges meta l4proto tcp dnat to 172.18.0.4:tcp dport map { 30000 : 500, 30002 : 502, 30004 : 504, 30006 : 506 }",
            "iifname != \"br-aaaaaaaaaaaa\" ip daddr 172.18.0.4 tcp dport { 500, 502, 504, 506 } accept",
            "ip saddr 172.18.0.4 ip daddr 172.18.0.4 tcp dport { 500, 502, 504, 506 } masquerade",
        ])
    }

    /// A second binding of a host port already in the map (to another container port) cannot be
    /// a map element: it keeps a rule of its own, after the map (which the kernel matches first).
    @Test func aConflictingHostPortKeepsItsOwnRule() {
        let ports = Self.singles(4) + [PortMapping(hostPort: 30000, containerPort: 999)]
        let published = NftLayout.endpointRules(Self.endpoint(ports)).filter { $0.chain == NftLayout.publishedChain }.map(\.text)
        #expect(published == ["iifname != @bridges meta l4proto tcp dnat to 172.18.0.4:tcp dport map { 30000 : 500, 30002 : 502, 30004 : 504, 30006 : 506 }",
                              "iifname != @bridges tcp dport 30000 dnat to 172.18.0.4:999"])
    }

    @Test func hostAddressesAndProtocolsAreSeparateGroups() {
        let ports = Self.singles(4) + Self.singles(4, hostIP: Fixtures.address("10.0.0.5")).map { (p: PortMapping) -> PortMapping in
            var q = p
            q.hostPort += 1
            return q
        }
        let rules = NftLayout.endpointRules(Self.endpoint(ports))
        #expect(rules.filter { $0.chain == NftLayout.publishedChain }.count == 2, "one map per host address")
        #expect(rules.filter { $0.chain == NftLayout.forwardPorts(NftFixtures.netA.bridge) }.count == 1, "one accept for the container ports")
        #expect(rules.first { $0.chain == NftLayout.publishedChain && $0.text.contains("10.0.0.5") }?.text
                == "iifname != @bridges ip daddr 10.0.0.5 meta l4proto tcp dnat to 172.18.0.4:tcp dport map { 30001 : 500, 30003 : 502, 30005 : 504, 30007 : 506 }")
    }

    @Test func loopbackLocalDropsShareOneRule() {
        let rules = NftLayout.endpointRules(Self.endpoint(Self.singles(5, hostIP: Fixtures.address("127.0.0.1")), loopbackLocal: true))
        #expect(rules.filter { $0.chain == NftLayout.rawPreroutingChain }.map(\.text)
                == ["iifname != \"lo\" ip daddr 127.0.0.1 tcp dport { 30000, 30002, 30004, 30006, 30008 } drop"])
    }

    /// The rule's messages: the set, its elements, then the rule, whose lookup names the set's
    /// batch ID; a second rule's set gets the next ID.
    @Test func aRuleWithASetIsThreeMessagesLinkedBySetID() throws {
        let rules = NftLayout.endpointRules(Self.endpoint(Self.singles(4)))
        let encoder = NftMessageEncoder(table: "berth")
        var setID: UInt32 = 0
        let first = try encoder.messages(.addRule(rules[0]), setID: &setID)
        let second = try encoder.messages(.addRule(rules[1]), setID: &setID)
        #expect(first.count == 3 && second.count == 3 && setID == 2)
        func type(_ m: [UInt8]) -> UInt16 { UInt16(m[4]) | UInt16(m[5]) << 8 }
        let subsys = UInt16(NFNL_SUBSYS_NFTABLES) << 8
        #expect(first.map(type) == [subsys | UInt16(NFT_MSG_NEWSET.rawValue), subsys | UInt16(NFT_MSG_NEWSETELEM.rawValue), subsys | UInt16(NFT_MSG_NEWRULE.rawValue)])
        #expect(first[0] == (try encoder.encodePortSet(NftPortSet(map: [(30000, 500), (30002, 502), (30004, 504), (30006, 506)]), setID: 1, seq: 0)))
        // The rule's bytes name the template and the ID (NFTA_LOOKUP_SET_ID, big endian).
        let template = Array("__map%d".utf8)
        #expect(first[2].indices.contains { i in i + template.count <= first[2].count && Array(first[2][i..<(i + template.count)]) == template })
        let setIDAttr: [UInt8] = [8, 0, UInt8(NFTA_LOOKUP_SET_ID.rawValue), 0, 0, 0, 0, 1]
        #expect(first[2].indices.contains { i in i + 8 <= first[2].count && Array(first[2][i..<(i + 8)]) == setIDAttr })
    }
}

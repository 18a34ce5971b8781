import CMnl
import CNftnl
#if canImport(Glibc)
import Glibc
#endif
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Pure tests of the nftables backend's IPv6 table (issue 15): the `ip6` expressions, the rules
/// of the layout, the encoder's IPv6 messages (read back with libnftnl) and the planner's table
/// lifetime. No kernel.
@Suite("nftables IPv6 rendering and planning")
struct NftIPv6UnitTests {
    typealias F = NftFixtures
    typealias V = NftV6Fixtures

    @Test func ip6MatchesLoadTheIPv6HeaderLikeNft() {
        var b = NftRuleBuilder()
        b.ip6(source: true, V.subnet6("fd00:1::/64"))
        // nft --debug=netlink: [ payload load 8b @ network header + 8 => reg 1 ] [ cmp eq reg 1 0x000000fd 0x00000000 ]
        #expect(b.exprs == [.payload(.network, offset: 8, length: 8), .cmp(equal: true, data: [0xfd, 0, 0, 1, 0, 0, 0, 0])])
        #expect(b.rule(chain: "c", owner: "o").text == "ip6 saddr fd00:1::/64")
        b = NftRuleBuilder()
        b.ip6(source: false, V.address6("::1"), equal: false)
        // [ payload load 16b @ network header + 24 => reg 1 ] [ cmp neq reg 1 0x00000000 0x00000000 0x00000000 0x01000000 ]
        #expect(b.exprs == [.payload(.network, offset: 24, length: 16), .cmp(equal: false, data: [UInt8](repeating: 0, count: 15) + [1])])
        #expect(b.rule(chain: "c", owner: "o").text == "ip6 daddr != ::1")
        b = NftRuleBuilder()
        b.ip6(source: true, V.subnet6("fd00:1:2::/52"))
        #expect(b.exprs == [.payload(.network, offset: 8, length: 7),
                            .bitwise(mask: [255, 255, 255, 255, 255, 255, 0xf0], xor: [0, 0, 0, 0, 0, 0, 0]),
                            .cmp(equal: true, data: [0xfd, 0, 0, 1, 0, 2, 0])])
        // The IPv4 forms are unchanged by the shared code.
        b = NftRuleBuilder()
        b.ip(source: false, Fixtures.subnet("192.168.16.0/20"), equal: false)
        #expect(b.exprs == [.payload(.network, offset: 16, length: 3), .bitwise(mask: [255, 255, 240], xor: [0, 0, 0]),
                            .cmp(equal: false, data: [192, 168, 16])])
    }

    @Test func ip6DnatFillsTheSixteenByteRegister() {
        let a = V.address6("fd00:1::2")
        var b = NftRuleBuilder()
        b.dnat(to: a, port: 80)
        #expect(b.exprs == [.immediate(register: 1, data: a.bytes), .immediate(register: 2, data: [0, 80]), .dnat])
        #expect(b.rule(chain: "c", owner: "o").text == "dnat to [fd00:1::2]:80")
        b = NftRuleBuilder()
        b.dnat(to: a, hostPort: 8000, containerPort: 8000, count: 10)
        #expect(b.exprs == [.immediate(register: 1, data: a.bytes), .dnatAddress])
        #expect(b.rule(chain: "c", owner: "o").text == "dnat to fd00:1::2")
        b = NftRuleBuilder()
        let shifted = b.dnat(to: a, hostPort: 8000, containerPort: 9000, count: 10)
        #expect(shifted)
        #expect(b.exprs.last == .dnatShifted)
        #expect(b.rule(chain: "c", owner: "o").text.hasPrefix("dnat to [fd00:1::2]:"))
    }

    @Test func networkRulesInTheIPv6Table() {
        let br = V.net6.bridge
        #expect(NftLayout.networkRules(V.net6, family: .ip6).map { "\($0.chain): \($0.text)" } == [
            "fwd-in-\(br): iifname @bridges iifname != \"\(br)\" drop",
            "fwd-in-\(br): ct state established,related accept",
            "fwd-in-\(br): jump fwd-ports-\(br)",
            "fwd-in-\(br): iifname \"\(br)\" accept",
            "fwd-in-\(br): drop",
            "fwd-out-\(br): oifname != \"\(br)\" accept",
            "nat-\(br): ip6 saddr fd00:1::/64 oifname != \"\(br)\" masquerade",
        ])
        // The IPv4 rules of a dual-stack network are those of the same network without IPv6.
        var v4Only = V.net6
        v4Only.subnet6 = nil
        #expect(NftLayout.networkRules(V.net6) == NftLayout.networkRules(v4Only))
        #expect(NftLayout.networkRules(v4Only, family: .ip6).isEmpty)
        #expect(NftLayout.networkRules(F.netA, family: .ip6).isEmpty)
        let b = NftLayout.networkRules(V.net6b, family: .ip6).map(\.text)
        #expect(b.contains("iifname \"\(V.net6b.bridge)\" drop") && !b.contains { $0.contains("masquerade") })
        #expect(NftLayout.networkRules(V.net6c, family: .ip6).map(\.text) == [
            "iifname != \"\(V.net6c.bridge)\" drop", "iifname \"\(V.net6c.bridge)\" accept", "oifname != \"\(V.net6c.bridge)\" drop",
        ])
        var hairpin = V.net6
        hairpin.hairpin = true
        #expect(NftLayout.networkRules(hairpin, family: .ip6).last.map { "\($0.chain): \($0.text)" }
                == "postrouting: oifname \"\(br)\" fib saddr type local masquerade")
    }

    @Test func endpointRulesPerFamily() {
        let e = V.endpoint6
        let v4 = NftLayout.endpointRules(e).filter { $0.chain == NftLayout.publishedChain }.map(\.text)
        #expect(v4 == ["iifname != @bridges tcp dport 8080 dnat to 172.20.0.2:80",
                       "iifname != @bridges ip daddr 10.0.0.5 tcp dport 7070 dnat to 172.20.0.2:70",
                       "iifname != @bridges tcp dport 8000-8009 dnat to 172.20.0.2"], "IPv6-only bindings have no IPv4 rules")
        let v6 = NftLayout.endpointRules(e, family: .ip6)
        #expect(v6.filter { $0.chain == NftLayout.publishedChain }.map(\.text) == [
            "iifname != @bridges tcp dport 8080 dnat to [fd00:1::2]:80",
            "iifname != @bridges tcp dport 9090 dnat to [fd00:1::2]:90",
            "iifname != @bridges ip6 daddr fd00:1::1 udp dport 5353 dnat to [fd00:1::2]:53",
            "iifname != @bridges tcp dport 8000-8009 dnat to fd00:1::2",
        ], "a 0.0.0.0/none binding is also on ::, an IPv4 host address has none")
        #expect(v6.count == 12 && v6.allSatisfy { $0.owner == NftLayout.endpointOwner(e) })
        #expect(v6.filter { $0.chain == NftLayout.forwardPorts(e.bridge) }.map(\.text).first
                == "iifname != \"\(e.bridge)\" ip6 daddr fd00:1::2 tcp dport 80 accept")
        #expect(v6.filter { $0.chain == NftLayout.nat(e.bridge) }.map(\.text).first
                == "ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 80 masquerade")
        var noAddress = e
        noAddress.address6 = nil
        #expect(NftLayout.endpointRules(noAddress, family: .ip6).isEmpty)
        // A ::1 binding with loopbackLocal: no drop in IPv6 (the kernel drops non-loopback ::1 itself).
        var loopback = e
        loopback.loopbackLocal = true
        loopback.ports = [PortMapping(hostPort: 8080, containerPort: 80, hostIP6: V.address6("::1")),
                          PortMapping(hostIP: Fixtures.address("127.0.0.1"), hostPort: 8081, containerPort: 80)]
        #expect(!NftLayout.endpointRules(loopback, family: .ip6).contains { $0.chain == NftLayout.rawPreroutingChain })
        #expect(NftLayout.endpointRules(loopback).filter { $0.chain == NftLayout.rawPreroutingChain }.map(\.text)
                == ["iifname != \"lo\" ip daddr 127.0.0.1 tcp dport 8081 drop"])
        var hairpin = e
        hairpin.hairpin = true
        let h = NftLayout.endpointRules(hairpin, family: .ip6)
        #expect(h.first?.text == "tcp dport 8080 dnat to [fd00:1::2]:80")
        #expect(h.contains { $0.chain == "postrouting" && $0.text == "oifname \"\(e.bridge)\" ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 80 masquerade" })
    }

    @Test func baseRulesOfTheIPv6Table() {
        #expect(NftLayout.baseRules(family: .ip6).map { "\($0.chain): \($0.text)" } == [
            "forward: jump berth-user", "forward: oifname vmap @fwd-in", "forward: iifname vmap @fwd-out",
            "prerouting: fib daddr type local jump published",
            "output: ip6 daddr != ::1 fib daddr type local jump published",
            "postrouting: iifname vmap @nat-out",
            "no-ipv6: drop",
        ])
        #expect(NftLayout.baseRules(hairpinMode: true, family: .ip6).first { $0.chain == "output" }?.text == "fib daddr type local jump published")
        #expect(NftLayout.baseChains(.ip6).map(\.name) == ["berth-user", "published", "no-ipv6", "forward", "prerouting", "output", "postrouting"])
        #expect(NftLayout.baseChains(.ip).map(\.name) == NftLayout.baseChains.map(\.name))
        #expect(NftLayout.baseRules() == NftLayout.baseRules(family: .ip))
    }

    /// The encoder's IPv6 rule message, parsed back with libnftnl: family NFPROTO_IPV6 in the
    /// header and in the NAT expression, and the expressions Berth meant.
    @Test func encodedIPv6RuleReadsBackWithLibnftnl() throws {
        guard let rule = NftLayout.endpointRules(V.endpoint6, family: .ip6).first else { Issue.record("no rule"); return }
        let bytes = try NftMessageEncoder(table: "berth", family: .ip6).encode(.addRule(rule), seq: 7, setID: 0)
        #expect(bytes[16] == UInt8(NFPROTO_IPV6), "nfgenmsg.nfgen_family")
        let decoded = bytes.withUnsafeBytes { raw -> ([NftExpr]?, [NftExpr]?, UInt32) in
            guard let base = raw.baseAddress, let r = nftnl_rule_alloc() else { return (nil, nil, 0) }
            defer { nftnl_rule_free(r) }
            guard nftnl_rule_nlmsg_parse(base.assumingMemoryBound(to: nlmsghdr.self), r) >= 0 else { return (nil, nil, 0) }
            return (NftRuleDecoder.expressions(of: r, family: .ip6), NftRuleDecoder.expressions(of: r, family: .ip),
                    nftnl_rule_get_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue)))
        }
        #expect(decoded.0 == rule.exprs)
        #expect(decoded.1 == nil, "an IPv6 NAT expression is not the IPv4 one")
        #expect(decoded.2 == UInt32(NFPROTO_IPV6))
        // The IPv4 encoder is untouched: family 2.
        let v4 = try NftMessageEncoder(table: "berth").encode(.addTable, seq: 1, setID: 0)
        #expect(v4[16] == UInt8(NFPROTO_IPV4))
        #expect(try NftMessageEncoder.dumpRequest(NFT_MSG_GETTABLE, table: nil, family: .ip6, seq: 1)[16] == UInt8(NFPROTO_IPV6))
    }

    /// A snapshot holding exactly what the planner would create, with made-up handles.
    private func snapshot(after commands: [NftCommand]) -> NftSnapshot {
        var s = NftSnapshot()
        var handle: UInt64 = 0
        for c in commands {
            switch c {
            case .addTable: s.tableExists = true
            case .addChain(let name, _): s.chains.insert(name)
            case .addSet(let spec): s.sets.insert(spec.name); s.elements[spec.name] = [:]
            case .addElement(let set, let key, let jump): s.elements[set, default: [:]][key] = .some(jump)
            case .addRule(let r):
                handle += 1
                s.rules.append(.init(chain: r.chain, handle: handle, owner: r.owner, exprs: r.exprs))
            default: Issue.record("unexpected \(c.summary)")
            }
        }
        return s
    }

    @Test func ipv6TableLivesWithItsNetworks() throws {
        var p = NftPlanner(snapshot: .empty, family: .ip6)
        p.addNetwork(F.netA)
        #expect(p.commands.isEmpty, "an IPv4-only network creates no ip6 table")
        try p.addEndpoint(F.endpoint, operation: .test)
        #expect(p.commands.isEmpty)
        p = NftPlanner(snapshot: .empty, family: .ip6)
        p.addNetwork(V.net6)
        #expect(p.commands.first == .addTable)
        p = NftPlanner(snapshot: .empty, family: .ip6)
        try p.reapply(FirewallState(networks: [F.netA, V.net6, V.net6b], endpoints: [F.endpoint, V.endpoint6]), operation: .test)
        let created = snapshot(after: p.commands)
        // The IPv4-only network is isolated and its IPv6 traffic dropped: entries, no chains.
        #expect(created.elements[NftLayout.bridgesSet]?[F.netA.bridge] == .some(nil))
        #expect(created.elements[NftLayout.forwardInMap]?[F.netA.bridge] == .some(NftLayout.ipv4OnlyChain))
        #expect(created.elements[NftLayout.forwardOutMap]?[F.netA.bridge] == .some(NftLayout.ipv4OnlyChain))
        #expect(created.elements[NftLayout.natOutMap]?[F.netA.bridge] == nil)
        #expect(!created.chains.contains(NftLayout.forwardIn(F.netA.bridge)))
        #expect(p.commands.first == .addTable)
        #expect(!created.chains.contains(NftLayout.rawPreroutingChain))
        var again = NftPlanner(snapshot: created, family: .ip6)
        try again.reapply(FirewallState(networks: [F.netA, V.net6, V.net6b], endpoints: [F.endpoint, V.endpoint6]), operation: .test)
        #expect(again.commands.isEmpty, "\(again.commands.map(\.summary))")
        var one = NftPlanner(snapshot: created, family: .ip6)
        one.removeNetwork(V.net6)
        one.removeTableIfNoNetworks()
        #expect(!one.commands.contains(.deleteTable))
        #expect(one.commands.contains(.deleteChain(NftLayout.forwardIn(V.net6.bridge))))
        var both = NftPlanner(snapshot: created, family: .ip6)
        both.removeNetwork(V.net6)
        both.removeNetwork(V.net6b)
        both.removeTableIfNoNetworks()
        #expect(both.commands == [.deleteTable], "IPv4-only entries do not keep the table")
        // Creating the table with an IPv6 network gives the IPv4-only neighbours their entries.
        var first = NftPlanner(snapshot: .empty, family: .ip6)
        first.addNetwork(V.net6, ipv4Bridges: [F.netA.bridge, V.net6.bridge])
        #expect(first.commands.contains(.addElement(set: NftLayout.forwardInMap, key: F.netA.bridge, jump: NftLayout.ipv4OnlyChain)))
        #expect(first.commands.contains(.addElement(set: NftLayout.forwardInMap, key: V.net6.bridge, jump: NftLayout.forwardIn(V.net6.bridge))))
        var reconcile = NftPlanner(snapshot: created, family: .ip6)
        reconcile.reconcileTable(FirewallState(networks: [F.netA], endpoints: [F.endpoint]))
        #expect(reconcile.commands == [.deleteTable] && reconcile.removals == ["delete table ip6 berth"])
        // The IPv4 planner of the same state still sees the networks' IPv4 parts.
        var v4 = NftPlanner(snapshot: .empty)
        try v4.reapply(FirewallState(networks: [V.net6], endpoints: [V.endpoint6]), operation: .test)
        #expect(v4.commands.contains { if case .addRule(let r) = $0 { r.text.contains("172.20.0.2:80") } else { false } })
        #expect(!v4.commands.contains { if case .addRule(let r) = $0 { r.text.contains("ip6") } else { false } })
    }

    @Test func ipv6EndpointNeedsAnIPv6Network() {
        var p = NftPlanner(snapshot: .empty, family: .ip6)
        p.addNetwork(F.netA)
        var e = V.endpoint6
        e.bridge = F.netA.bridge
        #expect(throws: FirewallError.self) { try p.addEndpoint(e, operation: .test) }
        #expect(throws: FirewallError.self) {
            try NftValidation.state(FirewallState(networks: [F.netA], endpoints: [e]), operation: .test)
        }
        try? NftValidation.state(V.state, operation: .test)
        var hostBits = V.net6
        hostBits.subnet6 = IPv6Subnet(address: V.address6("fd00:1::5"), prefixLength: 64)
        #expect(throws: FirewallError.self) { try NftValidation.network(hostBits, operation: .test) }
    }
}

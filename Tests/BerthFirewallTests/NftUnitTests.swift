@_spi(BerthInternal) import BerthNamespace
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Pure tests of the nftables backend: rule rendering, validation and planning (no kernel).
@Suite("nftables rendering and planning")
struct NftUnitTests {
    typealias F = NftFixtures

    @Test func prefixesLoadLikeNft() {
        var b = NftRuleBuilder()
        b.ip(source: true, Fixtures.subnet("172.18.0.0/16"))
        #expect(b.exprs == [.payload(.network, offset: 12, length: 2), .cmp(equal: true, data: [172, 18])])
        b = NftRuleBuilder()
        b.ip(source: false, Fixtures.subnet("192.168.16.0/20"), equal: false)
        #expect(b.exprs == [.payload(.network, offset: 16, length: 3), .bitwise(mask: [255, 255, 240], xor: [0, 0, 0]),
                            .cmp(equal: false, data: [192, 168, 16])])
        #expect(b.rule(chain: "c", owner: "o").text == "ip daddr != 192.168.16.0/20")
        b = NftRuleBuilder()
        b.ip(source: false, Fixtures.address("10.0.0.5"))
        #expect(b.rule(chain: "c", owner: "o").text == "ip daddr 10.0.0.5")
        #expect(b.exprs == [.payload(.network, offset: 16, length: 4), .cmp(equal: true, data: [10, 0, 0, 5])])
    }

    @Test func interfaceNamesArePaddedTo16Bytes() {
        #expect(NftRuleBuilder.ifnameBytes("br0") == [98, 114, 48] + [UInt8](repeating: 0, count: 13))
        #expect(NftRuleBuilder.ifnameBytes("br-aaaaaaaaaaaa").count == 16)
    }

    @Test func networkRulesText() {
        let rules = NftLayout.networkRules(F.netA).map { "\($0.chain): \($0.text)" }
        let br = F.netA.bridge
        #expect(rules == [
            "fwd-in-\(br): iifname @bridges iifname != \"\(br)\" drop",
            "fwd-in-\(br): ct state established,related accept",
            "fwd-in-\(br): jump fwd-ports-\(br)",
            "fwd-in-\(br): iifname \"\(br)\" accept",
            "fwd-in-\(br): drop",
            "fwd-out-\(br): oifname != \"\(br)\" accept",
            "nat-\(br): ip saddr 172.18.0.0/16 oifname != \"\(br)\" masquerade",
        ])
        #expect(NftLayout.networkRules(F.netB).map(\.text).contains("iifname \"\(F.netB.bridge)\" drop"))
        #expect(!NftLayout.networkRules(F.netB).contains { $0.text.contains("masquerade") })
        let internalRules = NftLayout.networkRules(F.netC).map(\.text)
        #expect(internalRules == ["iifname != \"\(F.netC.bridge)\" drop", "iifname \"\(F.netC.bridge)\" accept",
                                  "oifname != \"\(F.netC.bridge)\" drop"])
    }

    @Test func endpointRulesTextAndOwner() {
        let rules = NftLayout.endpointRules(F.endpoint)
        #expect(rules.count == 6)
        #expect(rules.allSatisfy { $0.owner == "ep:\(F.endpoint.endpointID) br:\(F.netA.bridge)" })
        #expect(rules.allSatisfy { $0.owner.utf8.count < 128 })
        #expect(rules[0].text == "iifname != @bridges tcp dport 8080 dnat to 172.18.0.2:80")
        #expect(rules[1].text == "iifname != @bridges ip daddr 10.0.0.5 udp dport 5353 dnat to 172.18.0.2:53")
        // Two host ports onto one container port: the accept and hairpin rules are not doubled.
        var e = F.endpoint
        e.ports = [PortMapping(hostPort: 8080, containerPort: 80), PortMapping(hostPort: 8081, containerPort: 80)]
        #expect(NftLayout.endpointRules(e).count == 4)
    }

    @Test(arguments: ["", "0123456789abcdef", "a b", "a\"b", "a/b", "..", ".", "é"])
    func badInterfaceNames(_ name: String) {
        #expect(throws: FirewallError.self) { try NftValidation.interfaceName(name, operation: .test) }
    }

    @Test(arguments: ["br0", "docker0", "br-0123456789ab", "a.b_c-d"])
    func goodInterfaceNames(_ name: String) throws {
        try NftValidation.interfaceName(name, operation: .test)
    }

    @Test func stateValidationRejectsDuplicates() {
        #expect(throws: FirewallError.self) {
            try NftValidation.state(FirewallState(networks: [F.netA, F.netA]), operation: .test)
        }
        var sameBridge = F.netB
        sameBridge.bridge = F.netA.bridge
        #expect(throws: FirewallError.self) {
            try NftValidation.state(FirewallState(networks: [F.netA, sameBridge]), operation: .test)
        }
        var host = F.netA
        host.subnet = IPv4Subnet(address: Fixtures.address("172.18.0.1"), prefixLength: 16) ?? host.subnet
        #expect(throws: FirewallError.self) { try NftValidation.network(host, operation: .test) }
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

    @Test func planningTwiceYieldsNothing() throws {
        var first = NftPlanner(snapshot: .empty)
        first.ensureBase()
        first.ensureNetwork(F.netA)
        try first.ensureEndpoint(F.endpoint, operation: .test)
        let s = snapshot(after: first.commands)
        var second = NftPlanner(snapshot: s)
        second.ensureBase()
        second.ensureNetwork(F.netA)
        try second.ensureEndpoint(F.endpoint, operation: .test)
        second.removeStale(keeping: FirewallState(networks: [F.netA], endpoints: [F.endpoint]))
        #expect(second.commands.isEmpty)
    }

    @Test func removalIsOneOrderedBatch() throws {
        var first = NftPlanner(snapshot: .empty)
        first.ensureBase()
        first.ensureNetwork(F.netA)
        try first.ensureEndpoint(F.endpoint, operation: .test)
        var removal = NftPlanner(snapshot: snapshot(after: first.commands))
        removal.removeNetwork(F.netA)
        let commands = removal.commands
        // Endpoint DNAT rules (shared chain) by handle, then elements, flushes, chain deletions.
        let kinds = commands.map { c -> Int in
            switch c {
            case .deleteRule: 0
            case .deleteElement: 1
            case .flushChain: 2
            case .deleteChain: 3
            default: 9
            }
        }
        #expect(kinds == kinds.sorted())
        #expect(commands.filter { if case .deleteRule = $0 { true } else { false } }.count == 2)
        #expect(commands.filter { if case .deleteElement = $0 { true } else { false } }.count == 4)
        #expect(commands.filter { if case .deleteChain = $0 { true } else { false } }.count == 4)
        // Removing it again from an empty table: nothing.
        var again = NftPlanner(snapshot: NftSnapshot())
        again.removeNetwork(F.netA)
        #expect(again.commands.isEmpty)
    }

    @Test func endpointWithoutNetworkIsRefused() {
        var p = NftPlanner(snapshot: .empty)
        p.ensureBase()
        #expect(throws: FirewallError.self) { try p.ensureEndpoint(F.endpoint, operation: .test) }
    }

    @Test func ruleCommentIsParsedFromUserdata() {
        // nft's layout: type 0 (comment), length incl. NUL, text, NUL.
        let udata: [UInt8] = [0, 6] + Array("berth".utf8) + [0]
        let text = udata.withUnsafeBytes { NftSnapshotReader.comment(in: $0) }
        #expect(text == "berth")
        let truncated: [UInt8] = [0, 9, 65]
        #expect(truncated.withUnsafeBytes { NftSnapshotReader.comment(in: $0) } == nil)
    }
}

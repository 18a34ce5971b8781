import Foundation
import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The hairpin (Docker `--userland-proxy=false`) variant of the nftables rules.
@Suite("nftables hairpin")
struct NftHairpinTests {
    typealias F = NftFixtures

    static var hairpinA: NetworkRules {
        var n = F.netA
        n.hairpin = true
        return n
    }

    static var hairpinEndpoint: EndpointPorts {
        var e = F.endpoint
        e.hairpin = true
        return e
    }

    @Test func networkRulesText() {
        let br = F.netA.bridge
        let rules = NftLayout.networkRules(Self.hairpinA).map { "\($0.chain): \($0.text)" }
        #expect(rules == [
            "fwd-in-\(br): iifname @bridges iifname != \"\(br)\" drop",
            "fwd-in-\(br): ct state established,related accept",
            "fwd-in-\(br): jump fwd-ports-\(br)",
            "fwd-in-\(br): iifname \"\(br)\" accept",
            "fwd-in-\(br): drop",
            "fwd-out-\(br): oifname != \"\(br)\" accept",
            "nat-\(br): ip saddr 172.18.0.0/16 oifname != \"\(br)\" masquerade",
            "postrouting: oifname \"\(br)\" fib saddr type local masquerade",
        ])
        var internalNet = F.netC
        internalNet.hairpin = true
        #expect(NftLayout.networkRules(internalNet) == NftLayout.networkRules(F.netC))
    }

    @Test func endpointDNATHasNoInterfaceRestriction() {
        let rules = NftLayout.endpointRules(Self.hairpinEndpoint)
        #expect(rules[0].text == "tcp dport 8080 dnat to 172.18.0.2:80")
        #expect(rules[1].text == "ip daddr 10.0.0.5 udp dport 5353 dnat to 172.18.0.2:53")
        #expect(Array(rules[2...3]) == Array(NftLayout.endpointRules(F.endpoint)[2...3]))
        #expect(rules.dropFirst(4).map { "\($0.chain): \($0.text)" } == [
            "postrouting: oifname \"\(F.netA.bridge)\" ip saddr 172.18.0.2 ip daddr 172.18.0.2 tcp dport 80 masquerade",
            "postrouting: oifname \"\(F.netA.bridge)\" ip saddr 172.18.0.2 ip daddr 172.18.0.2 udp dport 53 masquerade",
        ])
    }

    @Test(.enabled(if: Sandbox.isActive)) func kernelListingAndIdempotence() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        let br = F.netA.bridge
        try b.setUpBase()
        try b.addNetwork(Self.hairpinA)
        try b.addPorts(Self.hairpinEndpoint)
        let fwdIn = try host.nft(["list", "chain", "ip", "berth", "fwd-in-\(br)"]).stdout
        // Docker's --userland-proxy=false keeps other networks isolated: no DNAT exemption.
        #expect(!fwdIn.contains("ct status dnat"))
        let post = try host.nft(["list", "chain", "ip", "berth", "postrouting"]).stdout
        #expect(post.contains("oifname \"\(br)\" fib saddr type local masquerade comment \"net:\(F.netA.id)\""))
        let published = try host.nft(["list", "chain", "ip", "berth", "published"]).stdout
        #expect(published.contains("\ttcp dport 8080 dnat to 172.18.0.2:80 comment"))
        // Our expressions decode back: adding again sends nothing.
        let before = try host.rulesetWithHandles()
        try b.addNetwork(Self.hairpinA)
        try b.addPorts(Self.hairpinEndpoint)
        #expect(try host.rulesetWithHandles() == before)
        // Switching off replaces the rules; removing leaves no hairpin rule behind.
        try b.addNetwork(F.netA)
        try b.addPorts(F.endpoint)
        let plain = try host.ruleset()
        #expect(!plain.contains("ct status dnat") && !plain.contains("fib saddr"))
        try b.addNetwork(Self.hairpinA)
        try b.removeNetwork(Self.hairpinA)
        #expect(!(try host.ruleset()).contains("fib saddr"))
    }

    @Test func baseOutputRuleFollowsTheMode() {
        let output = { (mode: Bool) in NftLayout.baseRules(hairpinMode: mode).filter { $0.chain == "output" }.map(\.text) }
        #expect(output(false) == ["ip daddr != 127.0.0.0/8 fib daddr type local jump published"])
        #expect(output(true) == ["fib daddr type local jump published"])
    }

    @Test(.enabled(if: Sandbox.isActive)) func kernelModeSwitchReplacesTheOutputRule() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.setUpBase()
        #expect(try host.nft(["list", "chain", "ip", "berth", "output"]).stdout.contains("ip daddr != 127.0.0.0/8"))
        let off = NftablesBackend(host: host.namespace, hairpinMode: true)
        try off.setUpBase()
        let text = try host.nft(["list", "chain", "ip", "berth", "output"]).stdout
        #expect(!text.contains("127.0.0.0/8") && text.contains("fib daddr type local jump published"))
        #expect(try off.reconcile(FirewallState(), dryRun: true) == FirewallReconciliation())
    }
}

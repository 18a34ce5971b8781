@_spi(BerthInternal) import BerthNamespace
import Foundation
import Testing
import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// Rule rendering and planning against the golden Docker 20.10 dumps; no privileges needed.
@Suite("iptables rendering")
struct IptablesRenderingTests {
    typealias W = Walkthrough

    private func plan(from save: String? = nil, _ build: (inout RestorePlan) -> Void) -> RestorePlan {
        W.plan(from: save, build)
    }

    @Test func networkRulesAreDockers() {
        let rules = DockerRules.network(W.test1).all.map(\.description)
        #expect(rules == [
            "-A FORWARD -o br-2a02aed81558 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "-A FORWARD -o br-2a02aed81558 -j DOCKER",
            "-A FORWARD -i br-2a02aed81558 ! -o br-2a02aed81558 -j ACCEPT",
            "-A FORWARD -i br-2a02aed81558 -o br-2a02aed81558 -j ACCEPT",
            "-A DOCKER-ISOLATION-STAGE-1 -i br-2a02aed81558 ! -o br-2a02aed81558 -j DOCKER-ISOLATION-STAGE-2",
            "-A DOCKER-ISOLATION-STAGE-2 -o br-2a02aed81558 -j DROP",
            "-A POSTROUTING -s 172.18.0.0/16 ! -o br-2a02aed81558 -j MASQUERADE",
            "-A DOCKER -i br-2a02aed81558 -j RETURN",
        ])
        let golden = Set(IptablesText.lines(DockerGolden.bNetcreateS) + IptablesText.lines(DockerGolden.bNetcreateNatS))
        for rule in rules { #expect(golden.contains(rule)) }
    }

    @Test func optionsFollowDocker() {
        var n = W.test1
        n.icc = false
        var set = DockerRules.network(n)
        #expect(set.forwardAppend.map(\.description) == ["-A FORWARD -i br-2a02aed81558 -o br-2a02aed81558 -j DROP"])
        #expect(!set.forwardTop.map(\.spec).contains("-i br-2a02aed81558 -o br-2a02aed81558 -j ACCEPT"))
        n = W.test1
        n.masquerade = false
        set = DockerRules.network(n)
        #expect(set.postroutingTop.isEmpty && set.natDockerTop.isEmpty)
        n = W.test1
        n.isInternal = true
        set = DockerRules.network(n)
        #expect(set.all.map(\.description) == [
            "-A FORWARD -i br-2a02aed81558 -o br-2a02aed81558 -j ACCEPT",
            "-A DOCKER-ISOLATION-STAGE-1 ! -s 172.18.0.0/16 -o br-2a02aed81558 -j DROP",
            "-A DOCKER-ISOLATION-STAGE-1 ! -d 172.18.0.0/16 -i br-2a02aed81558 -j DROP",
        ])
    }

    @Test func subnetIsCanonicalised() {
        var n = W.test1
        n.subnet = Fixtures.subnet("172.18.3.4/16")
        #expect(DockerRules.network(n).postroutingTop.first?.spec == "-s 172.18.0.0/16 ! -o br-2a02aed81558 -j MASQUERADE")
    }

    @Test func portRules() {
        var e = W.published
        e.ports = [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80),
                   PortMapping(proto: .udp, hostIP: Fixtures.address("10.0.0.1"), hostPort: 5353, containerPort: 53),
                   PortMapping(proto: .tcp, hostIP: Fixtures.address("0.0.0.0"), hostPort: 8081, containerPort: 80)]
        let rules = DockerRules.ports(e).map { "\($0.table.rawValue) \($0.description)" }
        #expect(rules == [
            "nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.3:80",
            "filter -A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT",
            "nat -A POSTROUTING -s 172.17.0.3/32 -d 172.17.0.3/32 -p tcp -m tcp --dport 80 -j MASQUERADE",
            "nat -A DOCKER -d 10.0.0.1/32 ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.3:53",
            "filter -A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT",
            "nat -A POSTROUTING -s 172.17.0.3/32 -d 172.17.0.3/32 -p udp -m udp --dport 53 -j MASQUERADE",
            "nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.3:80",
        ])
    }

    @Test func baseRestoreText() {
        let p = plan { IptablesPlanner.setUpBase(&$0) }
        #expect(p.render() == """
        *filter
        :DOCKER - [0:0]
        :DOCKER-ISOLATION-STAGE-1 - [0:0]
        :DOCKER-ISOLATION-STAGE-2 - [0:0]
        :DOCKER-USER - [0:0]
        -A FORWARD -j DOCKER-USER
        -A FORWARD -j DOCKER-ISOLATION-STAGE-1
        -A DOCKER-ISOLATION-STAGE-1 -j RETURN
        -A DOCKER-ISOLATION-STAGE-2 -j RETURN
        -A DOCKER-USER -j RETURN
        -P FORWARD DROP
        COMMIT
        *nat
        :DOCKER - [0:0]
        -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
        -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
        COMMIT

        """)
    }

    @Test func walkthroughFromEmptyEqualsGolden() {
        let p = plan {
            IptablesPlanner.setUpBase(&$0)
            IptablesPlanner.addNetwork(W.docker0, &$0)
            IptablesPlanner.addNetwork(W.test1, &$0)
        }
        #expect(p.ruleset.listing(.filter) == IptablesText.lines(DockerGolden.bNetcreateS))
        #expect(p.ruleset.listing(.nat) == IptablesText.lines(DockerGolden.bNetcreateNatS))
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.bNetcreateSave))
    }

    @Test func goldenStateNeedsNothing() {
        let p = plan(from: DockerGolden.bNetcreateSave) {
            IptablesPlanner.setUpBase(&$0)
            IptablesPlanner.addNetwork(W.docker0, &$0)
            IptablesPlanner.addNetwork(W.test1, &$0)
            IptablesPlanner.reapply(FirewallState(networks: [W.docker0, W.test1]), &$0)
        }
        #expect(p.isEmpty)
        #expect(p.render() == "")
    }

    @Test func networkRemovalGivesDNetrm() {
        let p = plan(from: DockerGolden.bNetcreateSave) { IptablesPlanner.removeNetwork(W.test1, &$0) }
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.dNetrmSave))
        #expect(p.render().split(separator: "\n").allSatisfy { $0.hasPrefix("-D ") || $0.hasPrefix("*") || $0 == "COMMIT" })
        let again = plan(from: DockerGolden.dNetrmSave) { IptablesPlanner.removeNetwork(W.test1, &$0) }
        #expect(again.isEmpty)
    }

    @Test func portsGiveCContainers() {
        let p = plan(from: DockerGolden.bNetcreateSave) { IptablesPlanner.addPorts(W.published, &$0) }
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.cContainersSave))
        #expect(p.ruleset.listing(.filter) == IptablesText.lines(DockerGolden.cContainersS))
        #expect(p.ruleset.listing(.nat) == IptablesText.lines(DockerGolden.cContainersNatS))
        let back = plan(from: DockerGolden.cContainersSave) { IptablesPlanner.removePorts(W.published, &$0) }
        #expect(back.ruleset == IptablesRuleset(parsing: DockerGolden.bNetcreateSave))
    }

    @Test func newerNetworkGoesAboveOlderOne() {
        let p = plan(from: DockerGolden.aStartSave) { IptablesPlanner.addNetwork(W.test1, &$0) }
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.bNetcreateSave))
        #expect(p.render().contains("-I FORWARD 3 -o br-2a02aed81558 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"))
    }

    @Test func reapplyPutsAMissingOlderNetworkBackBelow() {
        // docker0's rules were deleted (someone ran `iptables -D` by hand); reapply puts them back
        // below test1's, where Docker has them.
        let broken = plan(from: DockerGolden.bNetcreateSave) { IptablesPlanner.removeNetwork(W.docker0, &$0) }
        var p = RestorePlan(current: broken.ruleset)
        IptablesPlanner.reapply(FirewallState(networks: [W.docker0, W.test1]), &p)
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.bNetcreateSave))
        #expect(!p.render().contains("-D "))
    }

    @Test func reapplyAfterFlush() {
        let flushed = """
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        COMMIT
        """
        let p = plan(from: flushed) {
            IptablesPlanner.reapply(FirewallState(networks: [W.docker0, W.test1], endpoints: [W.published]), &$0)
        }
        #expect(p.ruleset == IptablesRuleset(parsing: DockerGolden.cContainersSave))
    }

    @Test func iccSwitchReplacesTheRule() {
        var n = W.test1
        n.icc = false
        let p = plan(from: DockerGolden.bNetcreateSave) { IptablesPlanner.addNetwork(n, &$0) }
        let forward = p.ruleset.rules(.filter, "FORWARD")
        #expect(!forward.contains("-i br-2a02aed81558 -o br-2a02aed81558 -j ACCEPT"))
        #expect(forward.last == "-i br-2a02aed81558 -o br-2a02aed81558 -j DROP")
    }

    @Test func dockerUserIsKept() {
        let existing = """
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        :DOCKER-USER - [0:0]
        -A FORWARD -i eth7 -j ACCEPT
        -A FORWARD -j DOCKER-USER
        -A DOCKER-USER -s 10.9.0.0/16 -j DROP
        COMMIT
        """
        let p = plan(from: existing) { IptablesPlanner.setUpBase(&$0) }
        #expect(!p.render().contains(":DOCKER-USER"))
        #expect(p.ruleset.rules(.filter, "DOCKER-USER") == ["-s 10.9.0.0/16 -j DROP", "-j RETURN"])
        #expect(Array(p.ruleset.rules(.filter, "FORWARD").prefix(3)) == ["-j DOCKER-USER", "-j DOCKER-ISOLATION-STAGE-1", "-i eth7 -j ACCEPT"])
        let again = RestorePlan(current: p.ruleset)
        var second = again
        IptablesPlanner.setUpBase(&second)
        #expect(second.isEmpty)
    }

    @Test func removeAllLeavesOthers() {
        var text = DockerGolden.cContainersSave
        text = text.replacingOccurrences(of: "-A DOCKER-USER -j RETURN", with: "-A DOCKER-USER -s 10.9.0.0/16 -j DROP\n-A DOCKER-USER -j RETURN")
        text = text.replacingOccurrences(of: ":POSTROUTING ACCEPT [0:0]", with: ":POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE")
        let state = FirewallState(networks: [W.docker0, W.test1], endpoints: [W.published])
        let p = plan(from: text) { IptablesPlanner.removeAll(state, &$0) }
        #expect(p.ruleset.listing(.filter) == [
            "-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT", "-N DOCKER-USER",
            "-A FORWARD -j DOCKER-USER", "-A DOCKER-USER -s 10.9.0.0/16 -j DROP", "-A DOCKER-USER -j RETURN",
        ])
        #expect(p.ruleset.listing(.nat) == [
            "-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT",
            "-A POSTROUTING -o eth9 -j MASQUERADE",
        ])
        // Without user rules DOCKER-USER goes too.
        let plain = plan(from: DockerGolden.cContainersSave) { IptablesPlanner.removeAll(state, &$0) }
        #expect(plain.ruleset.listing(.filter) == ["-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT"])
        // Networks missing from the state: their jumps to DOCKER are removed so the chain can go.
        let partial = plan(from: DockerGolden.cContainersSave) { IptablesPlanner.removeAll(FirewallState(), &$0) }
        #expect(!partial.ruleset.hasChain(.filter, "DOCKER"))
        #expect(!partial.ruleset.rules(.filter, "FORWARD").contains { $0.hasSuffix("-j DOCKER") })
    }

    @Test func parsesCountersAndOtherTables() {
        let text = """
        *mangle
        :PREROUTING ACCEPT [1:2]
        -A PREROUTING -j MARK --set-mark 1
        COMMIT
        *filter
        :INPUT ACCEPT [10:200]
        :FORWARD DROP [3:4]
        :OUTPUT ACCEPT [0:0]
        [5:6] -A FORWARD -j ACCEPT
        COMMIT
        """
        let r = IptablesRuleset(parsing: text)
        #expect(r.policy(.filter, "FORWARD") == "DROP")
        #expect(r.rules(.filter, "FORWARD") == ["-j ACCEPT"])
        #expect(r.tables.count == IptablesTable.allCases.count)
        #expect(r.rules(.mangle, "PREROUTING") == ["-j MARK --set-mark 1"])  // parsed: Berth's SCTP checksum rules live in mangle
    }

    @Test(arguments: ["", "abcdefghijklmnop", "br 0", "br+", "-br", "..", "bré", "br;x", "a\"b"])
    func badInterfaceNames(_ name: String) {
        #expect(throws: FirewallError.self) {
            try IptablesValidation.interfaceName(name, operation: .test, object: name)
        }
        do {
            try IptablesValidation.interfaceName(name, operation: .test, object: name)
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test(arguments: ["docker0", "br-2a02aed81558", "a", "eth0.100", "x_y-z"])
    func goodInterfaceNames(_ name: String) throws {
        try IptablesValidation.interfaceName(name, operation: .test, object: name)
    }

    @Test func badEndpointsAndNetworks() {
        var e = W.published
        e.ports = [PortMapping(hostPort: 0, containerPort: 80)]
        #expect(throws: FirewallError.self) { try IptablesValidation.endpoint(e, operation: .test) }
        e.ports = [PortMapping(hostPort: 80, containerPort: 0)]
        #expect(throws: FirewallError.self) { try IptablesValidation.endpoint(e, operation: .test) }
        e = W.published
        e.address = Fixtures.address("0.0.0.0")
        #expect(throws: FirewallError.self) { try IptablesValidation.endpoint(e, operation: .test) }
        var n = W.test1
        n.subnet = Fixtures.subnet("0.0.0.0/0")
        #expect(throws: FirewallError.self) { try IptablesValidation.network(n, operation: .test) }
    }

    @Test func variantDetection() {
        #expect(IptablesDetection.variant(fromVersionOutput: "iptables v1.8.9 (nf_tables)\n") == .nft)
        #expect(IptablesDetection.variant(fromVersionOutput: "iptables v1.8.7 (legacy)\n") == .legacy)
        #expect(IptablesDetection.variant(fromVersionOutput: "iptables v1.6.1\n") == .legacy)
        #expect(IptablesDetection.variant(fromVersionOutput: "bash: not found") == nil)
        #expect(IptablesDetection.variant(fromResolvedPath: "/usr/sbin/xtables-nft-multi") == .nft)
        #expect(IptablesDetection.variant(fromResolvedPath: "/usr/sbin/xtables-legacy-multi") == .legacy)
        #expect(IptablesDetection.variant(fromResolvedPath: "/usr/sbin/iptables") == nil)
    }
}

import Foundation
import Testing
import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The hairpin (Docker `--userland-proxy=false`) variant of the iptables rules; no privileges.
@Suite("iptables rendering: hairpin")
struct IptablesHairpinTests {
    typealias W = Walkthrough

    static var hairpinTest1: NetworkRules {
        var n = W.test1
        n.hairpin = true
        return n
    }

    static var hairpinEndpoint: EndpointPorts {
        EndpointPorts(endpointID: "hp", networkID: W.test1.id, bridge: W.test1.bridge, address: Fixtures.address("172.18.0.2"),
                      ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)], hairpin: true)
    }

    private func plan(from save: String? = nil, _ build: (inout RestorePlan) -> Void) -> RestorePlan {
        W.plan(from: save, build)
    }

    @Test func networkRulesFollowDockersHairpinGolden() {
        let rules = DockerRules.network(Self.hairpinTest1).all.map(\.description)
        #expect(rules == [
            "-A FORWARD -o br-2a02aed81558 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "-A FORWARD -o br-2a02aed81558 -j DOCKER",
            "-A FORWARD -i br-2a02aed81558 ! -o br-2a02aed81558 -j ACCEPT",
            "-A FORWARD -i br-2a02aed81558 -o br-2a02aed81558 -j ACCEPT",
            "-A DOCKER-ISOLATION-STAGE-1 -i br-2a02aed81558 ! -o br-2a02aed81558 -j DOCKER-ISOLATION-STAGE-2",
            "-A DOCKER-ISOLATION-STAGE-2 -o br-2a02aed81558 -j DROP",
            "-A POSTROUTING -o br-2a02aed81558 -m addrtype --src-type LOCAL -j MASQUERADE",
            "-A POSTROUTING -s 172.18.0.0/16 ! -o br-2a02aed81558 -j MASQUERADE",
        ])
        var noMasq = Self.hairpinTest1
        noMasq.masquerade = false
        #expect(DockerRules.network(noMasq).postroutingTop.map(\.spec) == ["-o br-2a02aed81558 -m addrtype --src-type LOCAL -j MASQUERADE"])
        #expect(DockerRules.network(noMasq).natDockerTop.isEmpty)
        var internalNet = Self.hairpinTest1
        internalNet.isInternal = true
        var plainInternal = W.test1
        plainInternal.isInternal = true
        #expect(DockerRules.network(internalNet) == DockerRules.network(plainInternal))
    }

    @Test func portRulesHaveNoInterfaceRestriction() {
        let rules = DockerRules.ports(Self.hairpinEndpoint).map { "\($0.table.rawValue) \($0.description)" }
        #expect(rules == [
            "nat -A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80",
            "filter -A DOCKER -d 172.18.0.2/32 ! -i br-2a02aed81558 -o br-2a02aed81558 -p tcp -m tcp --dport 80 -j ACCEPT",
            "nat -A POSTROUTING -s 172.18.0.2/32 -d 172.18.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE",
        ])
    }

    /// The captured `--userland-proxy=false` walkthrough (Tests/Fixtures/docker-20.10/noproxy/):
    /// docker0, test1 on `br-32f24000bcbc`, `-p 8080:80` on docker0 (172.17.0.2) and
    /// `-p 127.0.0.1:8081:80` on test1 (172.18.0.2).
    static let noProxyTest1 = NetworkRules(id: "32f24000bcbc" + String(repeating: "0", count: 52), bridge: "br-32f24000bcbc",
                                           subnet: Fixtures.subnet("172.18.0.0/16"), hairpin: true)
    static var noProxyDocker0: NetworkRules {
        var n = W.docker0
        n.hairpin = true
        return n
    }
    static let noProxyPublished = EndpointPorts(endpointID: "cpub", networkID: W.docker0.id, bridge: "docker0",
                                                address: Fixtures.address("172.17.0.2"),
                                                ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)], hairpin: true)
    static let noProxyLocal = EndpointPorts(endpointID: "clocal", networkID: noProxyTest1.id, bridge: "br-32f24000bcbc",
                                            address: Fixtures.address("172.18.0.2"),
                                            ports: [PortMapping(proto: .tcp, hostIP: Fixtures.address("127.0.0.1"), hostPort: 8081,
                                                                containerPort: 80)], hairpin: true)

    @Test func walkthroughPlansDockersNoProxyGolden() {
        let a = plan { IptablesPlanner.setUpBase(&$0, hairpinMode: true); IptablesPlanner.addNetwork(Self.noProxyDocker0, &$0) }
        #expect(a.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("a-start")))
        let b = plan(from: render(a.ruleset)) { IptablesPlanner.addNetwork(Self.noProxyTest1, &$0) }
        #expect(b.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("b-netcreate")))
        let c = plan(from: render(b.ruleset)) {
            IptablesPlanner.addPorts(Self.noProxyPublished, &$0)
            IptablesPlanner.addPorts(Self.noProxyLocal, &$0)
        }
        #expect(c.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("c-containers")))
        let state = FirewallState(networks: [Self.noProxyDocker0, Self.noProxyTest1], endpoints: [Self.noProxyPublished, Self.noProxyLocal])
        #expect(plan { IptablesPlanner.reapply(state, &$0, hairpinMode: true) }.ruleset == c.ruleset)
        let d = plan(from: render(c.ruleset)) {
            IptablesPlanner.removePorts(Self.noProxyPublished, &$0)
            IptablesPlanner.removePorts(Self.noProxyLocal, &$0)
        }
        #expect(d.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("d-rm")))
        let e = plan(from: render(d.ruleset)) { IptablesPlanner.removeNetwork(Self.noProxyTest1, &$0) }
        #expect(e.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("e-netrm")))
    }

    @Test func modeSwitchRewritesTheOutputJumpAndDropsTheOldExemption() {
        // Earlier versions' per-network hairpin wrote an isolation exemption; it goes on any change.
        let legacy = DockerGolden.noProxySave("b-netcreate").replacingOccurrences(
            of: "-A DOCKER-ISOLATION-STAGE-1 -i br-32f24000bcbc",
            with: "-A DOCKER-ISOLATION-STAGE-1 -m conntrack --ctstate DNAT -j RETURN\n-A DOCKER-ISOLATION-STAGE-1 -i br-32f24000bcbc")
        let cleaned = plan(from: legacy) { IptablesPlanner.addNetwork(Self.noProxyTest1, &$0) }
        #expect(cleaned.ruleset == IptablesRuleset(parsing: DockerGolden.noProxySave("b-netcreate")))
        let on = plan(from: DockerGolden.noProxySave("a-start")) { IptablesPlanner.setUpBase(&$0) }
        #expect(on.ruleset.rules(.nat, "OUTPUT") == ["! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER"])
        let off = plan(from: DockerGolden.aStartSave) { IptablesPlanner.setUpBase(&$0, hairpinMode: true) }
        #expect(off.ruleset.rules(.nat, "OUTPUT") == ["-m addrtype --dst-type LOCAL -j DOCKER"])
    }

    @Test func portRemovalCleansBothVariants() {
        let p = plan(from: DockerGolden.bNetcreateSave) { IptablesPlanner.addPorts(Self.hairpinEndpoint, &$0) }
        var plain = Self.hairpinEndpoint
        plain.hairpin = false
        let back = plan(from: render(p.ruleset)) { IptablesPlanner.removePorts(plain, &$0) }
        #expect(back.ruleset == IptablesRuleset(parsing: DockerGolden.bNetcreateSave))
        let switched = plan(from: render(p.ruleset)) { IptablesPlanner.addPorts(plain, &$0) }
        #expect(switched.ruleset.rules(.nat, DockerChain.docker).filter { $0.contains("DNAT") }
            == ["! -i br-2a02aed81558 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80"])
    }

    @Test func oldJSONDecodesWithoutHairpin() throws {
        let encoded = try JSONEncoder().encode(W.test1)
        #expect(try JSONDecoder().decode(NetworkRules.self, from: encoded) == W.test1)
        var dict = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        dict["hairpin"] = nil
        let legacy = try JSONSerialization.data(withJSONObject: dict)
        #expect(try JSONDecoder().decode(NetworkRules.self, from: legacy) == W.test1)
        var edict = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(Self.hairpinEndpoint)) as? [String: Any])
        #expect(edict["hairpin"] as? Bool == true)
        edict["hairpin"] = nil
        let legacyEndpoint = try JSONDecoder().decode(EndpointPorts.self, from: try JSONSerialization.data(withJSONObject: edict))
        #expect(legacyEndpoint.hairpin == false && legacyEndpoint.ports == Self.hairpinEndpoint.ports)
    }

    /// An iptables-save text of `ruleset` (filter and nat), for planning from a given state.
    private func render(_ ruleset: IptablesRuleset) -> String {
        var text = ""
        for table in [IptablesTable.filter, .nat] {
            text += "*\(table.rawValue)\n"
            for name in ruleset.tables[table]?.chainOrder ?? [] {
                text += ":\(name) \(ruleset.policy(table, name) ?? "-") [0:0]\n"
            }
            for name in ruleset.tables[table]?.chainOrder ?? [] {
                for spec in ruleset.rules(table, name) { text += "-A \(name) \(spec)\n" }
            }
            text += "COMMIT\n"
        }
        return text
    }
}

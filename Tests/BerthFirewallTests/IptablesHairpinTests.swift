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

    @Test func fullListingWithExemption() {
        let p = plan {
            IptablesPlanner.setUpBase(&$0)
            IptablesPlanner.addNetwork(W.docker0, &$0)
            IptablesPlanner.addNetwork(Self.hairpinTest1, &$0)
            IptablesPlanner.addPorts(Self.hairpinEndpoint, &$0)
        }
        let filter = p.ruleset.listing(.filter)
        #expect(p.ruleset.rules(.filter, DockerChain.isolation1) == [
            "-m conntrack --ctstate DNAT -j RETURN",
            "-i br-2a02aed81558 ! -o br-2a02aed81558 -j DOCKER-ISOLATION-STAGE-2",
            "-i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2",
            "-j RETURN",
        ])
        #expect(filter.contains("-A DOCKER -d 172.18.0.2/32 ! -i br-2a02aed81558 -o br-2a02aed81558 -p tcp -m tcp --dport 80 -j ACCEPT"))
        #expect(p.ruleset.listing(.nat) == [
            "-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT",
            "-N DOCKER",
            "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
            "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
            "-A POSTROUTING -o br-2a02aed81558 -m addrtype --src-type LOCAL -j MASQUERADE",
            "-A POSTROUTING -s 172.18.0.0/16 ! -o br-2a02aed81558 -j MASQUERADE",
            "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
            "-A POSTROUTING -s 172.18.0.2/32 -d 172.18.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE",
            "-A DOCKER -i docker0 -j RETURN",
            "-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80",
        ])
        // Planning the same again changes nothing; a newer network's isolation rule goes below the exemption.
        let again = plan(from: render(p.ruleset)) {
            IptablesPlanner.reapply(FirewallState(networks: [W.docker0, Self.hairpinTest1], endpoints: [Self.hairpinEndpoint]), &$0)
        }
        #expect(again.isEmpty)
        var newer = W.test1
        newer.bridge = "br-newer"
        newer.id = String(repeating: "e", count: 64)
        newer.subnet = Fixtures.subnet("172.19.0.0/16")
        let withNewer = plan(from: render(p.ruleset)) { IptablesPlanner.addNetwork(newer, &$0) }
        #expect(withNewer.ruleset.rules(.filter, DockerChain.isolation1).prefix(2) == [
            "-m conntrack --ctstate DNAT -j RETURN",
            "-i br-newer ! -o br-newer -j DOCKER-ISOLATION-STAGE-2",
        ])
    }

    @Test func exemptionLeavesWithTheLastHairpinNetwork() {
        var second = Self.hairpinTest1
        second.bridge = "br-second"
        second.id = String(repeating: "f", count: 64)
        second.subnet = Fixtures.subnet("172.20.0.0/16")
        let both = plan {
            IptablesPlanner.setUpBase(&$0)
            IptablesPlanner.addNetwork(Self.hairpinTest1, &$0)
            IptablesPlanner.addNetwork(second, &$0)
        }
        let exemption = DockerRules.isolationDNATReturn
        #expect(both.ruleset.rules(.filter, DockerChain.isolation1).filter { $0 == exemption.spec }.count == 1)
        let one = plan(from: render(both.ruleset)) { IptablesPlanner.removeNetwork(second, &$0) }
        #expect(one.ruleset.contains(exemption))
        let none = plan(from: render(one.ruleset)) { IptablesPlanner.removeNetwork(Self.hairpinTest1, &$0) }
        #expect(!none.ruleset.contains(exemption))
        // Switching a network's hairpin option off removes its hairpin rules and the exemption.
        let off = plan(from: render(both.ruleset)) {
            IptablesPlanner.addNetwork(W.test1, &$0)
            var plain = second
            plain.hairpin = false
            IptablesPlanner.addNetwork(plain, &$0)
        }
        #expect(!off.ruleset.contains(exemption))
        #expect(!off.ruleset.rules(.nat, "POSTROUTING").contains(where: DockerRules.isHairpinMarker))
        #expect(off.ruleset.contains(IptablesRule(.nat, DockerChain.docker, "-i br-2a02aed81558 -j RETURN")))
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

import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

@Suite("iptables backend in a namespace", .enabled(if: Sandbox.isActive), .serialized)
struct IptablesKernelTests {
    typealias W = Walkthrough

    @Test(arguments: [IptablesVariant.nft, .legacy])
    func walkthroughMatchesGolden(_ variant: IptablesVariant) throws {
        let host = try IptablesHost(variant: variant)
        defer { host.close() }
        let b = host.backend
        #expect(b.variant == variant)

        try b.setUpBase()
        try b.addNetwork(W.docker0)
        let aStart = try host.save()
        #expect(aStart == IptablesText.normalizedSave(DockerGolden.aStartSave))
        try b.addNetwork(W.test1)
        #expect(try host.listing() == IptablesText.lines(DockerGolden.bNetcreateS))
        #expect(try host.listing("nat") == IptablesText.lines(DockerGolden.bNetcreateNatS))
        #expect(try Sysctl.read("net.ipv4.ip_forward", in: host.namespace) == "1")

        try b.addPorts(W.published)
        #expect(try host.listing() == IptablesText.lines(DockerGolden.cContainersS))
        #expect(try host.listing("nat") == IptablesText.lines(DockerGolden.cContainersNatS))

        try b.removePorts(W.published)
        try b.removeNetwork(W.test1)
        #expect(try host.save() == aStart)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.dNetrmSave))

        try b.removeAll(FirewallState(networks: [W.docker0]))
        // Everything gone, the FORWARD policy ACCEPT again: the default ForwardPolicy says the DROP is Berth's.
        #expect(try host.listing() == ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"])
        #expect(try host.listing("nat") == ["-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT"])
    }

    /// Docker's `--userland-proxy=false` walkthrough in the kernel, step by step against the dump
    /// of a real dockerd 20.10 (Tests/Fixtures/docker-20.10/noproxy/).
    @Test(arguments: [IptablesVariant.nft, .legacy])
    func noProxyWalkthroughMatchesGolden(_ variant: IptablesVariant) throws {
        typealias H = IptablesHairpinTests
        let host = try IptablesHost(variant: variant, hairpinMode: true)
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(H.noProxyDocker0)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.noProxySave("a-start")))
        try b.addNetwork(H.noProxyTest1)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.noProxySave("b-netcreate")))
        try b.addPorts(H.noProxyPublished)
        try b.addPorts(H.noProxyLocal)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.noProxySave("c-containers")))
        let state = FirewallState(networks: [H.noProxyDocker0, H.noProxyTest1], endpoints: [H.noProxyPublished, H.noProxyLocal])
        #expect(try b.reconcile(state, dryRun: true) == FirewallReconciliation())
        try b.removePorts(H.noProxyPublished)
        try b.removePorts(H.noProxyLocal)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.noProxySave("d-rm")))
        try b.removeNetwork(H.noProxyTest1)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.noProxySave("e-netrm")))
    }

    @Test func idempotent() throws {
        let host = try IptablesHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(W.docker0)
        try b.addNetwork(W.test1)
        try b.addPorts(W.published)
        let once = try host.save()
        try b.setUpBase()
        try b.addNetwork(W.docker0)
        try b.addNetwork(W.test1)
        try b.addPorts(W.published)
        try b.reapply(FirewallState(networks: [W.docker0, W.test1], endpoints: [W.published]))
        #expect(try host.save() == once)

        try b.removePorts(W.published)
        try b.removePorts(W.published)
        try b.removeNetwork(W.test1)
        try b.removeNetwork(W.test1)
        #expect(try host.save() == IptablesText.normalizedSave(DockerGolden.dNetrmSave))
    }

    @Test func dockerUserPreserved() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try host.iptablesCommand(["-N", "DOCKER-USER"])
        try host.iptablesCommand(["-A", "DOCKER-USER", "-s", "10.9.0.0/16", "-j", "DROP"])
        try host.iptablesCommand(["-A", "FORWARD", "-i", "eth7", "-j", "ACCEPT"])
        try host.backend.setUpBase()
        try host.backend.addNetwork(W.docker0)
        let filter = try host.listing()
        #expect(filter.contains("-A DOCKER-USER -s 10.9.0.0/16 -j DROP"))
        #expect(filter.filter { $0.hasPrefix("-A DOCKER-USER") } == ["-A DOCKER-USER -s 10.9.0.0/16 -j DROP", "-A DOCKER-USER -j RETURN"])
        #expect(filter.filter { $0.hasPrefix("-A FORWARD") }.prefix(2) == ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"])
        #expect(filter.contains("-A FORWARD -i eth7 -j ACCEPT"))

        // removeAll keeps the user's chain, its rules and its jump.
        try host.backend.removeAll(FirewallState(networks: [W.docker0]))
        #expect(try host.listing() == [
            "-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT", "-N DOCKER-USER",
            "-A FORWARD -j DOCKER-USER", "-A FORWARD -i eth7 -j ACCEPT",
            "-A DOCKER-USER -s 10.9.0.0/16 -j DROP", "-A DOCKER-USER -j RETURN",
        ])
    }

    @Test func badInputChangesNothing() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try host.backend.setUpBase()
        try host.backend.addNetwork(W.docker0)
        let before = try host.save()
        var n = W.test1
        n.bridge = "br-0123456789abc"  // 16 bytes
        do {
            try host.backend.addNetwork(n)
            Issue.record("accepted a 16-byte bridge name")
        } catch {
            #expect(error.code == .invalidArgument)
        }
        var e = W.published
        e.ports.append(PortMapping(hostPort: 0, containerPort: 80))
        do {
            try host.backend.addPorts(e)
            Issue.record("accepted port 0")
        } catch {
            #expect(error.code == .invalidArgument)
        }
        #expect(try host.save() == before)
    }

    @Test func rejectedRestoreAppliesNothing() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try host.backend.setUpBase()
        let before = try host.save()
        let text = """
        *filter
        -A FORWARD -i good0 -j ACCEPT
        -A FORWARD -j NO-SUCH-CHAIN
        COMMIT

        """
        do {
            try host.backend.restore(text, operation: OperationName("test"), object: "bad")
            Issue.record("restore accepted a jump to a missing chain")
        } catch {
            #expect(error.code == .rejected)
            #expect(error.detail?.contains("NO-SUCH-CHAIN") == true, "\(error)")
        }
        #expect(try host.save() == before)
    }

    @Test func reapplyAfterFlush() throws {
        let host = try IptablesHost()
        defer { host.close() }
        let b = host.backend
        let state = FirewallState(networks: [W.docker0, W.test1], endpoints: [W.published])
        try b.reapply(state)
        let full = try host.save()
        #expect(full == IptablesText.normalizedSave(DockerGolden.cContainersSave))
        for table in ["filter", "nat"] {
            try host.iptablesCommand(["-t", table, "-F"])
            try host.iptablesCommand(["-t", table, "-X"])
        }
        try host.iptablesCommand(["-P", "FORWARD", "ACCEPT"])
        try b.reapply(state)
        #expect(try host.save() == full)
        // A partly deleted network comes back in place.
        try host.iptablesCommand(["-D", "FORWARD", "-o", "docker0", "-j", "DOCKER"])
        try host.iptablesCommand(["-t", "nat", "-D", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"])
        try b.reapply(state)
        #expect(try host.save() == full)
    }

    @Test func optionsInTheKernel() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try host.backend.setUpBase()
        let n1 = NetworkRules(id: "n1", bridge: "br-noicc", subnet: Fixtures.subnet("10.40.0.0/24"), icc: false, masquerade: false)
        let n2 = NetworkRules(id: "n2", bridge: "br-internal", subnet: Fixtures.subnet("10.41.0.0/24"), isInternal: true)
        try host.backend.addNetwork(n1)
        try host.backend.addNetwork(n2)
        let filter = try host.listing()
        let expected = DockerRules.network(n1).all + DockerRules.network(n2).all
        for rule in expected where rule.table == .filter { #expect(filter.contains(rule.description), "\(rule)") }
        #expect(filter.last(where: { $0.hasPrefix("-A FORWARD") }) == "-A FORWARD -i br-noicc -o br-noicc -j DROP")
        #expect(filter.contains("-A DOCKER-ISOLATION-STAGE-1 ! -s 10.41.0.0/24 -o br-internal -j DROP"))
        #expect(filter.contains("-A DOCKER-ISOLATION-STAGE-1 ! -d 10.41.0.0/24 -i br-internal -j DROP"))
        let nat = try host.listing("nat")
        #expect(!nat.contains { $0.contains("br-noicc") || $0.contains("br-internal") })
        try host.backend.removeNetwork(n1)
        try host.backend.removeNetwork(n2)
        #expect(!(try host.listing()).contains { $0.contains("br-noicc") || $0.contains("br-internal") })
    }
}

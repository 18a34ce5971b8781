import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The iptables backend's IPv6 (issue 15): ip6tables as dockerd 20.10 `--experimental
/// --ip6tables` writes it, step by step against the real capture
/// (Tests/Fixtures/docker-20.10/ipv6/), observed with `ip6tables-save` / `iptables-save`.
@Suite("ip6tables backend in a namespace", .enabled(if: Sandbox.isActive), .serialized)
struct Ip6tablesKernelTests {
    typealias W = Walkthrough6

    @Test("the capture's walkthrough, byte for byte in both families (plus IPv6 DOCKER-USER)",
          arguments: [IptablesVariant.nft, .legacy])
    func walkthroughMatchesGolden(_ variant: IptablesVariant) throws {
        let host = try IptablesHost(variant: variant, forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        #expect(try host.save6() == W.golden6("0-before"))

        try b.setUpBase()
        #expect(try host.save6() == [], "the IPv4 base leaves ip6tables alone")
        try b.addNetwork(W.docker0)
        #expect(try host.save6() == W.berth6("a-start"))
        #expect(try host.save() == W.golden4("a-start"))

        try b.addNetwork(W.v6net)
        try b.addNetwork(W.v6b)
        #expect(try host.save6() == W.berth6("b-netcreate"))
        #expect(try host.save() == W.golden4("b-netcreate"))

        for e in W.published { try b.addPorts(e) }
        #expect(try host.save6() == W.berth6("c-containers"))
        #expect(try host.save() == W.golden4("c-containers"))
        #expect(try b.reconcile(W.state, dryRun: true) == FirewallReconciliation())

        for e in W.published { try b.removePorts(e) }
        #expect(try host.save6() == W.berth6("d-rm"))
        #expect(try host.save() == W.golden4("d-rm"))

        try b.removeNetwork(W.v6net)
        try b.removeNetwork(W.v6b)
        #expect(try host.save6() == W.berth6("e-netrm"))
        #expect(try host.save() == W.golden4("e-netrm"))

        // The last IPv6 network takes the IPv6 base and Berth's DROP with it: the tables are as
        // before the first one (iptables cannot delete a table itself, so they stay, empty).
        try b.removeNetwork(W.docker0)
        #expect(try host.save6() == W.golden6("0-before"))
        #expect(IptablesRuleset(parsing: try host.rawSave6()) == IptablesRuleset(parsing: DockerGolden.file("ipv6/0-before.ip6tables-save.txt")))
    }

    /// Deliberate deviation: dockerd 20.10 writes a v4-only network's two isolation rules into
    /// ip6tables too (`f-v4only`); Berth gives a network without an IPv6 subnet no IPv6 rules.
    @Test func ipv4OnlyNetworkBesideIPv6GetsNoIPv6Rules() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(W.docker0)
        try b.addNetwork(W.v4net)
        try b.addPorts(W.c4only)
        #expect(try host.save() == W.golden4("f-v4only"))
        let expected = W.withDockerUser(W.golden6("f-v4only").filter { !$0.contains(W.v4net.bridge) })
        #expect(try host.save6() == expected)
        #expect(expected == W.berth6("a-start"))
        try b.removePorts(W.c4only)
        try b.removeNetwork(W.v4net)
        #expect(try host.save6() == W.berth6("g-v4rm"))
        #expect(try host.save() == W.golden4("g-v4rm"))
    }

    @Test("IPv4-only use never touches ip6tables (not even its tables)", arguments: [IptablesVariant.nft, .legacy])
    func ipv4OnlyLeavesIp6tablesEmpty(_ variant: IptablesVariant) throws {
        let host = try IptablesHost(variant: variant)
        defer { host.close() }
        let b = host.backend
        let state = FirewallState(networks: [Walkthrough.docker0, Walkthrough.test1], endpoints: [Walkthrough.published])
        #expect(try host.rawSave6() == "")
        try b.setUpBase()
        try b.addNetwork(Walkthrough.docker0)
        try b.addNetwork(Walkthrough.test1)
        try b.addPorts(Walkthrough.published)
        _ = try b.reconcile(state, dryRun: false)
        try b.reapply(state)
        try b.removePorts(Walkthrough.published)
        try b.removeNetwork(Walkthrough.test1)
        try b.removeAll(state)
        try b.undoSetUpBase()
        #expect(try host.rawSave6() == "")
    }

    /// Removal is byte-identical where ip6tables was in use before (a user's rules and chain).
    @Test func removalLeavesUsedIp6tablesByteIdentical() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        try host.ip6tablesCommand(["-A", "FORWARD", "-i", "eth7", "-j", "ACCEPT"])
        try host.ip6tablesCommand(["-t", "nat", "-A", "POSTROUTING", "-s", "fd99::/64", "-j", "MASQUERADE"])
        try host.ip6tablesCommand(["-N", "MINE"])
        let before = try host.save6()
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(W.v6net)
        for e in [W.c6, W.c6any] { try b.addPorts(e) }
        #expect(try host.save6().contains("-A FORWARD -i eth7 -j ACCEPT"))
        for e in [W.c6, W.c6any] { try b.removePorts(e) }
        try b.removeNetwork(W.v6net)
        #expect(try host.save6() == before)
    }

    @Test func reconcileRemovesStrayAndRepairsDeletedIPv6Rules() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        try b.reapply(W.state)
        let full = try host.save6()
        #expect(full == W.berth6("c-containers"))
        // A Berth-shaped rule nothing explains, a deleted one, and a user's rule that stays.
        try host.ip6tablesCommand(["-I", "FORWARD", "3", "-i", "br-0123456789ab", "-o", "br-0123456789ab", "-j", "ACCEPT"])
        try host.ip6tablesCommand(["-t", "nat", "-A", "POSTROUTING", "-s", "fd00:9::5/128", "-d", "fd00:9::5/128", "-p", "tcp", "-m", "tcp",
                                   "--dport", "81", "-j", "MASQUERADE"])
        try host.ip6tablesCommand(["-t", "nat", "-D", "POSTROUTING", "-s", "fd00:1::/64", "!", "-o", "br-cb7814f20db2", "-j", "MASQUERADE"])
        try host.ip6tablesCommand(["-A", "INPUT", "-s", "fd99::1", "-j", "ACCEPT"])
        let dry = try b.reconcile(W.state, dryRun: true)
        #expect(dry.removed == ["ip6tables -t filter -A FORWARD -i br-0123456789ab -o br-0123456789ab -j ACCEPT",
                                "ip6tables -t nat -A POSTROUTING -s fd00:9::5/128 -d fd00:9::5/128 -p tcp -m tcp --dport 81 -j MASQUERADE"])
        #expect(dry.repaired == ["ip6tables nat POSTROUTING|1 of 6 rules the records describe are missing"])
        let real = try b.reconcile(W.state, dryRun: false)
        #expect(real == dry)
        var expected = full
        expected.insert("-A INPUT -s fd99::1/128 -j ACCEPT", at: try #require(expected.firstIndex(of: "-A FORWARD -j DOCKER-USER")))
        let after = try host.save6()
        #expect(after == expected, "\(W.diff(after, expected))")
        #expect(try b.reconcile(W.state, dryRun: true) == FirewallReconciliation())
    }

    /// A state without IPv6 networks: reconcile takes a left-over IPv6 base away, keeping a
    /// user's DOCKER-USER rules with their jump.
    @Test func reconcileWithoutIPv6NetworksRemovesTheIPv6Base() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        try b.reapply(W.state)
        try host.ip6tablesCommand(["-I", "DOCKER-USER", "-s", "fd99::/64", "-j", "DROP"])
        let v4 = FirewallState(networks: [W.v4net], endpoints: [W.c4only])
        let dry = try b.reconcile(v4, dryRun: true)
        #expect(dry.removed.contains("ip6tables -t filter -A FORWARD -o docker0 -j DOCKER"))
        #expect(dry.removed.contains("ip6tables -t nat -X DOCKER"))
        #expect(dry.removed.contains("ip6tables -t filter -P FORWARD DROP"))
        #expect(!dry.removed.contains { $0.contains("DOCKER-USER") })
        _ = try b.reconcile(v4, dryRun: false)
        #expect(try host.save6() == [
            "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":DOCKER-USER - [0:0]",
            "-A FORWARD -j DOCKER-USER", "-A DOCKER-USER -s fd99::/64 -j DROP", "-A DOCKER-USER -j RETURN", "COMMIT",
        ])
        #expect(try b.reconcile(v4, dryRun: true) == FirewallReconciliation())
    }

    @Test func reapplyAfterIp6tablesFlush() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        try b.reapply(W.state)
        let full = try host.save6()
        for table in ["filter", "nat"] {
            try host.ip6tablesCommand(["-t", table, "-F"])
            try host.ip6tablesCommand(["-t", table, "-X"])
        }
        try host.ip6tablesCommand(["-P", "FORWARD", "ACCEPT"])
        try b.reapply(W.state)
        #expect(try host.save6() == full)
        try b.removeAll(W.state)
        #expect(IptablesRuleset(parsing: try host.rawSave6()) == IptablesRuleset())
    }

    /// Docker's `--userland-proxy=false` shapes carried over to IPv6 (no capture: dockerd 20.10
    /// writes the same `ProgramChain` / `Forward` arguments into ip6tables; the IPv4 forms are
    /// Tests/Fixtures/docker-20.10/noproxy/).
    @Test func hairpinModeIPv6Rules() throws {
        let host = try IptablesHost(hairpinMode: true, forwardPolicy: W.policy)
        defer { host.close() }
        var n = W.v6net
        n.hairpin = true
        var e = W.c6
        e.hairpin = true
        try host.backend.setUpBase()
        try host.backend.addNetwork(n)
        try host.backend.addPorts(e)
        let save = try host.save6()
        for line in ["-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER",
                     "-A POSTROUTING -o br-cb7814f20db2 -m addrtype --src-type LOCAL -j MASQUERADE",
                     "-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80",
                     "-A POSTROUTING -s fd00:1::2/128 -d fd00:1::2/128 -p tcp -m tcp --dport 80 -j MASQUERADE"] {
            #expect(save.contains(line), "\(line)")
        }
        #expect(!save.contains("-A DOCKER -i br-cb7814f20db2 -j RETURN"))
        #expect(try host.backend.reconcile(FirewallState(networks: [n], endpoints: [e]), dryRun: true) == FirewallReconciliation())
    }

    /// A host address, SCTP (libnetwork's checksum rule, kept while another endpoint needs it).
    @Test func hostAddressAndSCTPRules() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(W.v6net)
        let a = EndpointPorts(endpointID: "a", networkID: W.v6net.id, bridge: W.v6net.bridge, address: Fixtures.address("172.18.0.2"),
                              ports: [PortMapping(proto: .sctp, hostPort: 9000, containerPort: 90),
                                      PortMapping(hostPort: 8443, containerPort: 443, hostIP6: W.v6("fd00:1::1"))],
                              address6: W.v6("fd00:1::2"))
        var c = a
        c.endpointID = "c"
        c.address = Fixtures.address("172.18.0.3")
        c.address6 = W.v6("fd00:1::3")
        c.ports = [PortMapping(proto: .sctp, hostPort: 9001, containerPort: 90)]
        try b.addPorts(a)
        try b.addPorts(c)
        let save = try host.save6()
        let checksum = "-A POSTROUTING -p sctp -m sctp --sport 90 -j CHECKSUM --checksum-fill"
        for line in ["-A DOCKER ! -i br-cb7814f20db2 -p sctp -m sctp --dport 9000 -j DNAT --to-destination [fd00:1::2]:90",
                     "-A DOCKER -d fd00:1::1/128 ! -i br-cb7814f20db2 -p tcp -m tcp --dport 8443 -j DNAT --to-destination [fd00:1::2]:443",
                     "-A DOCKER -d fd00:1::2/128 ! -i br-cb7814f20db2 -o br-cb7814f20db2 -p tcp -m tcp --dport 443 -j ACCEPT",
                     checksum] {
            #expect(save.contains(line), "\(line)")
        }
        #expect(save.filter { $0 == checksum }.count == 1)
        // IPv4: the SCTP binding only (the fd00:1::1 binding is IPv6 only), with its checksum rule.
        let save4 = try host.save()
        #expect(save4.contains(checksum))
        #expect(!save4.contains { $0.contains("8443") })
        let state = FirewallState(networks: [W.v6net], endpoints: [a, c])
        #expect(try b.reconcile(state, dryRun: true) == FirewallReconciliation())
        try b.removePorts(a)
        #expect(try host.save6().contains(checksum), "c still publishes SCTP port 90")
        try b.removePorts(c)
        #expect(try !host.save6().contains(checksum))
        #expect(try !host.save().contains(checksum))
    }

    /// The revert used when the IPv4 restore fails after the IPv6 one was applied.
    @Test func revertingPlanRestoresTheTables() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        try host.ip6tablesCommand(["-A", "FORWARD", "-i", "eth7", "-j", "ACCEPT"])
        try host.ip6tablesCommand(["-N", "DOCKER-USER"])
        try host.ip6tablesCommand(["-A", "DOCKER-USER", "-s", "fd99::/64", "-j", "DROP"])
        let before = try host.save6()
        let original = IptablesRuleset(parsing: try host.rawSave6())
        try host.backend.reapply(W.state)
        let applied = IptablesRuleset(parsing: try host.rawSave6())
        let back = RestorePlan.reverting(applied, to: original)
        try host.backend.restore(back.render(), operation: OperationName("test"), object: "revert", family: .ipv6)
        // The same rules (the nat table the reapply used stays, empty: iptables cannot delete a table).
        let after = try host.save6()
        #expect(after == before, "\(W.diff(after, before))\n\(back.render())")
        #expect(IptablesRuleset(parsing: try host.rawSave6()) == original)
    }

    @Test func badIPv6InputChangesNothing() throws {
        let host = try IptablesHost(forwardPolicy: W.policy)
        defer { host.close() }
        try host.backend.addNetwork(W.v6net)
        let before6 = try host.save6()
        let before4 = try host.save()
        var n = W.v6b
        n.subnet6 = IPv6Subnet(address: W.v6("fd00:2::"), prefixLength: 0)
        #expect(throws: FirewallError.self) { try host.backend.addNetwork(n) }
        for bad in ["::", "::1", "ff02::1"] {
            var e = W.c6
            e.address6 = W.v6(bad)
            do {
                try host.backend.addPorts(e)
                Issue.record("accepted endpoint address \(bad)")
            } catch {
                #expect(error.code == .invalidArgument)
            }
        }
        #expect(try host.save6() == before6)
        #expect(try host.save() == before4)
    }
}

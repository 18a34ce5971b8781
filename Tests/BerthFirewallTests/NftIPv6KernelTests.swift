import CNftnl
import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The nftables backend's IPv6 table (`ip6 berth`, issue 15) in a scratch namespace, observed
/// with `nft list ruleset`, `nft -j list ruleset` and the kernel's own rule dumps.
@Suite("nftables IPv6 table in a namespace", .enabled(if: Sandbox.isActive), .serialized)
struct NftIPv6KernelTests {
    typealias F = NftFixtures
    typealias V = NftV6Fixtures

    private func channel(_ host: NftHost) throws -> NftChannel {
        NftChannel(transport: try MnlSocket.open(bus: MnlSocket.netfilterBus, in: host.namespace), object: "test")
    }

    /// `nft list tables` of the namespace, one table a line.
    private func tables(_ host: NftHost) throws -> [String] {
        try host.nft(["list", "tables"]).stdout.split(separator: "\n").map(String.init)
    }

    /// The rules of `ip6 berth` from `nft -j`: (chain, handle, comment).
    private func rules6(_ host: NftHost) throws -> [(chain: String, handle: Int, comment: String?)] {
        try host.json().compactMap { $0["rule"] as? [String: Any] }
            .filter { $0["family"] as? String == "ip6" && $0["table"] as? String == "berth" }
            .map { ($0["chain"] as? String ?? "", $0["handle"] as? Int ?? -1, $0["comment"] as? String) }
    }

    /// Every rule of Berth's table of `family` as the kernel dumps it: chain → the rules'
    /// NFTA_RULE_EXPRESSIONS and NFTA_RULE_USERDATA bytes, in order.
    private func ruleBytes(_ host: NftHost, family: NftFamily) throws -> [String: [[UInt8]]] {
        var out: [String: [[UInt8]]] = [:]
        for m in try channel(host).dump(NFT_MSG_GETRULE, table: "berth", family: family, operation: .test) {
            let attrs = try m.attributes(operation: .test, object: "rule")
            let chain = attrs[UInt16(NFTA_RULE_CHAIN.rawValue)]?.netlinkString ?? "?"
            let exprs = attrs[UInt16(NFTA_RULE_EXPRESSIONS.rawValue)].map(Array.init) ?? []
            let udata = attrs[UInt16(NFTA_RULE_USERDATA.rawValue)].map(Array.init) ?? []
            out[chain, default: []].append(exprs + [0xff] + udata)
        }
        return out
    }

    /// `ruleBytes` without the rules Berth wrote with a port range (`range` expression), which
    /// nft 1.0 writes as `cmp gte` + `cmp lte` (both list as `dport A-B`; the listing
    /// comparison covers them): the same positions are dropped from `theirs`.
    private func comparableBytes(ours host: NftHost, theirs reference: NftHost, family: NftFamily) throws -> (ours: [String: [[UInt8]]], theirs: [String: [[UInt8]]]) {
        let decoded = try NftSnapshotReader.read(table: "berth", family: family, channel: channel(host)).rules
        var ranged: [String: Set<Int>] = [:]
        var position: [String: Int] = [:]
        for rule in decoded {
            let i = position[rule.chain, default: 0]
            position[rule.chain] = i + 1
            if rule.exprs?.contains(where: { if case .range = $0 { true } else { false } }) == true { ranged[rule.chain, default: []].insert(i) }
        }
        func drop(_ bytes: [String: [[UInt8]]]) -> [String: [[UInt8]]] {
            bytes.mapValues { _ in [] }.merging(bytes.map { chain, rules in
                (chain, rules.enumerated().filter { !(ranged[chain]?.contains($0.offset) ?? false) }.map(\.element))
            }) { $1 }
        }
        return (drop(try ruleBytes(host, family: family)), drop(try ruleBytes(reference, family: family)))
    }

    @Test func dualStackNetworkWithPortsRendersBerthsLayout() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.setUpBase()
        #expect(try tables(host) == ["table ip berth"], "setUpBase creates no ip6 table")
        try host.backend.addNetwork(V.net6)
        try host.backend.addPorts(V.endpoint6)
        let listing = try host.ruleset()
        if let out = ProcessInfo.processInfo.environment["BERTH_WRITE_LISTING"] { try listing.write(toFile: out, atomically: true, encoding: .utf8) }
        #expect(F.normalized(listing) == F.normalized(V.expectedListing))
        if F.normalized(listing) != F.normalized(V.expectedListing) { print("--- berth ---\n\(listing)") }
        #expect(try tables(host) == ["table ip berth", "table ip6 berth"])
        // Every rule of the ip6 table names its owner.
        let owners = try rules6(host).map(\.comment)
        #expect(owners.filter { $0 == "berth" }.count == 7)
        #expect(owners.filter { $0 == "net:\(V.net6.id)" }.count == 7)
        #expect(owners.filter { $0 == "ep:\(V.endpoint6.endpointID) br:\(V.net6.bridge)" }.count == 12)
        #expect(owners.allSatisfy { $0 != nil })
    }

    /// The fixture loaded with `nft -f` (libnftnl's encoding) gives the same listing and, rule by
    /// rule, the same expression and comment bytes in the kernel as Berth's encoder: the IPv6
    /// payload offsets (saddr 8, daddr 24, 16 bytes), the 16-byte DNAT register and NAT family
    /// NFPROTO_IPV6 are nft's.
    @Test func nftWritesTheSameBytesAsBerth() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.reapply(V.state)
        let reference = try NftHost()
        defer { reference.close() }
        try reference.nft(["-f", "-"], stdin: V.expectedListing)
        #expect(F.normalized(try host.ruleset()) == F.normalized(try reference.ruleset()))
        for family in NftFamily.allCases {
            let (ours, theirs) = try comparableBytes(ours: host, theirs: reference, family: family)
            #expect(ours == theirs, "\(family.name) berth")
            #expect(ours.values.map(\.count).reduce(0, +) >= (family == .ip ? 17 : 22), "\(family.name): the rules compared")
        }
    }

    @Test func ipv4OnlyUseShowsNoIPv6Table() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.reapply(F.state)
        try b.addNetwork(F.netA)
        try b.addPorts(F.endpoint)
        #expect(try tables(host) == ["table ip berth"])
        let listing = try host.ruleset()
        #expect(!listing.contains("ip6"))
        try b.removePorts(F.endpoint)
        try b.removeNetwork(F.netA)
        _ = try b.reconcile(FirewallState(networks: [F.netB]), dryRun: false)
        #expect(try tables(host) == ["table ip berth"])
        // An IPv6 network next to IPv4 ones, then gone: the IPv4 table is as it was.
        try b.reapply(F.state)
        let v4 = try host.rulesetWithHandles()
        try b.addNetwork(V.net6)
        try b.removeNetwork(V.net6)
        try b.addNetwork(V.net6)
        try b.reapply(F.state)
        #expect(try tables(host) == ["table ip berth"])
        #expect(try host.rulesetWithHandles() == v4, "same handles: nothing of the IPv4 networks was re-created")
    }

    /// An IPv4-only network next to IPv6 ones is in the ip6 table's `bridges` (isolation, as
    /// Docker 20.10 gives it the ip6tables isolation pair) and its IPv6 traffic goes to
    /// `no-ipv6` (drop, as ip6tables' FORWARD policy DROP), whichever came first.
    @Test func ipv4OnlyNetworksAreIsolatedInTheIPv6Table() throws {
        let entries = [
            "elements = { \"\(F.netA.bridge)\", \"\(V.net6.bridge)\" }",
            "elements = { \"\(F.netA.bridge)\" : jump no-ipv6, \"\(V.net6.bridge)\" : jump fwd-in-\(V.net6.bridge) }",
            "elements = { \"\(F.netA.bridge)\" : jump no-ipv6, \"\(V.net6.bridge)\" : jump fwd-out-\(V.net6.bridge) }",
            "elements = { \"\(V.net6.bridge)\" : jump nat-\(V.net6.bridge) }",
        ]
        var listings: [String] = []
        for order in [[F.netA, V.net6], [V.net6, F.netA]] {
            let host = try NftHost()
            defer { host.close() }
            for n in order { try host.backend.addNetwork(n) }
            try host.backend.addPorts(F.endpoint)
            let table = F.normalized(try host.nft(["list", "table", "ip6", "berth"]).stdout)
            for line in entries { #expect(table.contains(line), "\(order.map(\.bridge)): \(line)\n\(table)") }
            #expect(!table.contains("chain fwd-in-\(F.netA.bridge)") && !table.contains("172.18.0.2"))
            listings.append(table)
            // reapply and reconcile agree.
            let state = FirewallState(networks: order, endpoints: [F.endpoint])
            #expect(try host.backend.reconcile(state, dryRun: false) == FirewallReconciliation())
            // The IPv4-only entries do not keep the table: it goes with the last IPv6 network.
            try host.backend.removeNetwork(V.net6)
            #expect(try tables(host) == ["table ip berth"])
            try host.backend.addNetwork(V.net6)
            #expect(F.normalized(try host.nft(["list", "table", "ip6", "berth"]).stdout).contains(entries[1]))
            try host.backend.removeNetwork(F.netA)
            #expect(try !host.nft(["list", "table", "ip6", "berth"]).stdout.contains(F.netA.bridge))
        }
        #expect(listings[0] == listings[1])
    }

    @Test func removalLeavesTheRulesetByteIdentical() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.nft(["-f", "-"], stdin: F.foreignScript)
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(F.netA)
        try b.addPorts(F.endpoint)
        let before = try host.rulesetWithHandles()
        try b.addNetwork(V.net6)
        try b.addNetwork(V.net6b)
        try b.addPorts(V.endpoint6)
        #expect(try tables(host).contains("table ip6 berth"))
        try b.removePorts(V.endpoint6)
        try b.removeNetwork(V.net6)
        #expect(try tables(host).contains("table ip6 berth"), "net6b still has IPv6")
        #expect(try !host.ruleset().contains(V.net6.bridge))
        try b.removeNetwork(V.net6b)
        #expect(!(try tables(host).contains("table ip6 berth")), "the last IPv6 network took the table with it")
        #expect(try host.rulesetWithHandles() == before)
        // Removing a network also drops its endpoints' IPv6 rules; absent: no error.
        try b.addNetwork(V.net6)
        try b.addPorts(V.endpoint6)
        try b.removeNetwork(V.net6)
        #expect(try host.rulesetWithHandles() == before)
        try b.removeNetwork(V.net6)
        try b.removePorts(V.endpoint6)
        // removeAll takes both tables, nothing else.
        try b.addNetwork(V.net6)
        try b.removeAll(V.state)
        #expect(try tables(host) == ["table inet foreign", "table ip nat"])
    }

    @Test func addingTwiceChangesNothing() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(V.net6)
        try b.addNetwork(V.net6c)
        try b.addPorts(V.endpoint6)
        let once = try host.rulesetWithHandles()
        try b.setUpBase()
        try b.addNetwork(V.net6)
        try b.addNetwork(V.net6c)
        try b.addPorts(V.endpoint6)
        #expect(try host.rulesetWithHandles() == once)
        try b.reapply(FirewallState(networks: [V.net6, V.net6c], endpoints: [V.endpoint6]))
        #expect(try host.rulesetWithHandles() == once)
        #expect(try b.reconcile(FirewallState(networks: [V.net6, V.net6c], endpoints: [V.endpoint6]), dryRun: false) == FirewallReconciliation())
        #expect(try host.rulesetWithHandles() == once)
    }

    @Test func aNetworkLosingItsIPv6SubnetLosesItsIPv6Rules() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(V.net6)
        try b.addNetwork(V.net6b)
        var v4Only = V.net6b
        v4Only.subnet6 = nil
        try b.addNetwork(v4Only)
        let table = try host.nft(["list", "table", "ip6", "berth"]).stdout
        #expect(!table.contains("chain fwd-in-\(V.net6b.bridge)") && !table.contains("net:\(V.net6b.id)"))
        #expect(table.contains("\"\(V.net6b.bridge)\" : jump no-ipv6"), "now an IPv4-only network: isolated, its IPv6 dropped")
        var v4OnlyToo = V.net6
        v4OnlyToo.subnet6 = nil
        try b.addNetwork(v4OnlyToo)
        #expect(try tables(host) == ["table ip berth"])
        // An endpoint without an IPv6 address: its IPv6 rules go, the IPv4 ones stay.
        try b.addNetwork(V.net6)
        try b.addPorts(V.endpoint6)
        var v4Endpoint = V.endpoint6
        v4Endpoint.address6 = nil
        try b.addPorts(v4Endpoint)
        #expect(try rules6(host).allSatisfy { $0.comment?.hasPrefix("ep:") != true })
        #expect(try host.nft(["list", "chain", "ip", "berth", "published"]).stdout.contains("172.20.0.2:80"))
    }

    @Test func reconcileRepairsAndRemovesInTheIPv6Table() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        let state = FirewallState(networks: [F.netA, V.net6, V.net6b], endpoints: [F.endpoint, V.endpoint6])
        try b.reapply(state)
        let full = F.normalized(try host.ruleset())
        // Damage the ip6 table only: a missing rule, a missing map element, a stale rule and a
        // stale network's chain.
        let br = V.net6.bridge
        guard let victim = try rules6(host).first(where: { $0.chain == "fwd-in-\(br)" }) else {
            Issue.record("no fwd-in rule")
            return
        }
        try host.nft(["delete", "rule", "ip6", "berth", "fwd-in-\(br)", "handle", String(victim.handle)])
        try host.nft(["delete", "element", "ip6", "berth", "fwd-out", "{", "\"\(V.net6b.bridge)\"", "}"])
        try host.nft(["add", "rule", "ip6", "berth", "published", "tcp", "dport", "1", "drop", "comment", "\"net:\(String(repeating: "0", count: 64))\""])
        try host.nft(["add", "chain", "ip6", "berth", "fwd-in-br-zzzzzzzzzzzz"])
        let damaged = try host.rulesetWithHandles()
        let dry = try b.reconcile(state, dryRun: true)
        #expect(try host.rulesetWithHandles() == damaged, "a dry run changes nothing")
        #expect(dry.removed.contains("delete chain ip6 berth fwd-in-br-zzzzzzzzzzzz"), "\(dry)")
        #expect(dry.removed.contains { $0.hasPrefix("delete rule ip6 berth published handle ") && $0.hasSuffix("(net:\(String(repeating: "0", count: 64)))") }, "\(dry)")
        #expect(dry.repaired.contains("element ip6 berth fwd-out { \"\(V.net6b.bridge)\" }"), "\(dry)")
        #expect(dry.repaired.contains("ip6 berth fwd-in-\(br)|1 of 5 rules the records describe are missing"), "\(dry)")
        #expect(dry.removed.allSatisfy { $0.contains("ip6 berth") } && dry.repaired.allSatisfy { $0.contains("ip6 berth") }, "\(dry)")
        let done = try b.reconcile(state, dryRun: false)
        #expect(done == dry, "the dry run said what the run does")
        #expect(F.normalized(try host.ruleset()) == full)
        #expect(try b.reconcile(state, dryRun: false) == FirewallReconciliation())
        // The table deleted behind Berth's back: repaired whole.
        try host.nft(["delete", "table", "ip6", "berth"])
        let rebuilt = try b.reconcile(state, dryRun: false)
        #expect(rebuilt.repaired.first == "table ip6 berth", "\(rebuilt)")
        #expect(F.normalized(try host.ruleset()) == full)
        // A state without IPv6 networks: the ip6 table goes, the ip table keeps its own.
        let v4State = FirewallState(networks: [F.netA], endpoints: [F.endpoint])
        let shrunk = try b.reconcile(v4State, dryRun: false)
        #expect(shrunk.removed.contains("delete table ip6 berth"), "\(shrunk)")
        #expect(try tables(host) == ["table ip berth"])
        #expect(try b.reconcile(v4State, dryRun: false) == FirewallReconciliation())
    }

    @Test func reapplyRebuildsBothTablesAndKeepsTheIPv6UserChain() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        let state = FirewallState(networks: [F.netA, V.net6], endpoints: [F.endpoint, V.endpoint6])
        try b.reapply(state)
        let full = F.normalized(try host.ruleset())
        try host.nft(["flush", "ruleset"])
        try b.reapply(state)
        #expect(F.normalized(try host.ruleset()) == full)
        try host.nft(["flush", "table", "ip6", "berth"])
        try b.reapply(state)
        #expect(F.normalized(try host.ruleset()) == full)
        // berth-user of the ip6 table is the user's (Docker 20.10 has no DOCKER-USER for IPv6).
        try host.nft(["add", "rule", "ip6", "berth", "berth-user", "ip6", "saddr", "fd00:9::/64", "drop"])
        try b.reapply(state)
        try b.addNetwork(V.net6b)
        #expect(try b.reconcile(FirewallState(networks: state.networks + [V.net6b], endpoints: state.endpoints), dryRun: false).removed.isEmpty)
        let user = try host.nft(["list", "chain", "ip6", "berth", "berth-user"]).stdout
        #expect(user.contains("ip6 saddr fd00:9::/64 drop"))
        let forward = try host.nft(["list", "chain", "ip6", "berth", "forward"]).stdout
        #expect(forward.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("jump") || $0.contains("vmap") }
                == "jump berth-user comment \"berth\"")
    }

    @Test func badInputAppliesNothing() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(F.netA)
        try b.addNetwork(V.net6)
        let before = try host.rulesetWithHandles()
        // An IPv6 endpoint on a network without an IPv6 subnet.
        var wrongNetwork = V.endpoint6
        wrongNetwork.bridge = F.netA.bridge
        wrongNetwork.networkID = F.netA.id
        do { try b.addPorts(wrongNetwork); Issue.record("accepted") } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.description.contains("IPv6"), "\(error)")
        }
        for state in [FirewallState(networks: [F.netA], endpoints: [wrongNetwork])] {
            do { try b.reapply(state); Issue.record("reapply accepted") } catch { #expect(error.code == .invalidArgument) }
            do { _ = try b.reconcile(state, dryRun: true); Issue.record("reconcile accepted") } catch { #expect(error.code == .invalidArgument) }
        }
        var hostBits = V.net6b
        hostBits.subnet6 = IPv6Subnet(address: V.address6("fd00:2::1"), prefixLength: 64)
        do { try b.addNetwork(hostBits); Issue.record("host bits accepted") } catch { #expect(error.code == .invalidArgument) }
        for bad in ["::", "ff02::1", "::1"] {
            var e = V.endpoint6
            e.address6 = V.address6(bad)
            do { try b.addPorts(e); Issue.record("\(bad) accepted") } catch { #expect(error.code == .invalidArgument) }
        }
        var multicastHost = V.endpoint6
        multicastHost.ports = [PortMapping(hostPort: 80, containerPort: 80, hostIP6: V.address6("ff02::1"))]
        do { try b.addPorts(multicastHost); Issue.record("multicast host address accepted") } catch { #expect(error.code == .invalidArgument) }
        #expect(try host.rulesetWithHandles() == before)
    }

    /// Both tables change in ONE transaction: a kernel refusal of the ip6 part leaves the ip
    /// part unapplied too.
    @Test func kernelRejectionOfTheIPv6PartLeavesBothTablesIntact() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(V.net6)
        try b.addNetwork(V.net6b)  // the ip6 table stays when net6 goes: its chains are deleted one by one
        try host.nft(["add", "rule", "ip6", "berth", "berth-user", "jump", "fwd-out-\(V.net6.bridge)"])
        let before = try host.rulesetWithHandles()
        do {
            try b.removeNetwork(V.net6)
            Issue.record("removed although a foreign rule jumps into the ip6 chain")
        } catch {
            #expect(error.code == .rejected)
            #expect(error.description.contains("ip6 berth"), "\(error)")
        }
        #expect(try host.rulesetWithHandles() == before)
    }

    @Test func hairpinModeInTheIPv6Table() throws {
        let host = try NftHost(hairpinMode: true)
        defer { host.close() }
        var n = V.net6
        n.hairpin = true
        var e = V.endpoint6
        e.hairpin = true
        try host.backend.reapply(FirewallState(networks: [n], endpoints: [e]))
        let output = try host.nft(["list", "chain", "ip6", "berth", "output"]).stdout
        #expect(output.contains("fib daddr type local jump published comment \"berth\""))
        #expect(!output.contains("::1"), "hairpin mode: the host reaches published ports via ::1 too, as ip6tables without ! --dst ::1/128")
        let postrouting = try host.nft(["list", "chain", "ip6", "berth", "postrouting"]).stdout
        #expect(postrouting.contains("oifname \"\(n.bridge)\" fib saddr type local masquerade comment \"net:\(n.id)\""))
        #expect(postrouting.contains("oifname \"\(n.bridge)\" ip6 saddr fd00:1::2 ip6 daddr fd00:1::2 tcp dport 80 masquerade"))
        let published = try host.nft(["list", "chain", "ip6", "berth", "published"]).stdout
        #expect(published.contains("tcp dport 8080 dnat to [fd00:1::2]:80"))
        #expect(!published.contains("@bridges"))
        #expect(try host.backend.reconcile(FirewallState(networks: [n], endpoints: [e]), dryRun: false) == FirewallReconciliation())
    }

    /// The scoped reads of both tables see what the full reads see of the same objects.
    @Test func scopedReadOfTheIPv6TableEqualsTheFullRead() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.reapply(FirewallState(networks: [F.netA, V.net6, V.net6b], endpoints: [F.endpoint, V.endpoint6]))
        let ch = try channel(host)
        let full = try NftSnapshotReader.read(table: "berth", family: .ip6, channel: ch)
        for scope in [NftReadScope.base.union(.network(V.net6.bridge)), .networkRemoval(V.net6b.bridge).withAllNetworks,
                      .endpoint(bridges: [V.net6.bridge]), .network(F.netA.bridge)] {
            let both = try NftSnapshotReader.read(table: "berth", scopes: [(.ip, scope), (.ip6, scope)], channel: ch)
            #expect(both[0] == (try NftSnapshotReader.read(table: "berth", scope: scope, channel: ch)))
            let scoped = both[1]
            #expect(scoped.tableExists && scoped.sets == full.sets)
            #expect(scoped.chains == full.chains.intersection(scope.chains + scope.ruleChains))
            for chain in scope.ruleChains {
                #expect(scoped.rules.filter { $0.chain == chain } == full.rules.filter { $0.chain == chain }, "\(chain)")
            }
            for set in scope.fullSets { #expect(scoped.elements[set] == full.elements[set]) }
        }
    }
}

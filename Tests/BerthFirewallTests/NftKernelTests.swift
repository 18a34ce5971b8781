import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

@Suite("nftables backend in a namespace", .enabled(if: Sandbox.isActive), .serialized)
struct NftKernelTests {
    typealias F = NftFixtures

    @Test func baseHasTableChainsHooksAndForwarding() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.backend.setUpBase()
        let items = try host.json()
        #expect(items.contains { ($0["table"] as? [String: Any])?["name"] as? String == "berth"
                && ($0["table"] as? [String: Any])?["family"] as? String == "ip" })
        let chains = items.compactMap { $0["chain"] as? [String: Any] }.filter { $0["table"] as? String == "berth" }
        func chain(_ name: String) -> [String: Any]? { chains.first { $0["name"] as? String == name } }
        for (name, type, hook, prio) in [("forward", "filter", "forward", 0), ("prerouting", "nat", "prerouting", -100),
                                         ("output", "nat", "output", -100), ("postrouting", "nat", "postrouting", 100)] {
            let c = chain(name)
            #expect(c?["type"] as? String == type, "\(name)")
            #expect(c?["hook"] as? String == hook, "\(name)")
            #expect(c?["prio"] as? Int == prio, "\(name)")
            #expect(c?["policy"] as? String == "accept", "\(name): the host's unrelated traffic keeps flowing")
        }
        #expect(chain("berth-user") != nil && chain("berth-user")?["hook"] == nil)
        #expect(chain("published") != nil)
        let owners = try host.ruleOwners()
        #expect(owners.count == 6)
        #expect(owners.allSatisfy { $0.comment == "berth" })
        #expect(try Sysctl.read("net.ipv4.ip_forward", in: host.namespace) == "1")
        // The user chain is jumped to first.
        let forward = try host.nft(["list", "chain", "ip", "berth", "forward"]).stdout
        let lines = forward.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first { $0.hasPrefix("jump") || $0.contains("vmap") } == "jump berth-user comment \"berth\"")
    }

    @Test func parityWithHandWrittenScript() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netB)
        try b.addNetwork(F.netC)
        try b.addPorts(F.endpoint)
        let ours = try host.ruleset()

        let reference = try NftHost()
        defer { reference.close() }
        try reference.nft(["-f", "-"], stdin: F.parityScript)
        let theirs = try reference.ruleset()
        #expect(F.normalized(ours) == F.normalized(theirs))
        if F.normalized(ours) != F.normalized(theirs) {
            print("--- berth ---\n\(ours)\n--- nft -f ---\n\(theirs)")
        }
        // Every rule names its owner.
        let owners = try host.ruleOwners()
        #expect(owners.allSatisfy { $0.comment != nil })
        #expect(owners.filter { $0.comment == "net:\(F.netA.id)" }.count == 7)
        #expect(owners.filter { $0.comment?.hasPrefix("ep:\(F.endpoint.endpointID)") == true }.count == 6)
    }

    @Test func removingEverythingRestoresTheRulesetAndSparesForeignTables() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.nft(["-f", "-"], stdin: F.foreignScript)
        let before = try host.rulesetWithHandles()
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netB)
        try b.addPorts(F.endpoint)
        let foreign = try host.nft(["-a", "list", "table", "inet", "foreign"]).stdout
        try b.removePorts(F.endpoint)
        try b.removeNetwork(F.netB)
        try b.removeNetwork(F.netA)
        // Only the base remains.
        #expect(try host.ruleOwners().allSatisfy { $0.comment == "berth" })
        let listing = try host.ruleset()
        #expect(!listing.contains("br-"))
        try b.removeAll(F.state)
        #expect(try host.rulesetWithHandles() == before)
        #expect(try host.nft(["-a", "list", "table", "inet", "foreign"]).stdout == foreign)
        // Removing what is absent is not an error.
        try b.removeNetwork(F.netA)
        try b.removePorts(F.endpoint)
        try b.removeAll(F.state)
        #expect(try host.rulesetWithHandles() == before)
    }

    @Test func removeNetworkAlsoDropsItsEndpointsRules() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        let base = try host.ruleset()
        try b.addNetwork(F.netA)
        try b.addPorts(F.endpoint)
        try b.removeNetwork(F.netA)
        #expect(try host.ruleset() == base)
    }

    @Test func addingTwiceChangesNothing() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netC)
        try b.addPorts(F.endpoint)
        let once = try host.rulesetWithHandles()
        try b.setUpBase()
        #expect(try host.rulesetWithHandles() == once, "setUpBase: same handles, nothing re-created")
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netC)
        #expect(try host.rulesetWithHandles() == once, "addNetwork: same handles, nothing re-created")
        try b.addPorts(F.endpoint)
        #expect(try host.rulesetWithHandles() == once, "addPorts: same handles, nothing re-created")
        try b.reapply(FirewallState(networks: [F.netA, F.netC], endpoints: [F.endpoint]))
        let again = try host.rulesetWithHandles()
        #expect(again == once, "reapply: same handles, nothing was deleted or re-created")
        if again != once { print("--- once ---\n\(once)\n--- again ---\n\(again)") }
    }

    @Test func changedNetworkIsReplacedAtomically() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(F.netA)
        var noIcc = F.netA
        noIcc.icc = false
        try b.addNetwork(noIcc)
        let chain = try host.nft(["list", "chain", "ip", "berth", "fwd-in-\(F.netA.bridge)"]).stdout
        #expect(chain.contains("iifname \"\(F.netA.bridge)\" drop"))
        #expect(!chain.contains("iifname \"\(F.netA.bridge)\" accept"))
        #expect(try host.ruleOwners().filter { $0.comment == "net:\(F.netA.id)" }.count == 7)
    }

    @Test func reapplyRebuildsAfterExternalFlushAndRemovesStale() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.reapply(F.state)
        let full = try host.ruleset()
        try host.nft(["flush", "ruleset"])
        try b.reapply(F.state)
        #expect(F.normalized(try host.ruleset()) == F.normalized(full))
        // Flushing only our table's rules.
        try host.nft(["flush", "table", "ip", "berth"])
        try b.reapply(F.state)
        #expect(F.normalized(try host.ruleset()) == F.normalized(full))
        // A state without netB and the endpoint: their chains, elements and rules go.
        try b.reapply(FirewallState(networks: [F.netA, F.netC]))
        let reduced = try host.ruleset()
        #expect(!reduced.contains(F.netB.bridge))
        #expect(!reduced.contains("ep:"))
        #expect(reduced.contains("fwd-in-\(F.netA.bridge)"))
    }

    @Test func userChainRulesSurviveSetUpBase() throws {
        let host = try NftHost()
        defer { host.close() }
        try host.nft(["add", "table", "ip", "berth"])
        try host.nft(["add", "chain", "ip", "berth", "berth-user"])
        try host.nft(["add", "rule", "ip", "berth", "berth-user", "ip", "saddr", "10.1.2.3", "drop"])
        try host.backend.setUpBase()
        try host.backend.addNetwork(F.netA)
        let user = try host.nft(["list", "chain", "ip", "berth", "berth-user"]).stdout
        #expect(user.contains("ip saddr 10.1.2.3 drop"))
        try host.backend.reapply(FirewallState(networks: [F.netA]))
        #expect(try host.nft(["list", "chain", "ip", "berth", "berth-user"]).stdout == user)
    }

    @Test func badInputAppliesNothing() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        try b.addNetwork(F.netA)
        let before = try host.rulesetWithHandles()
        var bad: [NetworkRules] = []
        for name in ["", "0123456789abcdef", "br 0", "br\"x", "br/x", ".."] {
            var n = F.netA
            n.id = String(repeating: "d", count: 64)
            n.bridge = name
            bad.append(n)
        }
        var badID = F.netB
        badID.id = "has space"
        bad.append(badID)
        for n in bad {
            #expect(throws: FirewallError.self) { try b.addNetwork(n) }
            do { try b.addNetwork(n) } catch { #expect(error.code == .invalidArgument, "\(n.bridge)") }
        }
        var zero = F.endpoint
        zero.ports = [PortMapping(hostPort: 0, containerPort: 80)]
        do { try b.addPorts(zero); Issue.record("port 0 accepted") } catch { #expect(error.code == .invalidArgument) }
        zero.ports = [PortMapping(hostPort: 80, containerPort: 0)]
        do { try b.addPorts(zero); Issue.record("port 0 accepted") } catch { #expect(error.code == .invalidArgument) }
        // Ports on a bridge without a network: refused before sending.
        var orphan = F.endpoint
        orphan.bridge = "br-nowhere"
        do { try b.addPorts(orphan); Issue.record("orphan endpoint accepted") } catch { #expect(error.code == .invalidArgument) }
        let badTable = NftablesBackend(host: host.namespace, tableName: "bad name")
        do { try badTable.setUpBase(); Issue.record("bad table accepted") } catch { #expect(error.code == .invalidArgument) }
        #expect(try host.rulesetWithHandles() == before)
    }

    @Test func kernelRejectionLeavesRulesetIntact() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        // A foreign object in our table that makes our batch fail: a *set* named like the
        // network chain's map key target cannot clash, so take the chain name with a rule that
        // jumps into it — deleting fwd-in-BR then fails with EBUSY, the whole batch is undone.
        try b.addNetwork(F.netA)
        try host.nft(["add", "rule", "ip", "berth", "berth-user", "jump", "fwd-out-\(F.netA.bridge)"])
        let before = try host.rulesetWithHandles()
        do {
            try b.removeNetwork(F.netA)
            Issue.record("remove succeeded although a foreign rule references the chain")
        } catch {
            #expect(error.code == .rejected)
            #expect(error.errno != 0)
            #expect(error.description.contains("fwd-out-\(F.netA.bridge)"), "\(error)")
        }
        #expect(try host.rulesetWithHandles() == before)
    }

    @Test func otherTableNamesAreIndependent() throws {
        let host = try NftHost()
        defer { host.close() }
        let other = NftablesBackend(host: host.namespace, tableName: "berth2")
        try host.backend.addNetwork(F.netA)
        try other.addNetwork(F.netB)
        try other.removeAll(FirewallState())
        let listing = try host.ruleset()
        #expect(listing.contains("table ip berth {"))
        #expect(!listing.contains("berth2"))
        #expect(listing.contains(F.netA.bridge))
    }

    /// Removal is one transaction: its cost stays near one RCU grace period (~15 ms, design.md §7)
    /// however many rules, elements and chains go. The bound here is loose (shared CI machines).
    @Test func removalCostsAboutOneGracePeriod() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.setUpBase()
        let clock = ContinuousClock()
        var adds: [Duration] = [], removes: [Duration] = []
        for _ in 0..<5 {
            adds.append(try clock.measure {
                try b.addNetwork(F.netA)
                try b.addPorts(F.endpoint)
            })
            removes.append(try clock.measure { try b.removeNetwork(F.netA) })
        }
        let medianAdd = adds.sorted()[2], medianRemove = removes.sorted()[2]
        print("nftables: add network+ports \(medianAdd), remove network (14 rules, 4 elements, 4 chains) \(medianRemove)")
        #expect(medianRemove < .milliseconds(250))
    }
}

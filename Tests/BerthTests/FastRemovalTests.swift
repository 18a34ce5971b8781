import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// Issue 11, functional part: detach and network rm unplug at once and the kernel objects are
/// reclaimed later in batches. Real kernel, both backends; nothing here is timed.
@Suite("Removal without waiting for the kernel", .enabled(if: Sandbox.isActive))
struct FastRemovalTests {
    static let pendingGroup = "1650815604"  // 0x62657274, Pending.group

    /// A controller whose pending links stay until drain (no background thread), so the test can
    /// look at them.
    func manual(_ f: Fixture) throws -> NetworkController {
        var configuration = f.configuration
        configuration.reclaimInBackground = false
        let c = try NetworkController(configuration)
        try c.setUpHost()
        try c.reconcile()
        return c
    }

    func pending(_ netns: String) throws -> [[String: Any]] {
        try Sandbox.ipJSON(["-d", "link", "show"], netns: netns).filter { "\($0["group"] ?? "")" == Self.pendingGroup }
    }

    @Test("after detach: address, MAC and host port reusable at once; the old endpoint unreachable; drained", arguments: backends)
    func detachFreesAtOnce(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try manual(f)
        try c.createNetwork(NetworkOptions(name: "fast", subnet: "10.77.0.0/24"))
        let old = try f.sandbox(), new = try f.sandbox()
        let options = AttachOptions(address: "10.77.0.5", mac: "02:42:0a:4d:00:05", ports: [PortMapping(hostPort: 8080, containerPort: 80)])
        let e1 = try c.attach(network: "fast", sandbox: .name(old), options: options)
        let server1 = try TCPServer(in: old, port: 80, reply: .text("old"))
        defer { server1.stop() }
        #expect(try Traffic.tcpFetch(from: f.hostName, "10.77.0.5", 80) == "old")
        let rulesWith = try f.ruleset()

        #expect(try c.detach(endpoint: e1.id))
        // Unplugged: the host end is marked, down and off the bridge; the sandbox end no longer eth0.
        let marked = try #require(try pending(f.hostName).first { $0["ifname"] as? String == e1.hostInterface })
        #expect(!((marked["flags"] as? [String]) ?? []).contains("UP") && marked["master"] == nil)
        #expect(try Sandbox.link("eth0", netns: old) == nil)
        #expect(try !Sandbox.ping(from: f.hostName, "10.77.0.5"))
        #expect(try Traffic.tcpFetch(from: f.hostName, "10.77.0.5", 80, attempts: 3) == nil)
        #expect(try f.ruleset() != rulesWith)

        // The same address, MAC and host port, at once, in another sandbox.
        let e2 = try c.attach(network: "fast", sandbox: .name(new), options: options)
        #expect(e2.cidr == "10.77.0.5/24" && e2.mac.description == "02:42:0a:4d:00:05")
        let server2 = try TCPServer(in: new, port: 80, reply: .text("new"))
        defer { server2.stop() }
        #expect(try Traffic.tcpFetch(from: f.hostName, "10.77.0.5", 80) == "new")
        // The old sandbox takes eth0 again.
        #expect(try c.attach(network: "fast", sandbox: .name(old)).interfaceName == "eth0")

        try c.drain()
        #expect(try pending(f.hostName).isEmpty)
        #expect(try Sandbox.link(e1.hostInterface, netns: f.hostName) == nil)
        #expect(try Sandbox.linkNames(netns: old).allSatisfy { !$0.hasPrefix("berthrm") })
        #expect(try Traffic.tcpFetch(from: f.hostName, "10.77.0.5", 80) == "new")
    }

    @Test("network rm: the name, bridge name and subnet are free at once; the bridge is drained", arguments: backends)
    func networkRemovalFreesAtOnce(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try manual(f)
        let before = try f.ruleset()
        let options = NetworkOptions(name: "gone", subnet: "10.78.0.0/24", bridgeName: "brfast")
        try c.createNetwork(options)
        let s = try f.sandbox()
        try c.attach(network: "gone", sandbox: .name(s))
        try c.deleteNetwork("gone", force: true)
        #expect(try f.ruleset() == before)
        #expect(try Sandbox.link("brfast", netns: f.hostName) == nil)
        let marked = try pending(f.hostName)
        #expect(marked.contains { ($0["ifname"] as? String)?.hasPrefix("berthrm") == true && !(($0["flags"] as? [String]) ?? []).contains("UP") })
        // Name, bridge name and subnet again, at once; the new network carries traffic.
        try c.createNetwork(options)
        let e = try c.attach(network: "gone", sandbox: .name(s))
        #expect(e.cidr == "10.78.0.2/24")
        #expect(try Sandbox.ping(from: s, "10.78.0.1"))
        try c.drain()
        #expect(try pending(f.hostName).isEmpty)
        #expect(try f.linkNames().filter { $0.hasPrefix("berthrm") }.isEmpty)
        #expect(try Sandbox.ping(from: s, "10.78.0.1"))
    }

    @Test("a --create'd sandbox is deleted with its last endpoint; the background reclaimer drains", arguments: backends)
    func createdSandboxAndBackground(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let name = Sandbox.unique("bt-fast-")
        let e = try c.attach(network: "bridge", sandbox: .create(name: name))
        try c.detach(endpoint: e.id)
        #expect(!Sandbox.namedNamespaces().contains(name))
        try c.drain()
        #expect(try pending(f.hostName).isEmpty)
        #expect(try Sandbox.link(e.hostInterface, netns: f.hostName) == nil)
        #expect(try c.endpoints().isEmpty)
    }

    @Test("waitForKernel: detach and rm delete at once, nothing is ever pending", arguments: backends)
    func waitForKernel(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        var configuration = f.configuration
        configuration.waitForKernel = true
        let c = try NetworkController(configuration)
        try c.createNetwork(NetworkOptions(name: "sync"))
        let s = try f.sandbox()
        let e = try c.attach(network: "sync", sandbox: .name(s))
        try c.detach(endpoint: e.id)
        #expect(try Sandbox.link(e.hostInterface, netns: f.hostName) == nil)
        #expect(try pending(f.hostName).isEmpty)
        let bridge = try c.inspect("sync").network.bridge
        try c.deleteNetwork("sync")
        #expect(try Sandbox.link(bridge, netns: f.hostName) == nil)
        #expect(try pending(f.hostName).isEmpty)
    }

    @Test("many quick attach/detach cycles leave no link, rule, record or netns after drain", arguments: backends)
    func manyCycles(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "churn", subnet: "10.79.0.0/24"))
        let s = try f.sandbox()
        let links = try f.linkNames()
        let rules = try f.ruleset()
        var created = Set<String>()
        let start = Date()
        var cycles = 0
        // Up to 1,000 cycles, fewer when the machine is slow (the test stays well under a minute).
        while cycles < 1000 && Date().timeIntervalSince(start) < 25 {
            let sandbox: SandboxSpec = cycles % 10 == 9 ? .create(name: nil) : .name(s)
            let ports = cycles % 5 == 0 ? [PortMapping(hostPort: 9000, containerPort: 80)] : []
            let e = try c.attach(network: "churn", sandbox: sandbox, options: AttachOptions(address: "10.79.0.7", ports: ports))
            if e.createdSandbox, let name = e.sandboxName { created.insert(name) }
            try c.detach(endpoint: e.id)
            cycles += 1
        }
        print("fast removal: \(backend) \(cycles) attach/detach cycles in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        #expect(cycles >= 100)
        try c.drain()
        #expect(try f.linkNames() == links)
        #expect(try Sandbox.linkNames(netns: s) == ["lo"])
        #expect(try f.ruleset() == rules)
        #expect(try c.endpoints().isEmpty && f.stateFiles("endpoints").isEmpty)
        #expect(!created.isEmpty && created.isDisjoint(with: Sandbox.namedNamespaces()))
        #expect(try pending(f.hostName).isEmpty)
    }

    /// New-user trial: an unplugged sandbox end kept its address (the sandbox still reached it) and
    /// a removed network's pending bridge its gateway; both go at unplug.
    @Test("unplugged links keep no IPv4 address", arguments: backends)
    func unpluggedLinksKeepNoAddress(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try manual(f)
        try c.createNetwork(NetworkOptions(name: "addr", subnet: "10.78.0.0/24"))
        let s1 = try f.sandbox()
        let e = try c.attach(network: "addr", sandbox: .name(s1))
        #expect(try c.detach(endpoint: e.id))
        let inner = try Sandbox.ipJSON(["-4", "addr", "show"], netns: s1).filter { $0["ifname"] as? String != "lo" }
        #expect(inner.allSatisfy { (($0["addr_info"] as? [[String: Any]]) ?? []).isEmpty }, "\(inner)")
        #expect(try !Sandbox.ping(from: s1, e.address.description))
        try c.deleteNetwork("addr")
        let bridges = try pending(f.hostName).filter { ($0["ifname"] as? String ?? "").hasPrefix("berthrm") }
        #expect(!bridges.isEmpty)
        let hostAddresses = try Sandbox.ipJSON(["-4", "addr", "show"], netns: f.hostName)
            .flatMap { (($0["addr_info"] as? [[String: Any]]) ?? []).compactMap { $0["local"] as? String } }
        #expect(!hostAddresses.contains("10.78.0.1"), "\(hostAddresses)")
        try c.drain()
    }

    /// New-user trial: gc deleted any link in the pending group, the user's own included; only
    /// Berth-shaped links of the group are reclaimed.
    @Test("a foreign link in the pending group is left alone", arguments: backends)
    func foreignLinksInTheGroupStay(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try manual(f)
        try c.createNetwork(NetworkOptions(name: "grp", subnet: "10.79.0.0/24"))
        let e = try c.attach(network: "grp", sandbox: .name(try f.sandbox()))
        try Sandbox.run(["ip", "-n", f.hostName, "link", "add", "mybr0", "group", Self.pendingGroup, "type", "bridge"])
        try Sandbox.run(["ip", "-n", f.hostName, "link", "add", "userveth0", "group", Self.pendingGroup, "type", "veth", "peer", "name", "userveth1"])
        #expect(try c.detach(endpoint: e.id))
        #expect(try pending(f.hostName).contains { $0["ifname"] as? String == e.hostInterface })
        try c.drain()
        let left = Set(try pending(f.hostName).compactMap { $0["ifname"] as? String })
        #expect(left.isSuperset(of: ["mybr0", "userveth0"]) && !left.contains(e.hostInterface), "\(left)")
        _ = try c.gc()
        #expect(Set(try pending(f.hostName).compactMap { $0["ifname"] as? String }) == left)
    }
}

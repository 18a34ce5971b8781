import Testing
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

private typealias F = NftFixtures

/// Operations read only what they touch (`NftReadScope`); these check that a scoped read sees
/// exactly what the full read sees of those objects, and that behaviour is that of a full read.
@Suite("nftables scoped reads", .enabled(if: Sandbox.isActive), .serialized)
struct NftScopedReadTests {
    private func channel(_ host: NftHost) throws -> NftChannel {
        NftChannel(transport: try MnlSocket.open(bus: MnlSocket.netfilterBus, in: host.namespace), object: "test")
    }

    /// The full snapshot restricted to `scope`.
    private func restricted(_ full: NftSnapshot, to scope: NftReadScope) -> NftSnapshot {
        guard full.tableExists else { return NftSnapshot() }
        var out = NftSnapshot()
        out.tableExists = true
        out.sets = full.sets
        out.chains = full.chains.intersection(scope.chains + scope.ruleChains)
        for set in full.sets {
            var elements: [String: String?] = [:]
            for key in scope.elementKeys { if let v = full.elements[set]?[key] { elements[key] = v } }
            out.elements[set] = elements
        }
        for chain in scope.ruleChains { out.rules += full.rules.filter { $0.chain == chain } }
        return out
    }

    @Test func scopedReadEqualsTheFullReadOfTheSameObjects() throws {
        let host = try NftHost()
        defer { host.close() }
        let ch = try channel(host)
        let empty = try NftSnapshotReader.read(table: "berth", scope: .base.union(.network(F.netA.bridge)), channel: ch)
        #expect(empty == NftSnapshot())
        var hairpin = F.netB
        hairpin.hairpin = true
        var hairpinEndpoint = F.endpoint
        hairpinEndpoint.endpointID = String(repeating: "f", count: 64)
        hairpinEndpoint.bridge = hairpin.bridge
        hairpinEndpoint.hairpin = true
        try host.backend.reapply(FirewallState(networks: [F.netA, hairpin, F.netC], endpoints: [F.endpoint, hairpinEndpoint]))
        let full = try NftSnapshotReader.read(table: "berth", channel: ch)
        let scopes: [NftReadScope] = [
            .base,
            .base.union(.network(F.netA.bridge)),
            .base.union(.network(hairpin.bridge)),
            .network(F.netC.bridge),
            .network("br-absent"),
            .networkRemoval(F.netA.bridge),
            .networkRemoval("br-absent"),
            .base.union(.endpoint(bridges: [F.netA.bridge])),
            .endpoint(bridges: [hairpin.bridge, F.netC.bridge]),
        ]
        for scope in scopes {
            let scoped = try NftSnapshotReader.read(table: "berth", scope: scope, channel: ch)
            #expect(scoped == restricted(full, to: scope), "\(scope)")
        }
    }

    @Test func nextAddRepairsExternalChanges() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netC)
        try b.addPorts(F.endpoint)
        let full = F.normalized(try host.ruleset())
        try host.nft(["flush", "table", "ip", "berth"])
        try host.nft(["delete", "element", "ip", "berth", "fwd-in", "{", "\"\(F.netA.bridge)\"", "}"])
        try host.nft(["delete", "element", "ip", "berth", "nat-out", "{", "\"\(F.netC.bridge)\"", "}"])
        try host.nft(["delete", "chain", "ip", "berth", "nat-\(F.netC.bridge)"])
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netC)
        try b.addPorts(F.endpoint)
        #expect(F.normalized(try host.ruleset()) == full)
        try host.nft(["flush", "ruleset"])
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netC)
        try b.addPorts(F.endpoint)
        #expect(F.normalized(try host.ruleset()) == full)
    }

    @Test func endpointOnAnotherBridgeLeavesNoRulesBehind() throws {
        let host = try NftHost()
        defer { host.close() }
        let b = host.backend
        try b.addNetwork(F.netA)
        try b.addNetwork(F.netB)
        try b.addPorts(F.endpoint)
        var moved = F.endpoint
        moved.bridge = F.netB.bridge
        moved.networkID = F.netB.id
        moved.address = Fixtures.address("192.168.16.2")
        try b.addPorts(moved)
        let owners = try host.ruleOwners().compactMap(\.comment).filter { $0.hasPrefix("ep:") }
        #expect(!owners.isEmpty)
        #expect(owners.allSatisfy { $0 == NftLayout.endpointOwner(moved) }, "\(owners)")
        // Removing with the old bridge still finds the rules on the new one.
        try b.removePorts(F.endpoint)
        #expect(try host.ruleOwners().compactMap(\.comment).filter { $0.hasPrefix("ep:") }.isEmpty)
        // Absent: nothing to do, no error.
        try b.removePorts(F.endpoint)
        try b.removeNetwork(F.netA)
        try b.removeNetwork(F.netA)
    }
}

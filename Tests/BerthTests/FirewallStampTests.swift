import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Issue 11's per-call path: a process whose host was verified by an earlier one (the nf_tables
/// generation unchanged, the records the same) does not read the firewall again; anything that
/// can have changed it makes the check run (regression tests of `FirewallStamp`).
@Suite("Firewall stamp: a verified firewall is not read again", .enabled(if: Sandbox.isActive))
struct FirewallStampTests {
    private static func stampPath(_ f: Fixture) -> String { f.stateDirectory + "/" + "firewall-verified.json" }

    /// Another program's change: one of Berth's base rules deleted (iptables) / Berth's table
    /// deleted (nftables). Either commits an nf_tables transaction.
    private static func breakFirewall(_ f: Fixture) throws {
        if f.backend == .iptables {
            _ = try Sandbox.exec(f.hostName, ["iptables", "-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"])
        } else {
            _ = try Sandbox.exec(f.hostName, ["nft", "delete", "table", "ip", "berth"])
        }
    }

    /// Rewrites one field of the recorded stamp.
    private static func editStamp(_ f: Fixture, _ key: String, _ value: Any) throws {
        let url = URL(fileURLWithPath: stampPath(f))
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        json[key] = value
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    private static func generation(_ f: Fixture) throws -> UInt32 {
        let host = try NetworkNamespace.open(path: f.host.path)
        let backend: any FirewallBackend = f.backend == .iptables ? try IptablesBackend(host: host) : NftablesBackend(host: host)
        return try #require(try backend.rulesetGeneration())
    }

    @Test("another program's change after the verification is seen and repaired by the next process", arguments: backends)
    func changeIsRepaired(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        _ = try f.controller()
        #expect(FileManager.default.fileExists(atPath: Self.stampPath(f)))
        let good = try f.ruleset()
        try Self.breakFirewall(f)
        #expect(try f.ruleset() != good)
        let next = try f.openedController()
        _ = try next.attach(network: "bridge", sandbox: .create(name: nil))
        #expect(try f.ruleset() == good)
    }

    @Test("a stamp at the current generation is trusted; reconcile() always reads", arguments: backends)
    func trustedStampSkipsTheRead(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        _ = try f.controller()
        let good = try f.ruleset()
        try Self.breakFirewall(f)
        let broken = try f.ruleset()
        // Forged: as if the broken ruleset had been verified.
        try Self.editStamp(f, "generation", try Self.generation(f))
        let next = try f.openedController()
        _ = try next.attach(network: "bridge", sandbox: .create(name: nil))
        #expect(try f.ruleset() == broken)
        try next.reconcile()
        #expect(try f.ruleset() == good)
    }

    @Test("a stamp of another boot or of other records forces the check", arguments: backends)
    func staleStampIsNotTrusted(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        _ = try f.controller()
        let good = try f.ruleset()
        try Self.breakFirewall(f)
        try Self.editStamp(f, "generation", try Self.generation(f))
        try Self.editStamp(f, "bootID", "00000000-0000-0000-0000-000000000000")
        _ = try f.openedController().attach(network: "bridge", sandbox: .create(name: nil))
        #expect(try f.ruleset() == good)

        // Records that no longer describe the verified rules (a network record gone, as after
        // a crash that removed the record before the rules): the check removes the rules.
        let c = try f.controller()
        let n = try c.createNetwork(NetworkOptions(name: "gone"))
        try c.reconcile()
        let withNetwork = try f.ruleset()
        #expect(withNetwork.contains(n.bridge))
        try FileManager.default.removeItem(atPath: "\(f.stateDirectory)/networks/\(n.id).json")
        _ = try f.openedController().attach(network: "bridge", sandbox: .create(name: nil))
        #expect(!(try f.ruleset().contains(n.bridge)))
        #expect(!(try f.linkNames().contains(n.bridge)))
    }
}

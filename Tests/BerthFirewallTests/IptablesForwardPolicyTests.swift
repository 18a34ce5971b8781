import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
import BerthFixtures
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The FORWARD policy as Docker decides it (issue 13): dockerd 20.10 sets `iptables -P FORWARD
/// DROP` only when it turned `net.ipv4.ip_forward` on itself (libnetwork
/// drivers/bridge/setup_ip_forwarding.go); for IPv6 Berth follows Docker 28 (DROP only when it
/// turned IPv6 forwarding on). `ForwardPolicy` carries the decision, taken once, across
/// processes; undoing puts back only what Berth set. Observed with `iptables-save` / `/proc/sys`.
@Suite("iptables FORWARD policy decision", .enabled(if: Sandbox.isActive), .serialized)
struct IptablesForwardPolicyTests {
    typealias W = Walkthrough

    /// `iptables -S FORWARD`'s policy (`ip6tables` with `ipv6`).
    static func forwardPolicy(_ host: IptablesHost, ipv6: Bool = false) throws -> String? {
        let rules = try Sandbox.iptablesRules(netns: host.name, command: ipv6 ? host.ip6tables : host.iptables)
        return rules.first { $0.hasPrefix("-P FORWARD ") }.map { String($0.dropFirst("-P FORWARD ".count)) }
    }

    static func ipForward(_ host: IptablesHost) throws -> String { try Sysctl.read("net.ipv4.ip_forward", in: host.namespace) }

    /// The decision as the façade takes it: `ip_forward` read before Berth's first write.
    static func decide(_ host: IptablesHost, _ mode: ForwardDropMode) throws -> ForwardPolicy {
        ForwardPolicy.deciding(mode, ipv4ForwardingWasOn: try ipForward(host) == "1")
    }

    @Test func forwardingOffBefore_DropAndForwardingOn_UndoRestoresBoth() throws {
        let host = try IptablesHost()
        defer { host.close() }
        #expect(try Self.ipForward(host) == "0")
        let policy = try Self.decide(host, .docker)
        #expect(policy == ForwardPolicy(ipv4Drop: true, ipv4EnabledForwarding: true))
        host.backend.setForwardPolicy(policy)
        try host.backend.setUpBase()
        #expect(try Self.forwardPolicy(host) == "DROP")
        #expect(try Self.ipForward(host) == "1")

        // The next process (a one-shot CLI) opens with the recorded decision: nothing changes,
        // and reconcile knows the DROP is Berth's (puts it back when someone set ACCEPT).
        let next = try IptablesBackend(host: host.namespace, forwardPolicy: policy)
        try next.setUpBase()
        #expect(try next.reconcile(FirewallState(), dryRun: true) == FirewallReconciliation())
        try host.iptablesCommand(["-P", "FORWARD", "ACCEPT"])
        let repair = try next.reconcile(FirewallState(), dryRun: false)
        #expect(repair.repaired == ["filter base|Berth's base chains, jumps or FORWARD policy were missing"])
        #expect(try Self.forwardPolicy(host) == "DROP")

        try next.undoSetUpBase()
        #expect(try Self.forwardPolicy(host) == "ACCEPT")
        #expect(try Self.ipForward(host) == "0")
        #expect(try host.listing() == ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"])
    }

    @Test func forwardingOnBefore_PolicyUntouched() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace)
        let policy = try Self.decide(host, .docker)
        #expect(policy == ForwardPolicy(ipv4Drop: false, ipv4EnabledForwarding: false))
        host.backend.setForwardPolicy(policy)
        try host.backend.setUpBase()
        try host.backend.addNetwork(W.docker0)
        #expect(try Self.forwardPolicy(host) == "ACCEPT")
        #expect(try host.backend.reconcile(FirewallState(networks: [W.docker0]), dryRun: true) == FirewallReconciliation())
        // A DROP the user sets is the user's: reconcile and removal leave it.
        try host.iptablesCommand(["-P", "FORWARD", "DROP"])
        #expect(try host.backend.reconcile(FirewallState(networks: [W.docker0]), dryRun: true) == FirewallReconciliation())
        try host.backend.removeAll(FirewallState(networks: [W.docker0]))
        #expect(try Self.forwardPolicy(host) == "DROP")
        try host.iptablesCommand(["-P", "FORWARD", "ACCEPT"])
        try host.backend.setUpBase()
        try host.backend.undoSetUpBase()
        #expect(try Self.forwardPolicy(host) == "ACCEPT")
        #expect(try Self.ipForward(host) == "1", "forwarding was on before Berth: it stays on")
    }

    @Test func alwaysDrop_UndoRestoresOnlyThePolicy() throws {
        let host = try IptablesHost()
        defer { host.close() }
        try Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace)
        let policy = try Self.decide(host, .always)
        #expect(policy == ForwardPolicy(ipv4Drop: true, ipv4EnabledForwarding: false, always: true))
        host.backend.setForwardPolicy(policy)
        try host.backend.setUpBase()
        #expect(try Self.forwardPolicy(host) == "DROP")
        try host.backend.removeAll(FirewallState())
        #expect(try Self.forwardPolicy(host) == "ACCEPT")
        #expect(try Self.ipForward(host) == "1")
    }

    @Test func ipv6DropOnlyWhenBerthEnabledIPv6Forwarding() throws {
        typealias W6 = Walkthrough6
        // The façade turned IPv6 forwarding on: DROP with the IPv6 base, ACCEPT again without it.
        let host = try IptablesHost()
        defer { host.close() }
        let on = ForwardPolicy.deciding(.docker, ipv4ForwardingWasOn: false).decidingIPv6(.docker, berthEnablesForwarding: true)
        #expect(on.ipv6Drop && on.ipv6EnabledForwarding)
        host.backend.setForwardPolicy(on)
        try host.backend.addNetwork(W6.v6net)
        #expect(try Self.forwardPolicy(host, ipv6: true) == "DROP")
        try host.ip6tablesCommand(["-P", "FORWARD", "ACCEPT"])
        _ = try host.backend.reconcile(FirewallState(networks: [W6.v6net]), dryRun: false)
        #expect(try Self.forwardPolicy(host, ipv6: true) == "DROP")
        try host.backend.removeNetwork(W6.v6net)
        #expect(try Self.forwardPolicy(host, ipv6: true) == "ACCEPT")

        // Forwarding was on already: the IPv6 policy is not Berth's (unless always).
        let other = try IptablesHost()
        defer { other.close() }
        let off = ForwardPolicy().decidingIPv6(.docker, berthEnablesForwarding: false)
        #expect(!off.ipv6Drop)
        other.backend.setForwardPolicy(off)
        try other.backend.addNetwork(W6.v6net)
        #expect(try Self.forwardPolicy(other, ipv6: true) == "ACCEPT")
        try other.ip6tablesCommand(["-P", "FORWARD", "DROP"])
        try other.backend.removeNetwork(W6.v6net)
        #expect(try Self.forwardPolicy(other, ipv6: true) == "DROP", "the user's DROP stays")
        #expect(ForwardPolicy().decidingIPv6(.always, berthEnablesForwarding: false).ipv6Drop)
    }
}

import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink
@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// The FORWARD policy decision through the façade (issue 13): taken at the state directory's
/// first host set-up from what `net.ipv4.ip_forward` read before Berth wrote it (dockerd 20.10,
/// libnetwork setup_ip_forwarding.go), recorded in host.json, and kept by every later process.
/// Observed with `iptables-save` and /proc/sys of the host namespace.
@Suite("Façade: FORWARD policy as Docker decides it", .enabled(if: Sandbox.isActive), .serialized)
struct ForwardPolicyTests {
    static func policy(_ f: Fixture) throws -> String? {
        try Sandbox.iptablesRules(netns: f.hostName).first { $0.hasPrefix("-P FORWARD ") }.map { String($0.dropFirst("-P FORWARD ".count)) }
    }

    static func ipForward(_ f: Fixture) throws -> String {
        try Sysctl.read("net.ipv4.ip_forward", in: try NetworkNamespace.open(path: f.host.path))
    }

    static func config(_ f: Fixture, _ mode: ForwardDropMode) -> ControllerConfiguration {
        var c = f.configuration
        c.forwardDrop = mode
        return c
    }

    /// Regression (crash-point run of this session): `gc` on a fresh state directory reconciles
    /// before its host set-up, and the reconciler writes ip_forward=1; the decision taken after
    /// it read that 1 as the host's own (no DROP recorded as Berth's, but a DROP in place).
    /// Regression (trial): the IPv6 half was decided with the flag of the call that created the
    /// first IPv6 network, not with the recorded mode.
    @Test func ipv6HalfFollowsTheRecordedMode() throws {
        let f = try Fixture(.iptables)
        let ns = try NetworkNamespace.open(path: f.host.path)
        _ = try Sysctl.write("net.ipv6.conf.all.forwarding", "1", in: ns)
        let first = try NetworkController(Self.config(f, .always))
        try first.setUpHost()
        let later = try NetworkController(Self.config(f, .docker))
        var six = NetworkOptions(name: "six")
        six.enableIPv6 = true
        six.subnet6 = "fd00:4::/64"
        try later.createNetwork(six)
        let policy6 = try Sandbox.iptablesRules(netns: f.hostName, command: "ip6tables").first { $0.hasPrefix("-P FORWARD ") }
        #expect(policy6 == "-P FORWARD DROP", "recorded always: IPv6 DROP although forwarding was on")
    }

    @Test func gcFirstDecidesBeforeAnyWrite() throws {
        let f = try Fixture(.iptables)
        #expect(try Self.ipForward(f) == "0")
        let c = try NetworkController(Self.config(f, .docker))
        _ = try c.gc()
        let data = try #require(FileManager.default.contents(atPath: f.stateDirectory + "/host.json"))
        let host = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let policy = host?["forwardPolicy"] as? [String: Any]
        #expect(policy?["ipv4Drop"] as? Bool == true && policy?["ipv4EnabledForwarding"] as? Bool == true, "\(policy ?? [:])")
        #expect(try Self.policy(f) == "DROP" && Self.ipForward(f) == "1")
    }

    @Test func forwardingOffBefore_DropKeptByTheNextProcess() throws {
        let f = try Fixture(.iptables)
        #expect(try Self.ipForward(f) == "0")
        let first = try NetworkController(Self.config(f, .docker))
        try first.setUpHost()
        #expect(try Self.policy(f) == "DROP")
        #expect(try Self.ipForward(f) == "1")
        // The next one-shot process reads ip_forward 1 (Berth's) but keeps the recorded decision:
        // its reconcile finds nothing to change, and puts the DROP back when someone removed it.
        let next = try NetworkController(Self.config(f, .docker))
        let report = try next.reconcile()
        #expect(report.removed.isEmpty && report.repaired.isEmpty, "\(report)")
        _ = try Sandbox.exec(f.hostName, ["iptables", "-P", "FORWARD", "ACCEPT"])
        let third = try NetworkController(Self.config(f, .docker))
        _ = try third.reconcile()
        #expect(try Self.policy(f) == "DROP")
        let recorded = try String(contentsOfFile: f.stateDirectory + "/host.json", encoding: .utf8)
        #expect(recorded.contains("\"ipv4Drop\" : true") && recorded.contains("\"ipv4EnabledForwarding\" : true"), "\(recorded)")
    }

    @Test func forwardingOnBefore_PolicyUntouchedUnlessAlways() throws {
        let f = try Fixture(.iptables)
        try Sysctl.write("net.ipv4.ip_forward", "1", in: try NetworkNamespace.open(path: f.host.path))
        let c = try NetworkController(Self.config(f, .docker))
        try c.setUpHost()
        _ = try c.reconcile()
        #expect(try Self.policy(f) == "ACCEPT")
        let next = try NetworkController(Self.config(f, .docker))
        let report = try next.reconcile()
        #expect(report.repaired.isEmpty, "\(report)")
        #expect(try Self.policy(f) == "ACCEPT")
        // "Always DROP" chosen later: the recorded decision becomes DROP at the next set-up.
        let always = try NetworkController(Self.config(f, .always))
        try always.setUpHost()
        #expect(try Self.policy(f) == "DROP")
        #expect(try Self.ipForward(f) == "1")
    }
}

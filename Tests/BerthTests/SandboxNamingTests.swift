import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// The sandbox end's name is found by trying it (issue 11, per-call cost): attach creates the
/// veth with the peer `eth0` straight away and moves on to `eth1`, `eth2`… only when the kernel
/// refuses a name the sandbox has (EEXIST), instead of one RTM_GETLINK per name beforehand. The
/// sandbox end's index comes from the kernel's echo of the creation. These pin the behaviour that
/// must not change: Docker's first free `eth<N>`, an explicit name the sandbox has refused with
/// nothing created, the address, route and `disable_ipv6` on the right interface.
@Suite("Sandbox interface naming by trying the name", .enabled(if: Sandbox.isActive))
struct SandboxNamingTests {
    @Test("foreign eth0 and eth1 in the sandbox: the endpoint is eth2, configured there", arguments: backends)
    func firstFreeEthN(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "nm", subnet: "10.72.0.0/16"))
        let s = try f.sandbox()
        try Sandbox.check(["ip", "-n", s, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
        let hostLinks = try f.linkNames()
        let e = try c.attach(network: "nm", sandbox: .name(s))
        #expect(e.interfaceName == "eth2")
        #expect(try Sandbox.linkNames(netns: s).sorted() == ["eth0", "eth1", "eth2", "lo"])
        #expect(try Sandbox.ipv4Addresses("eth2", netns: s) == [e.cidr])
        #expect(try Sandbox.ipv4Addresses("eth0", netns: s).isEmpty && Sandbox.ipv4Addresses("eth1", netns: s).isEmpty)
        #expect(try Sandbox.link("eth2", netns: s)?["operstate"] as? String == "UP")
        #expect(try Sandbox.sysctl("net.ipv6.conf.eth2.disable_ipv6", netns: s) == "1")
        #expect(try Sandbox.sysctl("net.ipv6.conf.eth0.disable_ipv6", netns: s) == "0")
        let routes = try Sandbox.ipJSON(["route", "show", "default"], netns: s)
        #expect(routes.count == 1 && routes.first?["dev"] as? String == "eth2" && routes.first?["gateway"] as? String == "10.72.0.1")
        // Exactly one new host link: the refused tries left nothing behind.
        #expect(Set(try f.linkNames()).subtracting(hostLinks) == [e.hostInterface])
        #expect(try c.detach(endpoint: e.id))
        try c.drain()
        #expect(try f.linkNames() == hostLinks)
    }

    @Test("an explicit name the sandbox has: interfaceInUse, nothing created", arguments: backends)
    func explicitNameTaken(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "nm", subnet: "10.73.0.0/16"))
        let s = try f.sandbox()
        try Sandbox.check(["ip", "-n", s, "link", "add", "web0", "type", "veth", "peer", "name", "peer0"])
        let hostLinks = try f.linkNames()
        let rules = try f.ruleset()
        #expect { try c.attach(network: "nm", sandbox: .name(s), options: AttachOptions(interfaceName: "web0")) } throws: { error in
            guard let e = error as? BerthError else { return false }
            return e.code == .interfaceInUse && e.detail == "interface web0 already exists in the sandbox"
        }
        #expect(try f.linkNames() == hostLinks)
        #expect(try f.ruleset() == rules)
        #expect(try Sandbox.linkNames(netns: s).sorted() == ["lo", "peer0", "web0"])
        #expect(f.stateFiles("endpoints").isEmpty)
        // A free explicit name works on the same sandbox.
        let e = try c.attach(network: "nm", sandbox: .name(s), options: AttachOptions(interfaceName: "web1"))
        #expect(e.interfaceName == "web1")
        #expect(try Sandbox.ipv4Addresses("web1", netns: s) == [e.cidr])
    }
}

import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// Host set-up and reconciliation are explicit steps; an open costs nothing in the kernel.
@Suite("Explicit host set-up and reconciliation", .enabled(if: Sandbox.isActive))
struct HostSetUpTests {
    @Test("opening touches nothing; the first change sets up the host once", arguments: backends)
    func openIsFree(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let links = try f.linkNames(), rules = try f.ruleset()
        let c = try f.openedController()
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(try c.networks().isEmpty)
        // The first change runs the set-up: docker0 and the default network appear.
        let n = try c.createNetwork(NetworkOptions(name: "first"))
        #expect(try f.linkNames().contains("docker0"))
        #expect(try c.networks().map(\.name).sorted() == ["bridge", "first"])
        // It runs once per controller: a later change does not repair what was broken since,
        // an explicit reconcile() does.
        _ = try Sandbox.run(["ip", "-n", f.hostName, "addr", "flush", "dev", "docker0"])
        try c.deleteNetwork(n.name)
        #expect(try Sandbox.ipv4Addresses("docker0", netns: f.hostName).isEmpty)
        try c.reconcile()
        #expect(try Sandbox.ipv4Addresses("docker0", netns: f.hostName) == ["172.17.0.1/16"])
        #expect(try c.networks().map(\.name) == ["bridge"])
    }

    @Test("setUpHost: false leaves set-up to explicit calls", arguments: backends)
    func explicitOnly(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        var configuration = f.configuration
        configuration.setUpHost = false
        let c = try NetworkController(configuration)
        let links = try f.linkNames()
        #expect(throws: BerthError.self) { try c.attach(network: "bridge", sandbox: .create(name: nil)) }
        #expect(try f.linkNames() == links)
        try c.setUpHost()
        #expect(try Sandbox.ipv4Addresses("docker0", netns: f.hostName) == ["172.17.0.1/16"])
        let before = try f.ruleset()
        try c.setUpHost()
        try c.reconcile()
        #expect(try f.ruleset() == before)
    }
}

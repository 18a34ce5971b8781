import Berth
import BerthTestSupport
import Foundation
import Testing

/// One state directory per host namespace (new-user trial: a second state directory on the same
/// host namespace swept the first one's bridge, veths and rules as unrecorded, and reused its subnet).
@Suite("Host claim: one state directory per host namespace", .enabled(if: Sandbox.isActive))
struct HostClaimTests {
    @Test("a second state directory is refused and changes nothing; a gone one is taken over", arguments: backends)
    func secondStateDirectory(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let first = try f.controller()
        let network = try first.createNetwork(NetworkOptions(name: "na"))
        let sandbox = try f.sandbox()
        _ = try first.attach(network: "na", sandbox: .name(sandbox))
        let links = try f.linkNames(), rules = try f.ruleset()

        var other = f.configuration
        other.stateDirectory = f.stateDirectory + "-other"
        // Refused at open, before the second state directory is created (new-user trial).
        #expect { try NetworkController(other) } throws: { error in
            guard let e = error as? BerthError else { return false }
            return e.code == .stateConflict && e.description.contains("managed by state directory \(f.stateDirectory)")
        }
        #expect(!FileManager.default.fileExists(atPath: other.stateDirectory))
        // Inside the first one's directory, too (a typo'd path): nothing is written there.
        var nested = f.configuration
        nested.stateDirectory = f.stateDirectory + "/networks"
        #expect(throws: BerthError.self) { try NetworkController(nested) }
        #expect(!FileManager.default.fileExists(atPath: nested.stateDirectory + "/lock"))
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(try Sandbox.link(network.bridge, netns: f.hostName) != nil)
        #expect(try Sandbox.link("eth0", netns: sandbox) != nil)

        // Once the first state directory is gone, its claim is stale and the host is taken over.
        try first.deleteNetwork("na", force: true)
        try FileManager.default.removeItem(atPath: f.stateDirectory)
        let third = try NetworkController(other)
        #expect(try third.createNetwork(NetworkOptions(name: "nb")).name == "nb")
    }
}

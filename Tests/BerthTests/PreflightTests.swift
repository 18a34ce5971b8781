import Berth
import BerthTestSupport
import Foundation
import Testing

/// Input that can be refused without the kernel is refused before the host set-up.
@Suite("Preflight: refused before anything runs", .enabled(if: Sandbox.isActive))
struct PreflightTests {
    /// Regression (new-user trial): `--gateway` or `--ip-range` without `--subnet` ran the whole
    /// host set-up first, then failed with a message about the automatic subnet.
    @Test("gateway or ip-range without a subnet", arguments: backends)
    func gatewayNeedsSubnet(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.openedController()
        let links = try f.linkNames(), rules = try f.ruleset()
        for options in [NetworkOptions(name: "z", gateway: "10.0.0.1"), NetworkOptions(name: "z", ipRange: "10.0.0.0/25")] {
            #expect { try c.createNetwork(options) } throws: { error in
                guard let e = error as? BerthError else { return false }
                return e.code == .invalidArgument && e.description == "create network z: every ip-range or gateway must have a corresponding subnet"
            }
        }
        #expect(try f.linkNames() == links)
        #expect(!(try f.linkNames()).contains("docker0"))
        #expect(try f.ruleset() == rules)
        #expect(f.stateFiles("networks").isEmpty)
    }

    /// Regression (new-user trial): `detach ''` and `detach $'\n'` succeeded as "nothing attached".
    @Test("a malformed endpoint ID is refused", arguments: ["", "\n", "xyz", "ABC", String(repeating: "a", count: 65), "a b"])
    func malformedEndpointID(_ id: String) throws {
        let f = try Fixture(.iptables)
        let c = try f.openedController()
        #expect { try c.detach(endpoint: id) } throws: { ($0 as? BerthError)?.code == .invalidArgument }
        #expect(!(try f.linkNames()).contains("docker0"))
    }
}

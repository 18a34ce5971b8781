import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// Regression: a bridge name the netlink check took but a firewall backend refused (`br+x`) used
/// to pass preflight, set the host up, create the bridge and only then fail in the firewall layer.
/// Now every layer applies one rule (`LinkName`) and the façade applies it first.
enum DisputedInterfaceNames {
    /// Each was accepted by at least one of the three validators the layers used to have.
    static let names = ["br+x", "br+", "-br", "br@x", "br%d", "br*", "br\u{e9}", "br!x"]
}

@Suite("Interface names: preflight (no privileges)")
struct InterfaceNamePreflightTests {
    @Test(arguments: DisputedInterfaceNames.names)
    func bridgeNameRefused(_ bridge: String) {
        #expect { try NetworkController.preflight(NetworkOptions(name: "x", bridgeName: bridge)) } throws: { error in
            guard let e = error as? BerthError else { return false }
            return e.code == .invalidInterfaceName && e.detail?.hasPrefix("bridge name '\(bridge)' ") == true
        }
    }

    @Test(arguments: DisputedInterfaceNames.names)
    func sandboxInterfaceNameRefused(_ name: String) {
        #expect {
            try NetworkController.preflight(attach: "bridge", sandbox: .create(name: nil), options: AttachOptions(interfaceName: name))
        } throws: { error in
            guard let e = error as? BerthError else { return false }
            return e.code == .invalidInterfaceName && e.detail?.hasPrefix("interface name '\(name)' ") == true
        }
    }

    @Test func reasonIsInTheMessage() throws {
        do {
            try NetworkController.preflight(NetworkOptions(name: "x", bridgeName: "br+x"))
            Issue.record("br+x accepted")
        } catch {
            #expect(error.description == "create network x: bridge name 'br+x' contains '+', the interface wildcard of iptables; "
                        + "only letters, digits, '_', '.' and '-' are allowed")
        }
    }
}

@Suite("Interface names: create and attach change nothing", .enabled(if: Sandbox.isActive))
struct InterfaceNameKernelTests {
    @Test(arguments: backends)
    func refusedBeforeAnythingIsCreated(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "ok", subnet: "10.71.0.0/16"))
        let links = try f.linkNames()
        let rules = try f.ruleset()
        let networks = f.stateFiles("networks")
        let s = try f.sandbox()
        for name in DisputedInterfaceNames.names {
            #expect { try c.createNetwork(NetworkOptions(name: "x", bridgeName: name)) } throws: {
                ($0 as? BerthError)?.code == .invalidInterfaceName
            }
            #expect { try c.attach(network: "ok", sandbox: .name(s), options: AttachOptions(interfaceName: name)) } throws: {
                ($0 as? BerthError)?.code == .invalidInterfaceName
            }
        }
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(f.stateFiles("networks") == networks)
        #expect(f.stateFiles("endpoints").isEmpty)
        #expect(try Sandbox.linkNames(netns: s) == ["lo"])
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// Names the validators of the netlink layer, iptables and nftables used to disagree on (each one
/// accepted by at least one of them), and names every layer takes.
enum InterfaceNameCorpus {
    static let refused = ["br+x", "br+", "-br", "br@x", "br%d", "br*", "bré", "br!x", "br#x", "br\"x", "br;x",
                          "", "0123456789abcdef", "a b", "a/b", "a:b", "tab\tx", ".", ".."]
    static let accepted = ["docker0", "br-0123456789ab", "eth0.100", "x_y-z", "a", "a.b_c-d", "0123456789abcde", "..."]
}

@Suite("Interface names: one rule (no privileges)")
struct LinkNameRuleTests {
    @Test(arguments: InterfaceNameCorpus.refused)
    func refusedWithAReason(_ name: String) {
        let reason = LinkName.problem(with: name)
        #expect(reason != nil)
        #expect { try LinkName.validate(name, operation: .test) } throws: { error in
            guard let e = error as? NetlinkError else { return false }
            return e.code == .invalidName && e.errno == nil && e.detail == "interface name \(reason ?? "")"
        }
    }

    @Test(arguments: InterfaceNameCorpus.accepted)
    func accepted(_ name: String) throws {
        #expect(LinkName.problem(with: name) == nil)
        try LinkName.validate(name, operation: .test)
    }

    @Test func reasonsNameTheCulprit() {
        #expect(LinkName.problem(with: "br+x")?.contains("wildcard of iptables") == true)
        #expect(LinkName.problem(with: "br*")?.contains("wildcard of nftables") == true)
        #expect(LinkName.problem(with: "br%d")?.contains("'%'") == true)
        #expect(LinkName.problem(with: "-br")?.hasPrefix("starts with '-'") == true)
        #expect(LinkName.problem(with: "0123456789abcdef") == "is 16 bytes, longer than 15 (IFNAMSIZ - 1)")
        #expect(LinkName.problem(with: "") == "is empty")
    }
}

@Suite("Interface names: the kernel", .enabled(if: Sandbox.isActive))
struct LinkNameKernelTests {
    /// What the rule accepts, the kernel creates under exactly that name; what it refuses is
    /// never sent (no link appears).
    @Test func acceptedNamesAreCreatedAsGivenRefusedOnesChangeNothing() throws {
        let host = try HostNamespace()
        let before = try Sandbox.linkNames(netns: host.name)
        for name in InterfaceNameCorpus.refused {
            #expect { try host.session.createBridge(name: name) } throws: { ($0 as? NetlinkError)?.code == .invalidName }
        }
        #expect(try Sandbox.linkNames(netns: host.name) == before)
        for name in InterfaceNameCorpus.accepted {
            let link = try host.session.createBridge(name: name)
            #expect(link.name == name)
        }
        #expect(Set(try Sandbox.linkNames(netns: host.name)) == Set(before + InterfaceNameCorpus.accepted))
    }
}

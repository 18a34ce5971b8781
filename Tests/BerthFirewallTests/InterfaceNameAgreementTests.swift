@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) @testable import BerthFirewall
@_spi(BerthInternal) import BerthNetlink
import Testing

/// Both backends apply the netlink layer's interface-name rule (`LinkName`), so a name is taken
/// or refused alike by every layer.
@Suite("Interface names: the backends agree with LinkName (no privileges)")
struct InterfaceNameAgreementTests {
    /// Each of these was accepted by at least one of the three validators the backends and the
    /// netlink layer had before they shared one.
    static let disputed = ["br+x", "-br", "br@x", "br%d", "br*", "br!x", "br\u{e9}", "br#x"]
    static let accepted = ["docker0", "br-0123456789ab", "eth0.100", "x_y-z", "a", "0123456789abcde"]

    @Test(arguments: disputed)
    func refusedEverywhereWithTheRulesReason(_ name: String) throws {
        let reason = try #require(LinkName.problem(with: name))
        let errors = Self.backendErrors(name)
        #expect(errors.count == 2)
        for e in errors {
            #expect(e?.code == .invalidArgument && e?.errno == nil)
            #expect(e?.detail == "interface name \"\(name)\" \(reason)")
        }
    }

    @Test(arguments: accepted)
    func acceptedEverywhere(_ name: String) {
        #expect(LinkName.problem(with: name) == nil)
        #expect(Self.backendErrors(name).allSatisfy { $0 == nil })
    }

    /// What the iptables and the nftables backend's checks throw for `name` (nil: accepted).
    static func backendErrors(_ name: String) -> [FirewallError?] {
        var errors: [FirewallError?] = []
        do { try IptablesValidation.interfaceName(name, operation: .test, object: name); errors.append(nil) } catch { errors.append(error) }
        do { try NftValidation.interfaceName(name, operation: .test); errors.append(nil) } catch { errors.append(error) }
        return errors
    }
}

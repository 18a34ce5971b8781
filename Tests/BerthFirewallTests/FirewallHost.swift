import Foundation
import Testing
@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// A scratch namespace playing the host, with a firewall backend programming it, and the
/// backend's independent observers. `IptablesHost` and `NftHost` for the backend-specific
/// suites, `FirewallHost<any FirewallBackend>` for the suites that run against both.
struct FirewallHost<Backend: Sendable> {
    let scratch: ScratchNamespace
    let backend: Backend

    var name: String { scratch.name }
    var namespace: NetworkNamespace { scratch.namespace }

    func close() { scratch.close() }
}

typealias IptablesHost = FirewallHost<IptablesBackend>
typealias NftHost = FirewallHost<NftablesBackend>

extension FirewallHost where Backend == any FirewallBackend {
    init(_ kind: FirewallBackendKind, hairpinMode: Bool = false) throws {
        scratch = try ScratchNamespace(prefix: "fw-")
        backend = switch kind {
        case .iptables: try IptablesBackend(host: scratch.namespace, hairpinMode: hairpinMode)
        case .nftables: NftablesBackend(host: scratch.namespace, hairpinMode: hairpinMode)
        }
    }

    /// The whole ruleset as the backend's own tool lists it: equal listings mean the same rules
    /// (nftables with handles: nothing was re-created either).
    func listing() throws -> String {
        switch backend.kind {
        case .iptables: try Sandbox.iptablesSave(netns: name).joined(separator: "\n")
        case .nftables: try Sandbox.nftRuleset(netns: name, handles: true)
        }
    }
}

extension FirewallHost where Backend == IptablesBackend {
    init(variant: IptablesVariant = .auto, hairpinMode: Bool = false, forwardPolicy: ForwardPolicy = ForwardPolicy()) throws {
        scratch = try ScratchNamespace(prefix: "ipt-")
        backend = try IptablesBackend(host: scratch.namespace, variant: variant, hairpinMode: hairpinMode, forwardPolicy: forwardPolicy)
    }

    /// The iptables command matching the backend's variant.
    var iptables: String { backend.variant == .legacy ? "iptables-legacy" : "iptables-nft" }

    func listing(_ table: String = "filter") throws -> [String] {
        try Sandbox.iptablesRules(netns: name, table: table, command: iptables)
    }

    /// `iptables-save` without comments, counters zeroed.
    func save() throws -> [String] { try Sandbox.iptablesSave(netns: name, command: iptables + "-save") }

    func iptablesCommand(_ args: [String]) throws {
        let r = try Sandbox.exec(name, [iptables] + args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
    }

    /// The ip6tables command matching the backend's variant.
    var ip6tables: String { backend.variant == .legacy ? "ip6tables-legacy" : "ip6tables-nft" }

    /// `ip6tables-save` without comments, counters zeroed (empty: no table was ever used).
    func save6() throws -> [String] { try Sandbox.iptablesSave(netns: name, command: ip6tables + "-save") }

    /// `ip6tables-save` exactly as printed (comments and counters included).
    func rawSave6() throws -> String { try Sandbox.exec(name, [ip6tables + "-save"]).stdout }

    func ip6tablesCommand(_ args: [String]) throws {
        let r = try Sandbox.exec(name, [ip6tables] + args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
    }
}

extension FirewallHost where Backend == NftablesBackend {
    init(tableName: String = "berth", hairpinMode: Bool = false) throws {
        scratch = try ScratchNamespace(prefix: "nft-")
        backend = NftablesBackend(host: scratch.namespace, tableName: tableName, hairpinMode: hairpinMode)
    }

    /// Runs `nft ARGS` in the namespace; expects success unless `check` is false.
    @discardableResult
    func nft(_ args: [String], stdin: String? = nil, check: Bool = true) throws -> Sandbox.Output {
        let r = try Sandbox.exec(name, ["nft"] + args, stdin: stdin)
        if check { #expect(r.status == 0, "nft \(args): \(r.stderr)") }
        return r
    }

    /// `nft list ruleset` (no handles).
    func ruleset() throws -> String { try Sandbox.nftRuleset(netns: name) }

    /// `nft -a list ruleset` (with handles: equal listings mean nothing was re-created).
    func rulesetWithHandles() throws -> String { try Sandbox.nftRuleset(netns: name, handles: true) }

    /// `nft -j list ruleset` as the array under "nftables".
    func json() throws -> [[String: Any]] { try Sandbox.nftJSON(netns: name) }

    /// Every rule of table `table` as (chain, comment) from the JSON listing.
    func ruleOwners(table: String = "berth") throws -> [(chain: String, comment: String?)] {
        try json().compactMap { $0["rule"] as? [String: Any] }
            .filter { $0["table"] as? String == table }
            .map { ($0["chain"] as? String ?? "", $0["comment"] as? String) }
    }

}

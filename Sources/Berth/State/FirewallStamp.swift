@_spi(BerthInternal) import BerthFirewall
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Proof that the host's firewall was found to be exactly the records' rules
/// (`firewall-verified.json` in the state directory): the nf_tables ruleset generation at which
/// a reconciliation read the ruleset and changed nothing, with a digest of the rules the records
/// described then. While the kernel's generation and the records' digest are both unchanged, no
/// nf_tables program (nft, iptables-nft, Berth) has committed anything since and the records
/// describe the same rules, so the ruleset is still the verified one: the next process can skip
/// reading it (issue 11: a one-shot process opens only what its operation needs).
///
/// Written only after a verification whose generation reads before and after agree; a stamp of
/// another boot, host namespace or backend never matches; a missing, unreadable or stale stamp
/// only means the full check runs. Not fsync'd: losing it costs one check, never correctness.
struct FirewallStamp: Codable, Equatable {
    /// `/proc/sys/kernel/random/boot_id`: generations restart with every boot.
    var bootID: String
    /// The host namespace's identity (`NetworkNamespace.identityKey()`): generations are per namespace.
    var host: String
    var backend: FirewallBackendKind
    /// `NFTA_GEN_ID` at verification.
    var generation: UInt32
    /// `digest(_:)` of the records' `FirewallState` at verification.
    var rules: String

    static let fileName = "firewall-verified.json"

    /// The kernel's boot ID, or "" when unreadable (then no stamp ever matches: "" is never written).
    static func currentBootID() -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/sys/kernel/random/boot_id") else { return "" }
        return String(decoding: data.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// FNV-1a (64 bit, hex) of the rules' JSON with sorted keys: equal rules, equal digest, in any process.
    static func digest(_ rules: FirewallState) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(rules) else { return "" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension StateStore {
    private var firewallStampPath: String { "\(directory)/\(FirewallStamp.fileName)" }

    /// The recorded stamp, or nil (absent, unreadable, malformed).
    func loadFirewallStamp() -> FirewallStamp? {
        guard let data = FileManager.default.contents(atPath: firewallStampPath) else { return nil }
        return try? JSONDecoder().decode(FirewallStamp.self, from: data)
    }

    /// Records `stamp` (atomic rename, no directory sync); a failure leaves the old stamp, which
    /// matches only a ruleset it verified itself, or none.
    func saveFirewallStamp(_ stamp: FirewallStamp) {
        try? write(stamp, toFile: firewallStampPath, syncDirectory: false)
    }
}

/// The iptables tables Berth programs (Docker 20.10 uses filter and nat, and mangle for its SCTP
/// checksum rule; raw holds the loopback-local hardening rules, as Docker 28 writes them).
enum IptablesTable: String, Sendable, Hashable, CaseIterable {
    case filter
    case nat
    case raw
    case mangle

    /// The built-in chains of the table with their default policy, in `iptables-save` order.
    var builtinChains: [String] {
        switch self {
        case .filter: ["INPUT", "FORWARD", "OUTPUT"]
        case .nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
        case .raw: ["PREROUTING", "OUTPUT"]
        case .mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
        }
    }
}

/// One rule in the canonical form `iptables-save` prints: `-A <chain> <spec>`.
///
/// `spec` must be written exactly as iptables prints it back (matches in kernel order, `/32` on
/// host addresses, `-m tcp` after `-p tcp`), because presence is decided by comparing text with
/// the current `iptables-save` output.
struct IptablesRule: Hashable, Sendable, CustomStringConvertible {
    var table: IptablesTable
    var chain: String
    var spec: String

    init(_ table: IptablesTable, _ chain: String, _ spec: String) {
        self.table = table
        self.chain = chain
        self.spec = spec
    }

    /// `-A CHAIN SPEC`, the `iptables -S` / `iptables-save` line.
    var description: String { "-A \(chain) \(spec)" }

    /// The chain this rule jumps or goes to (`-j X` / `-g X`), if any.
    var target: String? { IptablesRule.target(ofSpec: spec) }

    static func target(ofSpec spec: String) -> String? {
        let tokens = spec.split(separator: " ")
        guard let index = tokens.lastIndex(where: { $0 == "-j" || $0 == "-g" }), index + 1 < tokens.count else {
            return nil
        }
        return String(tokens[index + 1])
    }
}

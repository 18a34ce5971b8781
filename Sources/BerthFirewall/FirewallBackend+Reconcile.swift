/// Defaults for backends that do not implement the exact reconciliation (test doubles):
/// `reapply` only, nothing reported removed.
@_spi(BerthInternal) extension FirewallBackend {
    public func reconcile(_ state: FirewallState, dryRun: Bool) throws(FirewallError) -> FirewallReconciliation {
        if !dryRun { try reapply(state) }
        return FirewallReconciliation()
    }

    public func undoSetUpBase() throws(FirewallError) {
        try removeAll(FirewallState())
    }
}

/// Berth's bridge names as the kernel shows them: `docker0` and `br-` + 12 lowercase hex (the
/// first 12 hex of the network ID). A bridge of this shape that no record explains is Berth's
/// leftover (Berth's ownership mark on the kernel side, design notes "Ownership").
package enum BerthNames {
    package static func isBerthBridge(_ name: String) -> Bool {
        if name == "docker0" { return true }
        return name.count == 15 && name.hasPrefix("br-") && isLowerHex(name.dropFirst(3))
    }

    /// `veth` + 7 lowercase hex: the names Berth (and Docker) give host ends.
    package static func isBerthVeth(_ name: String) -> Bool {
        name.count == 11 && name.hasPrefix("veth") && isLowerHex(name.dropFirst(4))
    }

    static func isHex(_ c: Character) -> Bool { ("0"..."9").contains(c) || ("a"..."f").contains(c) }

    /// True when `text` is only lowercase hex digits (Docker's IDs and the hex of Berth's names);
    /// true for an empty text, so callers check the length they need.
    package static func isLowerHex(_ text: some StringProtocol) -> Bool { text.allSatisfy(isHex) }
}

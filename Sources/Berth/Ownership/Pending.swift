@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// Unplug now, reclaim later (issue 11). A detached host end, a deleted network's bridge, are
/// first made harmless at once — off their bridge, down, in link group `Pending.group`, a bridge
/// renamed to `berthrm<8 hex>` so its name is free — and deleted later in one batch
/// (`RTM_DELLINK` by group: one RCU grace period for all of them). The group together with
/// Berth's naming (`isUnplugged`) is the kernel-side mark the reconciler sweeps (a pending link is
/// never recorded, so it is never a conflict).
package enum Pending {
    /// IFLA_GROUP of links waiting for deletion ("bert").
    package static let group: UInt32 = 0x6265_7274
    /// Prefix of the names pending links are renamed to (bridges; sandbox ends of endpoints in a
    /// sandbox Berth did not create, so their `ethN` is free).
    package static let namePrefix = "berthrm"

    /// True for a link Berth unplugged: in the pending group *and* of Berth's shapes — a host end
    /// `veth<7 hex>`, a TAP renamed `berthtap<7 hex>`, a bridge renamed `berthrm<8 hex>`, or a `br-<12 hex>` bridge whose rename a
    /// crash cut short. A link of someone else's that happens to be in the group is not Berth's
    /// and is never deleted (new-user trial).
    package static func isUnplugged(_ link: Link) -> Bool {
        guard link.group == group else { return false }
        switch link.kind {
        case "veth": return BerthNames.isBerthVeth(link.name)
        case "bridge": return isPendingBridgeName(link.name) || BerthNames.isBerthBridge(link.name)
        case "tun": return TapMark.isPendingName(link.name)
        default: return false
        }
    }

    /// `berthrm` + 8 lowercase hex.
    static func isPendingBridgeName(_ name: String) -> Bool {
        let tail = name.dropFirst(namePrefix.count)
        return name.hasPrefix(namePrefix) && tail.count == 8 && BerthNames.isLowerHex(tail)
    }

    /// Deletes every unplugged link of `session`'s namespace: one RTM_DELLINK by group when the
    /// group holds only Berth's links (one grace period for all of them), else Berth's one by one
    /// by index, so a foreign link in the group stays.
    /// - Throws: `NetlinkError` from the dump or a deletion (a link already gone is fine).
    package static func sweep(_ session: NetlinkSession) throws(NetlinkError) {
        let inGroup = try session.links().filter { $0.group == group }
        let ours = inGroup.filter(isUnplugged)
        if ours.isEmpty { return }
        if ours.count == inGroup.count {
            do { try session.deleteLinks(group: group) } catch where error.code == .notFound {}
            return
        }
        for link in ours {
            do { try session.deleteLink(index: link.index) } catch where error.code == .notFound {}
        }
    }

    /// A pending bridge name: `berthrm` + 8 random hex (15 bytes).
    static func bridgeName() -> String { namePrefix + RandomID.hex(8) }
    /// The pending name of an endpoint's sandbox end: `berthrm` + the host end's 7 hex.
    static func sandboxName(hostInterface: String) -> String {
        namePrefix + String(hostInterface.suffix(7))
    }
}

/// The background reclaimer of one controller: a thread (`CoalescingWorker`, namespace layer)
/// that deletes the unplugged links of the host namespace (`Pending.sweep`) whenever something was
/// unplugged, so no caller waits for the kernel's grace period. `drain()` waits until
/// everything asked for so far is gone.
final class Reclaimer: Sendable {
    private let worker: CoalescingWorker

    init(host: NetworkNamespace) {
        worker = CoalescingWorker { () -> (any Error)? in
            do throws(NetlinkError) {
                try Pending.sweep(NetlinkSession.route(in: host))
            } catch {
                return error
            }
            return nil
        }
    }

    /// Asks for a sweep; returns at once.
    func schedule() { worker.schedule() }

    /// Sweeps and waits until that sweep is done.
    /// - Returns: false when the thread could not run (the caller sweeps itself).
    func drain() throws(NetlinkError) -> Bool {
        let (done, failure) = worker.drain()
        if let failure = failure as? NetlinkError { throw failure }
        return done
    }

    /// Ends the thread after its current sweep (the controller is going away; what is still
    /// pending is swept by the next open's reconciliation or by another controller's reclaimer).
    func stop() { worker.stop() }
}

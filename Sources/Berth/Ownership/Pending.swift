@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// Unplug now, reclaim later (issue 11). A detached host end, a deleted network's bridge, are
/// first made harmless at once — off their bridge, down, in link group `Pending.group`, a bridge
/// renamed to `berthrm<8 hex>` so its name is free — and deleted later in one batch
/// (`RTM_DELLINK` by group: one RCU grace period for all of them). The group is the kernel-side
/// mark the reconciler sweeps (a pending link is never recorded, so it is never a conflict).
package enum Pending {
    /// IFLA_GROUP of links waiting for deletion ("bert").
    package static let group: UInt32 = 0x6265_7274
    /// Prefix of the names pending links are renamed to (bridges; sandbox ends of endpoints in a
    /// sandbox Berth did not create, so their `ethN` is free).
    package static let namePrefix = "berthrm"

    /// A pending bridge name: `berthrm` + 8 random hex (15 bytes).
    static func bridgeName() -> String { namePrefix + RandomID.hex(8) }
    /// The pending name of an endpoint's sandbox end: `berthrm` + the host end's 7 hex.
    static func sandboxName(hostInterface: String) -> String {
        namePrefix + String(hostInterface.suffix(7))
    }
}

/// The background reclaimer of one controller: a thread (`CoalescingWorker`, namespace layer)
/// that deletes every pending link of the host namespace by link group whenever something was
/// unplugged, so no caller waits for the kernel's grace period. `drain()` waits until
/// everything asked for so far is gone.
final class Reclaimer: Sendable {
    private let worker: CoalescingWorker

    init(host: NetworkNamespace) {
        worker = CoalescingWorker { () -> (any Error)? in
            do throws(NetlinkError) {
                try NetlinkSession.route(in: host).deleteLinks(group: Pending.group)
            } catch where error.code == .notFound {
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

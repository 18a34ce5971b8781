@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Unplugs a bridge-mode TAP without waiting for the kernel (issue 11's fast removal): off
    /// the bridge and down in one RTM_NEWLINK, then renamed `berthtap<7 hex>` and put into
    /// `Pending.group` in a second, so its name is free at once; deleted later with the pending group. A
    /// TAP already gone (fd custody: its last fd closed) is success.
    func unplugTap(_ endpoint: Endpoint, operation op: OperationName) -> [BerthError] {
        do {
            let link = try hostSession.link(named: endpoint.hostInterface)
            // Down and off the bridge first, still under its own name and Berth's TAP mark: a crash
            // here leaves a recorded TAP that the reconciler puts back on its bridge. The rename
            // (a link must be down for it) and the pending group go together in the second
            // request, so a pending TAP always has Berth's pending shape (crash-test regression).
            try hostSession.setLink(index: link.index, LinkChange(up: false, masterIndex: 0),
                                    operation: .unplug, object: endpoint.hostInterface)
            CrashPoint.step(op)
            try hostSession.setLink(index: link.index, LinkChange(name: TapMark.pendingPrefix + RandomID.hex(7), group: Pending.group),
                                    operation: .renameLink, object: endpoint.hostInterface)
            CrashPoint.step(op)
        } catch where error.code != .notFound {
            return [BerthError.wrap(error, operation: .unplug, object: endpoint.hostInterface)]
        } catch {}
        return []
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Unplugs a bridge-mode TAP without waiting for the kernel (issue 11's fast removal): off
    /// the bridge, down and into `Pending.group` in one RTM_NEWLINK, then renamed
    /// `berthtap<7 hex>` so its name is free at once; deleted later with the pending group. A
    /// TAP already gone (fd custody: its last fd closed) is success.
    func unplugTap(_ endpoint: Endpoint, operation op: OperationName) -> [BerthError] {
        do {
            let link = try hostSession.link(named: endpoint.hostInterface)
            try hostSession.setLink(index: link.index, LinkChange(up: false, masterIndex: 0, group: Pending.group),
                                    operation: .unplug, object: endpoint.hostInterface)
            CrashPoint.step(op)
            try hostSession.setLink(index: link.index, LinkChange(name: TapMark.pendingPrefix + RandomID.hex(7)),
                                    operation: .renameLink, object: endpoint.hostInterface)
            CrashPoint.step(op)
        } catch where error.code != .notFound {
            return [BerthError.wrap(error, operation: .unplug, object: endpoint.hostInterface)]
        } catch {}
        return []
    }
}

@_spi(BerthInternal) import BerthNamespace
extension NetworkController {
    /// Garbage collection on demand: the host set-up (unless `dryRun` or the configuration turns
    /// it off) and then the one reconciler (`reconcile()`), which removes everything of Berth's
    /// that no record explains: unfinished operations' objects, endpoints whose sandbox, veth or
    /// owner is gone, unrecorded `br-<12 hex>` bridges and `veth<7 hex>` ports on Berth's
    /// bridges, rules and DNATs of unknown networks or endpoints.
    /// - Parameters:
    ///   - validEndpoints: CNI GC's list of attachments still in use: every recorded endpoint not
    ///     listed (full 64-hex IDs) is released too. nil keeps every recorded endpoint.
    ///   - dryRun: report what would be removed; change nothing.
    /// - Returns: what was (or would be) removed and repaired.
    /// - Throws: `BerthError` `.state`, `.stateConflict`, `.permissionDenied`, `.system`.
    @discardableResult
    public func gc(validEndpoints: [String]? = nil, dryRun: Bool = false) throws(BerthError) -> GCReport {
        let op = OperationName.gc
        let options = ReconcileOptions(operation: op, validEndpoints: validEndpoints.map(Set.init), dryRun: dryRun)
        let prepare = configuration.setUpHost && !dryRun
        return try mutate(op, configuration.stateDirectory, prepare: false) { store in
            var early = GCReport(dryRun: dryRun)
            if prepare {
                try store.checkBinding(hostBinding, update: true)
                try resolveIntents(store, options, into: &early)
                try setUpHostSteps(store)
            }
            var report = try reconcileSteps(store, options)
            report.removed = early.removed + report.removed
            return report
        }
    }
}

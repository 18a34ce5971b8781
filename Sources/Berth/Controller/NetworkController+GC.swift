@_spi(BerthInternal) import BerthNamespace
extension NetworkController {
    /// Garbage collection on demand: the host set-up (unless `dryRun` or the configuration turns
    /// it off) and then the one reconciler (`reconcile()`), which removes everything of Berth's
    /// that no record explains: unfinished operations' objects, endpoints whose sandbox, veth or
    /// owner is gone, unrecorded `br-<12 hex>` bridges and `veth<7 hex>` ports on Berth's
    /// bridges, rules and DNATs of unknown networks or endpoints.
    /// - Parameters:
    ///   - validEndpoints: CNI GC's list of attachments still in use: every recorded endpoint not
    ///     listed is released too. An entry is a full endpoint ID or a unique prefix of one (the
    ///     12-character short ID Berth prints); an entry that matches no endpoint is allowed (CNI
    ///     lists attachments Berth may not know, see ``unmatchedEndpoints(_:)``). nil keeps every
    ///     recorded endpoint.
    ///   - network: with `validEndpoints`, the list speaks for this network only (name or ID; CNI
    ///     GC is per network configuration): endpoints of other networks are kept. A network not
    ///     found releases nothing by the list. nil: the list speaks for every network.
    ///   - dryRun: report what would be removed and repaired; change nothing. The report is the
    ///     one the same call without `dryRun` returns (same items, same order).
    /// - Returns: what was (or would be) removed and repaired.
    /// - Throws: `BerthError` `.state`, `.stateConflict`, `.permissionDenied`, `.system`;
    ///   `.endpointNotFound` when an entry is a prefix of several endpoint IDs, `.invalidArgument`
    ///   when an entry is not 1–64 lowercase hex characters (nothing changed in either case).
    @discardableResult
    public func gc(validEndpoints: [String]? = nil, network: String? = nil, dryRun: Bool = false) throws(BerthError) -> GCReport {
        let op = OperationName.gc
        let prepare = configuration.setUpHost && !dryRun
        return try mutate(op, configuration.stateDirectory, prepare: false) { store in
            var valid: Set<String>? = nil
            if let validEndpoints {
                let state = try store.load()
                let ids = Array(state.endpoints.keys)
                valid = try Set(validEndpoints.flatMap { entry throws(BerthError) in try Self.endpointIDs(matching: entry, in: ids, operation: op) })
                if let network {
                    // Under the same lock as the release: an endpoint another process attaches
                    // to another network meanwhile cannot be taken for unlisted.
                    let scope = try? resolve(network, in: state, operation: op).id
                    valid?.formUnion(state.endpoints.values.filter { $0.networkID != scope }.map(\.id))
                }
            }
            let options = ReconcileOptions(operation: op, validEndpoints: valid, dryRun: dryRun)
            if prepare { try store.checkBinding(hostBinding, update: true) }
            // The reconciler first (it resolves intents before anything else), then the host
            // set-up, which finds nothing left to do unless the default network is not recorded
            // yet: every repair is the reconciler's, so it is reported, and a dry run predicts it.
            let report = try reconcileSteps(store, options)
            if prepare { try setUpHostSteps(store) }
            return report
        }
    }

    /// The entries of `validEndpoints` that match no recorded endpoint (neither a full ID nor a
    /// prefix of one), for a caller that wants to say so; reads only.
    /// - Throws: `.invalidArgument` for an entry that is not an endpoint ID (`checkEndpointID`).
    public func unmatchedEndpoints(_ validEndpoints: [String]) throws(BerthError) -> [String] {
        for entry in validEndpoints where !entry.isEmpty { try Self.checkEndpointID(entry, operation: .gc) }
        let ids = try read(.gc, configuration.stateDirectory) { store in Array(try store.load().endpoints.keys) }
        return validEndpoints.filter { entry in !ids.contains { $0.hasPrefix(entry) } }
    }

    /// The recorded endpoint IDs an entry of a valid list names: the ID itself, the one ID it is
    /// a prefix of, or none. A prefix of several IDs is refused (releasing all but one of them
    /// would be a guess).
    static func endpointIDs(matching entry: String, in ids: [String], operation: OperationName) throws(BerthError) -> [String] {
        if entry.isEmpty { return [] }
        try checkEndpointID(entry, operation: operation)
        if ids.contains(entry) { return [entry] }
        let matches = ids.filter { $0.hasPrefix(entry) }
        if matches.count > 1 {
            throw BerthError(.endpointNotFound, operation: operation, object: entry,
                             detail: "ambiguous endpoint ID prefix \(entry) (\(matches.count) endpoints); give more of the ID")
        }
        return matches
    }
}

@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

/// The one reconciler (design notes, "Ownership"): kernel against records, both directions.
/// Called with the state directory's exclusive lock held, so every intent it finds belongs to a
/// dead operation. Order: intents; endpoints whose owner, sandbox or veth is gone (or, for gc,
/// not in the valid list); bridges of recorded networks; unrecorded Berth veths and bridges;
/// surviving host ends back on their bridges; the firewall, exactly. Each change is a crash
/// point of `options.operation`.
extension NetworkController {
    func reconcileSteps(_ store: StateStore, _ options: ReconcileOptions) throws -> GCReport {
        let op = options.operation
        var report = GCReport(dryRun: options.dryRun)
        try resolveIntents(store, options, into: &report)

        // Endpoints that nothing keeps any more.
        var state = try store.load()
        let allLinks = try hostSession.links()
        let hostLinks = Set(allLinks.map(\.name))
        for endpoint in state.endpointsInAttachOrder {
            guard let reason = releaseReason(endpoint, options, hostLinks) else { continue }
            report.removed.append(.init(kind: "endpoint", name: endpoint.id, reason: reason))
            if options.dryRun { state.endpoints[endpoint.id] = nil; continue }
            if endpoint.owner != nil, endpoint.createdSandbox, let ns = try? NetworkNamespace.open(path: endpoint.sandboxPath),
               ns.inode == endpoint.sandboxInode {
                ns.killProcesses()
            }
            let errors = releaseEndpoint(endpoint, store: store, operation: op)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: endpoint.id, errors: errors) }
            state = try store.load()
        }

        // Recorded networks: bridge, address, up.
        if !options.dryRun {
            var undo = UndoStack()
            for network in state.networks.values.sorted(by: { $0.created < $1.created }) {
                if !hostLinks.contains(network.bridge) {
                    report.repaired.append(.init(kind: "bridge", name: network.bridge, reason: "network \(network.name) is recorded"))
                }
                try ensureBridge(network, undo: &undo, operation: op)
            }
            undo.commit()
        }

        // Unrecorded Berth links: veths on Berth bridges first (a bridge's ports outlive it), then bridges.
        let links = try hostSession.links()
        let recordedBridges = Set(state.networks.values.map(\.bridge))
        let strayBridges = links.filter { $0.kind == "bridge" && BerthNames.isBerthBridge($0.name) && !recordedBridges.contains($0.name) }
        let ourBridgeIndexes = Set(links.filter { recordedBridges.contains($0.name) }.map(\.index)).union(strayBridges.map(\.index))
        let recordedVeths = Set(state.endpoints.values.map(\.hostInterface))
        for link in links where link.kind == "veth" && BerthNames.isBerthVeth(link.name) && !recordedVeths.contains(link.name) {
            guard let master = link.masterIndex, ourBridgeIndexes.contains(master) else { continue }
            report.removed.append(.init(kind: "veth", name: link.name, reason: "no endpoint records it"))
            if options.dryRun { continue }
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
        for bridge in strayBridges {
            report.removed.append(.init(kind: "bridge", name: bridge.name, reason: "no network records it"))
            if options.dryRun { continue }
            try deleteLinkIfPresent(bridge.index)
            CrashPoint.step(op)
        }

        // A recreated bridge lost its ports: put surviving host ends back.
        if !options.dryRun {
            for endpoint in state.endpointsInAttachOrder {
                guard let network = state.networks[endpoint.networkID] else { continue }
                let bridge = try hostSession.link(named: network.bridge)
                guard let veth = try? hostSession.link(named: endpoint.hostInterface) else { continue }
                if veth.masterIndex != bridge.index || !veth.isUp {
                    report.repaired.append(.init(kind: "veth", name: endpoint.hostInterface, reason: "back on bridge \(network.bridge)"))
                    try hostSession.setLink(index: veth.index, LinkChange(up: true, masterIndex: bridge.index),
                                            operation: .setMaster, object: endpoint.hostInterface)
                    if network.hairpin { try hostSession.setBridgePortHairpin(endpoint.hostInterface) }
                    CrashPoint.step(op)
                }
            }
        }

        // The firewall: exactly the records' rules, in their order.
        let removedRules = try firewall.reconcile(state.firewallState, dryRun: options.dryRun)
        report.removed += removedRules.map { .init(kind: "rule", name: $0, reason: "no record explains it") }
        if !removedRules.isEmpty { CrashPoint.step(op) }
        return report
    }

    /// Why a recorded endpoint must go, or nil.
    private func releaseReason(_ endpoint: Endpoint, _ options: ReconcileOptions, _ hostLinks: Set<String>) -> String? {
        if let owner = endpoint.owner, !owner.isAlive { return "owner process \(owner.pid) is gone" }
        if let valid = options.validEndpoints, !valid.contains(endpoint.id) { return "not in the list of valid endpoints" }
        if !sandboxAlive(endpoint) { return "sandbox \(endpoint.sandboxName ?? endpoint.sandboxPath) is gone" }
        if !hostLinks.contains(endpoint.hostInterface) { return "veth \(endpoint.hostInterface) is gone" }
        return nil
    }

    /// RTM_DELLINK by index; a link already gone is fine.
    private func deleteLinkIfPresent(_ index: Int32) throws(NetlinkError) {
        do { try hostSession.deleteLink(index: index) } catch {
            if error.code != .notFound { throw error }
        }
    }

    /// Resolves the intents of operations that did not finish: dropped when the operation's
    /// record exists, else everything they name that no record explains is removed first.
    func resolveIntents(_ store: StateStore, _ options: ReconcileOptions, into report: inout GCReport) throws {
        let op = options.operation
        for intent in try store.intents() {
            let state = try store.load()
            if let network = intent.network {
                if state.networks[network.id] == nil {
                    report.removed.append(.init(kind: "intent", name: intent.id, reason: "\(intent.operation) \(network.name) did not finish"))
                    if !options.dryRun { try rollBack(network: network, state: state, op: op, report: &report) }
                }
            } else if let endpointID = intent.endpointID {
                if state.endpoints[endpointID] == nil {
                    report.removed.append(.init(kind: "intent", name: intent.id, reason: "attach of endpoint \(endpointID.prefix(12)) did not finish"))
                    if !options.dryRun { try rollBack(attach: intent, state: state, op: op, report: &report) }
                }
            }
            if !options.dryRun {
                try store.resolve(intent)
                CrashPoint.step(op)
            }
        }
    }

    /// A network create that did not finish: its rules and its bridge, unless a recorded network
    /// uses that bridge (e.g. `docker0` made again by a later set-up).
    private func rollBack(network: Network, state: StateSnapshot, op: OperationName, report: inout GCReport) throws {
        if state.networks.values.contains(where: { $0.bridge == network.bridge }) { return }
        try firewall.removeNetwork(network.firewallRules)
        CrashPoint.step(op)
        if network.ownsBridge, let link = try? hostSession.link(named: network.bridge), link.kind == "bridge" {
            report.removed.append(.init(kind: "bridge", name: network.bridge, reason: "created by an unfinished \(network.name) create"))
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
    }

    /// An attach that did not finish: its port rules, its veth (any announced name on the
    /// announced bridge that no endpoint records), the namespace it was creating.
    private func rollBack(attach intent: Intent, state: StateSnapshot, op: OperationName, report: inout GCReport) throws {
        if let ports = intent.ports {
            try firewall.removePorts(ports)
            CrashPoint.step(op)
        }
        let recordedVeths = Set(state.endpoints.values.map(\.hostInterface))
        let bridgeIndex = intent.bridge.flatMap { try? hostSession.link(named: $0) }?.index
        for name in intent.veths where !recordedVeths.contains(name) {
            guard let link = try? hostSession.link(named: name), link.kind == "veth",
                  bridgeIndex == nil || link.masterIndex == bridgeIndex else { continue }
            report.removed.append(.init(kind: "veth", name: name, reason: "announced by an unfinished attach"))
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
        if let name = intent.namespace, !state.endpoints.values.contains(where: { $0.sandboxName == name }) {
            report.removed.append(.init(kind: "netns", name: name, reason: "created by an unfinished attach"))
            do { try NetworkNamespace.delete(name: name) } catch {
                if error.code != .notFound { throw error }
            }
            CrashPoint.step(op)
        }
    }
}

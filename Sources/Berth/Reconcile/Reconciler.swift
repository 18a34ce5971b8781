@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// The one reconciler (design notes, "Ownership"): kernel against records, both directions.
/// Called with the state directory's exclusive lock held, so every intent it finds belongs to a
/// dead operation. Order: links pending deletion (issue 11: deleted by group, not reported);
/// intents; endpoints whose owner, sandbox or veth is gone (or, for gc, not in the valid list,
/// or whose network is being removed); networks whose removal was interrupted (finished); what
/// those two unplugged (deleted by group); bridges of recorded networks; unrecorded Berth veths
/// and bridges; surviving host ends back on their bridges; the firewall, exactly. Each change is
/// a crash point of `options.operation`.
///
/// A dry run walks the same steps on the same kernel and records and reports the same items:
/// each step decides from what it reads, and the changes an earlier step would have made are
/// applied to the view of the later ones (`ReconcileView`: links gone, bridges recreated, rules
/// explained by what a release or rollback removes on its own), so nothing is counted twice and
/// nothing the real run removes or repairs is missing.
/// What the steps of a dry run would have changed, for the steps after them.
struct ReconcileView {
    /// Links an earlier step removes (by index).
    var goneLinks: Set<Int32> = []
    /// Bridges of recorded networks an earlier step creates.
    var newBridges: Set<String> = []
    /// Rules an earlier step removes itself (an unfinished operation's, a released endpoint's):
    /// not reported again by the firewall step.
    var explained = FirewallState()

    /// `links` as the later steps see them: without the links an earlier step removes and
    /// without pending ones (deleted with their group), masters among them cleared.
    func visible(_ links: [Link]) -> [Link] {
        links.filter { !goneLinks.contains($0.index) && !Pending.isUnplugged($0) }.map { link in
            var link = link
            if let master = link.masterIndex, goneLinks.contains(master) { link.masterIndex = nil }
            return link
        }
    }
}

extension NetworkController {
    func reconcileSteps(_ store: StateStore, _ options: ReconcileOptions) throws -> GCReport {
        let op = options.operation
        let dry = options.dryRun
        var report = GCReport(dryRun: dry)
        var view = ReconcileView()
        // The FORWARD policy decision comes before the first firewall write of this state
        // directory (the reconciler writes net.ipv4.ip_forward too): a `gc` or `reconcile()` that
        // runs before any host set-up must not make Berth's own 1 read as the host's.
        if !dry, store.recordedForwardPolicy() == nil { try decideForwardPolicy(store, fresh: try store.load().networks.isEmpty) }
        // Links unplugged by finished removals and not yet deleted (issue 11): deleted first, in
        // one RTM_DELLINK by group. Not report items (the removal that unplugged them already
        // succeeded and released its record; nothing is wrong); the dry run sees them as gone.
        try reclaimPending(dry, into: &view, operation: op)
        try resolveIntents(store, options, into: &report, view: &view)
        try removeTempFiles(store, options, into: &report)

        // Endpoints that nothing keeps any more.
        var state = try store.load()
        let hostLinks = Set(view.visible(try hostSession.links()).map(\.name))
        let recordedPorts = firewallState(state).endpoints
        for endpoint in state.endpointsInAttachOrder {
            guard let reason = releaseReason(endpoint, options, hostLinks, removing: state.networks[endpoint.networkID]) else { continue }
            report.removed.append(.init(kind: "endpoint", name: endpoint.id, reason: reason))
            if dry {
                state.endpoints[endpoint.id] = nil
                view.explained.endpoints += recordedPorts.filter { $0.endpointID == endpoint.id }
                if let veth = try? hostSession.link(named: endpoint.hostInterface) { view.goneLinks.insert(veth.index) }
                continue
            }
            if endpoint.owner != nil, endpoint.createdSandbox, let ns = try? NetworkNamespace.open(path: endpoint.sandboxPath),
               ns.inode == endpoint.sandboxInode {
                ns.killProcesses()
            }
            let errors = releaseEndpoint(endpoint, store: store, operation: op)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: endpoint.id, errors: errors) }
            state = try store.load()
        }

        // Networks whose removal a crash interrupted (`inDelete`): finished, not undone (their
        // endpoints were released above).
        for network in state.networks.values.sorted(by: { $0.created < $1.created }) where network.inDelete {
            report.removed.append(.init(kind: "network", name: network.name, reason: "its removal was interrupted"))
            if dry {
                state.networks[network.id] = nil
                view.explained.networks.append(network.firewallRules)
                if network.ownsBridge, let bridge = try? hostSession.link(named: network.bridge) { view.goneLinks.insert(bridge.index) }
                continue
            }
            let errors = try takeDown(network, attached: [], store: store, operation: op)
            if !errors.isEmpty { throw BerthError(.multiple, operation: op, object: network.name, errors: errors) }
            state = try store.load()
        }
        // What the releases and removals above unplugged goes in one more batch: a real run
        // leaves nothing pending (the dry run already sees those links as gone).
        try reclaimPending(dry, into: &view, operation: op)

        // Recorded networks: bridge, address, up.
        do {
            let byName = Dictionary(view.visible(try hostSession.links()).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var undo = UndoStack()
            for network in state.networks.values.sorted(by: { $0.created < $1.created }) {
                report.repaired += try bridgeRepairs(network, byName[network.bridge])
                if byName[network.bridge] == nil { view.newBridges.insert(network.bridge) }
                if !dry { try ensureBridge(network, undo: &undo, operation: op) }
            }
            undo.commit()
        }

        // Unrecorded Berth links: veths on Berth bridges first (a bridge's ports outlive it), then bridges.
        let links = view.visible(try hostSession.links())
        let recordedBridges = Set(state.networks.values.map(\.bridge))
        let strayBridges = links.filter { $0.kind == "bridge" && BerthNames.isBerthBridge($0.name) && !recordedBridges.contains($0.name) }
        let ourBridgeIndexes = Set(links.filter { recordedBridges.contains($0.name) }.map(\.index)).union(strayBridges.map(\.index))
        let recordedVeths = Set(state.endpoints.values.map(\.hostInterface))
        for link in links where link.kind == "veth" && BerthNames.isBerthVeth(link.name) && !recordedVeths.contains(link.name) {
            guard let master = link.masterIndex, ourBridgeIndexes.contains(master) else { continue }
            report.removed.append(.init(kind: "veth", name: link.name, reason: "no endpoint records it"))
            view.goneLinks.insert(link.index)
            if dry { continue }
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
        // TAPs in Berth's TAP group that no record names: an attach a crash cut short after
        // TUNSETPERSIST (issue 16).
        for link in links where link.kind == "tun" && link.group == TapMark.group && !recordedVeths.contains(link.name) {
            report.removed.append(.init(kind: "tap", name: link.name, reason: "no endpoint records it"))
            view.goneLinks.insert(link.index)
            if dry { continue }
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
        for bridge in strayBridges {
            report.removed.append(.init(kind: "bridge", name: bridge.name, reason: "no network records it"))
            view.goneLinks.insert(bridge.index)
            if dry { continue }
            try deleteLinkIfPresent(bridge.index)
            CrashPoint.step(op)
        }

        // A recreated bridge lost its ports: put surviving host ends back.
        let current = Dictionary(view.visible(try hostSession.links()).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for endpoint in state.endpointsInAttachOrder {
            guard let network = state.networks[endpoint.networkID], let veth = current[endpoint.hostInterface] else { continue }
            let bridge = current[network.bridge]
            let recreated = dry && view.newBridges.contains(network.bridge)
            guard recreated || bridge == nil || veth.masterIndex != bridge?.index || !veth.isUp else { continue }
            report.repaired.append(.init(kind: "veth", name: endpoint.hostInterface, reason: "back on bridge \(network.bridge)"))
            if dry { continue }
            let bridgeIndex = try bridge?.index ?? hostSession.link(named: network.bridge).index
            try hostSession.setLink(index: veth.index, LinkChange(up: true, masterIndex: bridgeIndex),
                                    operation: .setMaster, object: endpoint.hostInterface)
            if hairpinMode { try hostSession.setBridgePortHairpin(endpoint.hostInterface) }
            CrashPoint.step(op)
        }

        // The firewall: exactly the records' rules, in their order. Skipped when it is still the
        // verified one and nothing above changed (`FirewallStamp`); a check that finds it right
        // with the generation unchanged across the read records a new stamp.
        let wanted = firewallState(state)
        if options.trustFirewall && !dry && report.removed.isEmpty && report.repaired.isEmpty { return report }
        let generationBefore = dry ? nil : try? firewall.rulesetGeneration()
        var rules = try firewall.reconcile(wanted, dryRun: dry)
        if let generationBefore, rules.removed.isEmpty, rules.repaired.isEmpty,
           let generationAfter = try? firewall.rulesetGeneration(), generationAfter == generationBefore {
            recordFirewallVerified(store, rules: wanted, generation: generationAfter)
        }
        if dry, !rules.removed.isEmpty, !view.explained.networks.isEmpty || !view.explained.endpoints.isEmpty {
            // What a rollback or release above removes itself is not the firewall step's to report.
            var wider = wanted
            wider.networks += view.explained.networks
            wider.endpoints += view.explained.endpoints
            if let unexplained = try? firewall.reconcile(wider, dryRun: true) {
                let keep = Set(unexplained.removed)
                rules.removed = rules.removed.filter(keep.contains)
            }
        }
        report.removed += rules.removed.map { .init(kind: "rule", name: $0, reason: "no record explains it") }
        report.repaired += rules.repaired.map { line in
            let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
            return .init(kind: "rules", name: parts[0], reason: parts.count > 1 ? parts[1] : "the records describe it")
        }
        if !dry && !(rules.removed.isEmpty && rules.repaired.isEmpty) { CrashPoint.step(op) }
        try reconcileProxies(store, state, options, into: &report)
        return report
    }

    /// The userland proxies, after the rules: a running proxy of this state directory that no
    /// endpoint record names (its starter was killed before the record) is stopped; with the
    /// proxy on, a recorded binding whose proxy is gone (killed, or a pid now someone else's) is
    /// restarted and the record updated, or reported when its port cannot be bound (another
    /// program took it); with the proxy off, recorded proxies are stopped (a mode switch).
    /// `state`: the records as the earlier steps left them (a dry run's view drops what they
    /// would release), so a dry run reports what the real run does.
    private func reconcileProxies(_ store: StateStore, _ state: StateSnapshot, _ options: ReconcileOptions,
                                  into report: inout GCReport) throws {
        let op = options.operation
        // Every record counts here, also those a dry run's view drops: the real run's releases
        // stopped their proxies themselves, so neither run reports them.
        let recorded = Set(try store.load().endpoints.values.flatMap { $0.proxies ?? [] }.map(\.process))
        for (process, endpointID) in proxies.running() where !recorded.contains(process) {
            report.removed.append(.init(kind: "proxy", name: "pid \(process.pid)",
                                        reason: "no endpoint records it (endpoint \(endpointID.prefix(12)))"))
            if options.dryRun { continue }
            proxies.stop([ProxyProcess(process: process, port: PortMapping(hostPort: 1, containerPort: 1))])
            CrashPoint.step(op)
        }
        for endpoint in state.endpointsInAttachOrder {
            guard let network = state.networks[endpoint.networkID] else { continue }
            let wantsProxies = configuration.userlandProxy && !network.isInternal
            var kept: [ProxyProcess] = []
            var changed = false
            // One proxy per port and family, ranges included (the `::` one of a dual binding
            // too), to the endpoint's IPv6 address; Docker's `::` proxy of an IPv4-only
            // container forwards to its IPv4 address.
            let planned = proxies.plan(endpoint.ports.flatMap(\.singles), container: endpoint.address, container6: endpoint.address6)
            for p in endpoint.proxies ?? [] {
                if wantsProxies && p.process.isAlive && planned.contains(where: { $0.port == p.port }) { kept.append(p); continue }
                changed = true
                if p.process.isAlive {
                    report.removed.append(.init(kind: "proxy", name: "pid \(p.process.pid)",
                                                reason: wantsProxies ? "its binding is not recorded" : "the userland proxy is off"))
                    if !options.dryRun { proxies.stop([p]) }
                } else if !options.dryRun {
                    ProcessRunner.reapChild(p.process.pid, wait: false)   // a zombie of this process
                }
            }
            if wantsProxies {
                for proxy in planned where !kept.contains(where: { $0.port == proxy.port }) {
                    changed = true
                    let name = proxy.port.proxyBindingName
                    if options.dryRun {
                        report.repaired.append(.init(kind: "proxy", name: name, reason: "endpoint \(endpoint.id.prefix(12)) publishes it"))
                        continue
                    }
                    do {
                        kept.append(try proxies.startOne(proxy, endpointID: endpoint.id, operation: op, object: endpoint.id))
                        report.repaired.append(.init(kind: "proxy", name: name, reason: "endpoint \(endpoint.id.prefix(12)) publishes it"))
                    } catch {
                        report.removed.append(.init(kind: "proxy", name: name, reason: "not restarted: \(error.description)"))
                    }
                }
            }
            guard changed, !options.dryRun else { continue }
            var updated = endpoint
            updated.proxies = kept.isEmpty ? nil : kept
            try store.save(updated)
            CrashPoint.step(op)
        }
    }

    /// What `ensureBridge` would change for a recorded network, as repaired items.
    private func bridgeRepairs(_ network: Network, _ link: Link?) throws -> [GCReport.Item] {
        let why = "network \(network.name) is recorded"
        guard let link else { return [.init(kind: "bridge", name: network.bridge, reason: why)] }
        var items: [GCReport.Item] = []
        let wanted = IPAddress.v4(network.gateway)
        let present = try hostSession.addresses(family: RTNL.AF_INET, linkIndex: link.index)
        if !present.contains(where: { $0.address == wanted && $0.prefixLength == network.subnet.prefixLength }) {
            items.append(.init(kind: "address", name: "\(network.bridge) \(network.gateway)/\(network.subnet.prefixLength)",
                               reason: "\(why) with this gateway"))
        }
        if !link.isUp { items.append(.init(kind: "link", name: "\(network.bridge) up", reason: "\(why); its bridge was down")) }
        return items
    }

    /// Temp files of record writes killed between write and rename (`.<id>.json.<pid>.tmp`):
    /// under the exclusive lock no writer is alive, so every one is stale.
    /// Temp files of killed writes, and endpoint records a machine crash cut short.
    private func removeTempFiles(_ store: StateStore, _ options: ReconcileOptions, into report: inout GCReport) throws {
        for name in try store.load().unreadableEndpoints {
            report.removed.append(.init(kind: "record", name: "endpoints/\(name)", reason: "does not decode (cut short by a machine crash)"))
            if options.dryRun { continue }
            let path = "\(store.directory)/endpoints/\(name)"
            if unlink(path) != 0, case let err = Errno.current, err.rawValue != ENOENT {
                throw BerthError(.state, errno: err, operation: options.operation, object: path, detail: "cannot remove an unreadable record")
            }
            CrashPoint.step(options.operation)
        }
        // The directory itself too: host.json, the firewall stamp.
        for sub in ["networks", "endpoints", "intents", ""] {
            let dir = sub.isEmpty ? store.directory : "\(store.directory)/\(sub)"
            for name in store.staleTempFiles(in: sub) {
                report.removed.append(.init(kind: "temp file", name: sub.isEmpty ? name : "\(sub)/\(name)",
                                            reason: "left by a write killed before its rename"))
                if options.dryRun { continue }
                if unlink("\(dir)/\(name)") != 0, case let err = Errno.current, err.rawValue != ENOENT {
                    throw BerthError(.state, errno: err, operation: options.operation, object: "\(dir)/\(name)",
                                     detail: "cannot remove a stale temp file")
                }
                CrashPoint.step(options.operation)
            }
        }
    }

    /// Why a recorded endpoint must go, or nil.
    private func releaseReason(_ endpoint: Endpoint, _ options: ReconcileOptions, _ hostLinks: Set<String>,
                               removing network: Network?) -> String? {
        if let network, network.inDelete { return "network \(network.name) is being removed" }
        if let owner = endpoint.owner, !owner.isAlive { return "owner process \(owner.pid) is gone" }
        if let valid = options.validEndpoints, !valid.contains(endpoint.id) { return "not in the list of valid endpoints" }
        if !sandboxAlive(endpoint) { return "sandbox \(endpoint.sandboxName ?? endpoint.sandboxPath) is gone" }
        if !hostLinks.contains(endpoint.hostInterface) { return "\(endpoint.isHostTap ? "tap" : "veth") \(endpoint.hostInterface) is gone" }
        if let tap = endpoint.tap, tap.mode == .tcRedirect, !redirectedTapAlive(endpoint) { return "tap \(tap.name) is gone" }
        return nil
    }

    /// The links of the pending group (issue 11): a real run deletes them in one RTM_DELLINK by
    /// group (a crash point); a dry run notes them as gone for the later steps. Neither reports
    /// them.
    private func reclaimPending(_ dry: Bool, into view: inout ReconcileView, operation op: OperationName) throws {
        let pending = try hostSession.links().filter(Pending.isUnplugged)
        if pending.isEmpty { return }
        view.goneLinks.formUnion(pending.map(\.index))
        if dry { return }
        try sweepPending()
        CrashPoint.step(op)
    }

    /// RTM_DELLINK by index; a link already gone is fine.
    private func deleteLinkIfPresent(_ index: Int32) throws(NetlinkError) {
        do { try hostSession.deleteLink(index: index) } catch {
            if error.code != .notFound { throw error }
        }
    }

    /// Resolves the intents of operations that did not finish (see the variant with a view).
    func resolveIntents(_ store: StateStore, _ options: ReconcileOptions, into report: inout GCReport) throws {
        var view = ReconcileView()
        try resolveIntents(store, options, into: &report, view: &view)
    }

    /// Resolves the intents of operations that did not finish: dropped when the operation's
    /// record exists, else everything they name that no record explains is removed first. A dry
    /// run reports the same items and notes in `view` what the removals would change.
    func resolveIntents(_ store: StateStore, _ options: ReconcileOptions, into report: inout GCReport,
                        view: inout ReconcileView) throws {
        let op = options.operation
        for intent in try store.intents() {
            let state = try store.load()
            if let network = intent.network {
                if state.networks[network.id] == nil {
                    report.removed.append(.init(kind: "intent", name: intent.id, reason: "\(intent.operation) \(network.name) did not finish"))
                    try rollBack(network: network, state: state, options, report: &report, view: &view)
                }
            } else if let endpointID = intent.endpointID {
                if state.endpoints[endpointID] == nil {
                    report.removed.append(.init(kind: "intent", name: intent.id, reason: "attach of endpoint \(endpointID.prefix(12)) did not finish"))
                    try rollBack(attach: intent, state: state, options, report: &report, view: &view)
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
    private func rollBack(network: Network, state: StateSnapshot, _ options: ReconcileOptions,
                          report: inout GCReport, view: inout ReconcileView) throws {
        let op = options.operation
        if state.networks.values.contains(where: { $0.bridge == network.bridge }) { return }
        if options.dryRun {
            view.explained.networks.append(network.firewallRules)
        } else {
            try firewall.removeNetwork(network.firewallRules)
            CrashPoint.step(op)
        }
        if network.ownsBridge, let link = try? hostSession.link(named: network.bridge), link.kind == "bridge",
           !view.goneLinks.contains(link.index) {
            report.removed.append(.init(kind: "bridge", name: network.bridge, reason: "created by an unfinished \(network.name) create"))
            view.goneLinks.insert(link.index)
            if options.dryRun { return }
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
    }

    /// An attach that did not finish: its port rules, its veth (any announced name on the
    /// announced bridge that no endpoint records), the namespace it was creating.
    private func rollBack(attach intent: Intent, state: StateSnapshot, _ options: ReconcileOptions,
                          report: inout GCReport, view: inout ReconcileView) throws {
        let op = options.operation
        if let ports = intent.ports {
            if options.dryRun {
                view.explained.endpoints.append(ports)
            } else {
                try firewall.removePorts(ports)
                CrashPoint.step(op)
            }
        }
        let recordedVeths = Set(state.endpoints.values.map(\.hostInterface))
        let bridgeIndex = intent.bridge.flatMap { try? hostSession.link(named: $0) }?.index
        for name in intent.veths where !recordedVeths.contains(name) {
            guard let link = try? hostSession.link(named: name), link.kind == "veth", !view.goneLinks.contains(link.index),
                  bridgeIndex == nil || link.masterIndex == bridgeIndex else { continue }
            report.removed.append(.init(kind: "veth", name: name, reason: "announced by an unfinished attach"))
            view.goneLinks.insert(link.index)
            if options.dryRun { continue }
            try deleteLinkIfPresent(link.index)
            CrashPoint.step(op)
        }
        if let name = intent.namespace, !state.endpoints.values.contains(where: { $0.sandboxName == name }) {
            report.removed.append(.init(kind: "netns", name: name, reason: "created by an unfinished attach"))
            if options.dryRun { return }
            do { try NetworkNamespace.delete(name: name) } catch {
                if error.code != .notFound { throw error }
            }
            CrashPoint.step(op)
        }
    }
}

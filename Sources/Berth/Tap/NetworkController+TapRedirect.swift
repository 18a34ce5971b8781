@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// tc-redirect mode (issue 16; what tc-redirect-tap and Kata's `tcfilter` model do): a veth
    /// endpoint is attached into `tap.sandbox` exactly as `attach(network:sandbox:)` does; then,
    /// in that sandbox, the TAP is made (TUNSETIFF on the namespace thread inside it, IFF_TUN_EXCL),
    /// given the network's MTU and brought up, and joined to the veth's sandbox end: an ingress
    /// qdisc on each and a u32 match-all filter with a mirred egress redirect (TC_ACT_STOLEN) both
    /// ways, so every frame the guest writes leaves through the veth and every frame arriving on
    /// the veth goes to the guest. The guest takes over the veth's MAC and address (the sandbox's
    /// own stack sees none of that traffic). Crash safety: the endpoint record names the TAP
    /// (`Endpoint.tap`) before the TAP exists, so whatever a crash leaves is removed with the
    /// endpoint by detach or by the reconciler; until TUNSETPERSIST the TAP dies with Berth's fds.
    /// - Throws: as `attach(network:tap:)`, plus the veth attach's errors (`.sandboxNotFound`, …).
    ///   A failure after the veth attach detaches it again.
    func attachRedirectedTap(network nameOrID: String, tap: TapOptions) throws(BerthError) -> TapAttachment {
        let op = OperationName.attachTap
        guard let sandbox = tap.sandbox else {
            throw BerthError(.invalidArgument, operation: op, object: nameOrID, detail: "tc-redirect mode needs a sandbox")
        }
        let veth = try attach(network: nameOrID, sandbox: sandbox,
                              options: AttachOptions(address: tap.address, mac: tap.mac, ports: tap.ports, publish: tap.publish))
        do {
            return try mutate(op, nameOrID) { store throws -> TapAttachment in
                let state = try store.load()
                guard var endpoint = state.endpoints[veth.id], let network = state.networks[endpoint.networkID],
                      let ns = liveSandbox(endpoint) else {
                    throw BerthError(.endpointNotFound, operation: op, object: veth.id, detail: "the veth endpoint went away")
                }
                let session = try NetlinkSession.route(in: ns)
                // The name is fixed before the TAP exists so that the record can name it first.
                let name = try Self.expandTapName(tap.name, session: session)
                endpoint.tap = TapRecord(mode: .tcRedirect, name: name, custody: tap.custody, queues: tap.queues,
                                         vnetHeader: tap.vnetHeader, owner: tap.owner, group: tap.group)
                try store.save(endpoint)
                CrashPoint.step(op)
                var fds: [Int32] = []
                var undo = UndoStack()
                do {
                    let flags = TapDevice.Flags(vnetHeader: tap.vnetHeader, multiQueue: tap.queues > 1)
                    do throws(NamespaceError) {
                        fds = try TapDevice.open(name: name, flags: flags, queues: tap.queues, exclusive: true, in: ns).fds
                    } catch {
                        throw explainTapFailure(error, name: name, flags: flags, session: session, network: network.name)
                    }
                    let opened = fds
                    undo.push(.deleteTap, name) {
                        TapDevice.close(opened)
                        try Self.deleteTapIfPresent(name, session: session)
                    }
                    CrashPoint.step(op)
                    let tapLink = try session.link(named: name)
                    let inner = try session.link(named: endpoint.interfaceName)
                    try session.setLink(index: tapLink.index, LinkChange(up: true, mtu: network.mtu ?? inner.mtu),
                                        operation: .setLinkUp, object: name)
                    try session.addIngressQdisc(index: inner.index, object: endpoint.interfaceName)
                    let innerIndex = inner.index, innerName = endpoint.interfaceName
                    undo.push(.deleteQdisc, innerName) {
                        try Self.deleteIngressIfPresent(index: innerIndex, object: innerName, session: session)
                    }
                    try session.addIngressQdisc(index: tapLink.index, object: name)
                    try session.addRedirectFilter(index: inner.index, to: tapLink.index, object: "\(endpoint.interfaceName) → \(name)")
                    try session.addRedirectFilter(index: tapLink.index, to: inner.index, object: "\(name) → \(endpoint.interfaceName)")
                    CrashPoint.step(op)
                    if let first = fds.first {
                        try TapDevice.setOwner(first, uid: tap.owner, gid: tap.group, name: name)
                        if tap.custody == .persistent {
                            try TapDevice.setPersistent(first, true, name: name)
                            CrashPoint.step(op)
                        }
                    }
                    undo.commit()
                } catch {
                    let failures = undo.rollBack()
                    throw RolledBack.combining(error, failures)
                }
                if tap.custody == .persistent {
                    TapDevice.close(fds)
                    fds = []
                }
                return TapAttachment(endpoint: endpoint, guest: guestConfiguration(endpoint, network: network, tapName: name), fds: fds)
            }
        } catch {
            _ = try? detach(endpoint: veth.id)
            throw error
        }
    }

    /// A template's `%d` → the lowest number whose name is free in the session's namespace
    /// (the kernel's own choice, made first so the record can name the TAP before it exists).
    static func expandTapName(_ template: String, session: NetlinkSession) throws(BerthError) -> String {
        guard template.contains("%d") else { return template }
        let taken = Set((try? session.links())?.map(\.name) ?? [])
        for n in 0..<100_000 {
            let name = template.replacing("%d", with: String(n))
            if name.utf8.count > 15 { break }
            if !taken.contains(name) { return name }
        }
        throw BerthError(.interfaceInUse, operation: .attachTap, object: template, detail: "no free name for template \(template)")
    }

    /// Removes a tc-redirect endpoint's TAP and the veth's ingress qdisc (its filters go with
    /// it) in the live sandbox; a TAP or qdisc already gone, or a sandbox gone, is success.
    func removeRedirectedTap(_ endpoint: Endpoint, operation op: OperationName) -> [BerthError] {
        guard let tap = endpoint.tap, tap.mode == .tcRedirect, let ns = liveSandbox(endpoint) else { return [] }
        var errors: [BerthError] = []
        do {
            let session = try NetlinkSession.route(in: ns)
            try Self.deleteTapIfPresent(tap.name, session: session)
            CrashPoint.step(op)
            if let inner = try? session.link(named: endpoint.interfaceName) {
                try Self.deleteIngressIfPresent(index: inner.index, object: endpoint.interfaceName, session: session)
            }
        } catch {
            errors.append(BerthError.wrap(error, operation: .deleteTap, object: tap.name))
        }
        return errors
    }

    /// RTM_DELLINK by name; a TAP already gone is fine.
    static func deleteTapIfPresent(_ name: String, session: NetlinkSession) throws(NetlinkError) {
        do { try session.deleteLink(named: name) } catch {
            if error.code != .notFound { throw error }
        }
    }

    /// RTM_DELQDISC of the ingress qdisc; none there (ENOENT, or EINVAL from older kernels) is fine.
    static func deleteIngressIfPresent(index: Int32, object: String, session: NetlinkSession) throws(NetlinkError) {
        do { try session.deleteIngressQdisc(index: index, object: object) } catch {
            if error.code != .notFound && error.code != .invalidArgument { throw error }
        }
    }

    /// True when a tc-redirect endpoint's TAP exists in its live sandbox. An fd-custody TAP dies
    /// with the caller's last fd, and a persistent one whose attach a crash cut short before
    /// TUNSETPERSIST dies with Berth's: the reconciler then releases the endpoint, as it does a
    /// bridge-mode TAP that vanished. A sandbox it cannot read counts as alive (the sandbox check
    /// decides about a gone sandbox).
    func redirectedTapAlive(_ endpoint: Endpoint) -> Bool {
        guard let tap = endpoint.tap, tap.mode == .tcRedirect else { return true }
        guard let ns = liveSandbox(endpoint), let session = try? NetlinkSession.route(in: ns) else { return true }
        do {
            _ = try session.link(named: tap.name)
            return true
        } catch {
            return error.code != .notFound
        }
    }
}

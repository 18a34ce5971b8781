@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Checks what `attach(network:tap:)` can check without the kernel or the state: the TAP
    /// name or template (the interface-name rule with at most one `%d`, ≤ 15 bytes), queues
    /// (1…256, the kernel's MAX_TAP_QUEUES), address, MAC and ports.
    /// - Returns: the parsed static address and MAC.
    /// - Throws: `.invalidInterfaceName`, `.invalidArgument`.
    @discardableResult
    public static func preflight(attach network: String, tap: TapOptions) throws(BerthError) -> (address: IPv4Address?, mac: MACAddress?) {
        let op = OperationName.attachTap
        let templates = tap.name.ranges(of: "%d").count
        if templates > 1 || (templates == 0 && tap.name.contains("%")) {
            throw BerthError(.invalidInterfaceName, operation: op, object: network,
                             detail: "TAP name '\(tap.name)' may hold one '%d' template and no other '%'")
        }
        if tap.name.utf8.count > 15 {
            throw BerthError(.invalidInterfaceName, operation: op, object: network,
                             detail: "TAP name '\(tap.name)' is longer than 15 bytes (IFNAMSIZ - 1)")
        }
        try checkInterfaceName(tap.name.replacing("%d", with: "0"), role: "TAP name", operation: op, object: network)
        guard (1...TapDevice.maxQueues).contains(tap.queues) else {
            throw BerthError(.invalidArgument, operation: op, object: network,
                             detail: "queues must be 1–\(TapDevice.maxQueues) (the kernel's MAX_TAP_QUEUES), not \(tap.queues)")
        }
        let sandbox: SandboxSpec = tap.sandbox ?? .name("tap")
        if case .create = sandbox {
            throw BerthError(.invalidArgument, operation: op, object: network,
                             detail: "tc-redirect mode needs an existing sandbox (a jailer's netns), not .create")
        }
        return try preflight(attach: network, sandbox: sandbox, options: AttachOptions(address: tap.address, mac: tap.mac, ports: tap.ports, publish: tap.publish))
    }

    /// Attaches a micro-VM's TAP to a network (issue 16).
    ///
    /// Bridge mode (`tap.sandbox == nil`): in the host namespace, `TUNSETIFF` (IFF_TAP|IFF_NO_PI,
    /// IFF_VNET_HDR unless turned off, IFF_MULTI_QUEUE for more than one queue; IFF_TUN_EXCL, so
    /// an existing link is never joined) on the namespace thread, one fd per queue; then one
    /// RTM_NEWLINK puts the TAP on the bridge with the bridge's MTU, in Berth's TAP link group
    /// (`TapMark.group`), up (hairpin when the userland proxy is off); TUNSETOWNER/TUNSETGROUP; in persistent
    /// custody TUNSETPERSIST and Berth's fds are closed. The guest gets the lowest free address
    /// and MAC 02:42 + IPv4 (or the given ones); the firewall treats it as any endpoint of the
    /// network (isolation, ICC, masquerade are per bridge; published ports DNAT to the guest
    /// address). Crash safety without an fsync'd intent: until TUNSETPERSIST the device dies with
    /// Berth's fds; after it, the TAP carries the group mark, and the reconciler deletes a
    /// marked TAP that no record names.
    ///
    /// tc-redirect mode (`tap.sandbox` set): see `attachRedirectedTap`.
    /// - Returns: the endpoint, the guest's configuration, and the fds in fd custody.
    /// - Throws: `BerthError` `.invalidInterfaceName`, `.invalidArgument` (queues 0 or above 256,
    ///   address, MAC, ports), `.networkNotFound`, `.interfaceInUse` (a link of that name exists),
    ///   `.tapBusy`, `.tapFlagMismatch` (an existing TAP with other flags; the detail names them),
    ///   `.tunUnavailable` (no /dev/net/tun), `.addressInUse`, `.addressesExhausted`,
    ///   `.portAllocated`, `.permissionDenied`, `.system`. Nothing is left on failure.
    public func attach(network nameOrID: String, tap: TapOptions) throws(BerthError) -> TapAttachment {
        let (staticAddress, staticMAC) = try Self.preflight(attach: nameOrID, tap: tap)
        if tap.sandbox != nil {
            return try attachRedirectedTap(network: nameOrID, tap: tap)
        }
        let op = OperationName.attachTap
        return try mutate(op, nameOrID) { store throws -> TapAttachment in
            let state = try store.load()
            let network = try resolve(nameOrID, in: state, operation: op)
            let bindings = try resolvePorts(network.isInternal ? [] : tap.ports.map(PortSpec.init) + tap.publish, in: state,
                                            operation: op, object: network.name)
            let (address, mac) = try chooseAddress(network, state: state, staticAddress: staticAddress, staticMAC: staticMAC, operation: op)
            let endpointID = RandomID.hex(64)
            let bridge = try hostSession.link(named: network.bridge)
            var undo = UndoStack()
            var fds: [Int32] = []
            do {
                let flags = TapDevice.Flags(vnetHeader: tap.vnetHeader, multiQueue: tap.queues > 1)
                let opened: (name: String, fds: [Int32])
                do throws(NamespaceError) {
                    opened = try TapDevice.open(name: tap.name, flags: flags, queues: tap.queues, exclusive: true, in: host)
                } catch {
                    throw explainTapFailure(error, name: tap.name, flags: flags, session: hostSession, network: network.name)
                }
                fds = opened.fds
                let name = opened.name
                let session = hostSession
                undo.push(.deleteTap, name) {
                    TapDevice.close(fds)
                    do throws(NetlinkError) { try session.deleteLink(named: name) } catch where error.code == .notFound {}
                }
                CrashPoint.step(op)
                let link = try hostSession.link(named: name)
                // The TAP's own MAC (kernel-random) must not be the guest's.
                let tapMAC: MACAddress? = link.mac == mac ? MACAddress(bytes: RandomID.bridgeMAC()) : nil
                try hostSession.setLink(index: link.index, LinkChange(up: true, masterIndex: bridge.index, mtu: network.mtu, mac: tapMAC,
                                                                      group: TapMark.group),
                                        operation: .setMaster, object: "\(name) → \(network.bridge)")
                CrashPoint.step(op)
                if hairpinMode {
                    try hostSession.setBridgePortHairpin(name)
                }
                if let first = fds.first {
                    try TapDevice.setOwner(first, uid: tap.owner, gid: tap.group, name: name)
                    if tap.custody == .persistent {
                        try TapDevice.setPersistent(first, true, name: name)
                        CrashPoint.step(op)
                    }
                }
                let ports = bindings.isEmpty ? nil
                    : EndpointPorts(endpointID: endpointID, networkID: network.id, bridge: network.bridge, address: address,
                                    ports: PortMapping.dockerOrder(bindings), hairpin: hairpinMode, loopbackLocal: network.loopbackLocal)
                // Userland proxy on: the guest's published ports get their proxies before the
                // rules, as a veth endpoint's (`attach(network:sandbox:options:)`).
                var started: [ProxyProcess] = []
                if let ports, configuration.userlandProxy {
                    started = try proxies.start(ports.ports.flatMap(\.singles), container: address, endpointID: endpointID, operation: op,
                                                object: network.name)
                    let running = started
                    undo.push(.stopProxy, String(endpointID.prefix(12))) { self.proxies.stop(running) }
                    CrashPoint.step(op)
                }
                if let ports {
                    undo.push(.removePorts, String(endpointID.prefix(12))) { try self.firewall.removePorts(ports) }
                    try firewall.addPorts(ports)
                    CrashPoint.step(op)
                }
                var endpoint = Endpoint(id: endpointID, networkID: network.id, networkName: network.name, sandboxPath: host.path,
                                        sandboxName: nil, sandboxDevice: host.device, sandboxInode: host.inode, createdSandbox: false,
                                        hostInterface: name, interfaceName: "eth0", address: address,
                                        prefixLength: network.subnet.prefixLength, gateway: network.gateway, mac: mac,
                                        ports: ports?.ports ?? [], sequence: state.nextSequence, owner: nil,
                                        proxies: started.isEmpty ? nil : started)
                endpoint.tap = TapRecord(mode: .bridge, name: name, custody: tap.custody, queues: tap.queues, vnetHeader: tap.vnetHeader,
                                         owner: tap.owner, group: tap.group)
                try store.save(endpoint)
                CrashPoint.step(op)
                undo.commit()
                if tap.custody == .persistent {
                    TapDevice.close(fds)
                    fds = []
                }
                return TapAttachment(endpoint: endpoint, guest: guestConfiguration(endpoint, network: network, tapName: name), fds: fds)
            } catch {
                let failures = undo.rollBack()
                throw RolledBack.combining(error, failures)
            }
        }
    }

    /// The guest configuration of a TAP endpoint.
    func guestConfiguration(_ endpoint: Endpoint, network: Network, tapName: String) -> GuestConfiguration {
        GuestConfiguration(mac: endpoint.mac, address: endpoint.address, prefixLength: endpoint.prefixLength,
                           gateway: network.gateway, mtu: network.mtu ?? 1500, dns: [], tap: tapName)
    }


    /// Turns a TUNSETIFF refusal into the façade's typed error, naming what differs: for EBUSY
    /// under IFF_TUN_EXCL (the name exists) the existing link is read back (RTM_GETLINK,
    /// IFLA_TUN_*) and compared with the flags asked — IFF_MULTI_QUEUE differing is what the
    /// kernel refuses with EINVAL (`.tapFlagMismatch`), a single-queue TAP with its queue
    /// attached is its EBUSY (`.tapBusy`), anything else is a name in use (`.interfaceInUse`).
    func explainTapFailure(_ error: NamespaceError, name: String, flags: TapDevice.Flags, session: NetlinkSession,
                           network: String) -> BerthError {
        let op = OperationName.attachTap
        guard error.code == .tapBusy, !name.contains("%"), let existing = try? session.link(named: name) else {
            return BerthError.wrap(error, operation: op, object: name)
        }
        guard let tun = existing.tun, tun.isTap else {
            return BerthError(.interfaceInUse, operation: op, object: name,
                              detail: "a \(existing.kind ?? "link") named \(name) exists already", cause: .namespace(error))
        }
        func onOff(_ b: Bool) -> String { b ? "on" : "off" }
        var differs: [String] = []
        if tun.multiQueue != flags.multiQueue { differs.append("IFF_MULTI_QUEUE is \(onOff(tun.multiQueue)) (asked \(onOff(flags.multiQueue)))") }
        if tun.vnetHeader != flags.vnetHeader { differs.append("IFF_VNET_HDR is \(onOff(tun.vnetHeader)) (asked \(onOff(flags.vnetHeader)))") }
        // IFLA_TUN_NUM_QUEUES is reported for multiqueue TAPs only (tun_fill_info); a single-queue
        // one has its queue attached when it is not persistent (it would be gone otherwise) or
        // has carrier (tun_attach turns carrier on).
        let attached = tun.multiQueue ? Int(tun.queues) : (!tun.persistent || existing.hasCarrier ? 1 : 0)
        let state = "TAP \(name) exists (\(tun.persistent ? "persistent" : "not persistent"), \(attached) queue(s) attached)"
        if tun.multiQueue != flags.multiQueue {
            return BerthError(.tapFlagMismatch, operation: op, object: name, detail: "\(state): " + differs.joined(separator: ", "),
                              cause: .namespace(error))
        }
        if !tun.multiQueue && attached >= 1 {
            return BerthError(.tapBusy, operation: op, object: name,
                              detail: "\(state): single-queue and its queue is attached" + (differs.isEmpty ? "" : "; " + differs.joined(separator: ", ")),
                              cause: .namespace(error))
        }
        return BerthError(.interfaceInUse, operation: op, object: name,
                          detail: "\(state)" + (differs.isEmpty ? "" : ": " + differs.joined(separator: ", ")), cause: .namespace(error))
    }
}


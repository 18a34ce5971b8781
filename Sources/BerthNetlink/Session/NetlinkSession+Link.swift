@_spi(BerthInternal) import BerthNamespace

/// Link operations (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK). Mutating calls check CAP_NET_ADMIN
/// and link names before anything is sent, so bad input changes nothing.
@_spi(BerthInternal) extension NetlinkSession {
    func requireNetAdmin(_ operation: OperationName, _ object: String) throws(NetlinkError) {
        if !Capabilities.hasNetAdmin() {
            throw NetlinkError(.missingCapability, operation: operation, object: object,
                               detail: "requires CAP_NET_ADMIN, which the calling thread lacks (capabilities(7))")
        }
    }

    /// Creates a bridge: `ip link add NAME [mtu M] [address MAC] type bridge [up]`.
    /// - Parameters: name (1–15 bytes), mtu in bytes, mac, up (set IFF_UP at creation).
    /// - Returns: the new link, read back from the kernel.
    /// - Throws: `NetlinkError` `.invalidName`, `.missingCapability`, `.exists`, `.invalidArgument`.
    @discardableResult
    public func createBridge(name: String, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool = false) throws(NetlinkError) -> Link {
        let op = OperationName.createBridge
        try LinkName.validate(name, operation: op)
        try requireNetAdmin(op, name)
        _ = try request(LinkRequest.newBridge(name: name, mtu: mtu, mac: mac, up: up), operation: op, object: name)
        return try link(named: name)
    }

    /// Creates a veth pair whose peer is created directly inside `peer.namespaceFD` and named there
    /// (`ip link add NAME type veth peer name PEER netns NS`), optionally enslaved to `masterIndex`
    /// and up, in one RTM_NEWLINK.
    /// With `echo`, the request carries NLM_F_ECHO and the kernel sends the new first end back
    /// before its ACK (rtnetlink honours it for RTM_NEWLINK since Linux 6.1): its `peerIndex`
    /// (IFLA_LINK) is the peer's ifindex in the peer's namespace, so no RTM_GETLINK there is needed.
    /// - Returns: the echoed first end; nil without `echo` or when the kernel sent none (older kernels).
    /// - Throws: `.invalidName` (either name), `.missingCapability`, `.exists`, `.notFound` (master),
    ///   `.invalidArgument`.
    @discardableResult
    public func createVeth(name: String, peer: VethPeer, mtu: UInt32? = nil, mac: MACAddress? = nil,
                           masterIndex: Int32? = nil, up: Bool = false, echo: Bool = false) throws(NetlinkError) -> Link? {
        let op = OperationName.createVeth
        try LinkName.validate(name, operation: op)
        try LinkName.validate(peer.name, operation: op)
        try requireNetAdmin(op, name)
        let object = "\(name)/\(peer.name)"
        let replies = try request(LinkRequest.newVeth(name: name, peer: peer, mtu: mtu, mac: mac, masterIndex: masterIndex, up: up, echo: echo),
                                  operation: op, object: object)
        for m in replies where m.type == RTNL.RTM_NEWLINK {
            if let link = try? RouteDecoding.link(m, operation: op, object: object), link.name == name { return link }
        }
        return nil
    }

    /// Deletes a link by name (`ip link del NAME`); a veth takes its peer with it.
    /// - Throws: `.invalidName`, `.missingCapability`, `.notFound` when there is no such link.
    public func deleteLink(named name: String) throws(NetlinkError) {
        let op = OperationName.deleteLink
        try LinkName.validate(name, operation: op)
        try requireNetAdmin(op, name)
        _ = try request(LinkRequest.delete(index: 0, name: name), operation: op, object: name)
    }

    /// Deletes a link by index.
    public func deleteLink(index: Int32) throws(NetlinkError) {
        let op = OperationName.deleteLink
        try requireNetAdmin(op, "#\(index)")
        _ = try request(LinkRequest.delete(index: index), operation: op, object: "#\(index)")
    }

    /// Deletes every link of link group `group` in one RTM_DELLINK (`ip link del group N`): one
    /// RCU grace period for the whole batch; a veth takes its peer with it.
    /// - Throws: `.missingCapability`, `.notFound` when no link is in the group, `.notSupported`
    ///   when one of them cannot be deleted by netlink.
    public func deleteLinks(group: UInt32) throws(NetlinkError) {
        let op = OperationName.deleteLinkGroup
        try requireNetAdmin(op, "group \(group)")
        _ = try request(LinkRequest.deleteGroup(group), operation: op, object: "group \(group)")
    }

    /// Applies `change` to the link `index` in one RTM_NEWLINK (`ip link set`).
    /// - Throws: `.invalidName` (new name), `.missingCapability`, `.notFound`, `.invalidArgument`, `.exists` (rename).
    public func setLink(index: Int32, _ change: LinkChange, operation: OperationName = .setLink, object: String? = nil) throws(NetlinkError) {
        let obj = object ?? "#\(index)"
        if let name = change.name { try LinkName.validate(name, operation: operation) }
        try requireNetAdmin(operation, obj)
        _ = try request(LinkRequest.change(index: index, change), operation: operation, object: obj)
    }

    /// `ip link set NAME up|down`.
    public func setUp(_ name: String, _ up: Bool = true) throws(NetlinkError) {
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(up: up), operation: up ? .setLinkUp : .setLinkDown, object: name)
    }

    /// `ip link set NAME master BRIDGE`.
    public func setMaster(_ name: String, bridge: String) throws(NetlinkError) {
        let l = try link(named: name)
        let master = try link(named: bridge)
        try setLink(index: l.index, LinkChange(masterIndex: master.index), operation: .setMaster, object: "\(name) → \(bridge)")
    }

    /// `ip link set NAME nomaster`.
    public func setNoMaster(_ name: String) throws(NetlinkError) {
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(masterIndex: 0), operation: .setNomaster, object: name)
    }

    /// `ip link set NAME type bridge_slave hairpin on|off`: bridge-port hairpin mode, so frames may
    /// leave through the port they came in on (Docker's `LinkSetHairpin`, used with
    /// `--userland-proxy=false`). The link must be enslaved to a bridge.
    /// - Throws: `.invalidName`, `.missingCapability`, `.notFound` (no such link), `.invalidArgument`
    ///   (e.g. not a bridge port).
    public func setBridgePortHairpin(_ name: String, _ on: Bool = true) throws(NetlinkError) {
        let op: OperationName = on ? .setHairpinOn : .setHairpinOff
        let l = try link(named: name)
        try requireNetAdmin(op, name)
        _ = try request(LinkRequest.bridgePortHairpin(index: l.index, on), operation: op, object: name)
    }

    /// `bridge link set dev NAME isolated on|off`: an isolated bridge port does not forward to
    /// another isolated port (see `LinkRequest.bridgePortIsolated`).
    /// - Throws: `NetlinkError` (`.notFound` for an unknown link, EOPNOTSUPP when not a bridge port).
    public func setBridgePortIsolated(_ name: String, _ on: Bool = true) throws(NetlinkError) {
        let op: OperationName = on ? .setIsolatedOn : .setIsolatedOff
        let l = try link(named: name)
        try requireNetAdmin(op, name)
        _ = try request(LinkRequest.bridgePortIsolated(index: l.index, on), operation: op, object: name)
    }

    /// `ip link set NAME mtu M` (bytes).
    public func setMTU(_ name: String, _ mtu: UInt32) throws(NetlinkError) {
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(mtu: mtu), operation: .setMtu, object: name)
    }

    /// `ip link set NAME address MAC`.
    public func setMAC(_ name: String, _ mac: MACAddress) throws(NetlinkError) {
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(mac: mac), operation: .setAddress, object: name)
    }

    /// `ip link set NAME name NEW` (the link must be down for most kinds).
    public func rename(_ name: String, to newName: String) throws(NetlinkError) {
        try LinkName.validate(newName, operation: .renameLink)
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(name: newName), operation: .renameLink, object: "\(name) → \(newName)")
    }

    /// `ip link set NAME netns NS`: moves the link; it disappears from this namespace.
    public func move(_ name: String, to namespace: NetworkNamespace) throws(NetlinkError) {
        let l = try link(named: name)
        try setLink(index: l.index, LinkChange(namespaceFD: namespace.fileDescriptor), operation: .moveLink,
                    object: "\(name) → \(namespace)")
    }

    /// `ip link show NAME`.
    /// - Throws: `.invalidName`, `.notFound` when there is no such link.
    public func link(named name: String) throws(NetlinkError) -> Link {
        let op = OperationName.getLink
        try LinkName.validate(name, operation: op)
        let replies = try request(LinkRequest.get(index: 0, name: name), operation: op, object: name)
        guard let first = replies.first(where: { $0.type == RTNL.RTM_NEWLINK }) else {
            throw NetlinkError(.malformedReply, operation: op, object: name, detail: "no link in the reply")
        }
        return try RouteDecoding.link(first, operation: op, object: name)
    }

    /// The link with ifindex `index`.
    public func link(index: Int32) throws(NetlinkError) -> Link {
        let op = OperationName.getLink
        let replies = try request(LinkRequest.get(index: index), operation: op, object: "#\(index)")
        guard let first = replies.first(where: { $0.type == RTNL.RTM_NEWLINK }) else {
            throw NetlinkError(.malformedReply, operation: op, object: "#\(index)", detail: "no link in the reply")
        }
        return try RouteDecoding.link(first, operation: op, object: "#\(index)")
    }

    /// `ip link show`: every link of the namespace.
    public func links() throws(NetlinkError) -> [Link] {
        let op = OperationName.listLinks
        var out: [Link] = []
        for m in try dump(LinkRequest.dump(), operation: op, object: "all") where m.type == RTNL.RTM_NEWLINK {
            out.append(try RouteDecoding.link(m, operation: op, object: "all"))
        }
        return out
    }
}

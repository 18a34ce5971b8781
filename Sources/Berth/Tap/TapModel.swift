@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

/// Options of `attach(network:tap:)`: a TAP device for a micro-VM (Firecracker, cloud-hypervisor,
/// QEMU, Kata) on a Berth network (issue 16).
public struct TapOptions: Sendable, Equatable {
    /// Who keeps the device alive.
    public enum Custody: String, Sendable, Equatable, Codable {
        /// TUNSETPERSIST 1 (+ owner): Berth closes its fd; the VMM opens the TAP by name; detach
        /// deletes it (`ip tuntap add` + `ip link set master`).
        case persistent
        /// The fds (one per queue, O_CLOEXEC) go to the caller (for `SCM_RIGHTS` or a VMM's
        /// `fd=`): the device dies with the last of them; a detach deletes it too.
        case fd
    }

    /// The TAP's name (1–15 bytes, the interface-name rule) or a template with one `%d` that the
    /// kernel fills with the lowest free number (`vmtap%d`).
    public var name: String
    /// Where the TAP lives. nil: the host namespace, as a port of the network's bridge.
    /// A sandbox (a jailer's netns): tc-redirect mode — a veth endpoint is attached into the
    /// sandbox as by `attach(network:sandbox:)`, the TAP is made there and joined to the veth
    /// by ingress qdiscs and u32 + mirred redirect filters both ways (tc-redirect-tap, Kata
    /// `tcfilter`); the guest takes over the veth's MAC and address.
    public var sandbox: SandboxSpec?
    /// TUNSETOWNER / TUNSETGROUP: the uid (and gid) that may open the TAP without CAP_NET_ADMIN.
    /// nil: ownerless — any user of the namespace may attach to a persistent TAP (tun.c).
    public var owner: UInt32?
    public var group: UInt32?
    /// IFF_VNET_HDR (default on: what virtio-net VMMs expect).
    public var vnetHeader: Bool
    /// Queues: 1 = single queue; 2…256 sets IFF_MULTI_QUEUE (one fd per queue).
    public var queues: Int
    public var custody: Custody
    /// The guest's static address (`--ip`); the lowest free one when nil.
    public var address: String?
    /// The guest's MAC; 02:42 + the IPv4 bytes when nil (Docker's rule).
    public var mac: String?
    /// Published ports, DNATed to the guest address: exact bindings.
    public var ports: [PortMapping]
    /// `-p` requests (`PortSpec`: ranges, ephemeral host ports), resolved after `ports`, as `AttachOptions.publish`.
    public var publish: [PortSpec]

    public init(name: String, sandbox: SandboxSpec? = nil, owner: UInt32? = nil, group: UInt32? = nil, vnetHeader: Bool = true,
                queues: Int = 1, custody: Custody = .persistent, address: String? = nil, mac: String? = nil, ports: [PortMapping] = [],
                publish: [PortSpec] = []) {
        self.name = name
        self.sandbox = sandbox
        self.owner = owner
        self.group = group
        self.vnetHeader = vnetHeader
        self.queues = queues
        self.custody = custody
        self.address = address
        self.mac = mac
        self.ports = ports
        self.publish = publish
    }
}

/// What an endpoint record says about its TAP (nil on a veth endpoint).
public struct TapRecord: Sendable, Codable, Equatable {
    public enum Mode: String, Sendable, Codable, Equatable {
        /// A port of the network's bridge in the host namespace (`Endpoint.hostInterface` is the TAP).
        case bridge
        /// In the endpoint's sandbox, redirected to and from its veth by tc.
        case tcRedirect
    }
    public var mode: Mode
    /// The TAP's name (the template expanded).
    public var name: String
    public var custody: TapOptions.Custody
    public var queues: Int
    public var vnetHeader: Bool
    public var owner: UInt32?
    public var group: UInt32?
}

/// What a VMM needs to configure the guest's virtio-net device and kernel (issue 16).
public struct GuestConfiguration: Sendable, Codable, Equatable {
    /// The guest NIC's MAC (`guest_mac` / `mac=`): 02:42 + IPv4 in bridge mode (not the TAP's
    /// own MAC); the veth's MAC in tc-redirect mode.
    public var mac: MACAddress
    public var address: IPv4Address
    public var prefixLength: Int
    /// Dotted netmask (`255.255.0.0`).
    public var netmask: IPv4Address
    public var gateway: IPv4Address
    /// Bytes: the bridge's MTU (1500 when the network sets none).
    public var mtu: UInt32
    /// DNS servers (none unless the network has them; Berth networks have none today).
    public var dns: [IPv4Address]
    /// The TAP device on the host side (what the VMM opens: `host_dev_name`, `tap=`).
    public var tap: String
    /// The guest's interface name used in `bootParameter` (`eth0`).
    public var guestInterface: String
    /// The Linux kernel `ip=` argument (Documentation/admin-guide/nfs/nfsroot.rst, the format
    /// tc-redirect-tap's `IPBootParam` renders): `ip=<client>::<gw>:<netmask>::<dev>:off`,
    /// with `:<dns0>:<dns1>` appended when there are DNS servers.
    public var bootParameter: String {
        var s = "ip=\(address)::\(gateway):\(netmask)::\(guestInterface):off"
        if !dns.isEmpty { s += ":" + dns.prefix(2).map(\.description).joined(separator: ":") }
        return s
    }

    private enum CodingKeys: String, CodingKey { case mac, address, prefixLength, netmask, gateway, mtu, dns, tap, guestInterface, bootParameter }

    public init(mac: MACAddress, address: IPv4Address, prefixLength: Int, gateway: IPv4Address, mtu: UInt32, dns: [IPv4Address],
                tap: String, guestInterface: String = "eth0") {
        self.mac = mac
        self.address = address
        self.prefixLength = prefixLength
        self.netmask = IPv4Address(prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength))
        self.gateway = gateway
        self.mtu = mtu
        self.dns = dns
        self.tap = tap
        self.guestInterface = guestInterface
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(mac: try c.decode(MACAddress.self, forKey: .mac), address: try c.decode(IPv4Address.self, forKey: .address),
                  prefixLength: try c.decode(Int.self, forKey: .prefixLength), gateway: try c.decode(IPv4Address.self, forKey: .gateway),
                  mtu: try c.decode(UInt32.self, forKey: .mtu), dns: try c.decode([IPv4Address].self, forKey: .dns),
                  tap: try c.decode(String.self, forKey: .tap), guestInterface: try c.decode(String.self, forKey: .guestInterface))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mac, forKey: .mac)
        try c.encode(address, forKey: .address)
        try c.encode(prefixLength, forKey: .prefixLength)
        try c.encode(netmask, forKey: .netmask)
        try c.encode(gateway, forKey: .gateway)
        try c.encode(mtu, forKey: .mtu)
        try c.encode(dns, forKey: .dns)
        try c.encode(tap, forKey: .tap)
        try c.encode(guestInterface, forKey: .guestInterface)
        try c.encode(bootParameter, forKey: .bootParameter)
    }
}

/// What `attach(network:tap:)` returns.
public struct TapAttachment: Sendable, Equatable {
    /// The endpoint record (`hostInterface` is the TAP in bridge mode, the veth in tc-redirect mode).
    public var endpoint: Endpoint
    public var guest: GuestConfiguration
    /// fd custody: one fd per queue, O_CLOEXEC, now the caller's to close (the device goes with
    /// the last). Empty in persistent custody.
    public var fds: [Int32]
}

extension Endpoint {
    /// True for a TAP that is a bridge port in the host namespace (no sandbox of its own).
    var isHostTap: Bool { tap?.mode == .bridge }
}

/// The kernel-side mark of Berth's live TAPs: IFLA_GROUP "btap" (`ip link show group
/// 1651794288`). A TAP in this group that no record names was left by an attach a crash cut
/// short and is deleted by the reconciler; a detached one moves to `Pending.group`, renamed
/// `berthtap<7 hex>`.
package enum TapMark {
    package static let group: UInt32 = 0x6274_6170
    package static let pendingPrefix = "berthtap"

    package static func isPendingName(_ name: String) -> Bool {
        let tail = name.dropFirst(pendingPrefix.count)
        return name.hasPrefix(pendingPrefix) && tail.count == 7 && BerthNames.isLowerHex(tail)
    }
}

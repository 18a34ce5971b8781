@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

/// A bridge network as Berth records it (one JSON file per network in the state directory).
public struct Network: Sendable, Codable, Equatable {
    /// 64 lowercase hex characters.
    public var id: String
    /// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
    public var name: String
    /// `docker0` for the default network, else `br-<first 12 hex of id>` unless named.
    public var bridge: String
    public var subnet: IPv4Subnet
    /// The bridge's address (first address of the subnet unless given).
    public var gateway: IPv4Address
    /// Limits dynamic allocation (`--ip-range`).
    public var ipRange: IPv4Subnet?
    /// Bytes, applied to the bridge and to both ends of every veth; nil = kernel default (1500).
    public var mtu: UInt32?
    public var isInternal: Bool
    /// Inter-container communication on the bridge.
    public var icc: Bool
    /// Outbound masquerade.
    public var masquerade: Bool
    public var labels: [String: String]
    /// The bridge's MAC (random, locally administered, 02:42 prefix as Docker 20.10).
    public var bridgeMAC: MACAddress
    /// RFC 3339 creation time.
    public var created: String
    /// True for the predefined network `bridge` on `docker0`.
    public var isDefault: Bool
    /// True when Berth created the bridge link (a pre-existing, user-named bridge is kept on delete).
    public var ownsBridge: Bool
    /// `-o com.docker.network.bridge.hairpin` as given at create (earlier versions' per-network
    /// `--userland-proxy=false`). Recorded and shown by inspect only: the rules, sysctls and
    /// proxies of every network follow the controller-wide `ControllerConfiguration.userlandProxy`
    /// (README, "Published ports"). Records written before this field existed decode as false.
    public var hairpin: Bool = false
    /// True when the user gave `--subnet`; Docker 20.10 accepts a static endpoint address (`--ip`)
    /// only then ("user specified IP address is supported only when connecting to networks with
    /// user configured subnets", oracle). Records written before this field existed decode as true.
    public var subnetConfigured: Bool = true
    /// True from the moment `deleteNetwork` starts taking the network down (written before its
    /// first kernel step, as libnetwork's `inDelete`): a removal interrupted by a crash is finished
    /// by the next reconcile, not undone. Records written before this field existed decode as false.
    public var inDelete: Bool = false
    /// `-o com.docker.network.bridge.isolated=true` (Berth's own key; issue 13 hardening): the host
    /// end of every endpoint is an isolated bridge port (`bridge link set dev VETH isolated on`),
    /// so sandboxes of this network reach the gateway, the host and the outside but not each
    /// other (the kernel forwards nothing from one isolated port to another; icc on or off).
    /// Docker 20.10 has no such option. Records written before this field existed decode as false.
    public var isolated: Bool = false
    /// `-o com.docker.network.bridge.loopback_local=true` (Berth's own key; hardening): ports of
    /// this network's endpoints published on a 127.0.0.0/8 host address accept packets only from
    /// `lo` (`EndpointPorts.loopbackLocal`, Docker 28's raw PREROUTING drop). Records written
    /// before this field existed decode as false (Docker 20.10).
    public var loopbackLocal: Bool = false
    /// `-o com.docker.network.bridge.direct_routing=off|unpublished|strict` (Berth's own key;
    /// hardening): `DirectRoutingProtection`. Records written before this field existed decode as `.off`.
    public var directRouting: DirectRoutingProtection = .off
    /// `-o com.docker.network.bridge.trusted_interfaces=IF[,IF...]`: host interfaces exempt from
    /// `directRouting` (subnet routers, e.g. `wg0`, `tailscale0`).
    public var trustedInterfaces: [String] = []
    /// `--ipv6` (Docker's `EnableIPv6`): the network has an IPv6 subnet beside its IPv4 one.
    /// Records written before IPv6 existed decode as false.
    public var enableIPv6: Bool = false
    /// The IPv6 subnet (canonical; Docker 20.10 has no default v6 pool, so `--subnet` gives it).
    public var subnet6: IPv6Subnet? = nil
    /// The bridge's IPv6 gateway address (`::1` of the subnet unless `--gateway` gave one).
    public var gateway6: IPv6Address? = nil
    /// Limits dynamic IPv6 allocation (`--ip-range` with an IPv6 prefix inside `subnet6`).
    public var ipRange6: IPv6Subnet? = nil
    /// True when endpoints' IPv6 addresses are derived from their MACs (Docker 20.10's default
    /// bridge with `--fixed-cidr-v6` of /80 or shorter: the 6 MAC bytes in bytes 10–15).
    public var macDerived6: Bool = false
    /// True when the user gave `--gateway` (IPv4). Docker's inspect shows an IPv4 `Gateway` in
    /// `IPAM.Config` only then or when it chose the pool itself (golden ipv6/b-netcreate.*.
    /// network-inspect.json). Records written before this field existed decode as true.
    public var gatewayConfigured: Bool = true
    /// True when the user gave an IPv6 `--gateway` (inspect shows the IPv6 `Gateway` only then).
    public var gateway6Configured: Bool = false

    /// The firewall description of this network in Docker's default mode (what removals take:
    /// they delete every variant).
    package var firewallRules: NetworkRules { firewallRules(hairpinMode: false) }

    /// The firewall description of this network; `hairpinMode` is Docker's `--userland-proxy=false`.
    package func firewallRules(hairpinMode: Bool) -> NetworkRules {
        NetworkRules(id: id, bridge: bridge, subnet: subnet.canonical, icc: icc, masquerade: masquerade, isInternal: isInternal,
                     hairpin: hairpinMode, directRouting: directRouting, trustedInterfaces: trustedInterfaces,
                     subnet6: enableIPv6 ? subnet6?.canonical : nil)
    }
}

extension Network {
    private enum CodingKeys: String, CodingKey {
        case id, name, bridge, subnet, gateway, ipRange, mtu, isInternal, icc, masquerade, labels, bridgeMAC, created, isDefault,
             ownsBridge, hairpin, subnetConfigured, inDelete, isolated, loopbackLocal, directRouting, trustedInterfaces,
             enableIPv6, subnet6, gateway6, ipRange6, macDerived6, gatewayConfigured, gateway6Configured
    }

    /// Decodes a record; `hairpin` defaults to false when absent (older records).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        bridge = try c.decode(String.self, forKey: .bridge)
        subnet = try c.decode(IPv4Subnet.self, forKey: .subnet)
        gateway = try c.decode(IPv4Address.self, forKey: .gateway)
        ipRange = try c.decodeIfPresent(IPv4Subnet.self, forKey: .ipRange)
        mtu = try c.decodeIfPresent(UInt32.self, forKey: .mtu)
        isInternal = try c.decode(Bool.self, forKey: .isInternal)
        icc = try c.decode(Bool.self, forKey: .icc)
        masquerade = try c.decode(Bool.self, forKey: .masquerade)
        labels = try c.decode([String: String].self, forKey: .labels)
        bridgeMAC = try c.decode(MACAddress.self, forKey: .bridgeMAC)
        created = try c.decode(String.self, forKey: .created)
        isDefault = try c.decode(Bool.self, forKey: .isDefault)
        ownsBridge = try c.decode(Bool.self, forKey: .ownsBridge)
        hairpin = try c.decodeIfPresent(Bool.self, forKey: .hairpin) ?? false
        subnetConfigured = try c.decodeIfPresent(Bool.self, forKey: .subnetConfigured) ?? true
        inDelete = try c.decodeIfPresent(Bool.self, forKey: .inDelete) ?? false
        isolated = try c.decodeIfPresent(Bool.self, forKey: .isolated) ?? false
        loopbackLocal = try c.decodeIfPresent(Bool.self, forKey: .loopbackLocal) ?? false
        directRouting = try c.decodeIfPresent(DirectRoutingProtection.self, forKey: .directRouting) ?? .off
        trustedInterfaces = try c.decodeIfPresent([String].self, forKey: .trustedInterfaces) ?? []
        enableIPv6 = try c.decodeIfPresent(Bool.self, forKey: .enableIPv6) ?? false
        subnet6 = try c.decodeIfPresent(IPv6Subnet.self, forKey: .subnet6)
        gateway6 = try c.decodeIfPresent(IPv6Address.self, forKey: .gateway6)
        ipRange6 = try c.decodeIfPresent(IPv6Subnet.self, forKey: .ipRange6)
        macDerived6 = try c.decodeIfPresent(Bool.self, forKey: .macDerived6) ?? false
        gatewayConfigured = try c.decodeIfPresent(Bool.self, forKey: .gatewayConfigured) ?? true
        gateway6Configured = try c.decodeIfPresent(Bool.self, forKey: .gateway6Configured) ?? false
    }
}

/// A sandbox attached to a network: one veth pair, one address (one JSON file per endpoint).
public struct Endpoint: Sendable, Codable, Equatable {
    /// 64 lowercase hex characters.
    public var id: String
    public var networkID: String
    public var networkName: String
    /// The sandbox's namespace path (`/run/netns/NAME`, `/proc/PID/ns/net`, or the given path).
    public var sandboxPath: String
    /// The sandbox's name under /run/netns, when it has one.
    public var sandboxName: String?
    /// Device and inode of the sandbox namespace, to recognise it after a restart.
    public var sandboxDevice: UInt64
    public var sandboxInode: UInt64
    /// True when Berth created the named sandbox namespace (it is deleted on detach).
    public var createdSandbox: Bool
    /// The host end, `veth<7 hex>`, enslaved to the bridge.
    public var hostInterface: String
    /// The sandbox end's name (default `eth0`).
    public var interfaceName: String
    public var address: IPv4Address
    public var prefixLength: Int
    /// nil on an internal network (no default route).
    public var gateway: IPv4Address?
    public var mac: MACAddress
    public var ports: [PortMapping]
    /// Attach order, across all networks of the state directory (firewall rules are put back in
    /// this order). nil in records written before it existed.
    public var sequence: Int?
    /// The process the sandbox lives for (`berth run`): when it is gone, the next open releases
    /// the endpoint and removes the sandbox. nil: the sandbox lives until detached.
    public var owner: ProcessOwner?
    /// A micro-VM endpoint's TAP (issue 16); nil for a plain veth endpoint. Records written
    /// before it existed decode as nil.
    public var tap: TapRecord? = nil
    /// The userland proxies serving `ports` (userland proxy on: one per binding); nil or empty
    /// when none runs (proxy off, no ports, internal network, older records).
    public var proxies: [ProxyProcess]? = nil
    /// The endpoint's IPv6 address on a network with IPv6 (`--ip6` or allocated), else nil.
    /// Records written before IPv6 existed decode as nil.
    public var address6: IPv6Address? = nil
    /// The IPv6 prefix length (the network's `subnet6`), with `address6`.
    public var prefixLength6: Int? = nil
    /// The IPv6 gateway (the bridge's `gateway6`, an internal network's too: Docker 20.10 gives an
    /// internal network's sandbox its IPv6 default route, oracle v6-internal); nil without IPv6.
    public var gateway6: IPv6Address? = nil

    /// `a.b.c.d/len`.
    public var cidr: String { "\(address)/\(prefixLength)" }
    /// `x:…/len` when the endpoint has an IPv6 address.
    public var cidr6: String? { address6.map { "\($0)/\(prefixLength6 ?? 64)" } }
}

/// Options of `createNetwork`, shaped after `docker network create`.
public struct NetworkOptions: Sendable, Equatable {
    public var name: String
    /// `--subnet`; chosen from Docker's default pools when nil.
    public var subnet: String?
    /// `--gateway`; the first address of the subnet when nil.
    public var gateway: String?
    /// `--ip-range`.
    public var ipRange: String?
    /// `-o com.docker.network.bridge.name`.
    public var bridgeName: String?
    /// `-o com.docker.network.driver.mtu`, bytes (68–65535).
    public var mtu: UInt32?
    /// `--internal`.
    public var isInternal: Bool
    /// `-o com.docker.network.bridge.enable_icc`.
    public var icc: Bool
    /// `-o com.docker.network.bridge.enable_ip_masquerade`.
    public var masquerade: Bool
    /// `--label`.
    public var labels: [String: String]
    /// `-o com.docker.network.bridge.hairpin=true|false` (earlier versions' key): recorded only
    /// (`Network.hairpin`); the controller-wide `ControllerConfiguration.userlandProxy` replaced it.
    public var hairpin: Bool
    /// `-o com.docker.network.bridge.isolated=true|false` (Berth's own key): bridge port isolation
    /// of every endpoint (see `Network.isolated`). false (default) is Docker 20.10's behaviour.
    public var isolated: Bool = false
    /// `-o com.docker.network.bridge.loopback_local=true|false` (Berth's own key): see `Network.loopbackLocal`.
    public var loopbackLocal: Bool = false
    /// `-o com.docker.network.bridge.direct_routing=off|unpublished|strict` (Berth's own key): see `Network.directRouting`.
    public var directRouting: DirectRoutingProtection = .off
    /// `-o com.docker.network.bridge.trusted_interfaces=IF[,IF...]` (Berth's own key): see `Network.trustedInterfaces`.
    public var trustedInterfaces: [String] = []
    /// `--ipv6`: an IPv6 subnet beside the IPv4 one (`subnet6` is required then: Docker 20.10
    /// has no default IPv6 pool).
    public var enableIPv6: Bool = false
    /// `--subnet` with an IPv6 prefix (e.g. `fd00:1::/64`, at most /126).
    public var subnet6: String? = nil
    /// `--gateway` with an IPv6 address; `::1` of `subnet6` when nil.
    public var gateway6: String? = nil
    /// `--ip-range` with an IPv6 prefix inside `subnet6`.
    public var ipRange6: String? = nil

    public init(name: String, subnet: String? = nil, gateway: String? = nil, ipRange: String? = nil, bridgeName: String? = nil,
                mtu: UInt32? = nil, isInternal: Bool = false, icc: Bool = true, masquerade: Bool = true, labels: [String: String] = [:],
                hairpin: Bool = false) {
        self.hairpin = hairpin
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.ipRange = ipRange
        self.bridgeName = bridgeName
        self.mtu = mtu
        self.isInternal = isInternal
        self.icc = icc
        self.masquerade = masquerade
        self.labels = labels
    }

    /// Applies one Docker driver option (`-o key=value`): `com.docker.network.bridge.name`,
    /// `com.docker.network.bridge.enable_icc`, `com.docker.network.bridge.enable_ip_masquerade`,
    /// `com.docker.network.driver.mtu`, `com.docker.network.bridge.hairpin` (Berth: userland-proxy=false),
    /// `com.docker.network.bridge.isolated` (Berth: bridge port isolation), `…loopback_local`,
    /// `…direct_routing` and `…trusted_interfaces` (Berth: hardening, see `Network`).
    /// - Throws: `BerthError.Code.invalidArgument` for an unknown key or a bad value.
    public mutating func apply(option key: String, value: String) throws(BerthError) {
        func bool() throws(BerthError) -> Bool {
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw BerthError(.invalidArgument, operation: .createNetwork, object: name, detail: "option \(key) needs true or false, not '\(value)'")
            }
        }
        switch key {
        case "com.docker.network.bridge.name": bridgeName = value
        case "com.docker.network.bridge.enable_icc": icc = try bool()
        case "com.docker.network.bridge.enable_ip_masquerade": masquerade = try bool()
        case "com.docker.network.bridge.hairpin": hairpin = try bool()
        case "com.docker.network.bridge.isolated": isolated = try bool()
        case "com.docker.network.bridge.loopback_local": loopbackLocal = try bool()
        case "com.docker.network.bridge.direct_routing":
            guard let mode = DirectRoutingProtection(rawValue: value.lowercased()) else {
                throw BerthError(.invalidArgument, operation: .createNetwork, object: name,
                                 detail: "option \(key) needs off, unpublished or strict, not '\(value)'")
            }
            directRouting = mode
        case "com.docker.network.bridge.trusted_interfaces":
            let names = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for n in names { try NetworkController.checkInterfaceName(n, role: "trusted interface", operation: .createNetwork, object: name) }
            trustedInterfaces = names
        case "com.docker.network.driver.mtu":
            guard let m = UInt32(value), (68...65535).contains(m) else {
                throw BerthError(.invalidArgument, operation: .createNetwork, object: name, detail: "mtu must be 68–65535, not '\(value)'")
            }
            mtu = m
        default:
            throw BerthError(.invalidArgument, operation: .createNetwork, object: name, detail: "unknown option \(key)")
        }
    }
}

/// Which network namespace an endpoint goes into.
public enum SandboxSpec: Sendable, Equatable {
    /// An nsfs path (`/proc/PID/ns/net`, a bind mount).
    case path(String)
    /// A named namespace `/run/netns/NAME`.
    case name(String)
    /// The namespace of a process.
    case pid(Int32)
    /// A new named namespace created by Berth (removed again on detach); a name is generated when nil.
    case create(name: String?)
}

extension AttachOptions {
    /// The same options with `address6` (`--ip6`) set.
    public func with(address6: String?) -> AttachOptions {
        var copy = self
        copy.address6 = address6
        return copy
    }
}

/// Options of `attach`, shaped after `docker network connect` / `docker run --network`.
public struct AttachOptions: Sendable, Equatable {
    /// The interface name inside the sandbox; nil picks the lowest free `ethN` (`eth0` for a
    /// sandbox's first network, `eth1` for its second, as Docker names them).
    public var interfaceName: String?
    /// `--ip`: a static address.
    public var address: String?
    /// `--ip6`: a static IPv6 address (only on an IPv6 network).
    public var address6: String? = nil
    /// `--mac-address`; 02:42 + the IPv4 bytes when nil.
    public var mac: String?
    /// Exact bindings to publish (a single port or a run; host port 0: an ephemeral port).
    public var ports: [PortMapping]
    /// `-p` requests (`PortSpec`: ranges, a host range to one container port, ephemeral ports),
    /// resolved after `ports`. Every host port (protocol, host address) is published once across
    /// all endpoints: an overlap is `.portAllocated` and changes nothing.
    public var publish: [PortSpec]
    /// The process the sandbox lives for (`berth run` passes itself): once it is gone, any open
    /// of the state directory releases the endpoint (and removes a sandbox Berth created).
    public var owner: ProcessOwner?
    /// The endpoint's ID, chosen by the caller (64 lowercase hex characters): a CNI plugin derives
    /// it from the attachment (container ID, interface, network) so DEL, CHECK and GC find it
    /// without a lookup table. nil: a random ID. An ID already recorded is refused
    /// (`.interfaceInUse`).
    public var endpointID: String?

    public init(interfaceName: String? = nil, address: String? = nil, mac: String? = nil, ports: [PortMapping] = [],
                publish: [PortSpec] = [], owner: ProcessOwner? = nil, endpointID: String? = nil) {
        self.publish = publish
        self.owner = owner
        self.endpointID = endpointID
        self.interfaceName = interfaceName
        self.address = address
        self.mac = mac
        self.ports = ports
    }
}

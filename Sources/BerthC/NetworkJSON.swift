// The "network" and "inspect" objects of include/berth.h ("JSON shapes"): returned by
// berth_network_create, berth_network_list and berth_network_inspect.

import Berth

/// A network as JSON, the mirror of `Network`: every field of its record (networks/<id>.json in
/// the state directory) under its snake_case key, plus `endpoints` for inspect. `subnet` and
/// `ip_range` are `a.b.c.d/n`, `gateway` a dotted quad, `mtu` bytes, `bridge_mac`
/// `xx:xx:xx:xx:xx:xx`, `created` RFC 3339; `ip_range` and `mtu` are absent when unset.
/// scripts/test-c-abi.sh checks these keys against berth.h and the record.
struct NetworkJSON: Encodable {
    var id: String
    var name: String
    var bridge: String
    var subnet: String
    var gateway: String
    var ipRange: String?
    var mtu: UInt32?
    var isInternal: Bool
    var icc: Bool
    var masquerade: Bool
    var hairpin: Bool
    var isolated: Bool
    var loopbackLocal: Bool
    var directRouting: String
    var trustedInterfaces: [String]
    var labels: [String: String]
    var bridgeMAC: String
    var created: String
    var isDefault: Bool
    var ownsBridge: Bool
    /// True when the network was created with a subnet (a static endpoint address needs one).
    var subnetConfigured: Bool
    /// True while a removal is under way (or was interrupted: the next reconcile finishes it).
    var inDelete: Bool
    /// `--ipv6`; then `subnet6` (`x::/n`), `gateway6` and, when set, `ip_range6`.
    var enableIPv6: Bool
    var subnet6: String?
    var gateway6: String?
    var ipRange6: String?
    /// True when endpoints' IPv6 addresses derive from their MACs (default bridge, --fixed-cidr-v6).
    var macDerived6: Bool
    /// True when the IPv4 (IPv6) gateway was given at create rather than chosen.
    var gatewayConfigured: Bool
    var gateway6Configured: Bool
    /// Only in `inspect`, sorted by address (as the façade returns them).
    var endpoints: [EndpointJSON]?

    /// The keys, as berth.h spells them.
    enum CodingKeys: String, CodingKey {
        case id
        case name
        case bridge
        case subnet
        case gateway
        case ipRange = "ip_range"
        case mtu
        case isInternal = "is_internal"
        case icc
        case masquerade
        case hairpin
        case isolated
        case loopbackLocal = "loopback_local"
        case directRouting = "direct_routing"
        case trustedInterfaces = "trusted_interfaces"
        case labels
        case bridgeMAC = "bridge_mac"
        case created
        case isDefault = "is_default"
        case ownsBridge = "owns_bridge"
        case subnetConfigured = "subnet_configured"
        case inDelete = "in_delete"
        case enableIPv6 = "enable_ipv6"
        case subnet6
        case gateway6
        case ipRange6 = "ip_range6"
        case macDerived6 = "mac_derived6"
        case gatewayConfigured = "gateway_configured"
        case gateway6Configured = "gateway6_configured"
        case endpoints
    }

    init(_ n: Network, endpoints: [Endpoint]? = nil) {
        id = n.id
        name = n.name
        bridge = n.bridge
        subnet = n.subnet.description
        gateway = n.gateway.description
        ipRange = n.ipRange?.description
        mtu = n.mtu
        isInternal = n.isInternal
        icc = n.icc
        masquerade = n.masquerade
        hairpin = n.hairpin
        isolated = n.isolated
        loopbackLocal = n.loopbackLocal
        directRouting = n.directRouting.rawValue
        trustedInterfaces = n.trustedInterfaces
        labels = n.labels
        bridgeMAC = n.bridgeMAC.description
        created = n.created
        isDefault = n.isDefault
        ownsBridge = n.ownsBridge
        subnetConfigured = n.subnetConfigured
        inDelete = n.inDelete
        enableIPv6 = n.enableIPv6
        subnet6 = n.subnet6?.description
        gateway6 = n.gateway6?.description
        ipRange6 = n.ipRange6?.description
        macDerived6 = n.macDerived6
        gatewayConfigured = n.gatewayConfigured
        gateway6Configured = n.gateway6Configured
        self.endpoints = endpoints.map { $0.map(EndpointJSON.init) }
    }
}

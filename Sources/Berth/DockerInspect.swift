#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `docker network inspect`'s JSON shape (Docker 20.10, golden/docker-20.10/
/// docker-b-netcreate.network-inspect.json), with attached endpoints under `Containers`, keyed by
/// endpoint ID. Shared by the CLI and the C ABI.
public struct DockerNetworkInspect: Encodable, Sendable {
    struct IPAMConfig: Encodable, Sendable {
        var subnet: String
        var ipRange: String?
        /// Absent when the user gave a subnet without a gateway (Docker shows what IPAM was given).
        var gateway: String?
        enum CodingKeys: String, CodingKey { case subnet = "Subnet", ipRange = "IPRange", gateway = "Gateway" }
    }
    struct IPAM: Encodable, Sendable {
        var driver = "default"
        var options: [String: String] = [:]
        var config: [IPAMConfig]
        enum CodingKeys: String, CodingKey { case driver = "Driver", options = "Options", config = "Config" }
    }
    struct ConfigFrom: Encodable, Sendable {
        var network = ""
        enum CodingKeys: String, CodingKey { case network = "Network" }
    }
    struct Container: Encodable, Sendable {
        var name: String
        var endpointID: String
        var macAddress: String
        var ipv4Address: String
        var ipv6Address = ""
        enum CodingKeys: String, CodingKey {
            case name = "Name", endpointID = "EndpointID", macAddress = "MacAddress", ipv4Address = "IPv4Address", ipv6Address = "IPv6Address"
        }
    }

    var name: String
    var id: String
    var created: String
    var scope = "local"
    var driver = "bridge"
    var enableIPv6 = false
    var ipam: IPAM
    var isInternal: Bool
    var attachable = false
    var ingress = false
    var configFrom = ConfigFrom()
    var configOnly = false
    var containers: [String: Container]
    var options: [String: String]
    var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case name = "Name", id = "Id", created = "Created", scope = "Scope", driver = "Driver", enableIPv6 = "EnableIPv6"
        case ipam = "IPAM", isInternal = "Internal", attachable = "Attachable", ingress = "Ingress", configFrom = "ConfigFrom"
        case configOnly = "ConfigOnly", containers = "Containers", options = "Options", labels = "Labels"
    }

    public init(_ details: NetworkDetails) {
        let n = details.network
        name = n.name
        id = n.id
        created = n.created
        // Docker shows the IPAM configuration it was given: the Gateway of a pool it chose, or
        // one the user gave (golden ipv6/b-netcreate.v6net / v6b network-inspect.json).
        let showGateway = !n.subnetConfigured || n.gatewayConfigured
        var config = [IPAMConfig(subnet: n.subnet.description, ipRange: n.ipRange?.description,
                                 gateway: showGateway ? n.gateway.description : nil)]
        // Docker lists the IPv6 pool after the IPv4 one, with EnableIPv6 true.
        if n.enableIPv6, let subnet6 = n.subnet6 {
            config.append(IPAMConfig(subnet: subnet6.description, ipRange: n.ipRange6?.description,
                                     gateway: n.gateway6Configured ? n.gateway6?.description : nil))
        }
        enableIPv6 = n.enableIPv6
        ipam = IPAM(config: config)
        isInternal = n.isInternal
        containers = Dictionary(uniqueKeysWithValues: details.endpoints.map { e in
            (e.id, Container(name: e.sandboxName ?? e.sandboxPath, endpointID: e.id, macAddress: e.mac.description, ipv4Address: e.cidr,
                             ipv6Address: e.cidr6 ?? ""))
        })
        var opts: [String: String] = [:]
        if n.isDefault {
            opts = ["com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_icc": "true",
                    "com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    "com.docker.network.bridge.name": n.bridge, "com.docker.network.driver.mtu": String(n.mtu ?? 1500)]
        } else {
            if !n.ownsBridge || !n.bridge.hasPrefix("br-") { opts["com.docker.network.bridge.name"] = n.bridge }
            if !n.icc { opts["com.docker.network.bridge.enable_icc"] = "false" }
            if !n.masquerade { opts["com.docker.network.bridge.enable_ip_masquerade"] = "false" }
            if let mtu = n.mtu { opts["com.docker.network.driver.mtu"] = String(mtu) }
            if n.hairpin { opts["com.docker.network.bridge.hairpin"] = "true" }
            if n.isolated { opts["com.docker.network.bridge.isolated"] = "true" }
            if n.loopbackLocal { opts["com.docker.network.bridge.loopback_local"] = "true" }
            if n.directRouting != .off { opts["com.docker.network.bridge.direct_routing"] = n.directRouting.rawValue }
            if !n.trustedInterfaces.isEmpty { opts["com.docker.network.bridge.trusted_interfaces"] = n.trustedInterfaces.joined(separator: ",") }
        }
        options = opts
        labels = n.labels
    }

    /// `[ {...}, ... ]` as `docker network inspect` prints it (4-space indentation).
    public static func render(_ all: [NetworkDetails]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(all.map(DockerNetworkInspect.init)) else { return "[]" }
        // JSONEncoder indents by two spaces; Docker by four.
        let text = String(decoding: data, as: UTF8.self)
        let lines: [Substring] = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.map { (line: Substring) -> String in
            let spaces = line.prefix { $0 == " " }.count
            return String(repeating: " ", count: spaces * 2) + String(line.dropFirst(spaces))
        }.joined(separator: "\n").replacing("\" : ", with: "\": ")
    }
}

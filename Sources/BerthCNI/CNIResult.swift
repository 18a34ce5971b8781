import Berth

/// The success result of ADD (CNI spec 1.1, "Success"), written in the request's version:
/// interfaces (the bridge, the host end of the veth, the container's interface with its
/// `sandbox`), the endpoint's address (`interface` indexes `interfaces`), the default route via
/// the gateway, an empty `dns`. 0.3.1/0.4.0 add `"version":"4"` to each address.
/// Chained after another plugin, the previous result's interfaces, addresses and routes come
/// first (converted to the request's version) and Berth's are appended.
public enum CNIResult {
    public static func add(endpoint: Endpoint, network: Network, netns: String, version: CNIVersion, previous: CNIJSON?) -> CNIJSON {
        var interfaces: [CNIJSON] = []
        var ips: [CNIJSON] = []
        var routes: [CNIJSON] = []
        var dns: CNIJSON = .object([:])
        if case .object(let prev)? = previous {
            if case .array(let a)? = prev["interfaces"] { interfaces = a }
            if case .array(let a)? = prev["ips"] { ips = a.map { convert(ip: $0, to: version) } }
            if case .array(let a)? = prev["routes"] { routes = a }
            if let d = prev["dns"] { dns = d }
        }
        let base = interfaces.count
        interfaces.append(.object(["name": .string(network.bridge), "mac": .string("\(network.bridgeMAC)")]))
        interfaces.append(.object(["name": .string(endpoint.hostInterface)]))
        interfaces.append(.object(["name": .string(endpoint.interfaceName), "mac": .string("\(endpoint.mac)"), "sandbox": .string(netns)]))
        var ip: [String: CNIJSON] = ["address": .string(endpoint.cidr), "interface": .number(Double(base + 2))]
        if let gw = endpoint.gateway { ip["gateway"] = .string("\(gw)") }
        if version.resultsCarryIPVersion { ip["version"] = .string("4") }
        ips.append(.object(ip))
        if let gw = endpoint.gateway { routes.append(.object(["dst": .string("0.0.0.0/0"), "gw": .string("\(gw)")])) }
        return .object(["cniVersion": .string(version.description), "interfaces": .array(interfaces), "ips": .array(ips),
                        "routes": .array(routes), "dns": dns])
    }

    /// An `ips` entry in `version`'s shape: `version` ("4" or "6", from the address) added for
    /// 0.x, removed for 1.x (spec "Version considerations").
    static func convert(ip: CNIJSON, to version: CNIVersion) -> CNIJSON {
        guard case .object(var o) = ip else { return ip }
        if version.resultsCarryIPVersion {
            if o["version"] == nil, case .string(let a)? = o["address"] { o["version"] = .string(a.contains(":") ? "6" : "4") }
        } else {
            o["version"] = nil
        }
        return .object(o)
    }

    /// A whole result converted to `version` (a chained plugin's `prevResult` passed on as it is
    /// when Berth does nothing to it: DEL, CHECK).
    public static func convert(_ result: CNIJSON, to version: CNIVersion) -> CNIJSON {
        guard case .object(var o) = result else { return result }
        o["cniVersion"] = .string(version.description)
        if case .array(let a)? = o["ips"] { o["ips"] = .array(a.map { convert(ip: $0, to: version) }) }
        return .object(o)
    }
}

extension CNIError {
    /// The CNI code of a Berth error: bad values are 7, a container that does not exist 3, a
    /// CNI_NETNS that is not a network namespace 4, a full pool 11 (try again after a DEL), the
    /// state directory 5; conflicts and kernel refusals have Berth's own codes (100+).
    public init(_ error: BerthError) {
        let code: CNIError.Code = switch error.code {
        case .invalidName, .invalidInterfaceName, .invalidArgument, .gatewayOutsideSubnet, .ipRangeOutsideSubnet,
             .addressOutsideSubnet, .subnetOverlap, .duplicateName, .networkNotFound, .predefinedNetwork: .invalidConfig
        case .sandboxNotFound: .unknownContainer
        case .notANetworkNamespace: .invalidEnvironment
        case .addressesExhausted, .subnetsExhausted, .hasActiveEndpoints: .tryAgainLater
        case .interfaceInUse: .interfaceExists
        case .addressInUse: .addressInUse
        case .portAllocated: .portAllocated
        case .permissionDenied: .permissionDenied
        case .stateConflict: .stateConflict
        case .state: .ioFailure
        case .endpointNotFound: .unknownContainer
        case .system, .multiple, .tapBusy, .tapFlagMismatch, .tunUnavailable: .system
        case .ipv6Unavailable: .invalidConfig
        }
        self.init(code, "\(error)")
    }
}

import Berth

/// One network configuration of `type: berth` (the stdin of every verb but VERSION), as Berth
/// reads it. One configuration is one Berth network, named `name`, created on the first ADD.
/// Unknown keys are ignored (CNI spec 1.1, "Plugin configuration objects": plugins must ignore
/// fields they do not know); a known key of the wrong type or with a bad value is code 7.
public struct CNINetworkConfig: Sendable, Equatable {
    public var cniVersion: CNIVersion
    /// The CNI network name = the Berth network name (Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
    public var name: String
    /// `bridge`: the bridge's name (default Berth's `br-<12 hex of the network ID>`).
    public var bridge: String?
    /// `subnet`, `gateway`, `ipRange`: as `berth network create --subnet/--gateway/--ip-range`;
    /// without `subnet` a free one of Docker's default pools is chosen.
    public var subnet: String?
    public var gateway: String?
    public var ipRange: String?
    /// `mtu` (68–65535 bytes).
    public var mtu: UInt32?
    /// `ipMasq` (default true): outbound masquerade.
    public var ipMasq = true
    /// `icc` (default true): containers of the network reach each other.
    public var icc = true
    /// `internal` (default false): nothing leaves the bridge.
    public var isInternal = false
    /// `hairpin` (default false): Docker's `--userland-proxy=false` rules (`Network.hairpin`).
    public var hairpin = false
    /// `userlandProxy` (default false): the state directory's userland-proxy mode (dockerd's
    /// `--userland-proxy`). false, Docker's proxy-less rules, serves the host's 127.0.0.1 by DNAT
    /// (route_localnet), as the reference `portmap` plugin does; a proxy would have to bind the
    /// host port, which runtimes such as Podman already hold for the container.
    public var userlandProxy = false
    /// `backend`: `iptables` (default) or `nftables`.
    public var backend: FirewallBackendKind = .iptables
    /// `stateDir` (default `/var/lib/berth`).
    public var stateDirectory = "/var/lib/berth"
    /// `runtimeConfig.portMappings`.
    public var portMappings: [PortMapping] = []
    /// `runtimeConfig.ips` (duplicates folded; one IPv4 address at most, prefix length ignored).
    public var staticIPs: [String] = []
    /// `runtimeConfig.mac`.
    public var mac: String?
    /// `prevResult`, as given (chaining).
    public var prevResult: CNIJSON?
    /// `cni.dev/valid-attachments` (GC): container ID and interface of each attachment in use.
    public var validAttachments: [(containerID: String, ifname: String)]?

    public static func == (a: CNINetworkConfig, b: CNINetworkConfig) -> Bool {
        a.name == b.name && a.cniVersion == b.cniVersion && a.bridge == b.bridge && a.subnet == b.subnet && a.gateway == b.gateway
            && a.ipRange == b.ipRange && a.mtu == b.mtu && a.ipMasq == b.ipMasq && a.icc == b.icc && a.isInternal == b.isInternal
            && a.hairpin == b.hairpin && a.userlandProxy == b.userlandProxy && a.backend == b.backend && a.stateDirectory == b.stateDirectory
            && a.portMappings == b.portMappings && a.staticIPs == b.staticIPs && a.mac == b.mac && a.prevResult == b.prevResult
    }

    /// Reads the configuration (`json` is the parsed stdin).
    /// - Throws: code 1 (cniVersion unsupported), 2 (`isGateway: false`: Berth's networks always
    ///   route via the bridge), 7 (a required key missing, a known key of the wrong type or value).
    public init(_ json: CNIJSON) throws(CNIError) {
        guard case .object(let o) = json else { throw CNIError(.invalidConfig, "network config must be a JSON object, not \(json.typeName)") }
        cniVersion = try CNIVersion.of(json)
        guard let name = try Self.string(o, "name"), !name.isEmpty else { throw CNIError(.invalidConfig, "network config lacks name") }
        self.name = name
        if o["type"] == nil { throw CNIError(.invalidConfig, "network config lacks type") }
        _ = try Self.string(o, "type")
        bridge = try Self.string(o, "bridge")
        subnet = try Self.string(o, "subnet")
        gateway = try Self.string(o, "gateway")
        ipRange = try Self.string(o, "ipRange")
        if let m = try Self.integer(o, "mtu") {
            guard (68...65535).contains(m) else { throw CNIError(.invalidConfig, "mtu must be 68–65535, not \(m)") }
            mtu = UInt32(m)
        }
        ipMasq = try Self.bool(o, "ipMasq") ?? true
        icc = try Self.bool(o, "icc") ?? true
        isInternal = try Self.bool(o, "internal") ?? false
        hairpin = try Self.bool(o, "hairpin") ?? false
        userlandProxy = try Self.bool(o, "userlandProxy") ?? false
        if try Self.bool(o, "isGateway") == false {
            throw CNIError(.unsupportedField, "isGateway false is not supported: a Berth network's bridge is always its containers' gateway")
        }
        if let b = try Self.string(o, "backend") {
            guard let kind = FirewallBackendKind(rawValue: b) else {
                throw CNIError(.invalidConfig, "backend must be iptables or nftables, not '\(b)'")
            }
            backend = kind
        }
        if let dir = try Self.string(o, "stateDir") {
            guard dir.hasPrefix("/") else { throw CNIError(.invalidConfig, "stateDir must be an absolute path, not '\(dir)'") }
            stateDirectory = dir
        }
        if let rc = o["runtimeConfig"] {
            guard case .object(let r) = rc else { throw CNIError(.invalidConfig, "runtimeConfig must be an object, not \(rc.typeName)") }
            try readRuntimeConfig(r)
        }
        if let prev = o["prevResult"] {
            guard case .object = prev else { throw CNIError(.invalidConfig, "prevResult must be an object, not \(prev.typeName)") }
            prevResult = prev
        }
        if let va = o["cni.dev/valid-attachments"] {
            guard case .array(let items) = va else {
                throw CNIError(.invalidConfig, "cni.dev/valid-attachments must be an array, not \(va.typeName)")
            }
            validAttachments = try items.map { item throws(CNIError) in
                guard case .object(let a) = item, let id = try Self.string(a, "containerID"), let ifname = try Self.string(a, "ifname") else {
                    throw CNIError(.invalidConfig, "cni.dev/valid-attachments entries need containerID and ifname strings")
                }
                return (id, ifname)
            }
        }
    }

    private mutating func readRuntimeConfig(_ r: [String: CNIJSON]) throws(CNIError) {
        if let pm = r["portMappings"] {
            guard case .array(let items) = pm else { throw CNIError(.invalidConfig, "runtimeConfig.portMappings must be an array, not \(pm.typeName)") }
            portMappings = try items.map(Self.portMapping)
        }
        if let ips = r["ips"] {
            guard case .array(let items) = ips else { throw CNIError(.invalidConfig, "runtimeConfig.ips must be an array, not \(ips.typeName)") }
            for item in items {
                guard case .string(let s) = item else { throw CNIError(.invalidConfig, "runtimeConfig.ips entries must be strings, not \(item.typeName)") }
                // An address or a CIDR ("10.88.0.5/24", CNI conventions "ips"): the network's prefix applies.
                let address = s.split(separator: "/", maxSplits: 1).first.map(String.init) ?? s
                if !staticIPs.contains(address) { staticIPs.append(address) }
            }
            if staticIPs.count > 1 {
                throw CNIError(.invalidConfig, "runtimeConfig.ips names \(staticIPs.count) addresses; a Berth endpoint has one IPv4 address")
            }
        }
        mac = try Self.string(r, "mac")
    }

    private static func portMapping(_ item: CNIJSON) throws(CNIError) -> PortMapping {
        guard case .object(let p) = item else { throw CNIError(.invalidConfig, "a portMappings entry must be an object, not \(item.typeName)") }
        guard let host = try integer(p, "hostPort"), let container = try integer(p, "containerPort") else {
            throw CNIError(.invalidConfig, "a portMappings entry needs hostPort and containerPort")
        }
        guard (1...65535).contains(host), (1...65535).contains(container) else {
            throw CNIError(.invalidConfig, "portMappings: ports must be 1–65535, not \(host):\(container)")
        }
        let protoText = (try string(p, "protocol") ?? "tcp").lowercased()
        guard let proto = PortMapping.TransportProtocol(rawValue: protoText) else {
            throw CNIError(.invalidConfig, "portMappings: unsupported protocol '\(protoText)'")
        }
        var hostIP: IPv4Address?
        if let text = try string(p, "hostIP"), !text.isEmpty, text != "0.0.0.0" {
            guard let ip = IPv4Address(text) else { throw CNIError(.invalidConfig, "portMappings: hostIP '\(text)' is not an IPv4 address") }
            hostIP = ip
        }
        return PortMapping(proto: proto, hostIP: hostIP, hostPort: UInt16(host), containerPort: UInt16(container))
    }

    static func string(_ o: [String: CNIJSON], _ key: String) throws(CNIError) -> String? {
        guard let v = o[key] else { return nil }
        guard case .string(let s) = v else { throw CNIError(.invalidConfig, "\(key) must be a string, not \(v.typeName)") }
        return s
    }

    static func bool(_ o: [String: CNIJSON], _ key: String) throws(CNIError) -> Bool? {
        guard let v = o[key] else { return nil }
        guard case .bool(let b) = v else { throw CNIError(.invalidConfig, "\(key) must be a boolean, not \(v.typeName)") }
        return b
    }

    static func integer(_ o: [String: CNIJSON], _ key: String) throws(CNIError) -> Int? {
        guard let v = o[key] else { return nil }
        guard case .number(let d) = v, d.rounded() == d, abs(d) < 1e9 else {
            throw CNIError(.invalidConfig, "\(key) must be an integer, not \(v.typeName)")
        }
        return Int(d)
    }
}

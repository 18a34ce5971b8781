@_spi(BerthInternal) import BerthNamespace
// berth_network_attach's sandbox and options_json, and the sandbox of
// berth_network_detach_sandbox (include/berth.h) → the façade's SandboxSpec and AttachOptions.

import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

/// `berth_network_attach` sandbox and options → `SandboxSpec`, `AttachOptions`.
func attachArguments(network: String, sandbox: String?, json: String?) throws(CallError) -> (SandboxSpec, AttachOptions) {
    let op = OperationName.attach
    let o = try JSONOptions(json, allowed: ["interface", "ip", "ip6", "mac", "ports", "create_sandbox"], operation: op, object: network)
    var options = AttachOptions()
    if let name = try o.string("interface") { options.interfaceName = name }
    options.address = try o.string("ip")
    options.address6 = try o.string("ip6")
    options.mac = try o.string("mac")
    options.publish = try portRequests(o, operation: op, network: network)
    let create = try o.bool("create_sandbox") ?? false
    let spec: SandboxSpec
    switch sandbox {
    case nil:
        spec = .create(name: nil)
    case let s? where s.isEmpty:
        throw CallError.invalid(op, network, "sandbox is empty")
    case let s? where s.hasPrefix("/"):
        if create { throw CallError.invalid(op, network, "create_sandbox needs a namespace name, not a path ('\(s)')") }
        spec = .path(s)
    case let s?:
        spec = create ? .create(name: s) : .name(s)
    }
    return (spec, options)
}

/// The "ports" array of an options object → `PortSpec`s (berth_network_attach,
/// berth_network_attach_tap).
func portRequests(_ o: JSONOptions, operation op: OperationName, network: String) throws(CallError) -> [PortSpec] {
    var ports: [PortSpec] = []
    for (i, item) in try o.array("ports").enumerated() {
        let p = try JSONOptions(item, allowed: ["host_port", "host_port_end", "container_port", "container_port_end", "proto", "host_ip"],
                                operation: op, object: network, context: "ports[\(i)]")
        guard let containerPort = try p.integer("container_port", in: 0...Int(Int32.max)) else {
            throw CallError.invalid(op, network, "ports[\(i)] needs container_port")
        }
        let containerEnd = try p.integer("container_port_end", in: 0...Int(Int32.max)) ?? containerPort
        let hostPort = try p.integer("host_port", in: 0...Int(Int32.max))
        let hostEnd = try p.integer("host_port_end", in: 0...Int(Int32.max))
        var hostIP: IPv4Address?
        var hostIP6: IPv6Address?
        if let text = try p.string("host_ip") {
            if let address = IPv4Address(text) { hostIP = address } else if let address = IPv6Address(text) { hostIP6 = address } else {
                throw CallError.invalid(op, network, "ports[\(i)].host_ip '\(text)' is not an IPv4 or IPv6 address")
            }
        }
        let proto = try p.string("proto") ?? "tcp"
        // The one port-request validator (PortSpec): Docker's -p rules, with its wording.
        let host: (Int, Int)? = hostPort.map { ($0, hostEnd ?? $0) } ?? hostEnd.map { (0, $0) }
        ports.append(try api { () throws(BerthError) in
            try PortSpec.validated(proto: proto, hostIP: hostIP, hostIP6: hostIP6, host: host,
                                   container: (containerPort, containerEnd), operation: op, object: "\(network) ports[\(i)]")
        })
    }
    return ports
}

/// A sandbox string of `berth_network_detach_sandbox`: a path or a name.
func sandboxSpec(_ text: String, _ operation: OperationName) throws(CallError) -> SandboxSpec {
    if text.isEmpty { throw CallError.invalid(operation, "", "sandbox is empty") }
    return text.hasPrefix("/") ? .path(text) : .name(text)
}

@_spi(BerthInternal) import BerthNamespace
// berth_network_attach_tap (include/berth.h): a micro-VM TAP on a network (issue 16).

import Berth
import CBerth

/// The guest configuration of include/berth.h ("JSON shapes", "tap attachment").
struct GuestJSON: Encodable {
    var mac: String
    var address: String
    var prefixLength: Int
    var netmask: String
    var gateway: String
    var mtu: UInt32
    var dns: [String]
    var tap: String
    var guestInterface: String
    var bootParameter: String

    enum CodingKeys: String, CodingKey {
        case mac, address, netmask, gateway, mtu, dns, tap
        case prefixLength = "prefix_length"
        case guestInterface = "guest_interface"
        case bootParameter = "boot_parameter"
    }

    init(_ g: GuestConfiguration) {
        mac = g.mac.description
        address = g.address.description
        prefixLength = g.prefixLength
        netmask = g.netmask.description
        gateway = g.gateway.description
        mtu = g.mtu
        dns = g.dns.map(\.description)
        tap = g.tap
        guestInterface = g.guestInterface
        bootParameter = g.bootParameter
    }
}

struct TapAttachmentJSON: Encodable {
    var endpoint: EndpointJSON
    var guest: GuestJSON
}

/// `tap_json` → `TapOptions`.
func tapArguments(network: String, json: String) throws(CallError) -> TapOptions {
    let op = OperationName.attachTap
    let o = try JSONOptions(json, allowed: ["name", "sandbox", "queues", "owner", "group", "vnet_hdr", "custody", "ip", "mac", "ports"],
                            operation: op, object: network)
    guard let name = try o.string("name") else { throw CallError.invalid(op, network, "tap_json needs \"name\"") }
    var options = TapOptions(name: name)
    if let sandbox = try o.string("sandbox") { options.sandbox = try sandboxSpec(sandbox, op) }
    options.queues = try o.integer("queues", in: Int.min...Int.max) ?? 1
    options.owner = try o.integer("owner", in: 0...Int(UInt32.max - 1)).map { UInt32($0) }
    options.group = try o.integer("group", in: 0...Int(UInt32.max - 1)).map { UInt32($0) }
    options.vnetHeader = try o.bool("vnet_hdr") ?? true
    switch try o.string("custody") ?? "persistent" {
    case "persistent": options.custody = .persistent
    case "fd": options.custody = .fd
    case let other: throw CallError.invalid(op, network, "custody must be \"persistent\" or \"fd\", not '\(other)'")
    }
    options.address = try o.string("ip")
    options.mac = try o.string("mac")
    options.publish = try portRequests(o, operation: op, network: network)
    return options
}

@c @implementation
public func berth_network_attach_tap(_ controller: OpaquePointer?, _ network: UnsafePointer<CChar>?,
                                     _ tapJSON: UnsafePointer<CChar>?,
                                     _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                     _ fds: UnsafeMutablePointer<Int32>?, _ nFDs: UnsafeMutablePointer<Int>?,
                                     _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    let capacity = nFDs?.pointee ?? 0
    nFDs?.pointee = 0
    return perform(outError) { () throws(CallError) in
        let op = OperationName.attachTap
        let ctrl = try requiredController(controller, op)
        let networkName = try requiredString(network, "network", op)
        guard let text = try optionalString(tapJSON, "tap_json", op) else { throw CallError.invalid(op, networkName, "tap_json is required") }
        let options = try tapArguments(network: networkName, json: text)
        if options.custody == .fd {
            guard let fds, nFDs != nil, capacity >= options.queues else {
                throw CallError.invalid(op, networkName, "fd custody needs fds and *n_fds >= queues (\(options.queues))")
            }
            _ = fds
        }
        let attachment = try api { () throws(BerthError) in try ctrl.attach(network: networkName, tap: options) }
        do throws(CallError) {
            try storeJSON(TapAttachmentJSON(endpoint: EndpointJSON(attachment.endpoint), guest: GuestJSON(attachment.guest)),
                          into: outJSON, op, networkName)
        } catch {
            TapDevice.close(attachment.fds)
            _ = try? ctrl.detach(endpoint: attachment.endpoint.id)
            throw error
        }
        if let fds {
            for (i, fd) in attachment.fds.enumerated() { fds[i] = fd }
        }
        nFDs?.pointee = attachment.fds.count
    }
}

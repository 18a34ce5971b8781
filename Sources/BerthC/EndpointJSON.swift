// The "endpoint" object of include/berth.h ("JSON shapes"): returned by berth_network_attach,
// berth_endpoint_list and (under "endpoints") berth_network_inspect.

import Berth

/// An endpoint as JSON, the mirror of `Endpoint`: every field of its record (endpoints/<id>.json
/// in the state directory) under its snake_case key, plus `cidr`. Addresses are dotted quads,
/// `mac` is `xx:xx:xx:xx:xx:xx`, `prefix_length` is 0-32; `sandbox_name` and `gateway` are absent
/// when unset. scripts/test-c-abi.sh checks these keys against berth.h and the record.
struct EndpointJSON: Encodable {
    var id: String
    var networkID: String
    var networkName: String
    var sandboxPath: String
    var sandboxName: String?
    var sandboxDevice: UInt64
    var sandboxInode: UInt64
    var createdSandbox: Bool
    var hostInterface: String
    var interfaceName: String
    var address: String
    var prefixLength: Int
    var cidr: String
    var gateway: String?
    var mac: String
    var ports: [PortJSON]
    var sequence: Int?
    var owner: OwnerJSON?
    /// On an IPv6 network: the IPv6 address, its prefix length, `cidr6` and the IPv6 gateway.
    var address6: String?
    var prefixLength6: Int?
    var cidr6: String?
    var gateway6: String?

    /// The process a `berth run` sandbox lives for.
    struct OwnerJSON: Encodable {
        var pid: Int32
        var startTime: UInt64
        enum CodingKeys: String, CodingKey {
            case pid
            case startTime = "start_time"
        }
    }

    /// The keys, as berth.h spells them.
    enum CodingKeys: String, CodingKey {
        case id
        case networkID = "network_id"
        case networkName = "network_name"
        case sandboxPath = "sandbox_path"
        case sandboxName = "sandbox_name"
        case sandboxDevice = "sandbox_device"
        case sandboxInode = "sandbox_inode"
        case createdSandbox = "created_sandbox"
        case hostInterface = "host_interface"
        case interfaceName = "interface_name"
        case address
        case prefixLength = "prefix_length"
        case cidr
        case gateway
        case mac
        case ports
        case sequence
        case owner
        case address6
        case prefixLength6 = "prefix_length6"
        case cidr6
        case gateway6
    }

    init(_ e: Endpoint) {
        id = e.id
        networkID = e.networkID
        networkName = e.networkName
        sandboxPath = e.sandboxPath
        sandboxName = e.sandboxName
        sandboxDevice = e.sandboxDevice
        sandboxInode = e.sandboxInode
        createdSandbox = e.createdSandbox
        hostInterface = e.hostInterface
        interfaceName = e.interfaceName
        address = e.address.description
        prefixLength = e.prefixLength
        cidr = e.cidr
        gateway = e.gateway?.description
        mac = e.mac.description
        ports = e.ports.map(PortJSON.init)
        sequence = e.sequence
        owner = e.owner.map { OwnerJSON(pid: $0.pid, startTime: $0.startTime) }
        address6 = e.address6?.description
        prefixLength6 = e.prefixLength6
        cidr6 = e.cidr6
        gateway6 = e.gateway6?.description
    }
}

// Marshalling between the C ABI (include/berth.h) and the Swift façade: C strings in, JSON and
// error objects out. No networking logic lives here.

import Berth
import BerthFirewall
import BerthNetlink
import CBerth
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: Handles

/// What a `berth_controller *` points to (retained while the handle is open).
final class ControllerBox: Sendable {
    let controller: NetworkController
    init(_ controller: NetworkController) { self.controller = controller }

    /// The box behind a handle, without taking ownership.
    static func borrow(_ handle: OpaquePointer?) -> ControllerBox? {
        guard let handle else { return nil }
        return Unmanaged<ControllerBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }
}

/// What a `berth_error *` points to: immutable, its strings malloc'ed once and freed with it.
final class ErrorBox: @unchecked Sendable {
    let status: berth_status
    let errnoValue: Int32
    // Owned C strings (nil only when malloc failed; accessors fall back to "").
    let operation: UnsafeMutablePointer<CChar>?
    let object: UnsafeMutablePointer<CChar>?
    let message: UnsafeMutablePointer<CChar>?

    init(_ failure: CallError) {
        status = failure.status
        errnoValue = failure.errno
        operation = strdup(failure.operation)
        object = strdup(failure.object)
        message = strdup(failure.message)
    }

    deinit {
        free(operation)
        free(object)
        free(message)
    }

    static func borrow(_ handle: OpaquePointer?) -> ErrorBox? {
        guard let handle else { return nil }
        return Unmanaged<ErrorBox>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }
}

/// A static C string (lives as long as the program).
func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: Status codes

func statusCode(_ code: berth_status_code) -> berth_status {
    berth_status(truncatingIfNeeded: code.rawValue)
}

extension BerthError.Code {
    /// The C status of this code. Exhaustive on purpose: a new code fails the build until it has
    /// its own status appended to `enum berth_status_code`.
    var cStatus: berth_status {
        let code: berth_status_code = switch self {
        case .invalidName: BERTH_ERR_INVALID_NAME
        case .duplicateName: BERTH_ERR_DUPLICATE_NAME
        case .invalidInterfaceName: BERTH_ERR_INVALID_INTERFACE_NAME
        case .invalidArgument: BERTH_ERR_INVALID_ARGUMENT
        case .gatewayOutsideSubnet: BERTH_ERR_GATEWAY_OUTSIDE_SUBNET
        case .ipRangeOutsideSubnet: BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET
        case .subnetOverlap: BERTH_ERR_SUBNET_OVERLAP
        case .subnetsExhausted: BERTH_ERR_SUBNETS_EXHAUSTED
        case .networkNotFound: BERTH_ERR_NETWORK_NOT_FOUND
        case .endpointNotFound: BERTH_ERR_ENDPOINT_NOT_FOUND
        case .sandboxNotFound: BERTH_ERR_SANDBOX_NOT_FOUND
        case .notANetworkNamespace: BERTH_ERR_NOT_A_NETWORK_NAMESPACE
        case .interfaceInUse: BERTH_ERR_INTERFACE_IN_USE
        case .addressInUse: BERTH_ERR_ADDRESS_IN_USE
        case .addressOutsideSubnet: BERTH_ERR_ADDRESS_OUTSIDE_SUBNET
        case .addressesExhausted: BERTH_ERR_ADDRESSES_EXHAUSTED
        case .hasActiveEndpoints: BERTH_ERR_HAS_ACTIVE_ENDPOINTS
        case .predefinedNetwork: BERTH_ERR_PREDEFINED_NETWORK
        case .permissionDenied: BERTH_ERR_PERMISSION_DENIED
        case .state: BERTH_ERR_STATE
        case .system: BERTH_ERR_SYSTEM
        case .multiple: BERTH_ERR_MULTIPLE
        case .portAllocated: BERTH_ERR_PORT_ALLOCATED
        case .stateConflict: BERTH_ERR_STATE_CONFLICT
        }
        return statusCode(code)
    }
}

/// The constant name of a status, as spelled in berth.h.
func statusName(_ value: berth_status) -> StaticString {
    let names: [StaticString] = [
        "BERTH_OK", "BERTH_ERR_INVALID_NAME", "BERTH_ERR_DUPLICATE_NAME", "BERTH_ERR_INVALID_INTERFACE_NAME",
        "BERTH_ERR_INVALID_ARGUMENT", "BERTH_ERR_GATEWAY_OUTSIDE_SUBNET", "BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET",
        "BERTH_ERR_SUBNET_OVERLAP", "BERTH_ERR_SUBNETS_EXHAUSTED", "BERTH_ERR_NETWORK_NOT_FOUND",
        "BERTH_ERR_ENDPOINT_NOT_FOUND", "BERTH_ERR_SANDBOX_NOT_FOUND", "BERTH_ERR_NOT_A_NETWORK_NAMESPACE",
        "BERTH_ERR_INTERFACE_IN_USE", "BERTH_ERR_ADDRESS_IN_USE", "BERTH_ERR_ADDRESS_OUTSIDE_SUBNET",
        "BERTH_ERR_ADDRESSES_EXHAUSTED", "BERTH_ERR_HAS_ACTIVE_ENDPOINTS", "BERTH_ERR_PREDEFINED_NETWORK",
        "BERTH_ERR_PERMISSION_DENIED", "BERTH_ERR_STATE", "BERTH_ERR_SYSTEM", "BERTH_ERR_MULTIPLE",
        "BERTH_ERR_INTERNAL",
    ]
    guard value >= 0, Int(value) < names.count else { return "BERTH_ERR_UNKNOWN" }
    return names[Int(value)]
}

// MARK: Failures

/// Everything a failed call reports through its status and `berth_error`.
struct CallError: Error {
    var status: berth_status
    var errno: Int32
    var operation: String
    var object: String
    var message: String

    init(_ error: BerthError) {
        status = error.code.cStatus
        errno = error.errno
        operation = error.operation
        object = error.object
        message = error.description
    }

    init(status: berth_status, operation: String, object: String, detail: String) {
        self.status = status
        errno = 0
        self.operation = operation
        self.object = object
        message = object.isEmpty ? "\(operation): \(detail)" : "\(operation) \(object): \(detail)"
    }

    static func invalid(_ operation: String, _ object: String, _ detail: String) -> CallError {
        CallError(status: statusCode(BERTH_ERR_INVALID_ARGUMENT), operation: operation, object: object, detail: detail)
    }

    static func `internal`(_ operation: String, _ object: String, _ detail: String) -> CallError {
        CallError(status: statusCode(BERTH_ERR_INTERNAL), operation: operation, object: object, detail: detail)
    }
}

/// Runs one C call: clears `*outError`, runs `body`, and turns a failure into a status and (when
/// asked for) an error object.
func perform(_ outError: UnsafeMutablePointer<OpaquePointer?>?, _ body: () throws(CallError) -> Void) -> berth_status {
    outError?.pointee = nil
    do {
        try body()
        return statusCode(BERTH_OK)
    } catch {
        if let outError {
            outError.pointee = OpaquePointer(Unmanaged.passRetained(ErrorBox(error)).toOpaque())
        }
        return error.status
    }
}

/// Calls the façade, converting its error.
func api<T>(_ body: () throws(BerthError) -> T) throws(CallError) -> T {
    do { return try body() } catch { throw CallError(error) }
}

// MARK: Arguments

/// A required C string argument: non-NULL, valid UTF-8.
func requiredString(_ pointer: UnsafePointer<CChar>?, _ name: String, _ operation: String) throws(CallError) -> String {
    guard let pointer else { throw CallError.invalid(operation, "", "\(name) is NULL") }
    guard let text = String(validatingCString: pointer) else { throw CallError.invalid(operation, "", "\(name) is not valid UTF-8") }
    return text
}

/// An optional C string argument: NULL = nil; otherwise valid UTF-8.
func optionalString(_ pointer: UnsafePointer<CChar>?, _ name: String, _ operation: String) throws(CallError) -> String? {
    guard let pointer else { return nil }
    guard let text = String(validatingCString: pointer) else { throw CallError.invalid(operation, "", "\(name) is not valid UTF-8") }
    return text
}

/// A required controller handle.
func requiredController(_ handle: OpaquePointer?, _ operation: String) throws(CallError) -> NetworkController {
    guard let box = ControllerBox.borrow(handle) else { throw CallError.invalid(operation, "", "controller is NULL") }
    return box.controller
}

/// A new malloc'ed copy of `text` (freed by the caller with berth_free).
func mallocString(_ text: String, _ operation: String, _ object: String) throws(CallError) -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(text) else { throw CallError.internal(operation, object, "out of memory") }
    return copy
}

/// Encodes `value` as compact JSON with sorted keys.
func encodeJSON<T: Encodable>(_ value: T, _ operation: String, _ object: String) throws(CallError) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        throw CallError.internal(operation, object, "cannot encode the result as JSON: \(error)")
    }
}

/// Stores `value` encoded as JSON into `*out` (when `out` is given).
func storeJSON<T: Encodable>(_ value: T, into out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                             _ operation: String, _ object: String) throws(CallError) {
    guard let out else { return }
    out.pointee = try mallocString(try encodeJSON(value, operation, object), operation, object)
}

// MARK: JSON input

/// A parsed JSON value (input options).
enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object of options whose keys are checked against the ones allowed.
struct JSONOptions {
    let fields: [String: JSONValue]
    let operation: String
    let object: String
    let context: String

    /// Parses `text` (nil = no options) as a JSON object with only `allowed` keys.
    init(_ text: String?, allowed: Set<String>, operation: String, object: String, context: String = "options") throws(CallError) {
        guard let text else {
            try self.init(JSONValue.null, allowed: allowed, operation: operation, object: object, context: context)
            return
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw CallError.invalid(operation, object, "\(context) is not valid JSON")
        }
        try self.init(value, allowed: allowed, operation: operation, object: object, context: context)
    }

    init(_ value: JSONValue, allowed: Set<String>, operation: String, object: String, context: String) throws(CallError) {
        self.operation = operation
        self.object = object
        self.context = context
        switch value {
        case .null: fields = [:]
        case .object(let f): fields = f
        default: throw CallError.invalid(operation, object, "\(context) must be a JSON object, not \(value.typeName)")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw CallError.invalid(operation, object, "unknown key '\(unknown)' in \(context)")
        }
    }

    func wrongType(_ key: String, _ wanted: String, _ value: JSONValue) -> CallError {
        CallError.invalid(operation, object, "\(context).\(key) must be \(wanted), not \(value.typeName)")
    }

    /// A string value; absent or null = nil.
    func string(_ key: String) throws(CallError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw wrongType(key, "a string", v)
        }
    }

    /// A boolean value; absent or null = nil.
    func bool(_ key: String) throws(CallError) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let v?: throw wrongType(key, "a boolean", v)
        }
    }

    /// An integer value within `range`; absent or null = nil.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(CallError) -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .number(let d)?:
            guard d.rounded() == d, d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
                throw CallError.invalid(operation, object, "\(context).\(key) must be an integer in \(range.lowerBound)–\(range.upperBound)")
            }
            return Int(d)
        case let v?: throw wrongType(key, "an integer", v)
        }
    }

    /// An object whose values are strings (booleans and integers are accepted and converted when
    /// `lenient`); absent or null = empty.
    func stringMap(_ key: String, lenient: Bool) throws(CallError) -> [String: String] {
        switch fields[key] {
        case nil, .null?: return [:]
        case .object(let map)?:
            var result: [String: String] = [:]
            for (k, v) in map {
                switch v {
                case .string(let s): result[k] = s
                case .bool(let b) where lenient: result[k] = b ? "true" : "false"
                case .number(let d) where lenient && d.rounded() == d && abs(d) < 1e15: result[k] = String(Int64(d))
                default: throw CallError.invalid(operation, object, "\(context).\(key).\(k) must be a string, not \(v.typeName)")
                }
            }
            return result
        case let v?: throw wrongType(key, "an object", v)
        }
    }

    /// An array value; absent or null = empty.
    func array(_ key: String) throws(CallError) -> [JSONValue] {
        switch fields[key] {
        case nil, .null?: return []
        case .array(let a)?: return a
        case let v?: throw wrongType(key, "an array", v)
        }
    }
}

// MARK: Options

/// `berth_network_create` options → `NetworkOptions`.
func networkOptions(name: String, json: String?) throws(CallError) -> NetworkOptions {
    let op = "create network"
    let o = try JSONOptions(json, allowed: ["subnet", "gateway", "ip_range", "internal", "options", "labels"], operation: op, object: name)
    var options = NetworkOptions(name: name)
    options.subnet = try o.string("subnet")
    options.gateway = try o.string("gateway")
    options.ipRange = try o.string("ip_range")
    options.isInternal = try o.bool("internal") ?? false
    options.labels = try o.stringMap("labels", lenient: false)
    for (key, value) in try o.stringMap("options", lenient: true).sorted(by: { $0.key < $1.key }) {
        try api { () throws(BerthError) in try options.apply(option: key, value: value) }
    }
    return options
}

/// `berth_network_attach` sandbox and options → `SandboxSpec`, `AttachOptions`.
func attachArguments(network: String, sandbox: String?, json: String?) throws(CallError) -> (SandboxSpec, AttachOptions) {
    let op = "attach"
    let o = try JSONOptions(json, allowed: ["interface", "ip", "mac", "ports", "create_sandbox"], operation: op, object: network)
    var options = AttachOptions()
    if let name = try o.string("interface") { options.interfaceName = name }
    options.address = try o.string("ip")
    options.mac = try o.string("mac")
    for (i, item) in try o.array("ports").enumerated() {
        let p = try JSONOptions(item, allowed: ["host_port", "container_port", "proto", "host_ip"], operation: op, object: network,
                                context: "ports[\(i)]")
        guard let hostPort = try p.integer("host_port", in: 1...65535), let containerPort = try p.integer("container_port", in: 1...65535) else {
            throw CallError.invalid(op, network, "ports[\(i)] needs host_port and container_port")
        }
        let proto: PortMapping.TransportProtocol
        switch try p.string("proto") ?? "tcp" {
        case "tcp": proto = .tcp
        case "udp": proto = .udp
        case let other: throw CallError.invalid(op, network, "ports[\(i)].proto must be tcp or udp, not '\(other)'")
        }
        var hostIP: IPv4Address?
        if let text = try p.string("host_ip") {
            guard let address = IPv4Address(text) else { throw CallError.invalid(op, network, "ports[\(i)].host_ip '\(text)' is not an IPv4 address") }
            hostIP = address
        }
        options.ports.append(PortMapping(proto: proto, hostIP: hostIP, hostPort: UInt16(hostPort), containerPort: UInt16(containerPort)))
    }
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

/// A sandbox string of `berth_network_detach_sandbox`: a path or a name.
func sandboxSpec(_ text: String, _ operation: String) throws(CallError) -> SandboxSpec {
    if text.isEmpty { throw CallError.invalid(operation, "", "sandbox is empty") }
    return text.hasPrefix("/") ? .path(text) : .name(text)
}

// MARK: JSON output (the shapes documented in berth.h)

struct PortJSON: Encodable {
    var proto: String
    var host_ip: String?
    var host_port: UInt16
    var container_port: UInt16

    init(_ p: PortMapping) {
        proto = p.proto.rawValue
        host_ip = p.hostIP?.description
        host_port = p.hostPort
        container_port = p.containerPort
    }
}

struct EndpointJSON: Encodable {
    var id: String
    var network_id: String
    var network_name: String
    var sandbox_path: String
    var sandbox_name: String?
    var sandbox_device: UInt64
    var sandbox_inode: UInt64
    var created_sandbox: Bool
    var host_interface: String
    var interface_name: String
    var address: String
    var prefix_length: Int
    var cidr: String
    var gateway: String?
    var mac: String
    var ports: [PortJSON]

    init(_ e: Endpoint) {
        id = e.id
        network_id = e.networkID
        network_name = e.networkName
        sandbox_path = e.sandboxPath
        sandbox_name = e.sandboxName
        sandbox_device = e.sandboxDevice
        sandbox_inode = e.sandboxInode
        created_sandbox = e.createdSandbox
        host_interface = e.hostInterface
        interface_name = e.interfaceName
        address = e.address.description
        prefix_length = e.prefixLength
        cidr = e.cidr
        gateway = e.gateway?.description
        mac = e.mac.description
        ports = e.ports.map(PortJSON.init)
    }
}

struct NetworkJSON: Encodable {
    var id: String
    var name: String
    var bridge: String
    var subnet: String
    var gateway: String
    var ip_range: String?
    var mtu: UInt32?
    var is_internal: Bool
    var icc: Bool
    var masquerade: Bool
    var hairpin: Bool
    var labels: [String: String]
    var bridge_mac: String
    var created: String
    var is_default: Bool
    var owns_bridge: Bool
    /// Only in `inspect`.
    var endpoints: [EndpointJSON]?

    init(_ n: Network, endpoints: [Endpoint]? = nil) {
        id = n.id
        name = n.name
        bridge = n.bridge
        subnet = n.subnet.description
        gateway = n.gateway.description
        ip_range = n.ipRange?.description
        mtu = n.mtu
        is_internal = n.isInternal
        icc = n.icc
        masquerade = n.masquerade
        hairpin = n.hairpin
        labels = n.labels
        bridge_mac = n.bridgeMAC.description
        created = n.created
        is_default = n.isDefault
        owns_bridge = n.ownsBridge
        self.endpoints = endpoints.map { $0.map(EndpointJSON.init) }
    }
}

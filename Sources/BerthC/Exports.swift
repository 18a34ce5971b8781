@_spi(BerthInternal) import BerthNamespace
// The functions of include/berth.h, implemented with `@c @implementation`: the compiler checks
// every signature against the header. Documentation (ownership, thread safety, statuses) lives in
// the header; each function here only marshals arguments and results (the other files of this directory, one concept each).
// Nothing Swift crosses the boundary: every error becomes a status (and a berth_error).

import Berth
@_spi(BerthInternal) import BerthFirewall
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

// MARK: Library

@c @implementation
public func berth_abi_version() -> UInt32 {
    UInt32(BERTH_ABI_VERSION)
}

@c @implementation
public func berth_status_name(_ value: berth_status) -> UnsafePointer<CChar> {
    staticCString(statusName(value))
}

@c @implementation
public func berth_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

// MARK: Errors

@c @implementation
public func berth_error_status(_ error: OpaquePointer?) -> berth_status {
    ErrorBox.borrow(error)?.status ?? statusCode(.BERTH_OK)
}

@c @implementation
public func berth_error_errno(_ error: OpaquePointer?) -> Int32 {
    ErrorBox.borrow(error)?.errnoValue ?? 0
}

@c @implementation
public func berth_error_operation(_ error: OpaquePointer?) -> UnsafePointer<CChar> {
    ErrorBox.borrow(error)?.operation.map { UnsafePointer($0) } ?? staticCString("")
}

@c @implementation
public func berth_error_object(_ error: OpaquePointer?) -> UnsafePointer<CChar> {
    ErrorBox.borrow(error)?.object.map { UnsafePointer($0) } ?? staticCString("")
}

@c @implementation
public func berth_error_message(_ error: OpaquePointer?) -> UnsafePointer<CChar> {
    ErrorBox.borrow(error)?.message.map { UnsafePointer($0) } ?? staticCString("")
}

@c @implementation
public func berth_error_free(_ error: OpaquePointer?) {
    guard let error else { return }
    Unmanaged<ErrorBox>.fromOpaque(UnsafeRawPointer(error)).release()
}

// MARK: Controller

@c @implementation
public func berth_controller_open(_ stateDir: UnsafePointer<CChar>?, _ backend: UnsafePointer<CChar>?,
                                  _ hostNetnsPath: UnsafePointer<CChar>?,
                                  _ outController: UnsafeMutablePointer<OpaquePointer?>?,
                                  _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    openController(stateDir, backend, hostNetnsPath, nil, outController, outError)
}

@c @implementation
public func berth_controller_open_with_options(_ stateDir: UnsafePointer<CChar>?, _ backend: UnsafePointer<CChar>?,
                                               _ hostNetnsPath: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?,
                                               _ outController: UnsafeMutablePointer<OpaquePointer?>?,
                                               _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    openController(stateDir, backend, hostNetnsPath, optionsJSON, outController, outError)
}

/// berth_controller_open and berth_controller_open_with_options.
private func openController(_ stateDir: UnsafePointer<CChar>?, _ backend: UnsafePointer<CChar>?,
                            _ hostNetnsPath: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?,
                            _ outController: UnsafeMutablePointer<OpaquePointer?>?,
                            _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    perform(outError) { () throws(CallError) in
        let op = OperationName.openController
        guard let outController else { throw CallError.invalid(op, "", "out_controller is NULL") }
        outController.pointee = nil
        // The C ABI keeps the synchronous removal (issue 11's unplug mode is Swift and CLI only
        // for now): berth_network_detach / berth_network_delete return once the kernel deleted.
        var configuration = ControllerConfiguration(waitForKernel: true)
        if let dir = try optionalString(stateDir, "state_dir", op) {
            guard !dir.isEmpty else { throw CallError.invalid(op, "", "state_dir is empty") }
            configuration.stateDirectory = dir
        }
        if let name = try optionalString(backend, "backend", op) {
            guard let kind = FirewallBackendKind(rawValue: name) else {
                throw CallError.invalid(op, configuration.stateDirectory, "unknown backend '\(name)' (iptables or nftables)")
            }
            configuration.backend = kind
        }
        if let path = try optionalString(hostNetnsPath, "host_netns_path", op) {
            guard !path.isEmpty else { throw CallError.invalid(op, "", "host_netns_path is empty") }
            configuration.hostNamespacePath = path
        }
        let options = try JSONOptions(try optionalString(optionsJSON, "options_json", op), allowed: ["userland_proxy", "userland_proxy_path", "fixed_cidr_v6", "forward_drop"],
                                      operation: op, object: configuration.stateDirectory, context: "options_json")
        if let on = try options.bool("userland_proxy") { configuration.userlandProxy = on }
        configuration.defaultBridgeIPv6 = try options.string("fixed_cidr_v6")
        if let text = try options.string("forward_drop") {
            guard let mode = ForwardDropMode(rawValue: text) else {
                throw CallError.invalid(op, configuration.stateDirectory, "options_json.forward_drop must be \"docker\" or \"always\", not '\(text)'")
            }
            configuration.forwardDrop = mode
        }
        if let path = try options.string("userland_proxy_path") {
            guard path.hasPrefix("/") else {
                throw CallError.invalid(op, configuration.stateDirectory, "options_json.userland_proxy_path must be an absolute path, not '\(path)'")
            }
            configuration.userlandProxyPath = path
        }
        let controller = try api { () throws(BerthError) in try NetworkController(configuration) }
        outController.pointee = OpaquePointer(Unmanaged.passRetained(ControllerBox(controller)).toOpaque())
    }
}

@c @implementation
public func berth_controller_close(_ controller: OpaquePointer?) {
    guard let controller else { return }
    Unmanaged<ControllerBox>.fromOpaque(UnsafeRawPointer(controller)).release()
}

// MARK: Networks

@c @implementation
public func berth_network_create(_ controller: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                 _ optionsJSON: UnsafePointer<CChar>?,
                                 _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.createNetwork
        let ctrl = try requiredController(controller, op)
        let networkName = try requiredString(name, "name", op)
        let options = try networkOptions(name: networkName, json: try optionalString(optionsJSON, "options_json", op))
        let network = try api { () throws(BerthError) in try ctrl.createNetwork(options) }
        do throws(CallError) {
            try storeJSON(NetworkJSON(network), into: outJSON, op, network.name)
        } catch {
            // Report failure only for a call that left nothing behind.
            try? ctrl.deleteNetwork(network.id)
            throw error
        }
    }
}

@c @implementation
public func berth_host_setup(_ controller: OpaquePointer?, _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    perform(outError) { () throws(CallError) in
        let ctrl = try requiredController(controller, .setUpHost)
        try api { () throws(BerthError) in try ctrl.setUpHost() }
    }
}

@c @implementation
public func berth_reconcile(_ controller: OpaquePointer?, _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    perform(outError) { () throws(CallError) in
        let ctrl = try requiredController(controller, .reconcile)
        _ = try api { () throws(BerthError) in try ctrl.reconcile() }
    }
}

@c @implementation
public func berth_network_delete(_ controller: OpaquePointer?, _ nameOrID: UnsafePointer<CChar>?, _ force: Bool,
                                 _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    perform(outError) { () throws(CallError) in
        let op = OperationName.deleteNetwork
        let ctrl = try requiredController(controller, op)
        let network = try requiredString(nameOrID, "name_or_id", op)
        try api { () throws(BerthError) in try ctrl.deleteNetwork(network, force: force) }
    }
}

@c @implementation
public func berth_network_list(_ controller: OpaquePointer?,
                               _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.listNetworks
        let ctrl = try requiredController(controller, op)
        guard let outJSON else { throw CallError.invalid(op, "", "out_json is NULL") }
        let networks = try api { () throws(BerthError) in try ctrl.networks() }
        try storeJSON(networks.map { NetworkJSON($0) }, into: outJSON, op, "all")
    }
}

@c @implementation
public func berth_network_inspect(_ controller: OpaquePointer?, _ nameOrID: UnsafePointer<CChar>?,
                                  _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                  _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.inspectNetwork
        let ctrl = try requiredController(controller, op)
        let network = try requiredString(nameOrID, "name_or_id", op)
        guard let outJSON else { throw CallError.invalid(op, network, "out_json is NULL") }
        let details = try api { () throws(BerthError) in try ctrl.inspect(network) }
        try storeJSON(NetworkJSON(details.network, endpoints: details.endpoints), into: outJSON, op, network)
    }
}

// MARK: Endpoints

@c @implementation
public func berth_network_attach(_ controller: OpaquePointer?, _ network: UnsafePointer<CChar>?,
                                 _ sandbox: UnsafePointer<CChar>?, _ optionsJSON: UnsafePointer<CChar>?,
                                 _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.attach
        let ctrl = try requiredController(controller, op)
        let networkName = try requiredString(network, "network", op)
        let (spec, options) = try attachArguments(network: networkName, sandbox: try optionalString(sandbox, "sandbox", op),
                                                  json: try optionalString(optionsJSON, "options_json", op))
        let endpoint = try api { () throws(BerthError) in try ctrl.attach(network: networkName, sandbox: spec, options: options) }
        do throws(CallError) {
            try storeJSON(EndpointJSON(endpoint), into: outJSON, op, networkName)
        } catch {
            // The caller cannot learn the endpoint's ID: do not leave it attached.
            _ = try? ctrl.detach(endpoint: endpoint.id)
            throw error
        }
    }
}

@c @implementation
public func berth_network_detach(_ controller: OpaquePointer?, _ endpointID: UnsafePointer<CChar>?,
                                 _ outDetached: UnsafeMutablePointer<Bool>?,
                                 _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outDetached?.pointee = false
    return perform(outError) { () throws(CallError) in
        let op = OperationName.detach
        let ctrl = try requiredController(controller, op)
        let id = try requiredString(endpointID, "endpoint_id", op)
        guard !id.isEmpty else { throw CallError.invalid(op, "", "endpoint_id is empty") }
        let detached = try api { () throws(BerthError) in try ctrl.detach(endpoint: id) }
        outDetached?.pointee = detached
    }
}

@c @implementation
public func berth_network_detach_sandbox(_ controller: OpaquePointer?, _ network: UnsafePointer<CChar>?,
                                         _ sandbox: UnsafePointer<CChar>?, _ outDetached: UnsafeMutablePointer<Bool>?,
                                         _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outDetached?.pointee = false
    return perform(outError) { () throws(CallError) in
        let op = OperationName.detach
        let ctrl = try requiredController(controller, op)
        let networkName = try requiredString(network, "network", op)
        let spec = try sandboxSpec(try requiredString(sandbox, "sandbox", op), op)
        let detached = try api { () throws(BerthError) in try ctrl.detach(network: networkName, sandbox: spec) }
        outDetached?.pointee = detached
    }
}

@c @implementation
public func berth_endpoint_list(_ controller: OpaquePointer?, _ network: UnsafePointer<CChar>?,
                                _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                _ outError: UnsafeMutablePointer<OpaquePointer?>?) -> berth_status {
    outJSON?.pointee = nil
    return perform(outError) { () throws(CallError) in
        let op = OperationName.listEndpoints
        let ctrl = try requiredController(controller, op)
        let networkName = try optionalString(network, "network", op)
        guard let outJSON else { throw CallError.invalid(op, networkName ?? "", "out_json is NULL") }
        let endpoints = try api { () throws(BerthError) in try ctrl.endpoints(network: networkName) }
        try storeJSON(endpoints.map(EndpointJSON.init), into: outJSON, op, networkName ?? "all")
    }
}

// The names of `enum berth_status_code` (include/berth.h), for berth_status_name().

import CBerth

/// `enum berth_status_code` as the C type of the ABI.
func statusCode(_ code: berth_status_code) -> berth_status {
    berth_status(truncatingIfNeeded: code.rawValue)
}

extension berth_status_code {
    /// The last status of berth.h. The values are exactly 0...last (append-only, see berth.h):
    /// whoever appends a status moves this to it. A status past it would be named
    /// "BERTH_ERR_UNKNOWN", which scripts/test-c-abi.sh catches (it names every enumerator).
    static var last: berth_status_code { .BERTH_ERR_IPV6_UNAVAILABLE }

    /// The status of `value`, or nil for a value berth.h does not declare. Needed before any
    /// switch: Swift traps on an imported enum holding a value that is not one of its cases.
    init?(validating value: berth_status) {
        guard value >= 0, UInt32(value) <= Self.last.rawValue, let code = Self(rawValue: UInt32(value)) else { return nil }
        self = code
    }

    /// The constant's spelling in berth.h. Exhaustive: berth.h marks the enum closed, so a new
    /// status does not build until it has its name here.
    var name: StaticString {
        switch self {
        case .BERTH_OK: "BERTH_OK"
        case .BERTH_ERR_INVALID_NAME: "BERTH_ERR_INVALID_NAME"
        case .BERTH_ERR_DUPLICATE_NAME: "BERTH_ERR_DUPLICATE_NAME"
        case .BERTH_ERR_INVALID_INTERFACE_NAME: "BERTH_ERR_INVALID_INTERFACE_NAME"
        case .BERTH_ERR_INVALID_ARGUMENT: "BERTH_ERR_INVALID_ARGUMENT"
        case .BERTH_ERR_GATEWAY_OUTSIDE_SUBNET: "BERTH_ERR_GATEWAY_OUTSIDE_SUBNET"
        case .BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET: "BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET"
        case .BERTH_ERR_SUBNET_OVERLAP: "BERTH_ERR_SUBNET_OVERLAP"
        case .BERTH_ERR_SUBNETS_EXHAUSTED: "BERTH_ERR_SUBNETS_EXHAUSTED"
        case .BERTH_ERR_NETWORK_NOT_FOUND: "BERTH_ERR_NETWORK_NOT_FOUND"
        case .BERTH_ERR_ENDPOINT_NOT_FOUND: "BERTH_ERR_ENDPOINT_NOT_FOUND"
        case .BERTH_ERR_SANDBOX_NOT_FOUND: "BERTH_ERR_SANDBOX_NOT_FOUND"
        case .BERTH_ERR_NOT_A_NETWORK_NAMESPACE: "BERTH_ERR_NOT_A_NETWORK_NAMESPACE"
        case .BERTH_ERR_INTERFACE_IN_USE: "BERTH_ERR_INTERFACE_IN_USE"
        case .BERTH_ERR_ADDRESS_IN_USE: "BERTH_ERR_ADDRESS_IN_USE"
        case .BERTH_ERR_ADDRESS_OUTSIDE_SUBNET: "BERTH_ERR_ADDRESS_OUTSIDE_SUBNET"
        case .BERTH_ERR_ADDRESSES_EXHAUSTED: "BERTH_ERR_ADDRESSES_EXHAUSTED"
        case .BERTH_ERR_HAS_ACTIVE_ENDPOINTS: "BERTH_ERR_HAS_ACTIVE_ENDPOINTS"
        case .BERTH_ERR_PREDEFINED_NETWORK: "BERTH_ERR_PREDEFINED_NETWORK"
        case .BERTH_ERR_PERMISSION_DENIED: "BERTH_ERR_PERMISSION_DENIED"
        case .BERTH_ERR_STATE: "BERTH_ERR_STATE"
        case .BERTH_ERR_SYSTEM: "BERTH_ERR_SYSTEM"
        case .BERTH_ERR_MULTIPLE: "BERTH_ERR_MULTIPLE"
        case .BERTH_ERR_INTERNAL: "BERTH_ERR_INTERNAL"
        case .BERTH_ERR_PORT_ALLOCATED: "BERTH_ERR_PORT_ALLOCATED"
        case .BERTH_ERR_STATE_CONFLICT: "BERTH_ERR_STATE_CONFLICT"
        case .BERTH_ERR_TAP_BUSY: "BERTH_ERR_TAP_BUSY"
        case .BERTH_ERR_TAP_FLAG_MISMATCH: "BERTH_ERR_TAP_FLAG_MISMATCH"
        case .BERTH_ERR_TUN_UNAVAILABLE: "BERTH_ERR_TUN_UNAVAILABLE"
        case .BERTH_ERR_IPV6_UNAVAILABLE: "BERTH_ERR_IPV6_UNAVAILABLE"
        }
    }
}

/// The constant name of a status as spelled in berth.h; "BERTH_ERR_UNKNOWN" for any other value.
func statusName(_ value: berth_status) -> StaticString {
    berth_status_code(validating: value)?.name ?? "BERTH_ERR_UNKNOWN"
}

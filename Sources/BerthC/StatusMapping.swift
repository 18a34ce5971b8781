// Which status of include/berth.h each façade error code reports.

import Berth
import CBerth

extension BerthError.Code {
    /// The C status of this code (one status per code; BERTH_OK and BERTH_ERR_INTERNAL have none).
    /// Exhaustive on purpose: a new code fails the build until it has its own status appended to
    /// `enum berth_status_code`.
    var cStatus: berth_status {
        let code: berth_status_code = switch self {
        case .invalidName: .BERTH_ERR_INVALID_NAME
        case .duplicateName: .BERTH_ERR_DUPLICATE_NAME
        case .invalidInterfaceName: .BERTH_ERR_INVALID_INTERFACE_NAME
        case .invalidArgument: .BERTH_ERR_INVALID_ARGUMENT
        case .gatewayOutsideSubnet: .BERTH_ERR_GATEWAY_OUTSIDE_SUBNET
        case .ipRangeOutsideSubnet: .BERTH_ERR_IP_RANGE_OUTSIDE_SUBNET
        case .subnetOverlap: .BERTH_ERR_SUBNET_OVERLAP
        case .subnetsExhausted: .BERTH_ERR_SUBNETS_EXHAUSTED
        case .networkNotFound: .BERTH_ERR_NETWORK_NOT_FOUND
        case .endpointNotFound: .BERTH_ERR_ENDPOINT_NOT_FOUND
        case .sandboxNotFound: .BERTH_ERR_SANDBOX_NOT_FOUND
        case .notANetworkNamespace: .BERTH_ERR_NOT_A_NETWORK_NAMESPACE
        case .interfaceInUse: .BERTH_ERR_INTERFACE_IN_USE
        case .addressInUse: .BERTH_ERR_ADDRESS_IN_USE
        case .addressOutsideSubnet: .BERTH_ERR_ADDRESS_OUTSIDE_SUBNET
        case .addressesExhausted: .BERTH_ERR_ADDRESSES_EXHAUSTED
        case .hasActiveEndpoints: .BERTH_ERR_HAS_ACTIVE_ENDPOINTS
        case .predefinedNetwork: .BERTH_ERR_PREDEFINED_NETWORK
        case .permissionDenied: .BERTH_ERR_PERMISSION_DENIED
        case .state: .BERTH_ERR_STATE
        case .system: .BERTH_ERR_SYSTEM
        case .multiple: .BERTH_ERR_MULTIPLE
        case .portAllocated: .BERTH_ERR_PORT_ALLOCATED
        case .stateConflict: .BERTH_ERR_STATE_CONFLICT
        case .tapBusy: .BERTH_ERR_TAP_BUSY
        case .tapFlagMismatch: .BERTH_ERR_TAP_FLAG_MISMATCH
        case .tunUnavailable: .BERTH_ERR_TUN_UNAVAILABLE
        case .ipv6Unavailable: .BERTH_ERR_IPV6_UNAVAILABLE
        }
        return statusCode(code)
    }
}

@_spi(BerthInternal) import BerthNamespace

extension BerthError {
    public enum Code: String, Sendable, Equatable, Codable {
        /// A network name outside Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, or empty.
        case invalidName
        /// Another network has that name.
        case duplicateName
        /// A bridge or interface name outside the one rule (`LinkName`): 1–15 bytes of `[A-Za-z0-9_.-]`,
        /// not starting with `-`, not `.`/`..` (what the kernel, iptables and nftables all take literally).
        case invalidInterfaceName
        /// A subnet, gateway, ip-range, address or MAC that does not parse, or a bad option value.
        case invalidArgument
        /// The gateway lies outside the subnet (or is its network/broadcast address).
        case gatewayOutsideSubnet
        /// The ip-range is not inside the subnet.
        case ipRangeOutsideSubnet
        /// The subnet overlaps another network's or an on-link route of the host.
        case subnetOverlap
        /// No free subnet is left in the default pools.
        case subnetsExhausted
        /// No such network (by name, ID or ID prefix).
        case networkNotFound
        /// No such endpoint.
        case endpointNotFound
        /// The sandbox path, name or pid does not exist.
        case sandboxNotFound
        /// The sandbox path exists but is not a network namespace.
        case notANetworkNamespace
        /// The interface name is already used inside the sandbox.
        case interfaceInUse
        /// The requested address is held by another endpoint (or is the gateway).
        case addressInUse
        /// The requested address is outside the subnet, or is its network or broadcast address.
        case addressOutsideSubnet
        /// No free address is left in the subnet (or ip-range).
        case addressesExhausted
        /// The network still has endpoints; detach them or pass `force`.
        case hasActiveEndpoints
        /// The default network `bridge` cannot be removed.
        case predefinedNetwork
        /// The caller lacks a capability or permission (CAP_NET_ADMIN, the state directory).
        case permissionDenied
        /// The state directory cannot be read or written, or holds a record that does not decode.
        case state
        /// A lower layer (netlink, firewall, namespace) failed; see `cause`.
        case system
        /// Several errors from one best-effort operation (detach, delete); see `errors`.
        case multiple
        /// The host port (protocol, host address) is already published by another endpoint
        /// (Docker: "port is already allocated").
        case portAllocated
        /// The state directory belongs to another firewall backend or host namespace.
        case stateConflict
        /// The TAP is single-queue and already has its queue attached (the kernel's EBUSY,
        /// drivers/net/tun.c `tun_attach`); the detail names the TAP and its flags.
        case tapBusy
        /// A TAP of that name exists with other flags (the kernel's EINVAL on an IFF_MULTI_QUEUE
        /// mismatch, `tun_set_iff`); the detail says which flag differs.
        case tapFlagMismatch
        /// `/dev/net/tun` is missing or cannot be opened: no TAP can be made.
        case tunUnavailable
        /// IPv6 was asked for (`--ipv6`) but the host namespace has none
        /// (`net.ipv6.conf.all.disable_ipv6=1`, or a kernel booted with `ipv6.disable=1`).
        case ipv6Unavailable
    }
}

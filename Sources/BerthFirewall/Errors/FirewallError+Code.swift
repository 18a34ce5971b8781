@_spi(BerthInternal) import BerthNamespace

extension FirewallError {
    public enum Code: String, Sendable, Equatable {
        /// Bad input found before anything was applied (interface name, port, protocol, subnet).
        case invalidArgument
        /// The backend program (iptables-restore) is not installed or not runnable.
        case toolMissing
        /// The backend program or the kernel rejected the rules; nothing was applied.
        case rejected
        /// The caller lacks CAP_NET_ADMIN; `object` names it.
        case missingCapability
        /// The host namespace could not be entered.
        case namespace
        /// Any other system failure (spawn, pipe, netlink socket).
        case system
    }
}

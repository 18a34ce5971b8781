@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// The preflight check of an interface name the caller chose (a network's bridge, the
    /// sandbox-side name of an attach), under the one rule every layer applies (`LinkName`:
    /// what the kernel, iptables and nftables all take literally), so a name the firewall would
    /// refuse is refused before the host set-up rather than after the bridge exists.
    /// - Parameters: role as the message names it (`"bridge name"`); operation and object of the error.
    /// - Throws: `BerthError(.invalidInterfaceName)` with detail `"<role> '<name>' <reason>"` and
    ///   the `NetlinkError(.invalidName)` as its cause.
    static func checkInterfaceName(_ name: String, role: String, operation: OperationName, object: String) throws(BerthError) {
        do {
            try LinkName.validate(name, operation: operation)
        } catch {
            let reason = LinkName.problem(with: name) ?? error.description
            throw BerthError(.invalidInterfaceName, operation: operation, object: object,
                             detail: "\(role) '\(name)' \(reason)", cause: .netlink(error))
        }
    }
}

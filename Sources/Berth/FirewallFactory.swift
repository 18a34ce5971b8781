@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace

/// Builds the firewall backend a controller was asked for, inside its host namespace.
enum FirewallFactory {
    /// `hairpinMode`: Docker's `--userland-proxy=false` base rules.
    static func make(_ kind: FirewallBackendKind, host: NetworkNamespace, hairpinMode: Bool = false) throws -> any FirewallBackend {
        switch kind {
        case .iptables: try IptablesBackend(host: host, hairpinMode: hairpinMode)
        case .nftables: NftablesBackend(host: host, hairpinMode: hairpinMode)
        }
    }
}

@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace

/// Builds the firewall backend a controller was asked for, inside its host namespace.
enum FirewallFactory {
    static func make(_ kind: FirewallBackendKind, host: NetworkNamespace) throws -> any FirewallBackend {
        switch kind {
        case .iptables: try IptablesBackend(host: host)
        case .nftables: NftablesBackend(host: host)
        }
    }
}

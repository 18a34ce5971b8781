@_spi(BerthInternal) import BerthNetlink
@_spi(BerthInternal) import BerthFirewall

/// One userland proxy to run: the binding it holds and the container address it forwards to.
/// Docker 20.10 (libnetwork drivers/bridge/port_mapping.go `allocatePortsInternal`) makes up to
/// two bindings of one published port: the IPv4 one (host address given, or 0.0.0.0) and the
/// IPv6 one (host address `::` when none was given), each served by its own docker-proxy.
struct ProxyPlan: Sendable, Equatable {
    /// The binding the proxy holds: `hostIP6` set (`::` for all) for an IPv6 proxy, nil for an
    /// IPv4 one (`hostIP`, nil = 0.0.0.0). `ProxyProcess.port` records this value.
    var port: PortMapping
    /// Where the proxy sends traffic: the container's IPv4 address, or for an IPv6 proxy the
    /// container's IPv6 address when it has one, else its IPv4 one (Docker: "for backward
    /// compatibility", when the userland proxy is on).
    var target: IPAddress

    /// The proxies of single bindings (`PortMapping.singles`), in order: for each binding its
    /// IPv4 proxy when `bindsIPv4`, then its IPv6 proxy when `bindsIPv6` and either the binding
    /// names an IPv6 host address (Docker tries it and fails where IPv6 is off) or `ipv6Listenable`
    /// (Docker's `IsV6Listenable`: without it the implicit `::` binding is skipped).
    static func proxies(for ports: [PortMapping], container: IPv4Address, container6: IPv6Address?,
                        ipv6Listenable: () -> Bool) -> [ProxyPlan] {
        var plans: [ProxyPlan] = []
        for port in ports {
            if port.bindsIPv4 {
                var v4 = port
                v4.hostIP6 = nil
                plans.append(ProxyPlan(port: v4, target: .v4(container)))
            }
            guard port.bindsIPv6, port.hostIP6 != nil || ipv6Listenable() else { continue }
            var v6 = port
            v6.hostIP = nil
            v6.hostIP6 = port.hostIP6 ?? IPv6Address(UInt128(0))
            plans.append(ProxyPlan(port: v6, target: container6.map(IPAddress.v6) ?? .v4(container)))
        }
        return plans
    }
}

extension PortMapping {
    /// The binding as reports and errors name it: `8080/tcp`, `127.0.0.1:8080/tcp`, `[::]:8080/tcp`.
    var proxyBindingName: String {
        let host = hostIP6.map { "[\($0)]:" } ?? hostIP.map { "\($0):" } ?? ""
        return "\(host)\(hostPort)/\(proto.rawValue)"
    }
}

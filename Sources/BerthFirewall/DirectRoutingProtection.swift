/// Direct routing protection of a network's container addresses (issue 13 hardening; opt-in,
/// Docker 20.10 has none): what a host on another interface that routes the bridge subnet via
/// this host may still reach directly, without going through a published host port. Docker 28
/// drops such packets in raw PREROUTING (`-d CIP/32 ! -i BR -j DROP`, its `gateway_mode` nat);
/// Berth does the same in the network's forward rules, so it holds whatever the FORWARD policy is.
/// Interfaces named in `NetworkRules.trustedInterfaces` are exempt (subnet routers such as
/// WireGuard or Tailscale, moby #49498).
public enum DirectRoutingProtection: String, Sendable, Hashable, Codable, CaseIterable {
    /// Docker 20.10: with FORWARD policy DROP only published container ports are reachable
    /// directly; with policy ACCEPT (Docker leaves it when `ip_forward` was already on) everything.
    case off
    /// Unpublished container ports are never reachable directly (a per-bridge DROP after the
    /// published ports' ACCEPTs); published container ports still are.
    case unpublished
    /// Not even published container ports: only connections DNAT'd from their host port reach
    /// the container from outside the bridge (the published ports' ACCEPT needs `ctstate DNAT`).
    case strict
}

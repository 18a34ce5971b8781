@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Whether the host's firewall is still the one a reconciliation verified (`FirewallStamp`):
    /// same boot, host namespace and backend, the kernel's ruleset generation unchanged, the
    /// records describing the same rules, and `net.ipv4.ip_forward` still 1 (the base sets it).
    /// Costs one GETGEN round trip, one sysctl read and the records' digest; any doubt is false.
    func firewallStillVerified(_ store: StateStore) -> Bool {
        guard let stamp = store.loadFirewallStamp(), stamp.host == hostKey, stamp.backend == firewall.kind,
              !stamp.bootID.isEmpty, stamp.bootID == FirewallStamp.currentBootID(),
              let generation = try? firewall.rulesetGeneration(), generation == stamp.generation,
              (try? Sysctl.read("net.ipv4.ip_forward", in: host)) == "1",
              let state = try? store.load(), FirewallStamp.digest(firewallState(state)) == stamp.rules
        else { return false }
        return true
    }

    /// Records a stamp for `rules` at `generation` (see `FirewallStamp`).
    func recordFirewallVerified(_ store: StateStore, rules: FirewallState, generation: UInt32) {
        let boot = FirewallStamp.currentBootID()
        guard !boot.isEmpty else { return }
        store.saveFirewallStamp(FirewallStamp(bootID: boot, host: hostKey, backend: firewall.kind, generation: generation,
                                              rules: FirewallStamp.digest(rules)))
    }
}

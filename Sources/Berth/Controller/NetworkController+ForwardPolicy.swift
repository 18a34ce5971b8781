@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

extension NetworkController {
    /// Gives the backend the decision `host.json` records (or, before there is one, the
    /// default: IPv4 DROP owned, as Berth did before the decision existed), so every firewall
    /// call of this process applies, reconciles and undoes the same policy as the process that
    /// took it. Called with the state directory's lock held, before anything else of a mutation.
    func applyRecordedForwardPolicy(_ store: StateStore) {
        firewall.setForwardPolicy(store.recordedForwardPolicy() ?? ForwardPolicy())
    }

    /// Takes the FORWARD policy decision when `host.json` has none yet, before Berth's first
    /// write of `net.ipv4.ip_forward` (`setUpBase`), and records it first (fsync'd), so a crash
    /// after the write cannot make the next process read the 1 Berth wrote as the host's own.
    /// `fresh` (no network recorded): `ControllerConfiguration.forwardDrop` decides on what
    /// `ip_forward` reads now (Docker: DROP only when it is 0). A state directory from before the
    /// decision existed (networks recorded) gets Berth's old behaviour: the DROP is Berth's,
    /// forwarding is not (it is never turned off). `.always` later makes a recorded decision
    /// DROP too.
    /// - Throws: `BerthError` `.state` (host.json cannot be written), `.system` (ip_forward unreadable).
    func decideForwardPolicy(_ store: StateStore, fresh: Bool) throws {
        if var recorded = store.recordedForwardPolicy() {
            if configuration.forwardDrop == .always && !recorded.ipv4Drop {
                recorded.ipv4Drop = true
                try store.recordForwardPolicy(recorded)
            }
            firewall.setForwardPolicy(recorded)
            return
        }
        var decided = ForwardPolicy()
        if fresh {
            let value: String
            do { value = try Sysctl.read("net.ipv4.ip_forward", in: host) } catch {
                throw BerthError(.system, errno: error.errno, operation: .setUpHost, object: "net.ipv4.ip_forward",
                                 detail: "net.ipv4.ip_forward cannot be read (\(error.description))", cause: .netlink(error))
            }
            decided = ForwardPolicy.deciding(configuration.forwardDrop, ipv4ForwardingWasOn: value == "1")
        }
        try store.recordForwardPolicy(decided)
        firewall.setForwardPolicy(decided)
    }
}

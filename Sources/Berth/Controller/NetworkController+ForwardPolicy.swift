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
            if configuration.forwardDrop == .always && (!recorded.ipv4Drop || !recorded.always) {
                // `always` later raises the decision (never the other way): DROP from now on, and
                // the IPv6 half, when still to be taken, follows it.
                recorded.ipv4Drop = true
                if recorded.ipv6Decided { recorded.ipv6Drop = true }
                recorded.always = true
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

    /// The IPv6 half of the decision, once, before the first IPv6 network's bridge and rules
    /// (Docker 28: the ip6tables `FORWARD DROP` only when Berth turns
    /// `net.ipv6.conf.all.forwarding` on itself, `enableIPv6Forwarding`; `.always`: DROP). It
    /// is recorded (fsync'd) before that write, so a crash after it cannot make the next process
    /// read Berth's 1 as the host's own. Later IPv6 networks keep it.
    /// - Throws: `BerthError` `.state` (host.json cannot be written).
    func decideIPv6ForwardPolicy(_ store: StateStore) throws {
        let recorded = store.recordedForwardPolicy() ?? ForwardPolicy()
        guard !recorded.ipv6Decided else { return }
        let forwarding = (try? Sysctl.read("net.ipv6.conf.all.forwarding", in: host)) == "1"
        let decided = recorded.decidingIPv6(configuration.forwardDrop, berthEnablesForwarding: !forwarding)
        try store.recordForwardPolicy(decided)
        firewall.setForwardPolicy(decided)
    }
}

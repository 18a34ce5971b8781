import ArgumentParser
import Berth

/// `berth attach --tap NAME [--queues N] [--owner UID] [--group GID] [--no-vnet-hdr] NETWORK [SANDBOX]`:
/// a persistent TAP for a micro-VM on NETWORK's bridge (issue 16), or with SANDBOX in tc-redirect
/// mode (a veth into SANDBOX, the TAP there, redirected both ways). Prints the guest
/// configuration a VMM is started from (tab-separated text, or `--json` with the endpoint).
extension AttachCommand {
    func validateTap() throws {
        _ = try singleValue(tap, "--tap", why: "an endpoint has one TAP")
        _ = try singleValue(queues.map(String.init), "--queues", why: "a TAP has one queue count")
        _ = try singleValue(owner.map(String.init), "--owner", why: "a TAP has one owner")
        _ = try singleValue(group.map(String.init), "--group", why: "a TAP has one group")
        if tap.isEmpty { throw ValidationError("--queues, --owner, --group and --no-vnet-hdr need --tap") }
        // (uid_t)-1 / (gid_t)-1 mean "no owner" to TUNSETOWNER / TUNSETGROUP: not an id.
        if owner.contains(UInt32.max) || group.contains(UInt32.max) {
            throw ValidationError("--owner and --group take an id in 0–4294967294 (4294967295 is no id)")
        }
        if create || !interfaceName.isEmpty {
            throw ValidationError("--tap takes no --create or --ifname (with SANDBOX: tc-redirect mode into that existing netns)")
        }
    }

    func runTap() throws {
        try Failure.guarded {
            let ports = try publish.map(PortSpec.init(parsing:))
            let options = TapOptions(name: tap[0], sandbox: sandbox.isEmpty ? nil : sandboxSpec(sandbox, create: false), owner: owner.first, group: group.first, vnetHeader: !noVnetHeader,
                                     queues: queues.first ?? 1, custody: .persistent, address: ip.first, mac: mac.first, publish: ports)
            try NetworkController.preflight(attach: network, tap: options)  // before any host set-up
            let a = try global.controller().attach(network: network, tap: options)
            if global.json {
                print(try JSONText.encode(TapOutput(endpoint: a.endpoint, guest: a.guest)))
            } else {
                let g = a.guest
                print("endpoint\t\(a.endpoint.id)")
                print("tap\t\(g.tap)")
                print("guest_mac\t\(g.mac)")
                print("address\t\(g.address)/\(g.prefixLength)")
                print("gateway\t\(g.gateway)")
                print("mtu\t\(g.mtu)")
                if !g.dns.isEmpty { print("dns\t\(g.dns.map(\.description).joined(separator: ","))") }
                print("boot\t\(g.bootParameter)")
            }
        }
    }
}

/// The `--json` shape of a TAP attach.
struct TapOutput: Encodable {
    let endpoint: Endpoint
    let guest: GuestConfiguration
}

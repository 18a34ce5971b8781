import Foundation

/// A small topology around a "host" namespace, built with iproute2: an "outside" namespace
/// routed through the host (host `up0` 10.200.0.1/24 ↔ outside `eth0` 10.200.0.2/24, default
/// route back via the host), bridges with a gateway address, and sandboxes with `eth0` on a
/// bridge. Everything it creates lives in namespaces it deletes in `close()` (or when it goes).
package final class Topology {
    package static let hostUplinkAddress = "10.200.0.1"
    package static let outsideAddress = "10.200.0.2"

    package let host: String
    package let outside: String
    private var namespaces: [ScratchNamespace] = []

    package init(host: String) throws {
        self.host = host
        let outsideNamespace = try ScratchNamespace(prefix: "bt-out-")
        namespaces.append(outsideNamespace)
        outside = outsideNamespace.name
        try ip(host, ["link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", outside])
        try ip(host, ["addr", "add", "\(Self.hostUplinkAddress)/24", "dev", "up0"])
        try ip(host, ["link", "set", "up0", "up"])
        try ip(outside, ["addr", "add", "\(Self.outsideAddress)/24", "dev", "eth0"])
        try ip(outside, ["link", "set", "eth0", "up"])
        try ip(outside, ["route", "add", "default", "via", Self.hostUplinkAddress])
    }

    /// The host's IPv6 uplink address and the outside namespace's (on the same `up0` ↔ `eth0` pair).
    package static let hostUplinkAddress6 = "fd99::1"
    package static let outsideAddress6 = "fd99::2"

    /// IPv6 on the uplink (DAD off, so both ends answer at once): host `up0` fd99::1/64, outside
    /// `eth0` fd99::2/64 with its default route via the host.
    package func addIPv6Uplink() throws {
        try ip(host, ["addr", "add", "\(Self.hostUplinkAddress6)/64", "dev", "up0", "nodad"])
        try ip(outside, ["addr", "add", "\(Self.outsideAddress6)/64", "dev", "eth0", "nodad"])
        try ip(outside, ["-6", "route", "add", "default", "via", Self.hostUplinkAddress6])
    }

    /// A bridge in the host with `gateway` (`a.b.c.d/len`) on it, up.
    package func bridge(_ name: String, gateway: String) throws {
        try ip(host, ["link", "add", name, "type", "bridge"])
        try ip(host, ["addr", "add", gateway, "dev", name])
        try ip(host, ["link", "set", name, "up"])
    }

    /// A sandbox namespace with `eth0` = `address` (`a.b.c.d/len`) on `bridge` and a default
    /// route via `gateway`; with `hairpin`, its bridge port sends frames back where they came
    /// from (what Berth sets for hairpin networks). Returns the namespace name.
    @discardableResult
    package func sandbox(on bridge: String, address: String, gateway: String, hairpin: Bool = false) throws -> String {
        let sandbox = try ScratchNamespace(prefix: "bt-sb-")
        namespaces.append(sandbox)
        let veth = Sandbox.unique("veth")
        try ip(host, ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", sandbox.name])
        try ip(host, ["link", "set", veth, "master", bridge, "up"])
        if hairpin { try ip(host, ["link", "set", veth, "type", "bridge_slave", "hairpin", "on"]) }
        try ip(sandbox.name, ["addr", "add", address, "dev", "eth0"])
        try ip(sandbox.name, ["link", "set", "eth0", "up"])
        try ip(sandbox.name, ["route", "add", "default", "via", gateway])
        return sandbox.name
    }

    /// Makes the outside namespace a neighbour that routes 127.0.0.1 to the host (the
    /// CVE-2020-8558 situation): its `lo` loses 127.0.0.1/8 (with its local routes; a source
    /// that is one of its own addresses would be a martian), 127.0.0.1/32 is routed via the host,
    /// and its `eth0` accepts replies from 127.0.0.1 (route_localnet).
    package func routeLoopbackToHost() throws {
        try ip(outside, ["addr", "del", "127.0.0.1/8", "dev", "lo"])
        try ip(outside, ["route", "add", "127.0.0.1/32", "via", Self.hostUplinkAddress, "dev", "eth0"])
        try Sandbox.check(["ip", "netns", "exec", outside, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"])
    }

    package func close() {
        for namespace in namespaces.reversed() { namespace.close() }
    }

    private func ip(_ netns: String, _ args: [String]) throws {
        try Sandbox.check(["ip", "-n", netns] + args)
    }
}

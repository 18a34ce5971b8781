// The attach / detach steps measured by the `Attach` benchmark and printed by `BerthAttachProbe`.
// One code path, so the ordo-one figures and the side-by-side table time the same Berth calls.
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// Stops the process unless it runs inside the sandbox made by `run.sh` / `compare-netlink.sh`
/// (`unshare --net --mount` + `scripts/in-sandbox.sh`, which exports BERTH_SANDBOX=1), and unless
/// its network namespace differs from pid 1's. Nothing here may touch the machine's own namespace.
/// Writes `text` and a newline to standard error (fd 2; the `stderr` global is not Sendable).
package func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

package func requireSandbox(_ who: String) {
    guard let flag = getenv("BERTH_SANDBOX"), String(cString: flag) == "1" else {
        printError("\(who): refusing to run outside the sandbox (BERTH_SANDBOX=1 not set); use Benchmarks/run.sh")
        exit(2)
    }
    var mine = stat(), initial = stat()
    guard stat("/proc/self/ns/net", &mine) == 0 else {
        printError("\(who): cannot stat /proc/self/ns/net")
        exit(2)
    }
    // pid 1 may be unreadable; kthreadd (pid 2) always lives in the initial namespace.
    for pid in ["1", "2"] where stat("/proc/\(pid)/ns/net", &initial) == 0 {
        if initial.st_ino == mine.st_ino && initial.st_dev == mine.st_dev {
            printError("\(who): refusing to run in the machine's own network namespace")
            exit(2)
        }
    }
}

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC, as the C floor uses).
@inline(__always)
package func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A "host" namespace holding bridge `brbench` (10.77.0.1/16, up) and a pool of pre-created
/// sandbox namespaces, one per attach. Everything lives under the sandbox's private /run/netns.
package final class AttachFixture: @unchecked Sendable {
    package static let bridgeName = "brbench"
    package static let gateway = IPv4Address(10, 77, 0, 1)
    package static let broadcast = IPv4Address(10, 77, 255, 255)

    package let host: NetworkNamespace
    package let hostSession: NetlinkSession
    package let bridgeIndex: Int32
    package private(set) var sandboxes: [NetworkNamespace] = []
    private let tag: String
    private var next = 0

    /// Creates the host namespace (named `<tag>-host`), its bridge, and `sandboxCount` sandbox
    /// namespaces (`<tag>-sb<i>`).
    package init(tag: String, sandboxCount: Int) throws {
        requireSandbox(tag)
        self.tag = tag
        host = try NetworkNamespace.create(name: "\(tag)-host")
        hostSession = try NetlinkSession.route(in: host)
        try hostSession.setLink(index: 1, LinkChange(up: true))
        let bridge = try hostSession.createBridge(name: Self.bridgeName, up: true)
        bridgeIndex = bridge.index
        try hostSession.addAddress(InterfaceAddress(address: .v4(Self.gateway), prefixLength: 16,
                                                    linkIndex: bridge.index, broadcast: Self.broadcast))
        try addSandboxes(sandboxCount)
    }

    package func addSandboxes(_ count: Int) throws {
        for _ in 0..<count {
            sandboxes.append(try NetworkNamespace.create(name: "\(tag)-sb\(sandboxes.count)"))
        }
    }

    /// The next unused sandbox and its sequence number (used for the veth name and the address).
    package func take() throws -> (n: Int, sandbox: NetworkNamespace) {
        if next >= sandboxes.count { try addSandboxes(16) }  // never reuse one: each attach gets a fresh netns
        defer { next += 1 }
        return (next, sandboxes[next])
    }

    package static func hostVethName(_ n: Int) -> String { "vb\(n)" }

    /// 10.77.(1 + n/250).(2 + n%250): never the gateway, the network or the broadcast address.
    package static func address(_ n: Int) -> IPv4Address {
        IPv4Address(10, 77, UInt8(1 + (n / 250) % 250), UInt8(2 + n % 250))
    }

    /// The create half of an attach, the way Berth's façade does it:
    /// 1. host session: one RTM_NEWLINK making veth `vb<n>` (master bridge, up) with peer `eth0`
    ///    created directly in the sandbox (VETH_INFO_PEER + IFLA_NET_NS_FD). The peer cannot be
    ///    created up (the kernel opens it before the pair is linked: ENOTCONN, drivers/net/veth.c).
    /// 2. a session opened inside the sandbox (namespace thread: setns, socket, setns back);
    /// 3. RTM_GETLINK eth0 (its index), RTM_NEWADDR 10.77.x.y/16 brd 10.77.255.255,
    ///    RTM_NEWLINK eth0 up, RTM_NEWLINK lo up, RTM_NEWROUTE default via 10.77.0.1; the session closes.
    /// `mark(step)` is called after each step (0...6) for the probe's per-step timings.
    @inline(__always)
    package func attach(_ n: Int, in sandbox: NetworkNamespace, mark: (Int) -> Void = { _ in }) throws {
        try hostSession.createVeth(name: Self.hostVethName(n),
                                   peer: VethPeer(name: "eth0", namespaceFD: sandbox.fileDescriptor),
                                   masterIndex: bridgeIndex, up: true)
        mark(0)
        let inner = try NetlinkSession.route(in: sandbox)
        mark(1)
        let eth0 = try inner.link(named: "eth0")
        mark(2)
        try inner.addAddress(InterfaceAddress(address: .v4(Self.address(n)), prefixLength: 16,
                                              linkIndex: eth0.index, broadcast: Self.broadcast))
        mark(3)
        try inner.setLink(index: eth0.index, LinkChange(up: true))
        mark(4)
        try inner.setLink(index: 1, LinkChange(up: true))
        mark(5)
        try inner.addRoute(Route.defaultRoute(via: .v4(Self.gateway)))
        mark(6)
    }

    /// Checks, unmeasured, that attach `n` produced what Docker's attach leaves behind: host end up
    /// and enslaved to the bridge; in the sandbox eth0 up with its address, lo up, the default route.
    package func verifyAttached(_ n: Int, in sandbox: NetworkNamespace) throws -> [String] {
        var problems: [String] = []
        let hostEnd = try hostSession.link(named: Self.hostVethName(n))
        if !hostEnd.isUp { problems.append("\(hostEnd.name) is not up") }
        if hostEnd.masterIndex != bridgeIndex { problems.append("\(hostEnd.name) is not enslaved to \(Self.bridgeName)") }
        let inner = try NetlinkSession.route(in: sandbox)
        let eth0 = try inner.link(named: "eth0")
        if !eth0.isUp { problems.append("eth0 is not up") }
        if !(try inner.link(named: "lo")).isUp { problems.append("lo is not up") }
        let addresses = try inner.addresses(family: RTNL.AF_INET, linkIndex: eth0.index)
        if !addresses.contains(where: { $0.address == .v4(Self.address(n)) && $0.prefixLength == 16 }) {
            problems.append("eth0 lacks \(Self.address(n))/16")
        }
        if !(try inner.routes()).contains(where: { $0.destination == nil && $0.gateway == .v4(Self.gateway) }) {
            problems.append("no default route via \(Self.gateway)")
        }
        return problems
    }

    /// The delete half: RTM_DELLINK `vb<n>` in the host (`ip link del vb<n>`); the peer goes with it.
    @inline(__always)
    package func detach(_ n: Int) throws {
        try hostSession.deleteLink(named: Self.hostVethName(n))
    }

    /// Removes the bridge and every namespace made here (named mounts and open handles).
    package func tearDown() {
        try? hostSession.deleteLink(named: Self.bridgeName)
        for i in 0..<sandboxes.count { try? NetworkNamespace.delete(name: "\(tag)-sb\(i)") }
        sandboxes.removeAll()
        try? NetworkNamespace.delete(name: "\(tag)-host")
    }
}

/// Percentile of already-sorted values (nearest rank).
package func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

// TapCompare (issue 16): a micro-VM TAP on a network, side by side in one run, interleaved:
//   library  — `attach(network:tap:)` persistent (TUNSETIFF, one RTM_NEWLINK master+mtu+up+group,
//              TUNSETPERSIST, record) and `detach(endpoint:)` (unplug; the reclaimer deletes);
//   iproute2 — the same kernel steps by hand: `ip tuntap add NAME mode tap vnet_hdr`,
//              `ip link set NAME master BR mtu M up`, and `ip link del NAME` (process start included,
//              as a script pays it);
//   veth     — the library's veth attach into a fresh sandbox and its detach (the reference endpoint).
// CLOCK_MONOTONIC around each call; prints median / p90 in microseconds and the ratios.
// Refuses to run outside the sandbox (requireSandbox).
//
//   TapCompare [COUNT] [BACKEND]      (default 200 iptables)
import AttachKit
import BenchKit
import Berth
import Foundation
#if canImport(Glibc)
import Glibc
#endif

requireSandbox("TapCompare")
let args = Array(CommandLine.arguments.dropFirst())
let count = args.first.flatMap { Int($0) } ?? 200
let backend = args.dropFirst().first.flatMap { FirewallBackendKind(rawValue: $0) } ?? .iptables

func ip(_ argv: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    p.arguments = argv
    try p.run()
    p.waitUntilExit()
    if p.terminationStatus != 0 { throw NSError(domain: "ip \(argv.joined(separator: " "))", code: Int(p.terminationStatus)) }
}

func report(_ name: String, _ times: [Double]) -> Double {
    let sorted = times.sorted()
    let median = percentile(sorted, 50)
    print("\(name): n=\(sorted.count) median \(String(format: "%.0f", median)) us p90 \(String(format: "%.0f", percentile(sorted, 90))) us")
    return median
}

do {
    let fixture = try ControllerFixture(tag: "tapc", backend: backend)
    defer { fixture.tearDown() }
    let c = fixture.controller
    try fixture.addSandboxes(count)
    let bridge = try c.networks().first { $0.name == ControllerFixture.mainNetwork }?.bridge ?? ""
    let hostName = fixture.hostPath.split(separator: "/").last.map(String.init) ?? ""
    var tapAttach: [Double] = [], tapDetach: [Double] = [], ipAttach: [Double] = [], ipDetach: [Double] = []
    var vethAttach: [Double] = [], vethDetach: [Double] = []
    for i in 0..<count {
        var t0 = monotonicNanoseconds()
        let a = try c.attach(network: ControllerFixture.mainNetwork, tap: TapOptions(name: "vmtap\(i % 8)"))
        tapAttach.append(Double(monotonicNanoseconds() - t0) / 1000)
        t0 = monotonicNanoseconds()
        try c.detach(endpoint: a.endpoint.id)
        tapDetach.append(Double(monotonicNanoseconds() - t0) / 1000)

        t0 = monotonicNanoseconds()
        try ip(["-n", hostName, "tuntap", "add", "iptap\(i % 8)", "mode", "tap", "vnet_hdr"])
        try ip(["-n", hostName, "link", "set", "iptap\(i % 8)", "master", bridge, "mtu", "1500", "up"])
        ipAttach.append(Double(monotonicNanoseconds() - t0) / 1000)
        t0 = monotonicNanoseconds()
        try ip(["-n", hostName, "link", "del", "iptap\(i % 8)"])
        ipDetach.append(Double(monotonicNanoseconds() - t0) / 1000)

        t0 = monotonicNanoseconds()
        let e = try c.attach(network: ControllerFixture.mainNetwork, sandbox: .name(try fixture.takeSandbox()))
        vethAttach.append(Double(monotonicNanoseconds() - t0) / 1000)
        t0 = monotonicNanoseconds()
        try c.detach(endpoint: e.id)
        vethDetach.append(Double(monotonicNanoseconds() - t0) / 1000)
    }
    try c.drain()
    print("TapCompare \(backend), \(count) rounds interleaved")
    let la = report("library TAP attach (persistent)", tapAttach)
    let ld = report("library TAP detach (unplug)", tapDetach)
    let ia = report("ip tuntap add + ip link set master/mtu/up", ipAttach)
    let id = report("ip link del", ipDetach)
    let va = report("library veth attach (fresh sandbox)", vethAttach)
    let vd = report("library veth detach (unplug)", vethDetach)
    print(String(format: "ratios (median): TAP attach / ip %.2fx, TAP attach+detach / ip %.2fx, TAP attach / veth attach %.2fx",
                 la / ia, (la + ld) / (ia + id), la / va))
    _ = vd
} catch {
    printError("TapCompare: \(error)")
    exit(1)
}

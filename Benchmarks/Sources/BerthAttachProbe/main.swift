// BerthAttachProbe ITERATIONS [--steps | --micro]
// The Berth side of compare-netlink.sh: ITERATIONS rounds of (attach into a fresh sandbox netns,
// detach), each half timed with CLOCK_MONOTONIC like floor/attach_floor.c. Prints one line per
// operation, "<create|delete> <n> <microseconds>", and with --steps also per-step lines
// "step <name> <n> <microseconds>" for the create half. --micro instead times, ITERATIONS times each,
// the pieces of Berth's overhead that are not kernel work (namespace-thread round trip, opening a
// session in a sandbox, the per-request capability check) and prints their medians.
// Refuses to run outside the sandbox.
import AttachKit
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

requireSandbox("BerthAttachProbe")
let args = CommandLine.arguments
let iterations = args.count > 1 ? Int(args[1]) ?? 0 : 0
let steps = args.contains("--steps")
guard iterations > 0 else {
    printError("usage: BerthAttachProbe ITERATIONS [--steps]")
    exit(2)
}
if args.contains("--micro") {
    do {
        let fixture = try AttachFixture(tag: "micro", sandboxCount: 1)
        defer { fixture.tearDown() }
        let sandbox = fixture.sandboxes[0]
        func median(_ name: String, _ body: () throws -> Void) rethrows {
            var samples: [Double] = []
            for _ in 0..<iterations {
                let t0 = monotonicNanoseconds()
                try body()
                samples.append(Double(monotonicNanoseconds() - t0) / 1000)
            }
            samples.sort()
            print("micro \(name) median \(percentile(samples, 50)) us p99 \(percentile(samples, 99)) us")
        }
        try median("namespace-thread-roundtrip(empty job, setns in+out)") { try NamespaceThread.shared.run(in: sandbox) {} }
        try median("session-open-in-sandbox(incl. roundtrip, close)") { _ = try NetlinkSession.route(in: sandbox) }
        try median("session-open-here(no roundtrip, close)") { _ = try NetlinkSession.route() }
        median("capability-check(cap_get_proc)") { _ = Capabilities.hasNetAdmin() }
        let inner = try NetlinkSession.route(in: sandbox)
        try median("getlink-lo(request+decode)") { _ = try inner.link(named: "lo") }
        try median("set-lo-up(no-op change)") { try inner.setLink(index: 1, LinkChange(up: true)) }
    } catch {
        printError("BerthAttachProbe: \(error)")
        exit(1)
    }
    exit(0)
}
let stepNames = ["veth-create", "open-sandbox-session", "getlink-eth0", "addr-add", "eth0-up", "lo-up", "route-add"]

do {
    let fixture = try AttachFixture(tag: "probe", sandboxCount: iterations + 1)
    defer { fixture.tearDown() }
    // One unmeasured round: first use of the namespace thread, lazy runtime initialisation.
    do {
        let (n, sandbox) = try fixture.take()
        try fixture.attach(n, in: sandbox)
        let problems = try fixture.verifyAttached(n, in: sandbox)
        if !problems.isEmpty {
            printError("BerthAttachProbe: attach did not produce the expected state: \(problems.joined(separator: "; "))")
            exit(1)
        }
        try fixture.detach(n)
    }
    var lines: [String] = []
    lines.reserveCapacity(iterations * (steps ? 8 : 2))
    var laps = [UInt64](repeating: 0, count: stepNames.count)
    for i in 0..<iterations {
        let (n, sandbox) = try fixture.take()
        let t0 = monotonicNanoseconds()
        try fixture.attach(n, in: sandbox) { laps[$0] = monotonicNanoseconds() }
        let t1 = monotonicNanoseconds()
        try fixture.detach(n)
        let t2 = monotonicNanoseconds()
        lines.append("create \(i) \(Double(t1 - t0) / 1000)")
        lines.append("delete \(i) \(Double(t2 - t1) / 1000)")
        if steps {
            var previous = t0
            for (k, name) in stepNames.enumerated() {
                lines.append("step \(name) \(i) \(Double(laps[k] - previous) / 1000)")
                previous = laps[k]
            }
        }
    }
    for line in lines { print(line) }
} catch {
    printError("BerthAttachProbe: \(error)")
    exit(1)
}

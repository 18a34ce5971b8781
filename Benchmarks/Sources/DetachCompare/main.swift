// DetachCompare: library detach side by side (issue 11), waitForKernel (today's synchronous veth
// delete, one RCU grace period each) against unplug (off the bridge, down, pending group; the
// background reclaimer deletes in batches). CLOCK_MONOTONIC around `detach(endpoint:)` only;
// prints per-mode median / p90 in microseconds, the drain time, and the median ratio.
// Refuses to run outside the sandbox (requireSandbox).
//
//   DetachCompare [COUNT] [BACKEND]      (default 200 iptables)
import AttachKit
import BenchKit
import Berth
#if canImport(Glibc)
import Glibc
#endif

requireSandbox("DetachCompare")
let args = Array(CommandLine.arguments.dropFirst())
let count = args.first.flatMap { Int($0) } ?? 200
let backend = args.dropFirst().first.flatMap { FirewallBackendKind(rawValue: $0) } ?? .iptables

func measure(_ mode: String, waitForKernel: Bool) throws -> (median: Double, p90: Double) {
    let fixture = try ControllerFixture(tag: "dc-\(mode)", backend: backend)
    defer { fixture.tearDown() }
    var configuration = fixture.configuration
    configuration.waitForKernel = waitForKernel
    let controller = try NetworkController(configuration)
    try fixture.addSandboxes(count)
    var times: [Double] = []
    for _ in 0..<count {
        let e = try controller.attach(network: ControllerFixture.mainNetwork, sandbox: .name(try fixture.takeSandbox()))
        let t0 = monotonicNanoseconds()
        try controller.detach(endpoint: e.id)
        times.append(Double(monotonicNanoseconds() - t0) / 1000)
    }
    let d0 = monotonicNanoseconds()
    try controller.drain()
    let drain = Double(monotonicNanoseconds() - d0) / 1000
    times.sort()
    let result = (percentile(times, 50), percentile(times, 90))
    print("detach \(mode) \(backend): n=\(count) median \(Int(result.0)) us p90 \(Int(result.1)) us; drain after \(Int(drain)) us")
    return result
}

do {
    let sync = try measure("sync", waitForKernel: true)
    let unplug = try measure("unplug", waitForKernel: false)
    print("ratio sync/unplug (median): \(String(format: "%.1f", sync.median / unplug.median))x")
} catch {
    printError("DetachCompare: \(error)")
    exit(1)
}

// Issue 6: the public Swift API (NetworkController) per firewall backend, at a few scale points.
// Run with Benchmarks/run.sh (inside `unshare --net --mount`); refuses otherwise.
//
//   open (B) endpoints=N        NetworkController(…) on a state directory holding N endpoints
//                               (reconcile included); peak RSS here is the "controller with N
//                               endpoints" memory figure
//   attach (B) endpoints=N      attach a fresh sandbox to a network that already has N endpoints
//                               (the detach after it is unmeasured)
//   detach (B) endpoints=N      detach it (the attach before it is unmeasured)
//   publish (B) endpoints=N     attach with one published port (-p 2xxxx:80)
//   unpublish (B) endpoints=N   detach an endpoint with one published port
//   network create (B) networks=N / network delete (B) networks=N
//                               with N user networks present (plus the default `bridge`)
//
// Scale points: endpoints 1/100/1000, networks 1/50/200 (env BERTH_BENCH_MAX_ENDPOINTS /
// BERTH_BENCH_MAX_NETWORKS cap them; BERTH_BENCH_BACKENDS=iptables,nftables picks backends;
// nftables is included only when it works here).
import BenchKit
import Benchmark
import Berth
@_spi(BerthInternal) import BerthFirewall
import Foundation

final class Box: @unchecked Sendable {
    var fixture: ControllerFixture?
    var counter = 0
}

let maxIterations = 60
let warmup = 3

func scalePoints(_ base: [Int], cap: String) -> [Int] {
    guard let text = ProcessInfo.processInfo.environment[cap], let limit = Int(text) else { return base }
    return base.filter { $0 <= limit }
}

/// Lets the kernel finish freeing a dropped namespace's links (asynchronous) before the next run.
func settle(_ objects: Int) async throws {
    try await Task.sleep(for: .milliseconds(1000 + 10 * objects))
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: warmup,
        maxDuration: .seconds(30),
        maxIterations: maxIterations
    )
    let endpointPoints = scalePoints([1, 100, 1000], cap: "BERTH_BENCH_MAX_ENDPOINTS")
    let networkPoints = scalePoints([1, 50, 200], cap: "BERTH_BENCH_MAX_NETWORKS")
    let pool = maxIterations + warmup + 4

    for kind in Bench.workingBackends() {
        let b = kind.rawValue
        for n in endpointPoints {
            // open
            let openBox = Box()
            Benchmark("open (\(b)) endpoints=\(n)", configuration: configuration) { benchmark in
                guard let f = openBox.fixture else { return benchmark.error("no fixture") }
                for _ in benchmark.scaledIterations {
                    blackHole(try f.reopen())
                }
            } setup: {
                let f = try ControllerFixture(tag: "open-\(b)-\(n)", backend: kind)
                try f.addSandboxes(n)
                try f.addEndpoints(n)
                openBox.fixture = f
            } teardown: {
                openBox.fixture?.tearDown(); openBox.fixture = nil
                try await settle(n)
            }

            for (label, ports) in [("attach", false), ("publish", true)] {
                let box = Box()
                Benchmark("\(label) (\(b)) endpoints=\(n)", configuration: configuration) { benchmark in
                    guard let f = box.fixture else { return benchmark.error("no fixture") }
                    let sandbox = try f.takeSandbox()
                    box.counter += 1
                    let options = ports ? AttachOptions(ports: [PortMapping(hostPort: UInt16(20000 + box.counter), containerPort: 80)]) : AttachOptions()
                    benchmark.startMeasurement()
                    let e = try f.controller.attach(network: ControllerFixture.mainNetwork, sandbox: .name(sandbox), options: options)
                    benchmark.stopMeasurement()
                    try f.controller.detach(endpoint: e.id)  // unmeasured: keeps the population at n
                } setup: {
                    let f = try ControllerFixture(tag: "\(label)-\(b)-\(n)", backend: kind)
                    try f.addSandboxes(n + pool)
                    try f.addEndpoints(n)
                    box.fixture = f
                } teardown: {
                    box.fixture?.tearDown(); box.fixture = nil
                    try await settle(n)
                }
            }

            for (label, ports) in [("detach", false), ("unpublish", true)] {
                let box = Box()
                Benchmark("\(label) (\(b)) endpoints=\(n)", configuration: configuration) { benchmark in
                    guard let f = box.fixture else { return benchmark.error("no fixture") }
                    let sandbox = try f.takeSandbox()
                    box.counter += 1
                    let options = ports ? AttachOptions(ports: [PortMapping(hostPort: UInt16(20000 + box.counter), containerPort: 80)]) : AttachOptions()
                    let e = try f.controller.attach(network: ControllerFixture.mainNetwork, sandbox: .name(sandbox), options: options)
                    benchmark.startMeasurement()
                    try f.controller.detach(endpoint: e.id)
                    benchmark.stopMeasurement()
                } setup: {
                    let f = try ControllerFixture(tag: "\(label)-\(b)-\(n)", backend: kind)
                    try f.addSandboxes(n + pool)
                    try f.addEndpoints(n)
                    box.fixture = f
                } teardown: {
                    box.fixture?.tearDown(); box.fixture = nil
                    try await settle(n)
                }
            }
        }

        for n in networkPoints {
            let createBox = Box()
            Benchmark("network create (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = createBox.fixture else { return benchmark.error("no fixture") }
                createBox.counter += 1
                let name = "m\(createBox.counter)"
                let options = NetworkOptions(name: name, subnet: Bench.extraSubnet(3000 + createBox.counter))
                benchmark.startMeasurement()
                blackHole(try f.controller.createNetwork(options))
                benchmark.stopMeasurement()
                try f.controller.deleteNetwork(name)  // unmeasured
            } setup: {
                let f = try ControllerFixture(tag: "netc-\(b)-\(n)", backend: kind)
                try f.addNetworks(n - 1)  // plus `bench` = n user networks
                createBox.fixture = f
            } teardown: {
                createBox.fixture?.tearDown(); createBox.fixture = nil
                try await settle(n * 5)
            }

            let deleteBox = Box()
            Benchmark("network delete (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = deleteBox.fixture else { return benchmark.error("no fixture") }
                deleteBox.counter += 1
                let name = "m\(deleteBox.counter)"
                _ = try f.controller.createNetwork(NetworkOptions(name: name, subnet: Bench.extraSubnet(3000 + deleteBox.counter)))
                benchmark.startMeasurement()
                try f.controller.deleteNetwork(name)
                benchmark.stopMeasurement()
            } setup: {
                let f = try ControllerFixture(tag: "netd-\(b)-\(n)", backend: kind)
                try f.addNetworks(n - 1)
                deleteBox.fixture = f
            } teardown: {
                deleteBox.fixture?.tearDown(); deleteBox.fixture = nil
                try await settle(n * 5)
            }
        }
    }
}

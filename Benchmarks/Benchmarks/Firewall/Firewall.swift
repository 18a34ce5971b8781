// Issue 3: the firewall layer alone (BerthFirewall: IptablesBackend / NftablesBackend in a fresh
// host namespace), with 1, 50 and 200 networks' rules already present.
// Run with Benchmarks/run.sh (inside `unshare --net --mount`); refuses otherwise.
//
//   fw add network (B) networks=N      addNetwork of one more network (removeNetwork unmeasured)
//   fw remove network (B) networks=N   removeNetwork of it (addNetwork unmeasured)
//   fw add ports (B) networks=N        addPorts: one endpoint's mapping 2xxxx->80 (remove unmeasured)
//   fw remove ports (B) networks=N     removePorts of it (add unmeasured)
import BenchKit
import Benchmark
@_spi(BerthInternal) import BerthFirewall
import Foundation

final class Box: @unchecked Sendable {
    var fixture: FirewallFixture?
    var counter = 0
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 3,
        maxDuration: .seconds(20),
        maxIterations: 60
    )
    var networkPoints = [1, 50, 200]
    if let cap = ProcessInfo.processInfo.environment["BERTH_BENCH_MAX_NETWORKS"].flatMap({ Int($0) }) {
        networkPoints = networkPoints.filter { $0 <= cap }
    }

    for kind in Bench.workingBackends() {
        let b = kind.rawValue
        for n in networkPoints {
            let addNet = Box()
            Benchmark("fw add network (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = addNet.fixture else { return benchmark.error("no fixture") }
                let rules = f.makeNetwork()
                benchmark.startMeasurement()
                try f.backend.addNetwork(rules)
                benchmark.stopMeasurement()
                try f.backend.removeNetwork(rules)
            } setup: {
                addNet.fixture = try FirewallFixture(tag: "fwan-\(b)-\(n)", kind: kind, networks: n)
            } teardown: {
                addNet.fixture?.tearDown(); addNet.fixture = nil
                try await Task.sleep(for: .milliseconds(500))
            }

            let removeNet = Box()
            Benchmark("fw remove network (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = removeNet.fixture else { return benchmark.error("no fixture") }
                let rules = f.makeNetwork()
                try f.backend.addNetwork(rules)
                benchmark.startMeasurement()
                try f.backend.removeNetwork(rules)
                benchmark.stopMeasurement()
            } setup: {
                removeNet.fixture = try FirewallFixture(tag: "fwrn-\(b)-\(n)", kind: kind, networks: n)
            } teardown: {
                removeNet.fixture?.tearDown(); removeNet.fixture = nil
                try await Task.sleep(for: .milliseconds(500))
            }

            let addPorts = Box()
            Benchmark("fw add ports (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = addPorts.fixture else { return benchmark.error("no fixture") }
                addPorts.counter += 1
                let ports = f.makePorts(addPorts.counter)
                benchmark.startMeasurement()
                try f.backend.addPorts(ports)
                benchmark.stopMeasurement()
                try f.backend.removePorts(ports)
            } setup: {
                addPorts.fixture = try FirewallFixture(tag: "fwap-\(b)-\(n)", kind: kind, networks: n)
            } teardown: {
                addPorts.fixture?.tearDown(); addPorts.fixture = nil
                try await Task.sleep(for: .milliseconds(500))
            }

            let removePorts = Box()
            Benchmark("fw remove ports (\(b)) networks=\(n)", configuration: configuration) { benchmark in
                guard let f = removePorts.fixture else { return benchmark.error("no fixture") }
                removePorts.counter += 1
                let ports = f.makePorts(removePorts.counter)
                try f.backend.addPorts(ports)
                benchmark.startMeasurement()
                try f.backend.removePorts(ports)
                benchmark.stopMeasurement()
            } setup: {
                removePorts.fixture = try FirewallFixture(tag: "fwrp-\(b)-\(n)", kind: kind, networks: n)
            } teardown: {
                removePorts.fixture?.tearDown(); removePorts.fixture = nil
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

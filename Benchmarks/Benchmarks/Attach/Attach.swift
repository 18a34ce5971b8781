// Issue 2: the cost of attaching a sandbox to a bridge network through Berth's netlink layer, and
// of detaching it. Run with Benchmarks/run.sh (inside `unshare --net --mount`); refuses otherwise.
//
//   attach  — create half: veth vb<n> (master bridge, up) + peer eth0 created up inside a fresh
//             sandbox netns, then via a session opened in the sandbox: address 10.77.x.y/16,
//             lo up, default route via 10.77.0.1.            (the veth is deleted unmeasured)
//   detach  — delete half: RTM_DELLINK of the host end.        (the attach is done unmeasured)
import AttachKit
import Benchmark

/// One fixture per benchmark, made in its setup hook and torn down in its teardown hook.
final class FixtureBox: @unchecked Sendable {
    var fixture: AttachFixture?
}

let maxIterations = 200
let warmup = 5

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: warmup,
        maxDuration: .seconds(60),
        maxIterations: maxIterations
    )

    let attachBox = FixtureBox()
    Benchmark("attach", configuration: configuration) { benchmark in
        guard let fixture = attachBox.fixture else { return benchmark.error("no fixture") }
        let (n, sandbox) = try fixture.take()
        benchmark.startMeasurement()
        try fixture.attach(n, in: sandbox)
        benchmark.stopMeasurement()
        try fixture.detach(n)  // unmeasured: keeps the bridge at one port, as in the other runs
    } setup: {
        attachBox.fixture = try AttachFixture(tag: "bench-attach", sandboxCount: maxIterations + warmup + 2)
    } teardown: {
        attachBox.fixture?.tearDown()
        attachBox.fixture = nil
        try await Task.sleep(for: .seconds(1))  // let the kernel's asynchronous netns cleanup finish
    }

    let detachBox = FixtureBox()
    Benchmark("detach", configuration: configuration) { benchmark in
        guard let fixture = detachBox.fixture else { return benchmark.error("no fixture") }
        let (n, sandbox) = try fixture.take()
        try fixture.attach(n, in: sandbox)  // unmeasured
        benchmark.startMeasurement()
        try fixture.detach(n)
        benchmark.stopMeasurement()
    } setup: {
        detachBox.fixture = try AttachFixture(tag: "bench-detach", sandboxCount: maxIterations + warmup + 2)
    } teardown: {
        detachBox.fixture?.tearDown()
        detachBox.fixture = nil
        try await Task.sleep(for: .seconds(1))  // let the kernel's asynchronous netns cleanup finish
    }
}

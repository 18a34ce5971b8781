// PortsCompare: attach and detach with many published ports, side by side in one run (issue 13,
// "Ports at scale"). Per backend, one controller and one network; each round attaches a fresh
// sandbox once per shape, interleaved, and detaches it again: no ports, one port (8080:80), one
// 1,000-port range (-p 10000-10999:10000-10999), 32 separate ports (host 20000+2i → container
// 1000+3i, which no run joins). CLOCK_MONOTONIC around `attach` and around `detach(endpoint:)`
// only; prints medians / p90 in microseconds and the ratios the targets are stated in
// (README Performance): range attach ≤ 10 ms on nftables and ≤ 2× a single-port attach on
// iptables, 32 ports ≤ 5 ms on nftables, detach flat in the number of ports. The userland proxy
// is off (one berth-proxy per port would dominate: issue 13 states the targets proxy-less).
// Then the firewall layer alone (the backend's `addPorts` / `removePorts` of the same shapes on a
// host namespace with one network, no veth, no state): what of the attach is the rules' cost.
// `--firewall` runs only that part (e.g. under `strace -T -e trace=sendmsg` to see the kernel's
// share: an nf_tables batch is applied inside the sendmsg that carries it).
// Refuses to run outside the sandbox (requireSandbox).
//
// `--proxy=PATH` adds the userland proxy's cost (Docker's default mode): the same controller
// attach / detach with the proxy on (`berth-proxy` at PATH, one process per port), no ports,
// one port and 32 ports interleaved; the cost per binding is (32 ports − no ports) / 32.
//
//   PortsCompare [ROUNDS] [BACKEND...] [--firewall] [--proxy=PATH]   (default 60, every working backend)
import AttachKit
import BenchKit
import Berth
@_spi(BerthInternal) import BerthFirewall
#if canImport(Glibc)
import Glibc
#endif

requireSandbox("PortsCompare")
let firewallOnly = CommandLine.arguments.contains("--firewall")
let proxyPath = CommandLine.arguments.first { $0.hasPrefix("--proxy=") }.map { String($0.dropFirst("--proxy=".count)) }
let args = Array(CommandLine.arguments.dropFirst()).filter { !$0.hasPrefix("--") }
let rounds = args.first.flatMap { Int($0) } ?? 60
let named = args.dropFirst().compactMap { FirewallBackendKind(rawValue: $0) }
let kinds = named.isEmpty ? Bench.workingBackends() : named

struct Shape {
    let name: String
    let publish: [PortSpec]
}

func shapes() throws -> [Shape] {
    [Shape(name: "no ports", publish: []),
     Shape(name: "1 port", publish: [try PortSpec(parsing: "8080:80")]),
     Shape(name: "1000-port range", publish: [try PortSpec(parsing: "10000-10999:10000-10999")]),
     Shape(name: "32 ports", publish: try (0..<32).map { i in try PortSpec(parsing: "\(20000 + 2 * i):\(1000 + 3 * i)") })]
}

func ms(_ us: Double) -> String { String(format: "%.2f ms", us / 1000) }

do {
    let all = try shapes()
    for kind in kinds where !firewallOnly {
        let fixture = try ControllerFixture(tag: "pc-\(kind.rawValue)", backend: kind)
        defer { fixture.tearDown() }
        // Proxy-less (Docker's --userland-proxy=false): the rules alone, as the targets are stated.
        var configuration = fixture.configuration
        configuration.userlandProxy = false
        let controller = try NetworkController(configuration)
        try fixture.addSandboxes(all.count * (rounds + 2))
        var attach = [[Double]](repeating: [], count: all.count)
        var detach = [[Double]](repeating: [], count: all.count)
        for round in 0..<(rounds + 2) {
            for (k, shape) in all.enumerated() {
                let sandbox = try fixture.takeSandbox()
                let t0 = monotonicNanoseconds()
                let e = try controller.attach(network: ControllerFixture.mainNetwork, sandbox: .name(sandbox),
                                              options: AttachOptions(publish: shape.publish))
                let t1 = monotonicNanoseconds()
                try controller.detach(endpoint: e.id)
                let t2 = monotonicNanoseconds()
                if round >= 2 {  // two warm-up rounds
                    attach[k].append(Double(t1 - t0) / 1000)
                    detach[k].append(Double(t2 - t1) / 1000)
                }
            }
        }
        try controller.drain()
        print("\(kind): \(rounds) rounds, one sandbox per attach, shapes interleaved")
        var medians: [(Double, Double)] = []
        for (k, shape) in all.enumerated() {
            let a = attach[k].sorted(), d = detach[k].sorted()
            medians.append((percentile(a, 50), percentile(d, 50)))
            print("  \(shape.name.padding(toLength: 16, withPad: " ", startingAt: 0)) attach median \(ms(percentile(a, 50))) p90 \(ms(percentile(a, 90)))"
                  + "   detach median \(ms(percentile(d, 50))) p90 \(ms(percentile(d, 90)))")
        }
        let one = medians[1], range = medians[2], many = medians[3], none = medians[0]
        print(String(format: "  ratios: range/1-port attach %.2fx, 32-ports/1-port attach %.2fx, 1-port/no-ports attach %.2fx", range.0 / one.0, many.0 / one.0, one.0 / none.0))
        print(String(format: "          range/1-port detach %.2fx, 32-ports/1-port detach %.2fx", range.1 / one.1, many.1 / one.1))
    }
    // Proxy mode (Docker's default): one berth-proxy per port, started by attach, stopped by detach.
    for kind in kinds where proxyPath != nil && !firewallOnly {
        guard let proxyPath else { break }
        let fixture = try ControllerFixture(tag: "pp-\(kind.rawValue)", backend: kind)
        defer { fixture.tearDown() }
        var configuration = fixture.configuration
        configuration.userlandProxy = true
        configuration.userlandProxyPath = proxyPath
        let controller = try NetworkController(configuration)
        let proxyShapes = [all[0], all[1], all[3]]
        try fixture.addSandboxes(proxyShapes.count * (rounds + 2))
        var attach = [[Double]](repeating: [], count: proxyShapes.count)
        var detach = [[Double]](repeating: [], count: proxyShapes.count)
        for round in 0..<(rounds + 2) {
            for (k, shape) in proxyShapes.enumerated() {
                let sandbox = try fixture.takeSandbox()
                let t0 = monotonicNanoseconds()
                let e = try controller.attach(network: ControllerFixture.mainNetwork, sandbox: .name(sandbox),
                                              options: AttachOptions(publish: shape.publish))
                let t1 = monotonicNanoseconds()
                try controller.detach(endpoint: e.id)
                let t2 = monotonicNanoseconds()
                if round >= 2 {
                    attach[k].append(Double(t1 - t0) / 1000)
                    detach[k].append(Double(t2 - t1) / 1000)
                }
            }
        }
        try controller.drain()
        print("\(kind) with the userland proxy on (one berth-proxy per port): \(rounds) rounds")
        var medians: [(Double, Double)] = []
        for (k, shape) in proxyShapes.enumerated() {
            let a = attach[k].sorted(), d = detach[k].sorted()
            medians.append((percentile(a, 50), percentile(d, 50)))
            print("  \(shape.name.padding(toLength: 16, withPad: " ", startingAt: 0)) attach median \(ms(percentile(a, 50))) p90 \(ms(percentile(a, 90)))"
                  + "   detach median \(ms(percentile(d, 50))) p90 \(ms(percentile(d, 90)))")
        }
        print(String(format: "  per binding: attach %.2f ms, detach %.2f ms ((32 ports - no ports) / 32); 1 port - no ports: attach %.2f ms, detach %.2f ms",
                     (medians[2].0 - medians[0].0) / 32000, (medians[2].1 - medians[0].1) / 32000,
                     (medians[1].0 - medians[0].0) / 1000, (medians[1].1 - medians[0].1) / 1000))
    }
    // The firewall layer alone: the same shapes as bindings of one endpoint.
    let separate: [PortMapping] = (0..<32).map { (i: Int) -> PortMapping in
        PortMapping(hostPort: UInt16(20000 + 2 * i), containerPort: UInt16(1000 + 3 * i))
    }
    let mappings: [[PortMapping]] = [[], [PortMapping(hostPort: 8080, containerPort: 80)],
                                     [PortMapping(hostPort: 10000, containerPort: 10000, count: 1000)], separate]
    for kind in kinds {
        let fixture = try FirewallFixture(tag: "pcf-\(kind.rawValue)", kind: kind, networks: 1)
        defer { fixture.tearDown() }
        var add = [[Double]](repeating: [], count: all.count)
        var remove = [[Double]](repeating: [], count: all.count)
        for round in 0..<(rounds + 2) {
            for k in 1..<all.count {
                var e = fixture.makePorts(round)
                e.ports = PortMapping.dockerOrder(mappings[k])
                let t0 = monotonicNanoseconds()
                try fixture.backend.addPorts(e)
                let t1 = monotonicNanoseconds()
                try fixture.backend.removePorts(e)
                let t2 = monotonicNanoseconds()
                if round >= 2 {
                    add[k].append(Double(t1 - t0) / 1000)
                    remove[k].append(Double(t2 - t1) / 1000)
                }
            }
        }
        print("\(kind) firewall layer alone (addPorts / removePorts, one network): \(rounds) rounds")
        for k in 1..<all.count {
            let a = add[k].sorted(), d = remove[k].sorted()
            print("  \(all[k].name.padding(toLength: 16, withPad: " ", startingAt: 0)) addPorts median \(ms(percentile(a, 50))) p90 \(ms(percentile(a, 90)))"
                  + "   removePorts median \(ms(percentile(d, 50))) p90 \(ms(percentile(d, 90)))")
        }
    }
} catch {
    printError("PortsCompare: \(error)")
    exit(1)
}

// BerthProbe: the in-process Berth library contestant of compare-peers.sh. Times the package Swift
// API (NetworkController) with CLOCK_MONOTONIC and prints one line per operation "<op> <i> <us>".
// Refuses to run outside the sandbox (requireSandbox).
//
//   BerthProbe loop STATE BACKEND HOSTNS NETWORK PREFIX FROM TO
//       opens a controller (printed as "open"), then for i in FROM...TO: attach sandbox
//       /run/netns/PREFIX<i> to NETWORK ("attach i us"), detach it ("detach i us"). With
//       BERTH_PROBE_DRAIN=1 each detach is followed by an unmeasured drain(), so the next attach
//       does not share the machine with the background reclaimer's sweep (how much of an attach
//       is that contention).
//   BerthProbe netloop STATE BACKEND HOSTNS FROM TO
//       network create ("netcreate i us") and delete ("netdelete i us") of network nl<i>.
//   BerthProbe scale-attach STATE BACKEND HOSTNS NETS PREFIX COUNT
//       creates networks s0..s<NETS-1> ("netcreate"), attaches PREFIX<i> to s<i % NETS> for
//       i in 0..<COUNT ("attach i us"), then prints "rss <KiB>" and "hwm <KiB>".
//   BerthProbe open-rss STATE BACKEND HOSTNS
//       opens a controller on existing state; prints "open 0 us", "endpoints n", "rss KiB", "hwm KiB".
//   BerthProbe scale-detach STATE BACKEND HOSTNS PREFIX COUNT
//       detaches the endpoints of PREFIX0..PREFIX<COUNT-1> in attach order ("detach i us").
import AttachKit
import BenchKit
import Berth
@_spi(BerthInternal) import BerthFirewall
#if canImport(Glibc)
import Glibc
#endif

requireSandbox("BerthProbe")
let args = Array(CommandLine.arguments.dropFirst())

func usage() -> Never {
    printError("usage: BerthProbe loop|netloop|scale-attach|open-rss|scale-detach STATE BACKEND HOSTNS ...")
    exit(2)
}
guard args.count >= 4, let backend = FirewallBackendKind(rawValue: args[2]) else { usage() }
let configuration = ControllerConfiguration(stateDirectory: args[1], backend: backend, hostNamespacePath: args[3])

func us(_ t0: UInt64) -> String { String((monotonicNanoseconds() - t0) / 1000) }

/// Output goes through one buffer written at the end, so printing never sits between measurements.
final class Output: @unchecked Sendable { var text = "" }
let output = Output()
func emit(_ line: String) { output.text += line + "\n" }

do {
    let t0 = monotonicNanoseconds()
    let controller = try NetworkController(configuration)
    emit("open 0 \(us(t0))")
    switch args[0] {
    case "loop":
        guard args.count == 8, let from = Int(args[6]), let to = Int(args[7]) else { usage() }
        let network = args[4], prefix = args[5]
        let drain = getenv("BERTH_PROBE_DRAIN").map { String(cString: $0) == "1" } ?? false
        for i in from...to {
            let a = monotonicNanoseconds()
            let e = try controller.attach(network: network, sandbox: .name("\(prefix)\(i)"))
            let b = monotonicNanoseconds()
            try controller.detach(endpoint: e.id)
            let c = monotonicNanoseconds()
            if drain { try controller.drain() }
            emit("attach \(i) \((b - a) / 1000)")
            emit("detach \(i) \((c - b) / 1000)")
        }
    case "netloop":
        guard args.count == 6, let from = Int(args[4]), let to = Int(args[5]) else { usage() }
        for i in from...to {
            let a = monotonicNanoseconds()
            _ = try controller.createNetwork(NetworkOptions(name: "nl\(i)", subnet: Bench.extraSubnet(1000 + i)))
            let b = monotonicNanoseconds()
            try controller.deleteNetwork("nl\(i)")
            let c = monotonicNanoseconds()
            emit("netcreate \(i) \((b - a) / 1000)")
            emit("netdelete \(i) \((c - b) / 1000)")
        }
    case "scale-attach":
        guard args.count == 7, let nets = Int(args[4]), let count = Int(args[6]) else { usage() }
        let prefix = args[5]
        for k in 0..<nets {
            let a = monotonicNanoseconds()
            _ = try controller.createNetwork(NetworkOptions(name: "s\(k)", subnet: "10.\(110 + k).0.0/16"))
            emit("netcreate \(k) \(us(a))")
        }
        for i in 0..<count {
            let a = monotonicNanoseconds()
            _ = try controller.attach(network: "s\(i % nets)", sandbox: .name("\(prefix)\(i)"))
            emit("attach \(i) \(us(a))")
        }
        emit("rss 0 \(Bench.memoryKiB("VmRSS"))")
        emit("hwm 0 \(Bench.memoryKiB("VmHWM"))")
    case "open-rss":
        emit("endpoints 0 \(try controller.endpoints().count)")
        emit("rss 0 \(Bench.memoryKiB("VmRSS"))")
        emit("hwm 0 \(Bench.memoryKiB("VmHWM"))")
    case "scale-detach":
        guard args.count == 6, let count = Int(args[5]) else { usage() }
        let prefix = args[4]
        var byPath: [String: String] = [:]
        for e in try controller.endpoints() { byPath[e.sandboxPath] = e.id }
        for i in 0..<count {
            guard let id = byPath["/run/netns/\(prefix)\(i)"] else { printError("no endpoint for \(prefix)\(i)"); exit(1) }
            let a = monotonicNanoseconds()
            try controller.detach(endpoint: id)
            emit("detach \(i) \(us(a))")
        }
    default:
        usage()
    }
} catch {
    print(output.text, terminator: "")
    printError("BerthProbe: \(error)")
    exit(1)
}
print(output.text, terminator: "")

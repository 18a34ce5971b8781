import ArgumentParser
import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `berth demo`: the seed story, replayed in a throw-away namespace that plays the host, with the
/// evidence (`ip`, `iptables -S` / `nft list ruleset`, `ping`) printed at each step. Never touches
/// the machine's own network namespace, and removes everything it made.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Replay Docker's bridge-networking walkthrough in a throw-away namespace.")
    @Option(help: "Firewall backend: iptables or nftables.") var backend: FirewallBackendKind = .iptables

    func run() throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let hostName = "berth-demo-\(suffix)"
        let stateDirectory = "/tmp/berth-demo-\(suffix)"
        let started = ContinuousClock.now
        try Failure.guarded {
            _ = try wrap { try NetworkNamespace.create(name: hostName) }
            defer {
                try? NetworkNamespace.delete(name: hostName)
                try? FileManager.default.removeItem(atPath: stateDirectory)
            }
            var sandboxes: [String] = []
            defer { for s in sandboxes { try? NetworkNamespace.delete(name: s) } }
            let demo = Demo(host: hostName, backend: backend)
            demo.title("Berth demo (\(backend.rawValue) backend). A throw-away namespace '\(hostName)' plays the host.")

            demo.step("1. Host set-up: the default network 'bridge' on docker0, DOWN until the first attach")
            let c = try NetworkController(ControllerConfiguration(stateDirectory: stateDirectory, backend: backend,
                                                                  hostNamespacePath: "/run/netns/\(hostName)"))
            defer { c.releaseHostClaim() }  // the throw-away host and its state go: so does its registry entry
            try c.setUpHost()  // what the first change would do; here explicitly, so step 1 can show it
            demo.show(["ip", "-n", hostName, "addr", "show", "docker0"])
            demo.rules(filter: nil)

            demo.step("2. A sandbox on the default network (docker run)")
            let c0 = "berth-demo-c0-\(suffix)"
            sandboxes.append(c0)
            let e0 = try c.attach(network: "bridge", sandbox: .create(name: c0))
            demo.say("endpoint \(e0.id.prefix(12)): \(e0.interfaceName) \(e0.cidr) mac \(e0.mac) in netns \(c0), host end \(e0.hostInterface)")
            demo.show(["ip", "-n", hostName, "link", "show", "docker0"])
            demo.show(["ip", "-n", hostName, "link", "show", "master", "docker0"])

            demo.step("3. docker network create test1")
            let test1 = try c.createNetwork(NetworkOptions(name: "test1"))
            demo.say("network \(test1.name) id \(test1.id)")
            demo.show(["ip", "-n", hostName, "addr", "show", test1.bridge])
            demo.show(["ip", "-n", hostName, "route"])
            demo.rules(filter: test1.bridge)

            demo.step("4. Two sandboxes on test1")
            let c1 = "berth-demo-c1-\(suffix)", c2 = "berth-demo-c2-\(suffix)"
            sandboxes += [c1, c2]
            let e1 = try c.attach(network: "test1", sandbox: .create(name: c1))
            let e2 = try c.attach(network: "test1", sandbox: .create(name: c2))
            demo.show(["ip", "-n", c1, "addr", "show", "eth0"])
            demo.show(["ip", "-n", c1, "route"])

            demo.step("5. Reachability: within a network yes, across networks no")
            demo.ping(from: c1, to: e2.address.description, expect: true)
            demo.ping(from: c1, to: "172.18.0.1", expect: true)
            demo.ping(from: c1, to: e0.address.description, expect: false)
            demo.ping(from: c0, to: e1.address.description, expect: false)

            demo.step("6. Detach the test1 sandboxes, docker network rm test1: its bridge and rules are gone")
            try c.detach(endpoint: e1.id)
            try c.detach(endpoint: e2.id)
            try c.deleteNetwork("test1")
            demo.show(["ip", "-n", hostName, "link", "show"])
            demo.rules(filter: test1.bridge)

            demo.step("7. Clean up")
            try c.detach(endpoint: e0.id)
            demo.say("detached \(e0.id.prefix(12)); removing netns \(hostName) and \(stateDirectory)")
            demo.finish(elapsed: ContinuousClock.now - started)
            if demo.failures > 0 { throw BerthError(.system, operation: .demo, object: hostName, detail: "\(demo.failures) check(s) failed") }
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as NamespaceError {
            throw BerthError.init(e.code == .missingCapability || e.code == .permissionDenied ? .permissionDenied : .system,
                                  operation: .demo, object: "netns", cause: .namespace(e))
        }
    }
}

/// Printing helpers for the demo.
final class Demo {
    let host: String
    let backend: FirewallBackendKind
    private(set) var failures = 0

    init(host: String, backend: FirewallBackendKind) {
        self.host = host
        self.backend = backend
    }

    func title(_ text: String) { print(text) }
    func step(_ text: String) { print("\n==> \(text)") }
    func say(_ text: String) { print("    \(text)") }

    /// Prints a command and its output; with `grep`, only the lines containing it ("(no rules)"
    /// when none do).
    func show(_ argv: [String], grep: String? = nil) {
        print("$ \(argv.joined(separator: " "))" + (grep.map { " | grep \($0)" } ?? ""))
        let lines = Self.capture(argv).1.split(separator: "\n").filter { line in grep.map { line.contains($0) } ?? true }
        if grep != nil && lines.isEmpty { print("    (no rules)") }
        for line in lines { print("    \(line)") }
    }

    /// The firewall evidence: all of Berth's chains, or only the lines naming `bridge`.
    func rules(filter bridge: String?) {
        let listings: [[String]] = switch backend {
        case .iptables: ["filter", "nat"].map { ["iptables", "-t", $0, "-S"] }
        case .nftables: [["nft", "list", "ruleset"]]
        }
        for listing in listings { show(["ip", "netns", "exec", host] + listing, grep: bridge) }
    }

    func ping(from sandbox: String, to address: String, expect: Bool) {
        // Up to three tries where an answer is expected (a first packet may wait on ARP); one where it is not.
        let count = expect ? ["-c", "3", "-i", "0.2"] : ["-c", "1"]
        let (status, _) = Self.capture(["ip", "netns", "exec", sandbox, "ping"] + count + ["-W", "1", "-q", address])
        let ok = (status == 0) == expect
        if !ok { failures += 1 }
        print("    ping \(sandbox) → \(address): \(status == 0 ? "reachable" : "unreachable") (\(ok ? "as expected" : "UNEXPECTED"))")
    }

    func finish(elapsed: Duration) {
        let tenths = elapsed.components.seconds * 10 + elapsed.components.attoseconds / 100_000_000_000_000_000
        print("\nDone in \(tenths / 10).\(tenths % 10) s; \(failures == 0 ? "every check held" : "\(failures) check(s) failed"). Nothing is left behind.")
    }

    /// Runs a tool (argv, no shell; looked up in the usual system directories) and returns its
    /// status and combined output.
    static func capture(_ argv: [String]) -> (Int32, String) {
        guard let tool = argv.first,
              let path = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map({ (dir: String) -> String in "\(dir)/\(tool)" })
                  .first(where: { (candidate: String) -> Bool in access(candidate, X_OK) == 0 }) else {
            return (127, "\(argv.first ?? ""): not found")
        }
        do {
            let out = try ProcessRunner.run([path] + argv.dropFirst(), stdin: nil, in: nil)
            return (out.status, out.stdout + out.stderr)
        } catch {
            return (127, "\(error)")
        }
    }
}

@testable import BerthCLI
import Berth
import BerthFixtures
import BerthTestSupport
import Foundation
import Testing

@Suite("CLI parsing (no privileges)")
struct CLIParsingTests {
    /// `-p` as Docker 20.10 takes it (messages as dockerd 20.10 gave them, oracle run of 2026-12-02).
    @Test func publishSpecs() throws {
        let p = try PortSpec(parsing: "8080:80")
        #expect(p.hostPorts == 8080...8080 && p.containerPorts == 80...80 && p.proto == .tcp && p.hostIP == nil)
        let u = try PortSpec(parsing: "127.0.0.1:5353:53/udp")
        #expect(u.proto == .udp && u.hostIP?.description == "127.0.0.1" && u.hostPorts == 5353...5353)
        let r = try PortSpec(parsing: "127.0.0.1:9000-9100:9000-9100/udp")
        #expect(r.hostPorts == 9000...9100 && r.containerPorts == 9000...9100 && r.proto == .udp)
        #expect(try PortSpec(parsing: "8000-8009:80").hostPorts == 8000...8009)
        #expect(try PortSpec(parsing: "9000:90/sctp").proto == .sctp)
        for ephemeral in ["80", ":80", "0:80", "127.0.0.1::80", "80-82"] {
            #expect(try PortSpec(parsing: ephemeral).hostPorts == nil, "\(ephemeral)")
        }
        for (bad, why) in [("8009-8000:80", "invalid hostPort: 8009-8000"), ("80:90-89", "invalid containerPort: 90-89"),
                           ("8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"),
                           ("8000:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000"),
                           ("65536:80", "invalid hostPort: 65536"), ("80:65536", "invalid containerPort: 65536"),
                           ("80:0", "invalid containerPort: 0"), ("8000:80/foo", "invalid proto: foo"),
                           ("8081:80/tcp/udp", "invalid proto: tcp/udp"), ("127.0.0.1:80", "invalid hostPort: 127.0.0.1"),
                           ("8000:", "no port specified"), ("8000-:80", "invalid hostPort: 8000-"), ("-8000:80", "invalid hostPort: -8000"),
                           (" 8081:80", "whitespace"), ("8081:8\n0", "control character"), ("a:80", "invalid hostPort: a"),
                           ("8081:+80", "invalid containerPort: +80"), ("x:1:2", "invalid IP address: x"), ("1:2:3:4", "expected")] {
            #expect { try PortSpec(parsing: bad) } throws: { ($0 as? BerthError)?.description.contains(why) == true && ($0 as? BerthError)?.code == .invalidArgument }
        }
    }

    @Test func sandboxArguments() {
        #expect(sandboxSpec("1234", create: false) == .pid(1234))
        #expect(sandboxSpec("/proc/1/ns/net", create: false) == .path("/proc/1/ns/net"))
        #expect(sandboxSpec("c1", create: false) == .name("c1"))
        #expect(sandboxSpec("c1", create: true) == .create(name: "c1"))
    }

    @Test func exitCodeClassesAreDistinct() {
        #expect(Failure.exitCode(for: .networkNotFound) == 3)
        #expect(Failure.exitCode(for: .duplicateName) == 4)
        #expect(Failure.exitCode(for: .permissionDenied) == 5)
        #expect(Failure.exitCode(for: .invalidName) == 64)
        #expect(Failure.exitCode(for: .system) == 1)
    }

    /// New-user trial: a network name holding a newline printed a two-line error.
    @Test func errorLinesEscapeControlCharacters() {
        #expect(FileHandleOutput.oneLine("berth: network a\nb not found") == "berth: network a\\nb not found")
        #expect(FileHandleOutput.oneLine("x\ty\u{1b}[31mz\u{7f}é") == "x\\ty\\u{1b}[31mz\\u{7f}é")
    }

    @Test func tableLooksLikeDockerNetworkLs() {
        let text = Table.render(header: ["NETWORK ID", "NAME", "DRIVER", "SCOPE"], rows: [["7d3074563b32", "bridge", "bridge", "local"]])
        #expect(text == "NETWORK ID     NAME     DRIVER   SCOPE\n7d3074563b32   bridge   bridge   local\n")
    }
}

@Suite("CLI end to end", .enabled(if: Sandbox.isActive))
struct CLIEndToEndTests {
    @Test func commandsExitCodesAndOutputs() throws {
        let scratch = try ScratchNamespace(prefix: "bt-cli-")
        defer { scratch.close() }
        let host = scratch.name
        let state = NSTemporaryDirectory() + Sandbox.unique("berth-cli-")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let global = ["--state-dir", state, "--host-netns", "/run/netns/\(host)"]
        func berth(_ args: String...) throws -> Sandbox.Output {
            let sub = args.prefix { !$0.hasPrefix("-") || $0 == "-p" }
            return try Sandbox.run([BerthBinary.path] + Array(sub) + global + args.dropFirst(sub.count))
        }
        // Read-only commands and help change nothing; usage errors are one line, exit 64.
        #expect(try berth("network", "ls").status == 0)
        #expect(try Sandbox.linkNames(netns: host) == ["lo"])
        let help = try Sandbox.run([BerthBinary.path, "run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("OVERVIEW"))
        let usage = try Sandbox.run([BerthBinary.path, "network", "create"])
        #expect(usage.status == 64 && usage.stderr.split(separator: "\n").count == 1 && usage.stderr.hasPrefix("berth: "))
        // Bad input is refused before the host is set up.
        #expect(try berth("network", "create", "--subnet", "10.9.0.0/31", "x").status == 64)
        #expect(try berth("attach", "bridge", "nosuch", "--ip", "10.0.0.300").status == 64)
        #expect(try Sandbox.linkNames(netns: host) == ["lo"])
        let created = try berth("network", "create", "test1")
        #expect(created.status == 0, "\(created.stderr)")
        let ls = try berth("network", "ls")
        #expect(ls.stdout.hasPrefix("NETWORK ID     NAME     DRIVER   SCOPE\n"))
        #expect(ls.stdout.contains("   test1    bridge   local"))
        let inspect = try berth("network", "inspect", "test1")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])
        let keys = Set(json.first?.keys.map { $0 } ?? [])
        let goldenJSON = try #require(DockerGolden.bNetcreateInspect, "golden docker-b-netcreate.network-inspect.json")
        let golden = try JSONSerialization.jsonObject(with: goldenJSON) as? [[String: Any]]
        #expect(keys == Set(golden?.first?.keys.map { $0 } ?? []))
        #expect(json.first?["Name"] as? String == "test1")
        let sandbox = Sandbox.unique("bt-cs-")
        let attach = try berth("attach", "test1", sandbox, "--create")
        #expect(attach.status == 0 && attach.stdout.contains("172.18.0.2/16"), "\(attach.stderr)")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: sandbox) == ["172.18.0.2/16"])
        // Error classes.
        #expect(try berth("network", "create", "test1").status == 4)
        #expect(try berth("network", "rm", "nope").status == 3)
        #expect(try berth("network", "rm", "").status == 64)  // as `detach ''` (trial)
        #expect(try berth("network", "create", "-bad").status == 64)
        #expect(try berth("network", "rm", "test1").status == 4)
        let dup = try berth("network", "create", "test1")
        #expect(dup.stderr == "berth: create network test1: a network named test1 exists already\n")
        // run: CMD in a fresh sandbox on test1 reaches the first sandbox; its exit code comes back.
        #expect(try berth("run", "--network", "test1", "--", "ping", "-c", "3", "-i", "0.2", "-W", "1", "172.18.0.2").status == 0)
        #expect(try berth("run", "--network", "test1", "--", "sh", "-c", "exit 7").status == 7)
        #expect(try berth("run", "--network", "test1", "--", "no-such-command").status == 127)
        // A state directory belongs to one backend.
        let other = try berth("network", "ls", "--backend", "nftables")
        #expect(other.status == 4 && other.stderr.contains("uses the iptables backend"))
        // Sandbox names `ip netns` cannot list or take are refused, and nothing is created.
        for bad in ["x\n", "q\tq", "q q", "-q"] {
            let r = try berth("attach", "--create", "test1", "--", bad)
            #expect(r.status == 64 && r.stderr.contains("sandbox name"), "\(bad): \(r.stderr)")
        }
        #expect(!Sandbox.namedNamespaces().contains { $0.hasPrefix("x") || $0.hasPrefix("q") || $0.hasPrefix("-") })
        // A name with a newline: still a one-line error.
        let odd = try berth("network", "rm", "a\nb")
        #expect(odd.status == 3 && odd.stderr.split(separator: "\n").count == 1, "\(odd.stderr)")
        // --json is honoured by detach and rm too (new-user trial).
        let detached = try berth("detach", "--json", "test1", sandbox)
        #expect(detached.status == 0 && detached.stdout == "{\"released\":true}\n", "\(detached.stdout)")
        #expect(!Sandbox.namedNamespaces().contains(sandbox))
        #expect(try berth("detach", "--json", "test1", sandbox).stdout == "{\"released\":false}\n")
        let removed = try berth("network", "rm", "--json", "test1")
        #expect(removed.status == 0)
        #expect((try? JSONSerialization.jsonObject(with: Data(removed.stdout.utf8)) as? [String]) == ["test1"], "\(removed.stdout)")
        // The bridge and veths are unplugged, pending until the next open or gc (issue 11).
        #expect(try Sandbox.linkNames(netns: host).filter { !["docker0", "lo"].contains($0) }.allSatisfy { $0.hasPrefix("berthrm") || $0.hasPrefix("veth") })
        #expect(try berth("gc").status == 0)
        #expect(try Sandbox.linkNames(netns: host).sorted() == ["docker0", "lo"])
    }

    /// Issue 13: the userland proxies of `attach -p` outlive the one-shot CLI (own session, no
    /// parent-death signal), serve host → 127.0.0.1, and go with `detach`; a proxy whose `berth`
    /// was killed before it wrote the record is stopped by the next command's reconciliation.
    @Test func userlandProxiesOutliveTheCLI() throws {
        let scratch = try ScratchNamespace(prefix: "bt-cli-")
        defer { scratch.close() }
        let host = scratch.name
        let state = NSTemporaryDirectory() + Sandbox.unique("berth-cli-")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let global = ["--state-dir", state, "--host-netns", "/run/netns/\(host)"]
        func berth(_ args: [String]) throws -> Sandbox.Output { try Sandbox.run([BerthBinary.path] + args + global) }
        func proxies() throws -> [String] {
            try Sandbox.exec(host, ["pgrep", "-f", "berth-proxy .*-berth-state \(state) "]).stdout.split(separator: "\n").map(String.init)
        }
        #expect(try berth(["network", "create", "px"]).status == 0)
        let sandbox = Sandbox.unique("bt-px-")
        let attached = try berth(["attach", "--create", "-p", "8080:80", "-p", "127.0.0.1:8081:80", "px", sandbox])
        #expect(attached.status == 0, "\(attached.stderr)")
        defer { _ = try? berth(["detach", "px", sandbox]) }
        #expect(try proxies().count == 3, "one proxy per binding and family (0.0.0.0:8080, [::]:8080, 127.0.0.1:8081), alive after berth exited")
        let server = try TCPServer(in: sandbox, port: 80, reply: .text("berth"))
        defer { server.stop() }
        #expect(try Traffic.tcpFetch(from: host, "127.0.0.1", 8080) == "berth")
        #expect(try Traffic.tcpFetch(from: host, "127.0.0.1", 8081) == "berth")
        // --userland-proxy=false on the same state directory: reprogrammed at the next change.
        let off = try Sandbox.run([BerthBinary.path, "network", "create", "px2", "--userland-proxy=false"] + global)
        #expect(off.status == 0, "\(off.stderr)")
        #expect(try proxies().isEmpty)
        #expect(try Traffic.tcpFetch(from: host, "127.0.0.1", 8080) == "berth", "served by the proxy-less rules")
        #expect(try berth(["network", "rm", "px2"]).status == 0)
        #expect(try proxies().count == 3, "the default mode again: proxies restarted")
        // A port another program holds: exit 4 (conflict), nothing recorded.
        let taken = try berth(["attach", "--create", "-p", "8080:80", "px", Sandbox.unique("bt-px-")])
        #expect(taken.status == 4 && taken.stderr.contains("8080"), "\(taken.stderr)")
        #expect(try berth(["detach", "px", sandbox]).status == 0)
        #expect(try proxies().isEmpty, "proxies gone after detach")
        // kill -9 of berth while it attaches: whatever it started is gone after the next command.
        for delay in ["0.05", "0.1", "0.2"] {
            let name = Sandbox.unique("bt-px-")
            _ = try Sandbox.run(["sh", "-c", "\"$0\" \"$@\" & p=$!; sleep \(delay); kill -9 $p; wait $p; exit 0",
                                 BerthBinary.path, "attach", "--create", "-p", "9000:80", "px", name] + global)
            #expect(try berth(["gc"]).status == 0)
            let left = try proxies()
            let listed = try berth(["network", "inspect", "px"]).stdout
            #expect(left.isEmpty || listed.contains(name), "delay \(delay): \(left) without a record")
            _ = try berth(["detach", "px", name])
            #expect(try proxies().isEmpty)
        }
        #expect(try berth(["network", "rm", "px"]).status == 0)
    }
}

import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One regression test per defect of issue 10 (docs/notes.md, "Ownership"), through the CLI in a
/// lab, checked with the independent observers.
@Suite("Ownership regressions", .enabled(if: Sandbox.isActive))
struct OwnershipRegressionTests {
    func ok(_ lab: CrashLab, _ args: [String], _ env: [String: String] = [:]) throws -> LabOutput {
        let r = try lab.berth(args, environment: env)
        #expect(r.status == 0, "berth \(args.joined(separator: " ")): \(r.stderr)")
        return r
    }

    /// - Parameter pendingAllowed: right after a detach or rm, whose unplugged links wait for the
    ///   next reconciliation (issue 11).
    func consistent(_ lab: CrashLab, _ what: String, pendingAllowed: Bool = false) throws {
        let problems = try Consistency.check(lab, pendingAllowed: pendingAllowed)
        #expect(problems.isEmpty, "\(what):\n\(problems.joined(separator: "\n"))")
    }

    func dropIntents(_ lab: CrashLab) throws {
        let dir = lab.stateDirectory + "/intents"
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) { try FileManager.default.removeItem(atPath: "\(dir)/\(f)") }
    }

    /// The checker itself sees a stray rule, bridge and namespace.
    @Test func checkerSeesLeaks() throws {
        let lab = try CrashLab(backend: "iptables")
        _ = try ok(lab, ["network", "create", "n1"])
        try consistent(lab, "fresh")
        try lab.hostExec(["iptables", "-t", "nat", "-A", "DOCKER", "-p", "tcp", "--dport", "1", "-j", "DNAT", "--to-destination", "172.18.0.9:1"])
        try lab.hostExec(["ip", "link", "add", "br-aaaaaaaaaaaa", "type", "bridge"])
        try lab.run(["ip", "netns", "add", "stray"])
        let problems = try Consistency.check(lab).joined(separator: "\n")
        #expect(problems.contains("firewall differs") && problems.contains("br-aaaaaaaaaaaa") && problems.contains("stray"))
        _ = try ok(lab, ["gc"])
        let left = try Consistency.check(lab).joined(separator: "\n")
        #expect(!left.contains("firewall") && !left.contains("br-aaaaaaaaaaaa"), "\(left)")
    }

    /// A killed create's bridge and rules (no record, no intent) go, and the pool gets its subnet
    /// back (given again when the start index wraps; Docker's IPAM had moved past it too).
    @Test(arguments: ["iptables", "nftables"]) func killedCreateLeaksNothing(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        _ = try ok(lab, ["network", "create", "n1"])
        #expect(try lab.berth(["network", "create", "n2"], environment: ["BERTH_CRASH_AFTER": "create network:5"]).status == 86)
        try dropIntents(lab)  // as a crash before the journal existed: only the kernel-side marks are left
        let removed = try ok(lab, ["gc"]).stdout
        #expect(removed.contains("removed bridge br-"), "\(removed)")
        try consistent(lab, "after gc")
        _ = try ok(lab, ["network", "create", "n3"])
        let n3 = try #require(try Consistency.records(lab.stateDirectory).networks.first { $0.name == "n3" })
        #expect(n3.subnet.description == "172.20.0.0/16")
        #expect(try Consistency.records(lab.stateDirectory).networks.allSatisfy { $0.subnet.description != "172.19.0.0/16" })
    }

    /// A killed `attach -p` leaves no DNAT: the port is free again and published once.
    @Test(arguments: ["iptables", "nftables"]) func killedPublishLeavesNoDNAT(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        _ = try ok(lab, ["network", "create", "n1"])
        try lab.addUserSandbox("s1")
        try lab.addUserSandbox("s2")
        #expect(try lab.berth(["attach", "-p", "8080:80", "n1", "s1"], environment: ["BERTH_CRASH_AFTER": "attach:6"]).status == 86)  // right after the port rules (a plain attach writes no intent: proxies, veth, address, up, route, ports)
        try dropIntents(lab)
        let gc = try ok(lab, ["gc"]).stdout
        #expect(gc.contains("removed rule"), "\(gc)")
        #expect(gc.contains("removed proxy pid "), "its userland proxy, which no record names: \(gc)")
        try consistent(lab, "after gc")
        _ = try ok(lab, ["attach", "-p", "8080:80", "n1", "s2"])
        let listing = backend == "iptables" ? try lab.hostExec(["iptables-save", "-t", "nat"]).stdout
            : try lab.hostExec(["nft", "list", "ruleset"]).stdout
        #expect(listing.components(separatedBy: "dnat to").count + listing.components(separatedBy: "-j DNAT").count - 2 == 1, "\(listing)")
        try consistent(lab, "after the new attach")
    }

    /// A killed `berth run`: CMD dies with it (parent-death signal) and the next open reclaims the sandbox.
    @Test(arguments: ["iptables", "nftables"]) func killedRunIsReclaimed(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        _ = try ok(lab, ["network", "create", "n1"])
        let marker = "\(Int.random(in: 100_000...999_999))"
        let started = try CrashProcess.start(lab.berthArgv(["run", "--network", "n1", "--", "sleep", marker]))
        var attached = false
        for _ in 0..<100 where !attached {
            usleep(50_000)
            attached = try Consistency.records(lab.stateDirectory).endpoints.contains { $0.owner != nil }
                && Sandbox.run(["pgrep", "-f", "sleep \(marker)$"]).status == 0
        }
        #expect(attached)
        kill(started.0.processIdentifier, SIGKILL)
        _ = CrashProcess.finish(started)
        usleep(300_000)
        #expect(try Sandbox.run(["pgrep", "-f", "sleep \(marker)$"]).status != 0, "CMD survived its berth run")
        _ = try ok(lab, ["network", "rm", "n1"])  // no "active endpoints": the run sandbox was reclaimed
        try consistent(lab, "after rm", pendingAllowed: true)
    }

    /// After an external flush, reconcile restores the same rules in the same order.
    @Test(arguments: ["iptables", "nftables"]) func flushRestoresOrder(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        _ = try ok(lab, ["network", "create", "n1"])
        _ = try ok(lab, ["network", "create", "n2"])
        for i in 0..<5 { _ = try ok(lab, ["attach", "--create", "-p", "\(8080 + i):80", i % 2 == 0 ? "n1" : "n2", "c\(i)"]) }
        let before = try Consistency.firewallListing(lab)
        if backend == "iptables" {
            try lab.hostExec(["iptables", "-F"])
            try lab.hostExec(["iptables", "-t", "nat", "-F"])
        } else {
            try lab.hostExec(["nft", "flush", "ruleset"])
        }
        _ = try ok(lab, ["gc"])
        #expect(try Consistency.firewallListing(lab) == before)
        try consistent(lab, "after the flush")
    }

    /// A `--create`d sandbox on two networks lives until its last endpoint is detached.
    @Test func createdSandboxLivesUntilLastEndpoint() throws {
        let lab = try CrashLab(backend: "iptables")
        _ = try ok(lab, ["network", "create", "n1"])
        _ = try ok(lab, ["network", "create", "n2"])
        _ = try ok(lab, ["attach", "--create", "n1", "c1"])
        _ = try ok(lab, ["attach", "n2", "c1"])
        _ = try ok(lab, ["detach", "n1", "c1"])
        #expect(try lab.run(["ip", "netns", "list"]).stdout.contains("c1"))
        #expect(try Consistency.addresses(lab, "eth1", netns: "c1") == ["172.19.0.2/16"])
        try consistent(lab, "after the first detach", pendingAllowed: true)
        _ = try ok(lab, ["detach", "n2", "c1"])
        #expect(!(try lab.run(["ip", "netns", "list"]).stdout.contains("c1")))
        try consistent(lab, "after the last detach", pendingAllowed: true)
    }

    /// MACs are unique per network: an explicit duplicate is refused; a taken derived MAC is skipped.
    @Test func macsAreUniquePerNetwork() throws {
        let lab = try CrashLab(backend: "iptables")
        _ = try ok(lab, ["network", "create", "n1"])
        for s in ["s1", "s2", "s3"] { try lab.addUserSandbox(s) }
        _ = try ok(lab, ["attach", "n1", "s1"])  // 172.18.0.2, 02:42:ac:12:00:02
        let dup = try lab.berth(["attach", "--mac", "02:42:ac:12:00:02", "n1", "s2"])
        #expect(dup.status == 4 && dup.stderr.contains("MAC address 02:42:ac:12:00:02 is already in use"), "\(dup.stderr)")
        try consistent(lab, "after the refusal")
        _ = try ok(lab, ["attach", "--mac", "02:42:ac:12:00:03", "n1", "s2"])  // the MAC 172.18.0.3 would derive
        let third = try ok(lab, ["attach", "n1", "s3"]).stdout
        #expect(third.contains("172.18.0.4/16") && third.contains("02:42:ac:12:00:04"), "\(third)")
        try consistent(lab, "three endpoints")
    }

    /// A host set-up that cannot write net.ipv4.ip_forward (read-only /proc/sys) changes nothing.
    @Test(arguments: ["iptables", "nftables"]) func readOnlyProcSysChangesNothing(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        let argv = lab.berthArgv(["network", "create", "n1"])
        let inner = argv.dropFirst(3).map { "'\($0)'" }.joined(separator: " ")
        let r = try lab.run(["unshare", "--mount", "--", "sh", "-c", "mount -o bind,ro /proc/sys /proc/sys && exec \(inner)"])
        #expect(r.status != 0 && r.stderr.contains("net.ipv4.ip_forward cannot be written"), "\(r.stderr)")
        let rules = backend == "iptables" ? try lab.hostExec(["iptables", "-S"]).stdout : try lab.hostExec(["nft", "list", "ruleset"]).stdout
        #expect(!rules.contains("DOCKER") && !rules.contains("berth") && !rules.contains("-P FORWARD DROP"), "\(rules)")
        #expect(try lab.ipJSON(["link", "show"], netns: lab.hostName).compactMap { $0["ifname"] as? String } == ["lo"])
    }

    /// A bridge at the kernel's port limit is named in the error.
    @Test func fullBridgeIsNamed() throws {
        let lab = try CrashLab(backend: "iptables")
        _ = try ok(lab, ["network", "create", "n1"])
        let bridge = try #require(try Consistency.records(lab.stateDirectory).networks.first { $0.name == "n1" }?.bridge)
        let batch = (0..<1023).map { "link add p\($0) master \(bridge) type veth peer name q\($0)" }.joined(separator: "\n") + "\n"
        let file = lab.directory + "/batch"
        try batch.write(toFile: file, atomically: true, encoding: .utf8)
        try lab.run(["ip", "-n", lab.hostName, "-force", "-batch", file])
        try lab.addUserSandbox("s1")
        let r = try lab.berth(["attach", "n1", "s1"])
        #expect(r.status != 0 && r.stderr.contains("bridge \(bridge) has reached the kernel's port limit"), "\(r.stderr)")
        #expect(try Consistency.records(lab.stateDirectory).endpoints.isEmpty)
        #expect(try Consistency.records(lab.stateDirectory).intents.isEmpty)
    }
}

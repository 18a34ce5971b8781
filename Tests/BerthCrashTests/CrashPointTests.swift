import BerthTestSupport
import Foundation
import Testing

/// One operation to crash: how to prepare its lab, the command (its crash-point label), and how
/// to repeat it after the reopen (whatever the crash left, the repeat must succeed).
struct CrashScenario: Sendable, CustomStringConvertible {
    var name: String
    var label: String
    var prepare: @Sendable (CrashLab) throws -> Void
    var command: [String]
    var repeatOperation: @Sendable (CrashLab) throws -> Bool

    var description: String { name }

    static func ok(_ lab: CrashLab, _ args: [String]) throws -> Bool {
        let r = try lab.berth(args)
        if r.status != 0 { Issue.record("berth \(args.joined(separator: " ")): \(r.status) \(r.stderr)") }
        return r.status == 0
    }

    static func recorded(_ lab: CrashLab, network: String) throws -> Bool {
        try Consistency.records(lab.stateDirectory).networks.contains { $0.name == network }
    }

    static func attached(_ lab: CrashLab, sandbox: String) throws -> Bool {
        try Consistency.records(lab.stateDirectory).endpoints.contains { $0.sandboxName == sandbox }
    }

    /// The ID of the TAP endpoint named `tap`, if recorded.
    static func tapEndpoint(_ lab: CrashLab, _ tap: String) throws -> String? {
        try Consistency.records(lab.stateDirectory).endpoints.first { $0.tap?.name == tap }?.id
    }

    static let all: [CrashScenario] = [
        CrashScenario(name: "host set-up", label: "set up host", prepare: { _ in }, command: ["network", "create", "n1"],
                      repeatOperation: { lab in try recorded(lab, network: "n1") || ok(lab, ["network", "create", "n1"]) }),
        CrashScenario(name: "create", label: "create network", prepare: { lab in _ = try ok(lab, ["gc"]) },
                      command: ["network", "create", "n1"],
                      repeatOperation: { lab in
                          if try recorded(lab, network: "n1") { guard try ok(lab, ["network", "rm", "n1"]) else { return false } }
                          return try ok(lab, ["network", "create", "n1"])
                      }),
        CrashScenario(name: "attach", label: "attach",
                      prepare: { lab in _ = try ok(lab, ["network", "create", "n1"]); try lab.addUserSandbox("s1") },
                      command: ["attach", "n1", "s1"],
                      repeatOperation: { lab in
                          if try attached(lab, sandbox: "s1") { guard try ok(lab, ["detach", "n1", "s1"]) else { return false } }
                          return try ok(lab, ["attach", "n1", "s1"])
                      }),
        CrashScenario(name: "attach -p", label: "attach",
                      prepare: { lab in _ = try ok(lab, ["network", "create", "n1"]); try lab.addUserSandbox("s1") },
                      command: ["attach", "-p", "8080:80", "n1", "s1"],
                      repeatOperation: { lab in
                          if try attached(lab, sandbox: "s1") { guard try ok(lab, ["detach", "n1", "s1"]) else { return false } }
                          return try ok(lab, ["attach", "-p", "8080:80", "n1", "s1"])
                      }),
        CrashScenario(name: "attach --create -p", label: "attach",
                      prepare: { lab in _ = try ok(lab, ["network", "create", "n1"]) },
                      command: ["attach", "--create", "-p", "8080:80", "n1", "c1"],
                      repeatOperation: { lab in
                          if try attached(lab, sandbox: "c1") { guard try ok(lab, ["detach", "n1", "c1"]) else { return false } }
                          return try ok(lab, ["attach", "--create", "-p", "8080:80", "n1", "c1"])
                      }),
        CrashScenario(name: "detach", label: "detach",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "n1"])
                          _ = try ok(lab, ["attach", "--create", "-p", "8080:80", "n1", "c1"])
                      },
                      command: ["detach", "n1", "c1"],
                      repeatOperation: { lab in try ok(lab, ["detach", "n1", "c1"]) }),
        CrashScenario(name: "attach --tap", label: "attach tap",
                      prepare: { lab in _ = try ok(lab, ["network", "create", "n1"]) },
                      command: ["attach", "--tap", "vm0", "--owner", "1000", "n1"],
                      repeatOperation: { lab in
                          if let tap = try tapEndpoint(lab, "vm0") { guard try ok(lab, ["detach", tap]) else { return false } }
                          return try ok(lab, ["attach", "--tap", "vm0", "--owner", "1000", "n1"])
                      }),
        CrashScenario(name: "attach --tap SANDBOX (tc-redirect)", label: "attach tap",
                      prepare: { lab in _ = try ok(lab, ["network", "create", "n1"]); try lab.addUserSandbox("s1") },
                      command: ["attach", "--tap", "tap0", "n1", "s1"],
                      repeatOperation: { lab in
                          // No TAP in the sandbox that no record names (the record names it before it exists).
                          let recorded = Set(try Consistency.records(lab.stateDirectory).endpoints.compactMap { $0.tap?.name })
                          let taps = try lab.ipJSON(["-d", "link", "show"], netns: "s1").filter {
                              ($0["linkinfo"] as? [String: Any])?["info_kind"] as? String == "tun"
                          }.compactMap { $0["ifname"] as? String }
                          if !Set(taps).isSubset(of: recorded) { Issue.record("orphan TAPs in s1: \(taps), recorded \(recorded)") }
                          if let tap = try tapEndpoint(lab, "tap0") { guard try ok(lab, ["detach", tap]) else { return false } }
                          guard try ok(lab, ["attach", "--tap", "tap0", "n1", "s1"]) else { return false }
                          let qdiscs = try lab.run(["tc", "-n", "s1", "-j", "qdisc", "show", "dev", "eth0"]).stdout
                          return qdiscs.contains("\"ingress\"")
                      }),
        CrashScenario(name: "detach tap", label: "detach",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "n1"])
                          _ = try ok(lab, ["attach", "--tap", "vm0", "-p", "8080:80", "n1"])
                      },
                      command: ["detach", "n1", "vm0"],
                      repeatOperation: { lab in
                          if let tap = try tapEndpoint(lab, "vm0") { return try ok(lab, ["detach", tap]) }
                          return true
                      }),
        CrashScenario(name: "rm", label: "delete network",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "n1"])
                          _ = try ok(lab, ["attach", "--create", "-p", "8080:80", "n1", "c1"])
                      },
                      command: ["network", "rm", "-f", "n1"],
                      repeatOperation: { lab in
                          if try !recorded(lab, network: "n1") { guard try ok(lab, ["network", "create", "n1"]) else { return false } }
                          return try ok(lab, ["network", "rm", "-f", "n1"])
                      }),
        CrashScenario(name: "create --ipv6", label: "create network", prepare: { lab in _ = try ok(lab, ["gc"]) },
                      command: ["network", "create", "--ipv6", "--subnet", "fd00:1::/64", "n6"],
                      repeatOperation: { lab in
                          if try recorded(lab, network: "n6") { guard try ok(lab, ["network", "rm", "n6"]) else { return false } }
                          return try ok(lab, ["network", "create", "--ipv6", "--subnet", "fd00:1::/64", "n6"])
                      }),
        CrashScenario(name: "attach -p (IPv6)", label: "attach",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "--ipv6", "--subnet", "fd00:1::/64", "n6"])
                          try lab.addUserSandbox("s1")
                      },
                      command: ["attach", "-p", "8080:80", "n6", "s1"],
                      repeatOperation: { lab in
                          if try attached(lab, sandbox: "s1") { guard try ok(lab, ["detach", "n6", "s1"]) else { return false } }
                          return try ok(lab, ["attach", "-p", "8080:80", "n6", "s1"])
                      }),
        CrashScenario(name: "rm (IPv6)", label: "delete network",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "--ipv6", "--subnet", "fd00:1::/64", "n6"])
                          _ = try ok(lab, ["attach", "--create", "-p", "8080:80", "n6", "c1"])
                      },
                      command: ["network", "rm", "-f", "n6"],
                      repeatOperation: { lab in
                          if try !recorded(lab, network: "n6") {
                              guard try ok(lab, ["network", "create", "--ipv6", "--subnet", "fd00:1::/64", "n6"]) else { return false }
                          }
                          return try ok(lab, ["network", "rm", "-f", "n6"])
                      }),
        CrashScenario(name: "gc", label: "gc",
                      prepare: { lab in
                          _ = try ok(lab, ["network", "create", "n1"])
                          _ = try lab.berth(["attach", "--create", "-p", "8080:80", "n1", "c1"], environment: ["BERTH_CRASH_AFTER": "attach:6"])
                          _ = try lab.berth(["network", "create", "n2"], environment: ["BERTH_CRASH_AFTER": "create network:3"])
                          try lab.hostExec(["ip", "link", "add", "br-0123456789ab", "type", "bridge"])
                      },
                      command: ["gc"],
                      repeatOperation: { lab in try ok(lab, ["gc"]) }),
    ]
}

@Suite("Crash points: every step of every operation, both backends", .enabled(if: Sandbox.isActive), .serialized)
struct CrashPointTests {
    static let crashStatus: Int32 = 86

    @Test(arguments: ["iptables", "nftables"], CrashScenario.all.map(\.name))
    func everyStep(_ backend: String, _ scenarioName: String) throws {
        let scenario = try #require(CrashScenario.all.first { $0.name == scenarioName })
        // BERTH_CRASH_ONLY: a glob of scenario names, for running a few while debugging.
        if let only = ProcessInfo.processInfo.environment["BERTH_CRASH_ONLY"], fnmatch(only, scenarioName, 0) != 0 { return }
        var points = 0
        for k in 1...40 {
            let lab = try CrashLab(backend: backend)
            try scenario.prepare(lab)
            let crashed = try lab.berth(scenario.command, environment: ["BERTH_CRASH_AFTER": "\(scenario.label):\(k)"])
            if crashed.status != Self.crashStatus {
                // Past the last step: the operation ran to its end.
                #expect(crashed.status == 0, "\(scenario.name) without crash: \(crashed.stderr)")
                break
            }
            points += 1
            let reopen = try lab.berth(["gc"])
            #expect(reopen.status == 0, "\(backend) \(scenario.name) step \(k): gc: \(reopen.stderr)")
            #expect(try Consistency.pendingLinks(lab).isEmpty, "\(backend) \(scenario.name) step \(k): pending links after gc")
            let problems = try Consistency.check(lab)
            #expect(problems.isEmpty, "\(backend) \(scenario.name) after step \(k):\n\(problems.joined(separator: "\n"))")
            #expect(try scenario.repeatOperation(lab), "\(backend) \(scenario.name) step \(k): repeat failed")
            // The repeat may be a detach or rm, whose unplugged links wait for the next reconciliation.
            let after = try Consistency.check(lab, pendingAllowed: true)
            #expect(after.isEmpty, "\(backend) \(scenario.name) step \(k), after the repeat:\n\(after.joined(separator: "\n"))")
        }
        print("crash points: \(backend) \(scenario.name): \(points) steps crashed, reopened, checked and repeated")
        #expect(points > 0)
    }
}

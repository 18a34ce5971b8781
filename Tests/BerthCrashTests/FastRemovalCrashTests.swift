import BerthTestSupport
import Foundation
import Testing

/// Issue 11 through the CLI: a one-shot process leaves unplugged links pending; the next open
/// (or `berth gc`) reclaims them, also after the process was killed in the middle.
@Suite("Removal without waiting: CLI and kills", .enabled(if: Sandbox.isActive))
struct FastRemovalCrashTests {
    func ok(_ lab: CrashLab, _ args: [String], _ env: [String: String] = [:]) throws {
        let r = try lab.berth(args, environment: env)
        #expect(r.status == 0, "berth \(args.joined(separator: " ")): \(r.stderr)")
    }

    func consistent(_ lab: CrashLab, _ what: String, pendingAllowed: Bool = false) throws {
        let problems = try Consistency.check(lab, pendingAllowed: pendingAllowed)
        #expect(problems.isEmpty, "\(what):\n\(problems.joined(separator: "\n"))")
    }

    @Test("detach and rm leave marked links; the next change, gc or --wait leave none", arguments: ["iptables", "nftables"])
    func pendingUntilNextOpen(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        try lab.addUserSandbox("user1")
        try ok(lab, ["network", "create", "n1"])
        try ok(lab, ["attach", "n1", "user1"])
        try ok(lab, ["attach", "--create", "n1", "made1"])
        try ok(lab, ["detach", "n1", "user1"])
        try ok(lab, ["detach", "n1", "made1"])
        #expect(try !Consistency.pendingLinks(lab).isEmpty)
        try consistent(lab, "pending after detach", pendingAllowed: true)
        try ok(lab, ["network", "rm", "n1"])
        #expect(try Consistency.pendingLinks(lab).contains { $0.hasPrefix("berthrm") })
        try consistent(lab, "pending after rm", pendingAllowed: true)
        // A new network of the same name, at once; its open reclaims everything pending.
        try ok(lab, ["network", "create", "n1"])
        #expect(try Consistency.pendingLinks(lab).isEmpty)
        try consistent(lab, "after the next change")
        try ok(lab, ["attach", "n1", "user1"])
        try ok(lab, ["detach", "n1", "user1"])
        try ok(lab, ["gc"])
        #expect(try Consistency.pendingLinks(lab).isEmpty)
        try ok(lab, ["attach", "n1", "user1"])
        try ok(lab, ["detach", "--wait", "n1", "user1"])
        try ok(lab, ["network", "rm", "--wait", "n1"])
        #expect(try Consistency.pendingLinks(lab).isEmpty)
        try consistent(lab, "after --wait")
    }

    @Test("a CLI killed with reclamation pending leaves nothing after the next open", arguments: ["iptables", "nftables"])
    func killedWithPending(_ backend: String) throws {
        for k in 1...6 {
            let lab = try CrashLab(backend: backend)
            try lab.addUserSandbox("user1")
            try ok(lab, ["network", "create", "n1"])
            try ok(lab, ["attach", "-p", "8080:80", "n1", "user1"])
            try ok(lab, ["attach", "--create", "n1", "made1"])
            try ok(lab, ["detach", "n1", "made1"])
            let killed = try lab.berth(["network", "rm", "--force", "n1"], environment: ["BERTH_CRASH_AFTER": "delete network:\(k)"])
            #expect(killed.status == 86 || killed.status == 0, "step \(k): \(killed.stderr)")
            try ok(lab, ["network", "ls"])
            try ok(lab, ["network", "create", "n2"])
            #expect(try Consistency.pendingLinks(lab).isEmpty, "step \(k)")
            try consistent(lab, "\(backend) kill at step \(k), next open")
            if killed.status == 0 { break }
        }
    }
}

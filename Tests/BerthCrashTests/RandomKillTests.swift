import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL of the CLI at random moments (as a user's Ctrl-\ or an OOM kill would), then a
/// reopen (`berth gc`) and the full consistency check, on both backends. Trials per backend:
/// `BERTH_KILL_TRIALS` (default 200).
@Suite("Random SIGKILL of the CLI, both backends", .enabled(if: Sandbox.isActive), .serialized)
struct RandomKillTests {
    static let trials = Int(ProcessInfo.processInfo.environment["BERTH_KILL_TRIALS"] ?? "") ?? 200

    @Test(arguments: ["iptables", "nftables"])
    func randomKills(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        try lab.addUserSandbox("s1")
        #expect(try lab.berth(["network", "create", "n1"]).status == 0)
        var generator = SystemRandomNumberGenerator()
        var killed = 0, finished = 0, inconsistent = 0
        for trial in 0..<Self.trials {
            let records = try Consistency.records(lab.stateDirectory)
            let names = Set(records.networks.map(\.name))
            let attachedC = records.endpoints.contains { $0.sandboxName == "c\(trial % 3)" }
            let candidates: [[String]] = [
                names.contains("n2") ? ["network", "rm", "-f", "n2"] : ["network", "create", "n2"],
                ["attach", "--create", "-p", "\(8000 + trial % 3):80", names.contains("n2") ? "n2" : "n1", "c\(trial % 3)"],
                attachedC ? ["detach", "n1", "c\(trial % 3)"] : ["attach", "--create", "n1", "c\(trial % 3)"],
                records.endpoints.contains { $0.sandboxName == "s1" } ? ["detach", "n1", "s1"] : ["attach", "-p", "9000:80", "n1", "s1"],
                ["run", "--network", "n1", "--", "sleep", "5"],
                ["gc"],
            ]
            let command = candidates[Int(generator.next() % UInt64(candidates.count))]
            let started = try CrashProcess.start(lab.berthArgv(command))
            usleep(UInt32(generator.next() % 120_000))
            if started.0.isRunning { kill(started.0.processIdentifier, SIGKILL) }
            let out = CrashProcess.finish(started)
            if out.status == 128 + SIGKILL { killed += 1 } else { finished += 1 }
            let reopen = try lab.berth(["gc"])
            #expect(reopen.status == 0, "trial \(trial) \(command): gc: \(reopen.stderr)")
            let problems = try Consistency.check(lab)
            if !problems.isEmpty {
                inconsistent += 1
                Issue.record("\(backend) trial \(trial) \(command.joined(separator: " ")): \(problems.joined(separator: "\n"))")
            }
        }
        // No CMD of a killed `berth run` survives (parent-death signal), none is left in a sandbox.
        usleep(200_000)
        let sleepers = try Sandbox.run(["pgrep", "-f", "bin/sleep 5$"]).stdout.split(separator: "\n").count
        print("random kills: \(backend): \(Self.trials) trials, \(killed) killed, \(finished) finished, \(inconsistent) inconsistent, \(sleepers) CMDs left")
        #expect(inconsistent == 0)
        #expect(sleepers == 0)
    }
}

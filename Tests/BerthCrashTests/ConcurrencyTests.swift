import BerthTestSupport
import Foundation
import Testing

/// 8 processes mixing create / attach / detach / rm / gc on one state directory.
@Suite("Concurrent processes on one state directory", .enabled(if: Sandbox.isActive))
struct ConcurrencyTests {
    @Test(arguments: ["iptables", "nftables"])
    func eightProcesses(_ backend: String) throws {
        let lab = try CrashLab(backend: backend)
        #expect(try lab.berth(["network", "create", "shared"]).status == 0)
        let rounds = 4
        let failures = LockedList()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<rounds {
                let net = "w\(worker)"
                let steps: [[String]] = [
                    ["network", "create", net],
                    ["attach", "--create", "-p", "\(10000 + worker * 10 + round):80", "shared", "p\(worker)-\(round)"],
                    ["attach", "--create", net, "q\(worker)-\(round)"],
                    ["gc"],
                    ["detach", "shared", "p\(worker)-\(round)"],
                    ["network", "rm", "-f", net],
                ]
                for step in steps {
                    do {
                        let r = try lab.berth(step)
                        if r.status != 0 { failures.append("\(step.joined(separator: " ")): \(r.status) \(r.stderr)") }
                    } catch { failures.append("\(step): \(error)") }
                }
                // Keep one endpoint per worker on the shared network for the duplicate checks.
                _ = try? lab.berth(["attach", "--create", "shared", "k\(worker)-\(round)"])
            }
        }
        #expect(failures.items.isEmpty, "\(failures.items.joined(separator: "\n"))")
        #expect(try lab.berth(["gc"]).status == 0)
        let problems = try Consistency.check(lab)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let records = try Consistency.records(lab.stateDirectory)
        print("concurrency: \(backend): 8 processes × \(rounds) rounds, \(records.endpoints.count) endpoints left, \(failures.items.count) errors")
        #expect(records.endpoints.count == 8 * rounds)
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ s: String) { lock.lock(); storage.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return storage }
}

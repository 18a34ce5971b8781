import BerthTestSupport
import Foundation
import Testing

/// Real CNI runtimes driving the `berth` plugin (scripts/cni-runtimes.sh, which holds the
/// scenario and its checks, made with iproute2, iptables-save, curl and the runtimes' own
/// `exec`): podman 4.3 with the CNI backend (two networks, ping, -p, --ip/--mac-address,
/// network reload, berth followed by portmap, rm -f leaving nothing) and `ctr run --rm --cni`.
/// Skipped, loudly, where the runtimes are not installed, unless BERTH_CNI_RUNTIMES_REQUIRED=1
/// (CI) makes that a failure.
@Suite("CNI real runtimes", .serialized)
struct CNIRuntimeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test(arguments: ["podman", "ctr"]) func runtimeDrivesBerth(_ runtime: String) throws {
        guard Sandbox.isActive else { print("cni-runtimes: SKIPPED (not inside the test sandbox)"); return }
        let required = ProcessInfo.processInfo.environment["BERTH_CNI_RUNTIMES_REQUIRED"] == "1"
        let work = NSTemporaryDirectory() + Sandbox.unique("berth-cnirt-")
        defer { try? FileManager.default.removeItem(atPath: work) }
        // A deadline, so a hung runtime fails the test instead of the run (--kill-child ends its pid namespace).
        let r = try Sandbox.run(["timeout", "300", Self.repository + "/scripts/cni-runtimes.sh", BerthBinary.path, work, runtime])
        print(r.stdout, terminator: "")
        if r.status == 77 {
            if required { Issue.record("cni-runtimes: \(runtime) cannot run: \(r.stdout)") } else {
                print("cni-runtimes: SKIPPED \(runtime): \(r.stdout)")
            }
            return
        }
        #expect(r.status == 0, "\(runtime): \(r.stdout.split(separator: "\n").last ?? "") \(r.stderr.suffix(2000))")
    }
}

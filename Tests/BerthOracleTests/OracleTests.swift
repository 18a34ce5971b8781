import BerthTestSupport
import Foundation
import Testing

/// The Docker 20.10 differential suite (issue 12, docs/oracle.md): one dockerd (Debian's
/// docker.io) in a private namespace set, the same steps through `docker` and `berth`, and after
/// every step a comparison of the normalised observations (Snapshot). A difference passes only when
/// docs/oracle-deviations.md lists it. Skipped, loudly, where dockerd cannot run, unless
/// BERTH_ORACLE_REQUIRED=1 (CI) makes that a failure.
@Suite("Docker 20.10 oracle", .serialized)
struct OracleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test func scenariosMatchDocker() throws {
        guard Sandbox.isActive else { print("oracle: SKIPPED (not inside the test sandbox)"); return }
        let required = ProcessInfo.processInfo.environment["BERTH_ORACLE_REQUIRED"] == "1"
        let script = Self.repository + "/scripts/oracle-dockerd.sh"
        let deviations = try Deviation.load(Self.repository + "/docs/oracle-deviations.md")
        let only = ProcessInfo.processInfo.environment["BERTH_ORACLE_ONLY"]   // a glob, for debugging one scenario

        let work = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        for ns in ["oracle-docker", "oracle-berth"] {
            try Run.check(["ip", "netns", "add", ns])
            try Run.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
        defer { for ns in ["oracle-docker", "oracle-berth"] { _ = try? Run.run(["ip", "netns", "del", ns]) } }

        let docker = DockerSide(netns: "oracle-docker", dir: work + "/docker")
        do {
            try docker.start(script: script)
        } catch {
            docker.stop(script: script)
            if required { Issue.record("oracle: dockerd could not start: \(error)"); return }
            print("oracle: SKIPPED, dockerd cannot run here: \(error)")
            return
        }
        defer { docker.stop(script: script) }
        let berth = BerthSide(netns: "oracle-berth", stateDir: work + "/berth-state", binary: BerthBinary.path)

        Self.compare(docker: docker, berth: berth,
                     scenarios: Scenarios.all.filter { scenario in only.map { fnmatch($0, scenario.name, 0) == 0 } ?? true },
                     deviations: deviations, label: "oracle")
    }

    /// Docker's `--userland-proxy=false` mode (issue 13), bounded: the publishing scenarios
    /// against a second dockerd started with the flag and `berth --userland-proxy=false`.
    @Test func noProxyScenariosMatchDocker() throws {
        guard Sandbox.isActive else { print("oracle (no proxy): SKIPPED (not inside the test sandbox)"); return }
        let required = ProcessInfo.processInfo.environment["BERTH_ORACLE_REQUIRED"] == "1"
        let script = Self.repository + "/scripts/oracle-dockerd.sh"
        let deviations = try Deviation.load(Self.repository + "/docs/oracle-deviations.md")
        let work = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let names = ["oracle-np-docker", "oracle-np-berth"]
        for ns in names {
            try Run.check(["ip", "netns", "add", ns])
            try Run.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
        defer { for ns in names { _ = try? Run.run(["ip", "netns", "del", ns]) } }
        let docker = DockerSide(netns: names[0], dir: work + "/docker")
        setenv("BERTH_ORACLE_DOCKERD_ARGS", "--userland-proxy=false", 1)
        defer { unsetenv("BERTH_ORACLE_DOCKERD_ARGS") }
        do {
            try docker.start(script: script)
        } catch {
            docker.stop(script: script)
            if required { Issue.record("oracle (no proxy): dockerd could not start: \(error)"); return }
            print("oracle (no proxy): SKIPPED, dockerd cannot run here: \(error)")
            return
        }
        defer { docker.stop(script: script) }
        let berth = BerthSide(netns: names[1], stateDir: work + "/berth-state", binary: BerthBinary.path)
        berth.globalArguments = ["--userland-proxy=false"]
        let chosen: Set<String> = ["bridge-publish", "publish-tcp", "publish-udp", "publish-host-ip", "publish-two-containers",
                                   "net-masquerade-off", "net-internal-publish", "connect-publish"]
        Self.compare(docker: docker, berth: berth, scenarios: Scenarios.all.filter { chosen.contains($0.name) }, deviations: deviations,
                     label: "oracle (no proxy)")
    }

    /// IPv6 (issue 15), bounded: `Scenarios.ipv6` against a dockerd started with
    /// `--experimental --ip6tables --ipv6 --fixed-cidr-v6 2001:db8:1::/64` (the flags 20.10 needs
    /// for ip6tables rules and an IPv6 docker0) and `berth --fixed-cidr-v6 2001:db8:1::/64`.
    @Test func ipv6ScenariosMatchDocker() throws {
        guard Sandbox.isActive else { print("oracle (IPv6): SKIPPED (not inside the test sandbox)"); return }
        let required = ProcessInfo.processInfo.environment["BERTH_ORACLE_REQUIRED"] == "1"
        let script = Self.repository + "/scripts/oracle-dockerd.sh"
        let deviations = try Deviation.load(Self.repository + "/docs/oracle-deviations.md")
        let only = ProcessInfo.processInfo.environment["BERTH_ORACLE_ONLY"]
        let work = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let names = ["oracle-v6-docker", "oracle-v6-berth"]
        for ns in names {
            try Run.check(["ip", "netns", "add", ns])
            try Run.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
        defer { for ns in names { _ = try? Run.run(["ip", "netns", "del", ns]) } }
        let prefix = "2001:db8:1::/64"
        let docker = DockerSide(netns: names[0], dir: work + "/docker")
        setenv("BERTH_ORACLE_DOCKERD_ARGS", "--experimental --ip6tables --ipv6 --fixed-cidr-v6 \(prefix)", 1)
        defer { unsetenv("BERTH_ORACLE_DOCKERD_ARGS") }
        do {
            try docker.start(script: script)
        } catch {
            docker.stop(script: script)
            if required { Issue.record("oracle (IPv6): dockerd could not start: \(error)"); return }
            print("oracle (IPv6): SKIPPED, dockerd cannot run here: \(error)")
            return
        }
        defer { docker.stop(script: script) }
        let berth = BerthSide(netns: names[1], stateDir: work + "/berth-state", binary: BerthBinary.path)
        berth.globalArguments = ["--fixed-cidr-v6", prefix]
        Self.compare(docker: docker, berth: berth,
                     scenarios: Scenarios.ipv6.filter { scenario in only.map { fnmatch($0, scenario.name, 0) == 0 } ?? true },
                     deviations: deviations, label: "oracle (IPv6)")
    }

    /// Runs `scenarios` step by step on both sides and compares the observations after each step.
    static func compare(docker: DockerSide, berth: BerthSide, scenarios: [Scenario], deviations: [Deviation], label: String) {
        do {
            try compareThrowing(docker: docker, berth: berth, scenarios: scenarios, deviations: deviations, label: label)
        } catch {
            Issue.record("\(label): \(error)")
        }
    }

    private static func compareThrowing(docker: DockerSide, berth: BerthSide, scenarios: [Scenario], deviations: [Deviation],
                                        label: String) throws {
        let started = Date()
        var identical = 0, documented = 0, failing = 0, steps = 0
        var used = Set<String>()
        for scenario in scenarios {
            var unlisted: [String] = []
            var listed = Set<String>()
            for (i, step) in scenario.steps.enumerated() {
                steps += 1
                let d = try step.apply(to: docker), b = try step.apply(to: berth)
                var diffs: [(key: String, docker: String, berth: String)] = []
                if (d.status == 0) != (b.status == 0) {
                    diffs.append(("step.status", d.status == 0 ? "ok" : "failed: \(d.stderr.trimmed)",
                                  b.status == 0 ? "ok" : "failed: \(b.stderr.trimmed)"))
                }
                // The kernel finishes some work after the command returns (a deleted netns takes its
                // veths down asynchronously, the bridge's carrier follows): a difference is
                // looked at again, up to 4 times 0.25 s apart, before it counts.
                var seen = Snapshot.differences(try Snapshot.take(docker), try Snapshot.take(berth))
                for _ in 0..<4 where !seen.isEmpty {
                    usleep(250_000)
                    seen = Snapshot.differences(try Snapshot.take(docker), try Snapshot.take(berth))
                }
                diffs += seen
                for diff in diffs {
                    if let row = deviations.first(where: { $0.covers(scenario: scenario.name, key: diff.key) }) {
                        listed.insert(row.id)
                    } else {
                        unlisted.append("  step \(i + 1) (\(step)): \(diff.key)\n" + Self.show(diff.docker, diff.berth))
                    }
                }
            }
            try docker.reset()
            try berth.reset()
            used.formUnion(listed)
            if !unlisted.isEmpty {
                failing += 1
                print("\(label): \(scenario.name): DIFFERS\n" + unlisted.joined(separator: "\n"))
            } else if !listed.isEmpty {
                documented += 1
                print("\(label): \(scenario.name): documented deviation \(listed.sorted().joined(separator: ","))")
            } else {
                identical += 1
                print("\(label): \(scenario.name): identical")
            }
            #expect(unlisted.isEmpty, "\(label) scenario \(scenario.name) differs from Docker 20.10:\n\(unlisted.joined(separator: "\n"))")
        }
        let seconds = Date().timeIntervalSince(started)
        print("\(label): \(identical + documented + failing) scenarios, \(steps) steps: \(identical) identical, "
              + "\(documented) documented deviation, \(failing) failing (\(String(format: "%.0f", seconds)) s); "
              + "deviations used: \(used.sorted().joined(separator: ","))")
    }

    /// Both values, or for multi-line ones (rule sets) only the lines each side lacks.
    static func show(_ docker: String, _ berth: String) -> String {
        guard docker.contains("\n") || berth.contains("\n") else { return "    docker: \(docker)\n    berth:  \(berth)" }
        let d = docker.split(separator: "\n").map(String.init), b = berth.split(separator: "\n").map(String.init)
        let onlyDocker = d.filter { !b.contains($0) }, onlyBerth = b.filter { !d.contains($0) }
        if onlyDocker.isEmpty && onlyBerth.isEmpty {
            let moved = (0..<max(d.count, b.count)).filter { i in (i < d.count ? d[i] : "") != (i < b.count ? b[i] : "") }
            return "    same lines, other order (line: docker | berth):\n"
                + moved.map { i in "      \(i): \(i < d.count ? d[i] : "-") | \(i < b.count ? b[i] : "-")" }.joined(separator: "\n")
        }
        return (onlyDocker.map { "    docker only: \($0)" } + onlyBerth.map { "    berth only:  \($0)" }).joined(separator: "\n")
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/berth-oracle.XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SandboxError.command("mkdtemp", String(cString: strerror(errno))) }
        return String(cString: p)
    }

}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

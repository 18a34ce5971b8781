import BerthTestSupport
import Foundation

/// What a scenario step asks of an endpoint: `--ip`, `--ip6`, `--mac-address` (Berth `--mac`) and
/// `-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO]`, in command-line order.
struct EndpointOptions: Sendable {
    var ip: String?
    var mac: String?
    var publish: [String] = []
    var ip6: String? = nil

    func docker() -> [String] {
        (ip.map { ["--ip", $0] } ?? []) + (ip6.map { ["--ip6", $0] } ?? []) + (mac.map { ["--mac-address", $0] } ?? [])
            + publish.flatMap { ["-p", $0] }
    }

    func berth() -> [String] {
        (ip.map { ["--ip", $0] } ?? []) + (ip6.map { ["--ip6", $0] } ?? []) + (mac.map { ["--mac", $0] } ?? [])
            + publish.flatMap { ["-p", $0] }
    }
}

/// One implementation under comparison: how a step is carried out, where its host namespace and
/// sandboxes are, and which kernel names stand for which network (for the normalisation).
protocol Side: AnyObject {
    var label: String { get }
    /// `ip netns exec HOST ARGV` (the namespace that plays the host).
    func host(_ argv: [String]) throws -> Output
    /// ARGV inside the network namespace of sandbox `container`.
    func inSandbox(_ container: String, _ argv: [String]) throws -> Output
    /// The sandboxes alive now (scenario names), in creation order.
    var containers: [String] { get }
    /// `br-<12 hex>` → `br-<network name>` for the networks of the running scenario.
    var bridgeNames: [String: String] { get }

    func createNetwork(_ name: String, _ args: [String]) throws -> Output
    func removeNetwork(_ name: String) throws -> Output
    func run(_ container: String, network: String, _ options: EndpointOptions) throws -> Output
    func connect(_ network: String, _ container: String, _ options: EndpointOptions) throws -> Output
    func disconnect(_ network: String, _ container: String) throws -> Output
    func remove(_ container: String) throws -> Output
    /// Removes every sandbox and network the scenario left, whatever its steps did.
    func reset() throws
}

/// The networks a side created in the running scenario, and the bridge names that stand for them
/// (`br-<12 hex of the ID printed by network create>` → `br-<network name>`).
struct NetworkBook {
    private(set) var networks: [String] = []
    private(set) var bridgeNames: [String: String] = [:]

    mutating func created(_ name: String, output: Output) {
        guard output.status == 0 else { return }
        let id = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        bridgeNames["br-" + id.prefix(12)] = "br-<\(name)>"
        networks.append(name)
    }

    mutating func removed(_ name: String, output: Output) {
        if output.status == 0 { networks.removeAll { $0 == name } }
    }
}

/// The oracle: dockerd 20.10 (Debian's docker.io) started by scripts/oracle-dockerd.sh in netns
/// `oracle-docker` with its own mount and pid namespaces; containers of a busybox image imported
/// offline. Sandboxes are entered through dockerd's mount namespace (`nsenter -t PID -m`) at the
/// container's SandboxKey.
final class DockerSide: Side {
    let label = "docker"
    let netns: String
    let dir: String
    private(set) var dockerdPid = ""
    private(set) var containers: [String] = []
    private var book = NetworkBook()
    var bridgeNames: [String: String] { book.bridgeNames }
    private var sandboxKeys: [String: String] = [:]
    static let image = "berth-oracle:busybox"

    init(netns: String, dir: String) {
        self.netns = netns
        self.dir = dir
    }

    /// Starts dockerd (scripts/oracle-dockerd.sh) and imports the image; throws when the
    /// environment cannot run it.
    func start(script: String) throws {
        let owner = String(getpid())
        let r = try Run.run([script, "start", dir, netns, owner])
        guard r.status == 0 else { throw SandboxError.command("oracle-dockerd.sh start", r.stderr) }
        dockerdPid = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try importImage()
    }

    func stop(script: String) {
        _ = try? Run.run([script, "stop", dir])
    }

    /// A rootfs of busybox-static (`/bin/busybox`) with `sleep` and `sh`, imported as one layer.
    private func importImage() throws {
        let root = dir + "/rootfs"
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        for d in ["etc", "proc", "sys", "dev", "tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        try? FileManager.default.removeItem(atPath: root + "/bin/busybox")
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        for applet in ["sh", "sleep"] {
            try? FileManager.default.createSymbolicLink(atPath: root + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try Run.check(["tar", "-C", root, "-cf", dir + "/image.tar", "."])
        try docker(["import", dir + "/image.tar", Self.image])
    }

    @discardableResult
    func docker(_ args: [String]) throws -> Output {
        try Run.run(["/usr/bin/docker", "-H", "unix://\(dir)/docker.sock"] + args)
    }

    func host(_ argv: [String]) throws -> Output { try Run.exec(netns, argv) }

    func inSandbox(_ container: String, _ argv: [String]) throws -> Output {
        guard let key = sandboxKeys[container] else { throw SandboxError.command("sandbox \(container)", "unknown") }
        return try Run.run(["nsenter", "-t", dockerdPid, "-m", "--", "nsenter", "--net=\(key)", "--"] + argv)
    }

    func createNetwork(_ name: String, _ args: [String]) throws -> Output {
        let r = try docker(["network", "create"] + args + [name])
        book.created(name, output: r)
        return r
    }

    func removeNetwork(_ name: String) throws -> Output {
        let r = try docker(["network", "rm", name])
        book.removed(name, output: r)
        return r
    }

    func run(_ container: String, network: String, _ options: EndpointOptions) throws -> Output {
        let r = try docker(["run", "-d", "--name", container, "--network", network] + options.docker()
                           + [Self.image, "sleep", "1000000"])
        guard r.status == 0 else {
            try docker(["rm", "-f", container])     // a failed start leaves the created container
            return r
        }
        let key = try docker(["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", container])
        sandboxKeys[container] = key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        containers.append(container)
        return r
    }

    func connect(_ network: String, _ container: String, _ options: EndpointOptions) throws -> Output {
        let extra = (options.ip.map { ["--ip", $0] } ?? []) + (options.ip6.map { ["--ip6", $0] } ?? [])
        return try docker(["network", "connect"] + extra + [network, container])
    }

    func disconnect(_ network: String, _ container: String) throws -> Output {
        try docker(["network", "disconnect", network, container])
    }

    func remove(_ container: String) throws -> Output {
        let r = try docker(["rm", "-f", container])
        if r.status == 0 {
            containers.removeAll { $0 == container }
            sandboxKeys[container] = nil
        }
        return r
    }

    func reset() throws {
        for c in containers { _ = try remove(c) }
        for n in book.networks.reversed() { _ = try removeNetwork(n) }
        containers = []
        book = NetworkBook()
    }
}

/// Berth through its CLI (`berth --host-netns /run/netns/oracle-berth --state-dir DIR`), one
/// process per step as a user would type it. Sandboxes are named namespaces `orc-<container>`
/// made by `attach --create`; `docker rm` is a detach from every network of the sandbox.
final class BerthSide: Side {
    let label = "berth"
    let netns: String
    let stateDir: String
    let binary: String
    private(set) var containers: [String] = []
    private var book = NetworkBook()
    var bridgeNames: [String: String] { book.bridgeNames }
    private var attachments: [String: [String]] = [:]

    /// More global options for every call (`--userland-proxy=false`).
    var globalArguments: [String] = []

    init(netns: String, stateDir: String, binary: String) {
        self.netns = netns
        self.stateDir = stateDir
        self.binary = binary
    }

    static func sandboxName(_ container: String) -> String { "orc-" + container }

    @discardableResult
    func berth(_ args: [String]) throws -> Output {
        try Run.run([binary] + args + ["--host-netns", "/run/netns/\(netns)", "--state-dir", stateDir] + globalArguments)
    }

    func host(_ argv: [String]) throws -> Output { try Run.exec(netns, argv) }

    func inSandbox(_ container: String, _ argv: [String]) throws -> Output {
        try Run.exec(Self.sandboxName(container), argv)
    }

    func createNetwork(_ name: String, _ args: [String]) throws -> Output {
        let r = try berth(["network", "create"] + args + [name])
        book.created(name, output: r)
        return r
    }

    func removeNetwork(_ name: String) throws -> Output {
        let r = try berth(["network", "rm", "--wait", name])
        book.removed(name, output: r)
        return r
    }

    func run(_ container: String, network: String, _ options: EndpointOptions) throws -> Output {
        let r = try berth(["attach", "--create"] + options.berth() + [network, Self.sandboxName(container)])
        if r.status == 0 {
            containers.append(container)
            attachments[container] = [network]
        }
        return r
    }

    func connect(_ network: String, _ container: String, _ options: EndpointOptions) throws -> Output {
        let r = try berth(["attach"] + options.berth() + [network, Self.sandboxName(container)])
        if r.status == 0 { attachments[container, default: []].append(network) }
        return r
    }

    func disconnect(_ network: String, _ container: String) throws -> Output {
        let r = try berth(["detach", "--wait", network, Self.sandboxName(container)])
        if r.status == 0 {
            attachments[container]?.removeAll { $0 == network }
            if attachments[container]?.isEmpty == true {     // the last endpoint took the sandbox
                attachments[container] = nil
                containers.removeAll { $0 == container }
            }
        }
        return r
    }

    func remove(_ container: String) throws -> Output {
        var last = try Run.run(["true"])
        for n in attachments[container] ?? [] {
            let r = try berth(["detach", "--wait", n, Self.sandboxName(container)])
            if r.status != 0 { last = r }
        }
        attachments[container] = nil
        containers.removeAll { $0 == container }
        return last
    }

    func reset() throws {
        for c in containers { _ = try remove(c) }
        for n in book.networks.reversed() { _ = try removeNetwork(n) }
        containers = []
        book = NetworkBook()
        attachments = [:]
    }
}

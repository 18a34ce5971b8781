import ArgumentParser
import Berth
import BerthCNI
@_spi(BerthInternal) import BerthFirewall
#if canImport(Glibc)
import Glibc
#endif

/// `berth`: Docker-style bridge networking from the shell.
@main
struct BerthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Docker-style container networking without a daemon.",
        discussion: """
        Global options (--backend, --state-dir, --host-netns, --json) go after the subcommand or before it, \
        at any level: berth --state-dir DIR network ls, berth --json network --state-dir DIR ls.
        Exit codes: 0 success, 1 system error, 3 not found, 4 conflict, 5 permission denied, 64 usage or invalid input.
        """,
        subcommands: [NetworkCommand.self, AttachCommand.self, DetachCommand.self, RunCommand.self, GCCommand.self, DemoCommand.self]
    )

    /// As swift-argument-parser's own entry point, except that global options before the
    /// subcommand are moved after it first (`GlobalArguments.hoist`), and a usage error is one line
    /// on stderr (`berth: …`, exit 64) rather than the message plus the whole usage text.
    static func main() {
        // Run by a container runtime as the CNI plugin `berth` (CNI spec: the verb in CNI_COMMAND).
        if getenv("CNI_COMMAND") != nil { CNIEntry.run() }
        do {
            var command = try parseAsRoot(GlobalArguments.hoist(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandleOutput.stderr("berth: " + (text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text)
                                    + " (see berth --help)")
            Glibc.exit(code == .validationFailure ? 64 : code.rawValue)
        }
    }
}

/// Options every subcommand takes, after its name or before it (`berth --state-dir DIR network ls`,
/// moved into place by `GlobalArguments.hoist`).
struct GlobalOptions: ParsableArguments {
    /// The long names, shared with `GlobalArguments`: the first three take a value, `json` is a flag.
    enum Name: String, CaseIterable {
        case backend, stateDirectory = "state-dir", hostNamespace = "host-netns", json
        case userlandProxy = "userland-proxy", userlandProxyPath = "userland-proxy-path", forwardDrop = "forward-drop"
        case fixedCIDRv6 = "fixed-cidr-v6"

        var takesValue: Bool { self != .json }
    }

    @Option(name: .customLong(Name.backend.rawValue), help: "Firewall backend: iptables or nftables.")
    var backend: FirewallBackendKind = .iptables

    @Option(name: .customLong(Name.stateDirectory.rawValue), help: "State directory.")
    var stateDirectory: String = "/var/lib/berth"

    @Option(name: .customLong(Name.hostNamespace.rawValue), help: "Network namespace to treat as the host: a path, or a name under /run/netns (default: this process's).")
    var hostNamespace: String?

    @Flag(name: .customLong(Name.json.rawValue), help: "Print results as JSON.")
    var json = false

    @Option(name: .customLong(Name.userlandProxy.rawValue),
            help: "As dockerd's --userland-proxy: true (default) runs a berth-proxy per published port; false writes Docker's --userland-proxy=false rules.")
    var userlandProxy: Bool = true

    @Option(name: .customLong(Name.userlandProxyPath.rawValue),
            help: "The berth-proxy executable (default: berth-proxy next to this berth, else /usr/local/bin/berth-proxy).")
    var userlandProxyPath: String?

    @Option(name: .customLong(Name.fixedCIDRv6.rawValue),
            help: "As dockerd's --ipv6 --fixed-cidr-v6: IPv6 on the default network (docker0), addresses derived from MACs (at most /80).")
    var fixedCIDRv6: String?

    @Option(name: .customLong(Name.forwardDrop.rawValue),
            help: "When the iptables FORWARD policy becomes DROP: docker (default, as dockerd: only when Berth turns net.ipv4.ip_forward on) or always. Taken at the state directory's first host set-up and recorded; always given later raises it to DROP.")
    var forwardDrop: ForwardDropMode = .docker

    func validate() throws {
        if stateDirectory.isEmpty { throw ValidationError("--state-dir must name a directory (it is empty)") }
        if hostNamespace?.isEmpty == true { throw ValidationError("--host-netns must name a namespace (it is empty)") }
        if let p = userlandProxyPath, !p.hasPrefix("/") {
            throw ValidationError("--userland-proxy-path must be an absolute path, not '\(p)'")
        }
    }

    /// `--userland-proxy-path`, else `berth-proxy` next to this executable when it is there, else
    /// the library's default (`ControllerConfiguration.userlandProxyNextToExecutable`).
    var resolvedProxyPath: String { userlandProxyPath ?? ControllerConfiguration.userlandProxyNextToExecutable }

    /// - Parameters: setUpHost: false for commands that need no host set-up (reads, detach);
    ///   waitForKernel: `--wait` (delete links synchronously). A CLI process is one-shot: links
    ///   it unplugs are deleted by the next command's reconciliation, `berth gc`, or `--wait`.
    func controller(setUpHost: Bool = true, waitForKernel: Bool = false) throws -> NetworkController {
        // A bare name means /run/netns/NAME, as for sandbox arguments.
        let hostPath = hostNamespace.map { $0.contains("/") ? $0 : "/run/netns/\($0)" }
        var configuration = ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: hostPath,
                                                    setUpHost: setUpHost, waitForKernel: waitForKernel,
                                                    reclaimInBackground: false, userlandProxy: userlandProxy,
                                                    userlandProxyPath: resolvedProxyPath, forwardDrop: forwardDrop)
        configuration.defaultBridgeIPv6 = fixedCIDRv6
        return try NetworkController(configuration)
    }
}

extension FirewallBackendKind: ExpressibleByArgument {}
extension ForwardDropMode: ExpressibleByArgument {}

import ArgumentParser
import Berth
import BerthFirewall

/// `berth`: Docker-style bridge networking from the shell.
@main
struct BerthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Docker-style container networking without a daemon.",
        discussion: """
        Exit codes: 0 success, 1 system error, 3 not found, 4 conflict, 5 permission denied, 64 usage or invalid input.
        """,
        subcommands: [NetworkCommand.self, AttachCommand.self, DetachCommand.self, RunCommand.self, DemoCommand.self]
    )
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Firewall backend: iptables or nftables.")
    var backend: FirewallBackendKind = .iptables

    @Option(name: .customLong("state-dir"), help: "State directory.")
    var stateDirectory: String = "/var/lib/berth"

    @Option(name: .customLong("host-netns"), help: "Network namespace path to treat as the host (default: this process's).")
    var hostNamespace: String?

    @Flag(help: "Print results as JSON.")
    var json = false

    func controller() throws -> NetworkController {
        try NetworkController(ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: hostNamespace))
    }
}

extension FirewallBackendKind: ExpressibleByArgument {}

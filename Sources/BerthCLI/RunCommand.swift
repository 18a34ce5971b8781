import ArgumentParser
import Berth
import BerthNamespace

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run CMD in a fresh network namespace attached to a network; clean up when it exits.",
        discussion: "Returns CMD's exit code.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Network name or ID.") var network: String = NetworkController.defaultNetworkName
    @Option(name: [.customShort("p"), .customLong("publish")], help: "Publish [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO].") var publish: [String] = []
    @Option(help: "Static IPv4 address.") var ip: String?
    @Argument(parsing: .captureForPassthrough, help: "-- CMD ARGS...") var command: [String] = []

    func run() throws {
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard !argv.isEmpty else { throw ValidationError("give a command after --") }
        let status: Int32 = try Failure.guarded {
            let c = try global.controller()
            let endpoint = try c.attach(network: network, sandbox: .create(name: nil),
                                        options: AttachOptions(address: ip, ports: try publish.map(parsePublish)))
            defer { _ = try? c.detach(endpoint: endpoint.id) }
            let ns = try NetworkNamespace.open(path: endpoint.sandboxPath)
            do {
                return try NamespaceProcess.run(argv, in: ns)
            } catch let e as NamespaceError {
                throw BerthError(.system, operation: "run", object: argv[0], cause: .namespace(e))
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}

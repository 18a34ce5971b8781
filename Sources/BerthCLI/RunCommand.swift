import ArgumentParser
import Berth
@_spi(BerthInternal) import BerthNamespace
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run CMD in a fresh network namespace attached to a network; clean up when it exits.",
        discussion: """
        Everything after -- is the command. Returns CMD's exit code (127 when CMD is not found). \
        SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to CMD, and the sandbox is removed when it exits.
        """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Network name or ID.") var network: String = NetworkController.defaultNetworkName
    @Option(name: [.customShort("p"), .customLong("publish")], help: "Publish [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO].") var publish: [String] = []
    @Option(help: "Static IPv4 address.") var ip: [String] = []
    @Option(help: "Static IPv6 address (IPv6 networks).") var ip6: [String] = []
    @Argument(parsing: .postTerminator, help: "-- CMD ARGS...") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give a command after --") }
        _ = try singleValue(ip, "--ip", why: "an endpoint has one IPv4 address")
        _ = try singleValue(ip6, "--ip6", why: "an endpoint has one IPv6 address")
    }

    func run() throws {
        let status: Int32 = try Failure.guarded {
            let ports = try publish.map(PortSpec.init(parsing:))
            try NetworkController.preflight(attach: network, sandbox: .create(name: nil), options: AttachOptions(address: ip.first, publish: ports).with(address6: ip6.first))
            // CMD's sandbox goes when CMD ends: nothing is left pending after the process.
            let c = try global.controller(waitForKernel: true)
            // The sandbox records this process as its owner: if it dies without cleaning up, any
            // later open of the state directory reclaims the sandbox.
            let endpoint = try c.attach(network: network, sandbox: .create(name: nil),
                                        options: AttachOptions(address: ip.first, publish: ports, owner: ProcessOwner.current()).with(address6: ip6.first))
            defer { _ = try? c.detach(endpoint: endpoint.id) }
            let pid: pid_t
            do {
                let ns = try NetworkNamespace.open(path: endpoint.sandboxPath)
                // Ignore these here, before the child exists (it starts with default dispositions),
                // then pass them on: the child ends and the sandbox is cleaned up.
                let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
                for s in forwarded { signal(s, SIG_IGN) }
                pid = try ProcessRunner.spawnInheritingStdio(command, environment: ProcessInfo.processInfo.environment.map { "\($0)=\($1)" },
                                                             in: ns, killedWithParent: true)
                let sources = forwarded.map { s -> DispatchSourceSignal in
                    let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
                    source.setEventHandler { kill(pid, s) }
                    source.resume()
                    return source
                }
                defer { sources.forEach { $0.cancel() } }
                let status = ProcessRunner.wait(pid)
                // As stopping a container: whatever CMD left running in the sandbox goes too.
                ns.killProcesses()
                return status
            } catch let e as NamespaceError {
                throw BerthError(.system, operation: .run, object: command[0], cause: .namespace(e))
            } catch let e as ProcessFailure {
                if let namespace = e.namespace {
                    throw BerthError(.system, operation: .run, object: command[0], cause: .namespace(namespace))
                }
                if let err = e.errno, err.rawValue == ENOENT || err.rawValue == EACCES {
                    FileHandleOutput.stderr("berth: run \(command[0]): \(err)")
                    return err.rawValue == ENOENT ? 127 : 126
                }
                throw BerthError(.system, errno: e.errno, operation: .run, object: command[0], detail: e.description)
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}

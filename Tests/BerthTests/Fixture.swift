import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation

/// A throw-away "host" namespace and state directory for one test, with the sandboxes it made.
final class Fixture {
    let host: ScratchNamespace
    let stateDirectory: String
    let backend: FirewallBackendKind
    private var sandboxes: [ScratchNamespace] = []

    var hostName: String { host.name }

    /// `ControllerConfiguration.userlandProxy` of `configuration` (the proxy is this build's).
    let userlandProxy: Bool

    init(_ backend: FirewallBackendKind, userlandProxy: Bool = true) throws {
        self.backend = backend
        self.userlandProxy = userlandProxy
        host = try ScratchNamespace(prefix: "bt-h-")
        stateDirectory = NSTemporaryDirectory() + Sandbox.unique("berth-state-")
    }

    var configuration: ControllerConfiguration {
        ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: host.path,
                                userlandProxy: userlandProxy, userlandProxyPath: BerthProxyBinary.path)
    }

    /// A controller opened as a runtime does at its start: open, then the host set-up and the
    /// reconciliation as explicit steps (which the first change would otherwise run).
    func controller() throws -> NetworkController {
        let c = try NetworkController(configuration)
        try c.setUpHost()
        try c.reconcile()
        return c
    }

    /// A controller that is only opened (nothing runs until its first change).
    func openedController() throws -> NetworkController { try NetworkController(configuration) }

    /// A sandbox namespace made with iproute2.
    func sandbox() throws -> String {
        let sandbox = try ScratchNamespace(prefix: "bt-s-")
        sandboxes.append(sandbox)
        return sandbox.name
    }

    /// `ip -n HOST ...` JSON.
    func ip(_ args: String...) throws -> [[String: Any]] { try Sandbox.ipJSON(args, netns: hostName) }

    func iptables(_ args: String...) throws -> String {
        try Sandbox.exec(hostName, ["iptables"] + args).stdout
    }

    /// The firewall listing for this backend, comparable before/after.
    func ruleset() throws -> String {
        backend == .iptables ? try Sandbox.iptablesSave(netns: hostName).joined(separator: "\n") : try Sandbox.nftRuleset(netns: hostName)
    }

    func linkNames() throws -> [String] { try Sandbox.linkNames(netns: hostName).sorted() }

    func stateFiles(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(stateDirectory)/\(sub)")) ?? []).filter { $0.hasSuffix(".json") }
    }

    deinit {
        for s in sandboxes { s.close() }
        host.close()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

import Berth
import BerthFirewall
import BerthTestSupport
import Foundation

/// A throw-away "host" namespace (made with iproute2) and state directory for one test.
final class Fixture {
    let hostName: String
    let stateDirectory: String
    let backend: FirewallBackendKind
    private(set) var sandboxes: [String] = []

    init(_ backend: FirewallBackendKind) throws {
        self.backend = backend
        hostName = Sandbox.unique("bt-h-")
        try Sandbox.addNamespace(hostName)
        stateDirectory = NSTemporaryDirectory() + Sandbox.unique("berth-state-")
    }

    var configuration: ControllerConfiguration {
        ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: "/run/netns/\(hostName)")
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
        let name = Sandbox.unique("bt-s-")
        try Sandbox.addNamespace(name)
        sandboxes.append(name)
        return name
    }

    /// `ip -n HOST ...` JSON.
    func ip(_ args: String...) throws -> [[String: Any]] { try Sandbox.ipJSON(args, netns: hostName) }

    func iptables(_ args: String...) throws -> String {
        try Sandbox.exec(hostName, ["iptables"] + args).stdout
    }

    /// iptables-save without comments and counters: the comparable ruleset.
    func iptablesSave() throws -> String {
        try Sandbox.exec(hostName, ["iptables-save"]).stdout.split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "[0:0]", options: .regularExpression) }
            .joined(separator: "\n")
    }

    func nftRuleset() throws -> String { try Sandbox.exec(hostName, ["nft", "list", "ruleset"]).stdout }

    /// The firewall listing for this backend, comparable before/after.
    func ruleset() throws -> String { backend == .iptables ? try iptablesSave() : try nftRuleset() }

    func linkNames() throws -> [String] { try Sandbox.linkNames(netns: hostName).sorted() }

    func stateFiles(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(stateDirectory)/\(sub)")) ?? []).filter { $0.hasSuffix(".json") }
    }

    deinit {
        for s in sandboxes { Sandbox.deleteNamespace(s) }
        Sandbox.deleteNamespace(hostName)
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

extension Dictionary where Key == String, Value == Any {
    subscript(path path: String...) -> Any? {
        var current: Any? = self
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }
}

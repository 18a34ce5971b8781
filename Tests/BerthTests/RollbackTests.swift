@testable import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// The real backend, with one operation made to fail after it has really been applied — the
/// worst case for rollback: the kernel has changed and the controller must undo it.
final class FailingFirewall: FirewallBackend, @unchecked Sendable {
    func rulesetGeneration() throws(FirewallError) -> UInt32? { try real.rulesetGeneration() }
    enum Step { case addNetwork, addPorts, addPortsAndTheirUndo }
    let real: any FirewallBackend
    let failing: Step
    init(_ real: any FirewallBackend, failing: Step) { self.real = real; self.failing = failing }
    var kind: FirewallBackendKind { real.kind }
    func injected(_ op: OperationName) -> FirewallError { FirewallError(.rejected, operation: op, object: "test", detail: "injected failure") }
    func setUpBase() throws(FirewallError) { try real.setUpBase() }
    func addNetwork(_ n: NetworkRules) throws(FirewallError) {
        try real.addNetwork(n)
        if failing == .addNetwork && !n.bridge.hasPrefix("docker") { throw injected(.addNetworkRules) }
    }
    func removeNetwork(_ n: NetworkRules) throws(FirewallError) { try real.removeNetwork(n) }
    func addPorts(_ e: EndpointPorts) throws(FirewallError) {
        try real.addPorts(e)
        if failing == .addPorts || failing == .addPortsAndTheirUndo { throw injected(.addPortRules) }
    }
    func removePorts(_ e: EndpointPorts) throws(FirewallError) {
        if failing == .addPortsAndTheirUndo { throw injected(.removePortRules) }
        try real.removePorts(e)
    }
    func reapply(_ s: FirewallState) throws(FirewallError) { try real.reapply(s) }
    func removeAll(_ s: FirewallState) throws(FirewallError) { try real.removeAll(s) }
}

@Suite("Rollback of multi-step operations", .enabled(if: Sandbox.isActive))
struct RollbackTests {
    func controller(_ f: Fixture, failing: FailingFirewall.Step) throws -> NetworkController {
        let host = try NetworkNamespace.open(path: "/run/netns/\(f.hostName)")
        let real: any FirewallBackend = f.backend == .iptables ? try IptablesBackend(host: host) : NftablesBackend(host: host)
        let c = try NetworkController(f.configuration, firewall: FailingFirewall(real, failing: failing))
        try c.setUpHost()
        return c
    }

    @Test("a failed create leaves no bridge, no rule, no record", arguments: backends)
    func failedCreate(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try controller(f, failing: .addNetwork)
        let links = try f.linkNames(), rules = try f.ruleset()
        #expect { try c.createNetwork(NetworkOptions(name: "doomed")) } throws: {
            ($0 as? BerthError)?.cause.map { "\($0)" }?.contains("injected failure") == true
        }
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(f.stateFiles("networks").count == 1)
    }

    @Test("a failed attach leaves no veth, no lease, no rule, no namespace", arguments: backends)
    func failedAttach(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try controller(f, failing: .addPorts)
        let links = try f.linkNames(), rules = try f.ruleset()
        let doomed = Sandbox.unique("bt-doomed-")
        #expect {
            try c.attach(network: "bridge", sandbox: .create(name: doomed),
                         options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        } throws: { ($0 as? BerthError)?.code == .system }
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(!Sandbox.namedNamespaces().contains(doomed))
        #expect(f.stateFiles("endpoints").isEmpty)
        // The address was not leased: the next attach gets the first one.
        let ok = try NetworkController(f.configuration)
        let s = try f.sandbox()
        #expect(try ok.attach(network: "bridge", sandbox: .name(s)).cidr == "172.17.0.2/16")
    }

    @Test("a failed undo step is reported with the failure, and the other undo steps still run", arguments: backends)
    func failedUndoIsReported(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try controller(f, failing: .addPortsAndTheirUndo)
        let links = try f.linkNames()
        let doomed = Sandbox.unique("bt-doomed-")
        var caught: BerthError?
        do {
            _ = try c.attach(network: "bridge", sandbox: .create(name: doomed),
                             options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        } catch {
            caught = error
        }
        let error = try #require(caught)
        // The failure itself, as before…
        #expect(error.code == .system && error.operation == .attach)
        guard case .firewall(let cause)? = error.cause else { Issue.record("cause \(String(describing: error.cause))"); return }
        #expect(cause.operation == .addPortRules && cause.detail == "injected failure")
        // …and the undo step that failed while rolling back, kept typed and in the text.
        #expect(error.rollbackFailures.count == 1)
        let undo = try #require(error.rollbackFailures.first)
        #expect(undo.operation == .removePorts)
        if case .firewall(let undoCause)? = undo.cause {
            #expect(undoCause.operation == .removePortRules && undoCause.detail == "injected failure")
        } else {
            Issue.record("rollback failure cause \(String(describing: undo.cause))")
        }
        #expect(error.description.hasPrefix("attach bridge: add port rules test: injected failure; rollback: remove ports "))
        // The later undo steps ran (observed in the kernel and /run/netns): no veth, no namespace, no record.
        #expect(try f.linkNames() == links)
        #expect(!Sandbox.namedNamespaces().contains(doomed))
        #expect(f.stateFiles("endpoints").isEmpty)
    }
}

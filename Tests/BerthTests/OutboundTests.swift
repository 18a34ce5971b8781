import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

@Suite("Façade acceptance: outbound NAT (A09)", .enabled(if: Sandbox.isActive))
struct OutboundTests {
    @Test("A09 outbound masquerade on and off", arguments: backends)
    func outboundNAT(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        let outside = topology.outside
        try c.createNetwork(NetworkOptions(name: "masq"))
        try c.createNetwork(NetworkOptions(name: "plain", masquerade: false))
        let a = try f.sandbox(), b = try f.sandbox()
        try c.attach(network: "masq", sandbox: .name(a))
        let eb = try c.attach(network: "plain", sandbox: .name(b))
        #expect(try Traffic.udpSourceSeen(from: a, to: Topology.outsideAddress, port: 9999, listener: outside) == "10.200.0.1")
        #expect(try Traffic.udpSourceSeen(from: b, to: Topology.outsideAddress, port: 9999, listener: outside) == eb.address.description)
    }
}

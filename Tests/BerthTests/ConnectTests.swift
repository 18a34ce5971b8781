import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

@Suite("Façade: second networks, ports, host guard", .enabled(if: Sandbox.isActive))
struct ConnectTests {
    @Test("a sandbox on two networks: eth0 and eth1, one default route (docker network connect)", arguments: backends)
    func secondNetwork(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "one"))
        try c.createNetwork(NetworkOptions(name: "two"))
        let s = try f.sandbox()
        let e1 = try c.attach(network: "one", sandbox: .name(s))
        let e2 = try c.attach(network: "two", sandbox: .name(s))
        #expect(e1.interfaceName == "eth0" && e2.interfaceName == "eth1")
        #expect(try Sandbox.ipv4Addresses("eth1", netns: s) == ["172.19.0.2/16"])
        let defaults = try Sandbox.ipJSON(["route", "show", "default"], netns: s)
        #expect(defaults.count == 1 && defaults.first?["gateway"] as? String == "172.18.0.1")
        #expect(try Sandbox.ping(from: s, "172.19.0.1"))
        try c.detach(endpoint: e2.id)
        #expect(try Sandbox.link("eth1", netns: s) == nil)
        #expect(try Sandbox.link("eth0", netns: s) != nil)
    }

    @Test("a host port is published once (port is already allocated)")
    func portAllocated() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let a = try f.sandbox(), b = try f.sandbox()
        try c.attach(network: "bridge", sandbox: .name(a), options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        let rules = try f.ruleset()
        #expect {
            try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 81)]))
        } throws: { ($0 as? BerthError)?.code == .portAllocated }
        #expect(try f.ruleset() == rules)
        #expect(try Sandbox.linkNames(netns: b) == ["lo"])
        // Another protocol on the same number is a different port.
        #expect(throws: Never.self) {
            try c.attach(network: "bridge", sandbox: .name(b), options: AttachOptions(ports: [PortMapping(proto: .udp, hostPort: 8080, containerPort: 80)]))
        }
    }

    @Test("an unrecorded veth of ours (a crash before the record was written) is removed on open")
    func orphanVethRemoved() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let s = try f.sandbox()
        let e = try c.attach(network: "bridge", sandbox: .name(s))
        // The record is lost, as after a crash before it reached the disk.
        try FileManager.default.removeItem(atPath: "\(f.stateDirectory)/endpoints/\(e.id).json")
        _ = try f.controller()
        #expect(try Sandbox.link(e.hostInterface, netns: f.hostName) == nil)
        #expect(try Sandbox.link("eth0", netns: s) == nil)
        // The address is free again.
        #expect(try c.attach(network: "bridge", sandbox: .name(s)).cidr == "172.17.0.2/16")
    }

    @Test("the host namespace cannot be a sandbox")
    func hostIsNotASandbox() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        let links = try f.linkNames()
        #expect { try c.attach(network: "bridge", sandbox: .name(f.hostName)) } throws: { ($0 as? BerthError)?.code == .invalidArgument }
        #expect(try f.linkNames() == links)
    }
}

import Berth
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

@Suite("Façade: hairpin mode (userland-proxy=false)")
struct HairpinOptionTests {
    @Test func driverOptionAndLegacyRecords() throws {
        var o = NetworkOptions(name: "n")
        #expect(o.hairpin == false)
        try o.apply(option: "com.docker.network.bridge.hairpin", value: "true")
        #expect(o.hairpin)
        try o.apply(option: "com.docker.network.bridge.hairpin", value: "0")
        #expect(!o.hairpin)
        #expect(throws: BerthError.self) { try o.apply(option: "com.docker.network.bridge.hairpin", value: "maybe") }
        // A network record written before the field existed decodes with hairpin off.
        let json = #"{"id":"\#(String(repeating: "a", count: 64))","name":"old","bridge":"br-aaaaaaaaaaaa","subnet":"172.18.0.0/16","#
            + #""gateway":"172.18.0.1","isInternal":false,"icc":true,"masquerade":true,"labels":{},"#
            + #""bridgeMAC":"02:42:ac:12:00:01","created":"2024-01-01T00:00:00.000Z","isDefault":false,"ownsBridge":true}"#
        let network = try JSONDecoder().decode(Network.self, from: Data(json.utf8))
        #expect(network.hairpin == false)
        #expect(network.firewallRules.hairpin == false)
        #expect(try JSONDecoder().decode(Network.self, from: try JSONEncoder().encode(network)) == network)
    }
}

/// Docker's two modes (issue 13): every probe of the issue's table, with the result a real
/// dockerd 20.10 gives in that mode, on both backends.
@Suite("Façade acceptance: userland proxy on and off", .enabled(if: Sandbox.isActive), .serialized)
struct UserlandProxyModeTests {
    static let modes: [(FirewallBackendKind, Bool)] = [(.iptables, true), (.iptables, false), (.nftables, true), (.nftables, false)]
    static let hostAddress = Topology.hostUplinkAddress

    @Test("probes: localhost, loopback-bound port, host address, hairpin, other network, neighbour", arguments: modes)
    func probes(_ backend: FirewallBackendKind, _ proxy: Bool) throws {
        let f = try Fixture(backend, userlandProxy: proxy)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        let netA = try c.createNetwork(NetworkOptions(name: "pa"))
        _ = try c.createNetwork(NetworkOptions(name: "pb"))
        let before = try f.ruleset()
        let a = try f.sandbox(), b = try f.sandbox()
        let ports = [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80),
                     PortMapping(proto: .tcp, hostIP: IPv4Address("127.0.0.1"), hostPort: 8081, containerPort: 81)]
        let ea = try c.attach(network: "pa", sandbox: .name(a), options: AttachOptions(ports: ports))
        let eb = try c.attach(network: "pb", sandbox: .name(b))
        let web = try TCPServer(in: a, port: 80, reply: .text("berth"))
        defer { web.stop() }
        let local = try TCPServer(in: a, port: 81, reply: .text("local"))
        defer { local.stop() }

        #expect(try Traffic.tcpFetch(from: f.hostName, "127.0.0.1", 8080) == "berth", "host → 127.0.0.1:8080")
        #expect(try Traffic.tcpFetch(from: f.hostName, "127.0.0.1", 8081) == "local", "-p 127.0.0.1:8081:81 from the host")
        #expect(try Traffic.tcpFetch(from: f.hostName, Self.hostAddress, 8080) == "berth", "host → host address")
        #expect(try Traffic.tcpFetch(from: topology.outside, Self.hostAddress, 8080) == "berth", "neighbour namespace")
        #expect(try Traffic.tcpFetch(from: a, Self.hostAddress, 8080) == "berth", "hairpin: own published port")
        // Docker: through docker-proxy with the proxy on; isolated with --userland-proxy=false.
        let other = try Traffic.tcpFetch(from: b, Self.hostAddress, 8080, attempts: proxy ? 30 : 3)
        #expect(other == (proxy ? "berth" : nil), "another network's sandbox → the published port")
        #expect(try Traffic.tcpFetch(from: b, ea.address.description, 80, attempts: 2) == nil, "direct B → A stays isolated")

        let recorded = try #require(c.endpoints(network: "pa").first)
        if proxy {
            // Docker 20.10: two docker-proxy processes for -p 8080:80 (0.0.0.0 and ::, the ::
            // one to the container's IPv4 address), one for -p 127.0.0.1:8081:81.
            let running = recorded.proxies ?? []
            let sixOf8080 = PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80, hostIP6: IPv6Address("::"))
            #expect(Set(running.map(\.port)) == Set(ea.ports + [sixOf8080]))
            #expect(running.count == 3)
            #expect(try Traffic.tcpFetch(from: f.hostName, "::1", 8080) == "berth", "host → [::1]:8080 (the :: proxy)")
            #expect(try Traffic.tcpFetch(from: f.hostName, "::1", 8081, attempts: 2) == nil, "-p 127.0.0.1:8081:81 has no :: proxy")
            #expect(running.allSatisfy { $0.process.isAlive })
            #expect(try Sandbox.exec(f.hostName, ["cat", "/proc/sys/net/ipv4/conf/\(netA.bridge)/route_localnet"]).stdout == "0\n")
        } else {
            #expect(recorded.proxies == nil)
            for bridge in [netA.bridge, "docker0"] {
                #expect(try Sandbox.exec(f.hostName, ["cat", "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"]).stdout == "1\n", "\(bridge)")
            }
            #expect(try Sandbox.bridgePort(ea.hostInterface, netns: f.hostName)?["hairpin"] as? Bool == true)
            if backend == .iptables {
                let nat = try f.iptables("-t", "nat", "-S")
                #expect(nat.contains("-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER\n"))
                #expect(nat.contains("-A POSTROUTING -o \(netA.bridge) -m addrtype --src-type LOCAL -j MASQUERADE"))
            }
        }

        try c.detach(endpoint: ea.id)
        try c.detach(endpoint: eb.id)
        #expect((recorded.proxies ?? []).allSatisfy { !$0.process.isAlive }, "proxies gone after detach")
        #expect(try f.ruleset() == before, "ruleset byte-identical after detach")
        try c.deleteNetwork("pa")
        try c.deleteNetwork("pb")
    }

    @Test("a host port another program holds is portAllocated, nothing changed", arguments: backends)
    func portTakenByAnotherProgram(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        _ = try c.createNetwork(NetworkOptions(name: "pt"))
        let squatter = try TCPServer(in: f.hostName, port: 9090, reply: .text("mine"))
        defer { squatter.stop() }
        let rules = try f.ruleset(), links = try f.linkNames()
        let s = try f.sandbox()
        do {
            try c.attach(network: "pt", sandbox: .name(s), options: AttachOptions(ports: [PortMapping(hostPort: 9090, containerPort: 80)]))
            Issue.record("attach took a port another program holds")
        } catch {
            #expect(error.code == .portAllocated, "\(error)")
            #expect(error.description.contains("9090"), "\(error)")
        }
        #expect(try f.ruleset() == rules)
        #expect(try f.linkNames() == links)
        #expect(try c.endpoints().isEmpty)
        #expect(f.stateFiles("intents").isEmpty)
    }

    @Test("a killed proxy is restarted and an unrecorded one stopped by the next reconcile", arguments: backends)
    func reconcilerRestartsAndStops(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        _ = try c.createNetwork(NetworkOptions(name: "pk"))
        let s = try f.sandbox()
        let e = try c.attach(network: "pk", sandbox: .name(s), options: AttachOptions(ports: [PortMapping(proto: .udp, hostPort: 5353, containerPort: 53),
                                                                                              PortMapping(hostPort: 8080, containerPort: 80)]))
        let web = try TCPServer(in: s, port: 80, reply: .text("berth"))
        defer { web.stop() }
        let first = try #require(c.endpoints().first?.proxies)
        #expect(first.count == 4, "0.0.0.0 and :: for each binding, as Docker 20.10")
        // kill -9 of one proxy: the next reconcile starts a new one for its binding.
        let victim = try #require(first.first { $0.port.proto == .tcp && $0.port.hostIP6 == nil })
        kill(victim.process.pid, SIGKILL)
        while victim.process.isAlive { usleep(1_000) }
        let report = try c.reconcile()
        #expect(report.repaired.contains { $0.kind == "proxy" && $0.name == "8080/tcp" }, "\(report)")
        let second = try #require(c.endpoints().first?.proxies)
        #expect(second.count == 4 && second.allSatisfy { $0.process.isAlive } && !second.contains(victim))
        #expect(Set(second.map(\.port)) == Set(first.map(\.port)))
        #expect(try Traffic.tcpFetch(from: f.hostName, "127.0.0.1", 8080) == "berth")
        // A proxy whose starter died before writing the record (same mark, no record): stopped.
        let orphanArgv = [BerthProxyBinary.path, "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8099", "-container-ip", "172.18.0.9",
                          "-container-port", "80", "-berth-state", try realPath(f.stateDirectory), "-berth-endpoint", String(repeating: "f", count: 64)]
        let orphan = try #require(try Self.spawnInHost(f, orphanArgv))
        let report2 = try c.reconcile()
        #expect(report2.removed.contains { $0.kind == "proxy" && $0.name == "pid \(orphan.pid)" }, "\(report2)")
        #expect(!orphan.isAlive)
        #expect(try c.reconcile() == GCReport(dryRun: false))
        try c.detach(endpoint: e.id)
        #expect(second.allSatisfy { !$0.process.isAlive })
    }

    @Test("switching the mode reprograms rules and proxies at the next change", arguments: backends)
    func modeSwitch(_ backend: FirewallBackendKind) throws {
        let on = try Fixture(backend)
        let c = try on.controller()
        _ = try c.createNetwork(NetworkOptions(name: "ms"))
        let s = try on.sandbox()
        _ = try c.attach(network: "ms", sandbox: .name(s), options: AttachOptions(ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        let proxies = try #require(try c.endpoints().first?.proxies)
        let web = try TCPServer(in: s, port: 80, reply: .text("berth"))
        defer { web.stop() }
        var offConfig = on.configuration
        offConfig.userlandProxy = false
        let off = try NetworkController(offConfig)
        _ = try off.createNetwork(NetworkOptions(name: "ms2"))
        #expect(proxies.allSatisfy { !$0.process.isAlive }, "proxies stopped by the switch")
        #expect(try off.endpoints(network: "ms").first?.proxies == nil)
        #expect(try Traffic.tcpFetch(from: on.hostName, "127.0.0.1", 8080) == "berth", "served by the --userland-proxy=false rules")
        let afterSwitch = try off.reconcile()
        #expect(afterSwitch == GCReport(dryRun: false), "\(afterSwitch)")
        // And back: the proxy is started again.
        let back = try NetworkController(on.configuration)
        try back.deleteNetwork("ms2")
        #expect(try back.endpoints(network: "ms").first?.proxies?.count == 2, "0.0.0.0 and ::")
        #expect(try back.reconcile() == GCReport(dryRun: false))
    }

    /// A proxy started as the library starts one (detached, in the host namespace), without a record.
    static func spawnInHost(_ f: Fixture, _ argv: [String]) throws -> ProcessOwner? {
        let pid = try ProcessRunner.spawnDetached(argv, in: f.host.namespace)
        return ProcessOwner.of(pid)
    }
}

func realPath(_ path: String) throws -> String {
    URL(fileURLWithPath: path).resolvingSymlinksInPath().path
}

import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// Micro-VM endpoints (issue 16): the test plays the guest on the TAP's fds, the kernel and
/// iproute2 are the observers.
@Suite("TAP endpoints for micro-VMs (issue 16)", .enabled(if: Sandbox.isActive))
struct TapTests {
    /// True once `condition` holds, polling for up to 3 s.
    static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<60 {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    private func tapLink(_ f: Fixture, _ name: String) throws -> [String: Any]? {
        (try? Sandbox.ipJSON(["-d", "link", "show", name], netns: f.hostName))?.first
    }

    @Test("persistent TAP on the bridge: guest ARPs and pings the gateway; a veth sandbox pings the guest; detach removes it", arguments: backends)
    func persistent(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let net = try c.createNetwork(NetworkOptions(name: "vms", subnet: "10.77.0.0/24", mtu: 1400))
        let a = try c.attach(network: "vms", tap: TapOptions(name: "vmtap%d", owner: 4242))
        #expect(a.fds.isEmpty)
        #expect(a.guest.tap == "vmtap0")
        #expect(a.guest.address.description == "10.77.0.2" && a.guest.prefixLength == 24)
        #expect(a.guest.mac.description == "02:42:0a:4d:00:02")
        #expect(a.guest.gateway.description == "10.77.0.1" && a.guest.mtu == 1400)
        #expect(a.guest.bootParameter == "ip=10.77.0.2::10.77.0.1:255.255.255.0::eth0:off")
        // iproute2 sees a persistent TAP with vnet_hdr, owner 4242, on the bridge, MTU 1400, up.
        let link = try #require(try tapLink(f, "vmtap0"))
        let info = try #require((link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any])
        #expect(info["type"] as? String == "tap" && info["pi"] as? Bool == false && info["vnet_hdr"] as? Bool == true)
        #expect(info["persist"] as? Bool == true && info["multi_queue"] as? Bool == false && info["user"] as? Int == 4242)
        #expect(link["master"] as? String == net.bridge && link["mtu"] as? Int == 1400)
        #expect((link["flags"] as? [String])?.contains("UP") == true)
        #expect(link["address"] as? String != a.guest.mac.description)
        // The guest opens it by name, as Firecracker does.
        let fds = try GuestTap.open(name: "vmtap0", netnsPath: f.host.path)
        defer { for fd in fds { close(fd) } }
        let guest = GuestTap(fds: fds, mac: a.guest.mac.description, address: a.guest.address.description)
        let gatewayMAC = try #require(try guest.resolve("10.77.0.1"))
        #expect(gatewayMAC.map { String(format: "%02x", $0) }.joined(separator: ":") == net.bridgeMAC.description)
        try guest.write(guest.echoRequest(to: "10.77.0.1", via: gatewayMAC))
        #expect(guest.read { GuestTap.isEchoReply($0, from: "10.77.0.1") } != nil)
        // A veth sandbox on the same network pings the guest; the test answers from the TAP fd.
        let s = try f.sandbox()
        try c.attach(network: "vms", sandbox: .name(s))
        let pinged = ThreadResult()
        let pinger = Thread { pinged.set((try? Sandbox.ping(from: s, "10.77.0.2")) == true ? "yes" : "no") }
        pinger.start()
        #expect(guest.read(timeout: 4) { f in f.count > 34 && f[23] == 1 && f[34] == 8 } != nil)
        guest.read(timeout: 1.5) { _ in false }  // keep answering until ping has its reply
        #expect(pinged.wait() == "yes")
        // Detach: unplugged at once (name free), deleted by the reclaimer; a second detach is success.
        try c.detach(endpoint: a.endpoint.id)
        #expect(try tapLink(f, "vmtap0") == nil)
        try c.drain()
        #expect(try f.linkNames().allSatisfy { !$0.hasPrefix("berthtap") && !$0.hasPrefix("vmtap") })
        #expect(try c.detach(endpoint: a.endpoint.id) == false)
    }

    @Test("fd custody, multiqueue: one fd per queue, frames on each, the TAP dies with the last fd and the reconciler releases it", arguments: backends)
    func fdCustodyMultiqueue(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "mq", subnet: "10.78.0.0/24"))
        let a = try c.attach(network: "mq", tap: TapOptions(name: "mqtap", queues: 4, custody: .fd))
        #expect(a.fds.count == 4)
        for fd in a.fds { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0) }
        let info = try #require(((try tapLink(f, "mqtap"))?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any])
        #expect(info["multi_queue"] as? Bool == true && info["persist"] as? Bool == false)
        let guest = GuestTap(fds: a.fds, mac: a.guest.mac.description, address: a.guest.address.description)
        for q in 0..<4 {
            try guest.write(guest.arpRequest(for: "10.78.0.1"), queue: q)
            #expect(guest.read { GuestTap.isARPReply($0, from: [10, 78, 0, 1]) } != nil, "queue \(q)")
        }
        // A VMM opening it by name without IFF_MULTI_QUEUE gets the kernel's EINVAL, typed.
        #expect(throws: (any Error).self) { try GuestTap.open(name: "mqtap", netnsPath: f.host.path) }
        do { _ = try GuestTap.open(name: "mqtap", netnsPath: f.host.path); Issue.record("opened") } catch {
            #expect("\(error)".contains("IFF_MULTI_QUEUE"))
        }
        // A second attach of the name, single-queue: refused, naming the flag; nothing changed.
        let before = try f.ruleset()
        do {
            _ = try c.attach(network: "mq", tap: TapOptions(name: "mqtap"))
            Issue.record("second attach succeeded")
        } catch {
            #expect(error.code == .tapFlagMismatch)
            #expect(error.description.contains("IFF_MULTI_QUEUE is on (asked off)"))
        }
        #expect(try f.ruleset() == before)
        #expect(try c.endpoints(network: "mq").count == 1)
        // The caller closes its fds: the device is gone; the reconciler releases the record.
        for fd in a.fds { close(fd) }
        // A child another test is spawning may hold a copy of the fds until its exec (O_CLOEXEC
        // closes them there), so the last reference can go a moment after our close.
        #expect(Self.eventually { (try? tapLink(f, "mqtap")) == nil })
        let report = try c.reconcile()
        #expect(report.removed.contains { $0.kind == "endpoint" && $0.reason == "tap mqtap is gone" })
        #expect(try c.endpoints(network: "mq").isEmpty)
        #expect(try c.detach(endpoint: a.endpoint.id) == false)
    }

    @Test("single-queue fd custody: a second attach is the kernel's EBUSY, typed (tapBusy)")
    func busy() throws {
        let f = try Fixture(.iptables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "sq", subnet: "10.79.0.0/24"))
        let a = try c.attach(network: "sq", tap: TapOptions(name: "sqtap", custody: .fd))
        defer { for fd in a.fds { close(fd) } }
        do { _ = try GuestTap.open(name: "sqtap", netnsPath: f.host.path); Issue.record("opened") } catch {
            #expect("\(error)".contains("single-queue"))
        }
        do {
            _ = try c.attach(network: "sq", tap: TapOptions(name: "sqtap", custody: .fd))
            Issue.record("second attach succeeded")
        } catch {
            #expect(error.code == .tapBusy, "\(error)")
        }
        // Persistent and ownerless: any opener may attach once Berth's fd is closed.
        let p = try c.attach(network: "sq", tap: TapOptions(name: "sqp"))
        let fds = try GuestTap.open(name: "sqp", netnsPath: f.host.path)
        for fd in fds { close(fd) }
        try c.detach(endpoint: p.endpoint.id)
    }

    @Test("firewall rules keyed on the guest: another network cannot reach it, masquerade outbound, a published port DNATs into the TAP", arguments: backends)
    func firewall(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let topology = try Topology(host: f.hostName)
        defer { topology.close() }
        try c.createNetwork(NetworkOptions(name: "vm", subnet: "10.80.0.0/24"))
        try c.createNetwork(NetworkOptions(name: "other", subnet: "10.81.0.0/24"))
        let a = try c.attach(network: "vm", tap: TapOptions(name: "fwtap", custody: .fd, ports: [PortMapping(hostPort: 8080, containerPort: 80)]))
        defer { for fd in a.fds { close(fd) } }
        let guest = GuestTap(fds: a.fds, mac: a.guest.mac.description, address: a.guest.address.description)
        let gw = try #require(try guest.resolve("10.80.0.1"))
        // Isolation: a sandbox of another network sends nothing that reaches the TAP.
        let o = try f.sandbox()
        try c.attach(network: "other", sandbox: .name(o))
        #expect(try Sandbox.ping(from: o, "10.80.0.2") == false)
        #expect(guest.read(timeout: 0.5) { guest.isIPv4ToGuest($0, proto: 1) } == nil)
        // Masquerade: the neighbour namespace sees the host's uplink address.
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        listener.arguments = ["ip", "netns", "exec", topology.outside, "python3", "-c",
                              "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('\(Topology.outsideAddress)',9999));"
                              + "print('ready',flush=True);s.settimeout(5);d,a=s.recvfrom(64);print(a[0],flush=True)"]
        let pipe = Pipe()
        listener.standardOutput = pipe
        try listener.run()
        var text = ""
        while !text.contains("ready\n") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        for _ in 0..<3 {
            try guest.write(guest.udp(to: Topology.outsideAddress, port: 9999, via: gw, Array("hi".utf8)))
            usleep(100_000)
        }
        text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        listener.waitUntilExit()
        #expect(text.split(separator: "\n").last == "10.200.0.1")
        // A published port: a connection from the neighbour to the host's 8080 arrives as a SYN to guest:80.
        let outside = topology.outside
        let client = Thread { _ = try? Traffic.tcpFetch(from: outside, Topology.hostUplinkAddress, 8080, attempts: 3) }
        client.start()
        #expect(guest.read(timeout: 5) { guest.isSYN($0, port: 80) } != nil)
        try c.detach(endpoint: a.endpoint.id)
        #expect(!(try f.ruleset()).contains("10.80.0.2"))
    }

    @Test("bad input: typed errors, nothing changed")
    func badInput() throws {
        let f = try Fixture(.nftables)
        let c = try f.controller()
        let net = try c.createNetwork(NetworkOptions(name: "bad", subnet: "10.82.0.0/24"))
        let links = try f.linkNames(), rules = try f.ruleset()
        let cases: [(TapOptions, BerthError.Code, String)] = [
            (TapOptions(name: "a-name-too-long-x"), .invalidInterfaceName, "longer than 15 bytes"),
            (TapOptions(name: "vm%d%d"), .invalidInterfaceName, "one '%d'"),
            (TapOptions(name: "vm%s"), .invalidInterfaceName, "one '%d'"),
            (TapOptions(name: ""), .invalidInterfaceName, ""),
            (TapOptions(name: "vm0", queues: 0), .invalidArgument, "queues must be 1–256"),
            (TapOptions(name: "vm0", queues: 257), .invalidArgument, "queues must be 1–256"),
            (TapOptions(name: net.bridge), .interfaceInUse, "a bridge named"),
            (TapOptions(name: "vm0", address: "10.99.0.5"), .addressOutsideSubnet, ""),
        ]
        for (options, code, text) in cases {
            do {
                _ = try c.attach(network: "bad", tap: options)
                Issue.record("\(options.name) accepted")
            } catch {
                #expect(error.code == code, "\(options.name): \(error)")
                #expect(text.isEmpty || error.description.contains(text), "\(error)")
            }
        }
        #expect(try f.linkNames() == links)
        #expect(try f.ruleset() == rules)
        #expect(try c.endpoints(network: "bad").isEmpty)
    }
}

/// tc-redirect mode (issue 16): the TAP inside a sandbox, joined to the sandbox's veth by tc.
@Suite("TAP endpoints: tc-redirect mode", .enabled(if: Sandbox.isActive))
struct TapRedirectTests {
    @Test("a frame written to the TAP leaves through the veth and the answer comes back; tc -j shows the qdiscs and filters; detach removes them", arguments: backends)
    func redirect(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "kata", subnet: "10.85.0.0/24", mtu: 1450))
        let jail = try f.sandbox()
        let a = try c.attach(network: "kata", tap: TapOptions(name: "tap%d", sandbox: .name(jail), custody: .fd))
        defer { for fd in a.fds { close(fd) } }
        #expect(a.endpoint.tap?.mode == .tcRedirect && a.guest.tap == "tap0")
        // The guest takes over the veth's MAC and address.
        let eth0 = try #require(try Sandbox.ipJSON(["link", "show", "eth0"], netns: jail).first)
        #expect(eth0["address"] as? String == a.guest.mac.description && a.guest.address.description == "10.85.0.2")
        #expect(a.guest.bootParameter == "ip=10.85.0.2::10.85.0.1:255.255.255.0::eth0:off" && a.guest.mtu == 1450)
        let tapLink = try #require(try Sandbox.ipJSON(["link", "show", "tap0"], netns: jail).first)
        #expect(tapLink["mtu"] as? Int == 1450)
        // Independent observers: tc's own JSON.
        for dev in ["eth0", "tap0"] {
            let qdiscs = try JSONSerialization.jsonObject(with: Data(try Sandbox.exec(jail, ["tc", "-j", "qdisc", "show", "dev", dev]).stdout.utf8)) as? [[String: Any]] ?? []
            #expect(qdiscs.contains { $0["kind"] as? String == "ingress" }, "\(dev): \(qdiscs)")
            let filters = try Sandbox.exec(jail, ["tc", "-j", "filter", "show", "dev", dev, "ingress"]).stdout
            let target = dev == "eth0" ? "tap0" : "eth0"
            #expect(filters.contains("\"kind\":\"u32\"") && filters.contains("\"kind\":\"mirred\"") && filters.contains("\"to_dev\":\"\(target)\""), "\(dev): \(filters)")
        }
        // The guest ARPs and pings the gateway through the veth; a neighbour pings the guest.
        let guest = GuestTap(fds: a.fds, mac: a.guest.mac.description, address: a.guest.address.description)
        let gw = try #require(try guest.resolve("10.85.0.1"))
        try guest.write(guest.echoRequest(to: "10.85.0.1", via: gw))
        #expect(guest.read { GuestTap.isEchoReply($0, from: "10.85.0.1") } != nil)
        let s = try f.sandbox()
        try c.attach(network: "kata", sandbox: .name(s))
        let pinged = ThreadResult()
        let pinger = Thread { pinged.set((try? Sandbox.ping(from: s, "10.85.0.2")) == true ? "yes" : "no") }
        pinger.start()
        guest.read(timeout: 2.5) { _ in false }
        #expect(pinged.wait() == "yes")
        // Detach: the TAP and the veth's qdisc go, the veth endpoint too.
        try c.detach(endpoint: a.endpoint.id)
        #expect(try Sandbox.linkNames(netns: jail).filter { $0.hasPrefix("tap") }.isEmpty)
        let left = try Sandbox.exec(jail, ["tc", "-j", "qdisc", "show"]).stdout
        #expect(!left.contains("\"ingress\""), "\(left)")
        #expect(try c.detach(endpoint: a.endpoint.id) == false)
    }

    @Test("fd custody in tc-redirect mode: the caller closes the fds, the TAP is gone and the reconciler releases the endpoint")
    func redirectVanishes() throws {
        let f = try Fixture(.nftables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "kv", subnet: "10.86.0.0/24"))
        let jail = try f.sandbox()
        let a = try c.attach(network: "kv", tap: TapOptions(name: "vmtap", sandbox: .name(jail), queues: 2, custody: .fd))
        #expect(a.fds.count == 2)
        for fd in a.fds { close(fd) }
        #expect(TapTests.eventually { (try? Sandbox.linkNames(netns: jail).contains("vmtap")) == false })
        let report = try c.reconcile()
        #expect(report.removed.contains { $0.kind == "endpoint" && $0.reason == "tap vmtap is gone" })
        #expect(try c.endpoints(network: "kv").isEmpty)
        #expect(try Sandbox.linkNames(netns: jail) == ["lo"])
    }

    /// Trial of 2026-12-02: `detach NETWORK TAP` did nothing for a tc-redirect TAP ("nothing
    /// attached"), and a name that fits a netns and a bridge-mode TAP detached one at random.
    @Test("detach by TAP name finds a tc-redirect TAP; a name fitting two endpoints is refused")
    func detachByTapName() throws {
        let f = try Fixture(.nftables)
        let c = try f.controller()
        try c.createNetwork(NetworkOptions(name: "kn", subnet: "10.87.0.0/24"))
        let jail = try f.sandbox()
        let redirected = try c.attach(network: "kn", tap: TapOptions(name: "rtap", sandbox: .name(jail)))
        #expect(try c.detach(network: "kn", sandbox: .name("rtap")))
        #expect(try c.endpoints(network: "kn").isEmpty)
        #expect(!(try Sandbox.linkNames(netns: jail).contains("rtap")))
        _ = redirected
        // A netns and a bridge-mode TAP with the same name on one network.
        let s = try f.sandbox()
        try c.attach(network: "kn", sandbox: .name(s))
        try c.attach(network: "kn", tap: TapOptions(name: s))
        let before = try c.endpoints(network: "kn").map(\.id).sorted()
        let error = #expect(throws: BerthError.self) { try c.detach(network: "kn", sandbox: .name(s)) }
        #expect(error?.code == .invalidArgument && error?.description.contains("endpoint ID") == true, "\(String(describing: error))")
        #expect(try c.endpoints(network: "kn").map(\.id).sorted() == before)
        for id in before { try c.detach(endpoint: id) }
    }
}

@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// A scratch "host" namespace with a route session in it, for one test.
struct HostNamespace {
    let scratch: ScratchNamespace
    let session: NetlinkSession

    var name: String { scratch.name }
    var namespace: NetworkNamespace { scratch.namespace }

    init() throws {
        scratch = try ScratchNamespace(prefix: "bt-host-")
        session = try NetlinkSession.route(in: scratch.namespace)
    }
}

@Suite("Netlink layer: kernel", .enabled(if: Sandbox.isActive))
struct KernelLinkTests {
    @Test func bridgeWithAddressSeenByIproute2() throws {
        let host = try HostNamespace()
        let before = try Sandbox.linkNames(netns: host.name)
        let br = try host.session.createBridge(name: "br-test", mtu: 1400, up: true)
        #expect(br.kind == "bridge" && br.mtu == 1400 && br.isUp)
        let subnet = try #require(IPv4Subnet("10.88.0.1/16"))
        try host.session.addAddress(InterfaceAddress(address: .v4(subnet.address), prefixLength: 16, linkIndex: br.index,
                                                     broadcast: subnet.broadcast))
        let shown = try #require(try Sandbox.link("br-test", netns: host.name))
        #expect((shown["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")
        #expect(shown["mtu"] as? Int == 1400)
        #expect((shown["flags"] as? [String])?.contains("UP") == true)
        #expect(try Sandbox.ipv4Addresses("br-test", netns: host.name) == ["10.88.0.1/16"])
        let addrJSON = try Sandbox.ipJSON(["-4", "addr", "show", "dev", "br-test"], netns: host.name)
        let info = (addrJSON.first?["addr_info"] as? [[String: Any]])?.first
        #expect(info?["broadcast"] as? String == "10.88.255.255")
        // Our own listing agrees.
        #expect(try host.session.addresses(family: RTNL.AF_INET, linkIndex: br.index).map { "\($0.address)/\($0.prefixLength)" } == ["10.88.0.1/16"])
        try host.session.deleteLink(named: "br-test")
        #expect(try Sandbox.linkNames(netns: host.name) == before)
    }

    /// NLM_F_ECHO on the veth creation (issue 11): the kernel's echo of the host end carries the
    /// peer's ifindex in the sandbox (IFLA_LINK), so attach needs no RTM_GETLINK there. Without
    /// echo nothing is returned.
    @Test func vethCreationEchoCarriesThePeerIndexInsideTheSandbox() throws {
        let host = try HostNamespace()
        let sandboxName = Sandbox.unique("bt-sbx-")
        let sandbox = try NetworkNamespace.create(name: sandboxName)
        defer { try? NetworkNamespace.delete(name: sandboxName) }
        let echoed = try #require(try host.session.createVeth(name: "vethecho0", peer: VethPeer(name: "eth0", namespaceFD: sandbox.fileDescriptor),
                                                             up: true, echo: true))
        #expect(echoed.name == "vethecho0" && echoed.kind == "veth")
        let shown = try #require(try Sandbox.link("eth0", netns: sandboxName))
        #expect(echoed.peerIndex == (shown["ifindex"] as? Int).map(Int32.init))
        #expect(try host.session.createVeth(name: "vethecho1", peer: VethPeer(name: "eth1", namespaceFD: sandbox.fileDescriptor)) == nil)
        try host.session.deleteLink(named: "vethecho0")
        try host.session.deleteLink(named: "vethecho1")
    }

    @Test func vethPeerIsEth0InsideNewNamedNamespaceWithAddressAndDefaultRoute() throws {
        let host = try HostNamespace()
        let before = try Sandbox.linkNames(netns: host.name)
        let sandboxName = Sandbox.unique("bt-sbx-")
        let sandbox = try NetworkNamespace.create(name: sandboxName)
        defer { try? NetworkNamespace.delete(name: sandboxName) }
        let br = try host.session.createBridge(name: "br-v", up: true)
        try host.session.addAddress(InterfaceAddress(address: .v4(try #require(IPv4Address("10.89.0.1"))), prefixLength: 16, linkIndex: br.index))
        let mac = try #require(MACAddress("02:42:0a:59:00:02"))
        try host.session.createVeth(name: "vethtest01", peer: VethPeer(name: "eth0", namespaceFD: sandbox.fileDescriptor, mac: mac),
                                    masterIndex: br.index, up: true)
        // The peer never appears in the host.
        #expect(try !Sandbox.linkNames(netns: host.name).contains("eth0"))
        let inside = try NetlinkSession.route(in: sandbox)
        let eth0 = try inside.link(named: "eth0")
        try inside.setUp("eth0")
        try inside.addAddress(InterfaceAddress(address: .v4(try #require(IPv4Address("10.89.0.2"))), prefixLength: 16, linkIndex: eth0.index))
        try inside.setUp("lo")
        try inside.addRoute(.defaultRoute(via: .v4(try #require(IPv4Address("10.89.0.1"))), outputIndex: eth0.index))

        let shown = try #require(try Sandbox.link("eth0", netns: sandboxName))
        #expect((shown["linkinfo"] as? [String: Any])?["info_kind"] as? String == "veth")
        #expect(shown["address"] as? String == "02:42:0a:59:00:02")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: sandboxName) == ["10.89.0.2/16"])
        let routes = try Sandbox.ipJSON(["route", "show", "default"], netns: sandboxName)
        #expect(routes.first?["gateway"] as? String == "10.89.0.1" && routes.first?["dev"] as? String == "eth0")
        let bridgeLinks = try Sandbox.run(["bridge", "-n", host.name, "-j", "link", "show"]).stdout
        #expect(bridgeLinks.contains("\"vethtest01\"") && bridgeLinks.contains("\"master\":\"br-v\""))
        // Our routes listing agrees.
        #expect(try inside.routes().contains { $0.destination == nil && $0.gateway?.description == "10.89.0.1" })

        try host.session.deleteLink(named: "vethtest01")
        #expect(try !Sandbox.linkNames(netns: sandboxName).contains("eth0"))
        try host.session.deleteLink(named: "br-v")
        #expect(try Sandbox.linkNames(netns: host.name) == before)
    }

    @Test func twoNamespacesOnOneBridgePingEachOther() throws {
        let host = try HostNamespace()
        let br = try host.session.createBridge(name: "br-ping", up: true)
        var names: [String] = []
        defer { for n in names { try? NetworkNamespace.delete(name: n) } }
        for i in 2...3 {
            let name = Sandbox.unique("bt-p\(i)-")
            let ns = try NetworkNamespace.create(name: name)
            names.append(name)
            try host.session.createVeth(name: "vping\(i)", peer: VethPeer(name: "eth0", namespaceFD: ns.fileDescriptor),
                                        masterIndex: br.index, up: true)
            let s = try NetlinkSession.route(in: ns)
            let eth0 = try s.link(named: "eth0")
            try s.addAddress(InterfaceAddress(address: .v4(IPv4Address(10, 90, 0, UInt8(i))), prefixLength: 24, linkIndex: eth0.index))
            try s.setUp("lo")
            try s.setUp("eth0")
        }
        #expect(try Sandbox.ping(from: names[0], "10.90.0.3"))
        #expect(try Sandbox.ping(from: names[1], "10.90.0.2"))
        try host.session.deleteLink(named: "vping2")
        try host.session.deleteLink(named: "vping3")
        try host.session.deleteLink(named: "br-ping")
        #expect(try Sandbox.linkNames(netns: host.name) == ["lo"])
    }

    @Test func linkChangesAreSeenByIproute2() throws {
        let host = try HostNamespace()
        let other = try HostNamespace()
        try host.session.createBridge(name: "br-a")
        try host.session.createVeth(name: "vchg0", peer: VethPeer(name: "vchg1"))
        try host.session.setMaster("vchg0", bridge: "br-a")
        #expect(try Sandbox.link("vchg0", netns: host.name)?["master"] as? String == "br-a")
        try host.session.setNoMaster("vchg0")
        #expect(try Sandbox.link("vchg0", netns: host.name)?["master"] == nil)
        try host.session.setMTU("vchg0", 1280)
        #expect(try Sandbox.link("vchg0", netns: host.name)?["mtu"] as? Int == 1280)
        try host.session.setMAC("vchg0", try #require(MACAddress("02:00:00:00:00:aa")))
        #expect(try Sandbox.link("vchg0", netns: host.name)?["address"] as? String == "02:00:00:00:00:aa")
        try host.session.rename("vchg0", to: "vchg-renamed")
        #expect(try Sandbox.link("vchg-renamed", netns: host.name) != nil)
        try host.session.setUp("vchg-renamed")
        #expect((try Sandbox.link("vchg-renamed", netns: host.name)?["flags"] as? [String])?.contains("UP") == true)
        try host.session.setUp("vchg-renamed", false)
        try host.session.move("vchg1", to: other.namespace)
        #expect(try Sandbox.link("vchg1", netns: other.name) != nil)
        #expect(try Sandbox.link("vchg1", netns: host.name) == nil)
        let listed = try host.session.links().map(\.name)
        #expect(Set(listed) == Set(try Sandbox.linkNames(netns: host.name)))
        try host.session.deleteLink(named: "vchg-renamed")
        try host.session.deleteLink(named: "br-a")
    }

    @Test func routesAddListDelete() throws {
        let host = try HostNamespace()
        // With an explicit MAC (as Docker sets) a bridge without ports has no carrier on this
        // kernel; without one it reports carrier until its first port comes and goes.
        let br = try host.session.createBridge(name: "br-r", mac: MACAddress("02:42:0a:5b:00:01"), up: true)
        try host.session.addAddress(InterfaceAddress(address: .v4(IPv4Address(10, 91, 0, 1)), prefixLength: 24, linkIndex: br.index))
        let onLink = Route(destination: .v4(IPv4Address(10, 92, 0, 0)), destinationPrefixLength: 16, outputIndex: br.index, metric: 50)
        try host.session.addRoute(onLink)
        let shown = try Sandbox.ipJSON(["route", "show", "10.92.0.0/16"], netns: host.name)
        #expect(shown.first?["dev"] as? String == "br-r" && shown.first?["metric"] as? Int == 50 && shown.first?["scope"] as? String == "link")
        // The kernel's own subnet route on a bridge without ports turns `linkdown` (linkwatch may take ~1 s).
        var linkDown = false
        for _ in 0..<30 where !linkDown {
            linkDown = try host.session.routes().contains { $0.destination?.description == "10.91.0.0" && $0.isLinkDown }
            if !linkDown { usleep(100_000) }
        }
        #expect(linkDown)
        #expect { try host.session.addRoute(onLink) } throws: { ($0 as? NetlinkError)?.code == .exists }
        try host.session.deleteRoute(onLink)
        #expect(try Sandbox.ipJSON(["route", "show", "10.92.0.0/16"], netns: host.name).isEmpty)
        #expect { try host.session.deleteRoute(onLink) } throws: { ($0 as? NetlinkError)?.code == .notFound }
    }

    @Test func badInputIsTypedAndChangesNothing() throws {
        let host = try HostNamespace()
        let before = try Sandbox.linkNames(netns: host.name)
        for name in ["", "sixteen-bytes-xx", "a/b", "a b", "a:b"] {
            #expect { try host.session.createBridge(name: name) } throws: { ($0 as? NetlinkError)?.code == .invalidName }
        }
        #expect { try host.session.deleteLink(named: "no-such-link") } throws: { ($0 as? NetlinkError)?.code == .notFound }
        #expect { try host.session.link(named: "no-such-link") } throws: { ($0 as? NetlinkError)?.code == .notFound }
        try host.session.createBridge(name: "br-dup")
        do {
            try host.session.createBridge(name: "br-dup")
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.code == .exists)
            #expect(error.description.hasPrefix("create bridge br-dup: File exists"))
        }
        try host.session.deleteLink(named: "br-dup")
        #expect(try Sandbox.linkNames(netns: host.name) == before)
    }

    @Test func missingCapabilityIsNamedAndNothingIsSent() throws {
        let host = try HostNamespace()
        let session = host.session
        let box = ThreadResult()
        let thread = Thread {
            Capabilities.dropNetAdminOnCurrentThread()
            do { try session.createBridge(name: "br-nocap"); box.set("created") } catch let e as NetlinkError { box.set("\(e.code) \(e.object): \(e)") } catch { box.set("\(error)") }
        }
        thread.start()
        let seen = box.wait() ?? ""
        #expect(seen.hasPrefix("missingCapability br-nocap: create bridge br-nocap: requires CAP_NET_ADMIN"))
        #expect(try Sandbox.link("br-nocap", netns: host.name) == nil)
    }

    @Test func sysctlReadAndWriteOnlyWhenDifferent() throws {
        let host = try HostNamespace()
        // A new namespace copies IPv4 settings from the initial one: start from a known value,
        // set with an independent tool.
        try Sandbox.exec(host.name, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
        #expect(try Sysctl.read("net.ipv4.ip_forward", in: host.namespace) == "0")
        #expect(try Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace))
        #expect(try Sandbox.exec(host.name, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout == "1\n")
        #expect(try !Sysctl.write("net.ipv4.ip_forward", "1", in: host.namespace))
        // The caller's namespace was not touched.
        #expect(try Sysctl.read("net.ipv4.ip_forward") == (try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)).trimmingCharacters(in: .newlines))
        #expect { try Sysctl.read("kernel.hostname") } throws: { ($0 as? NetlinkError)?.code == .invalidArgument }
        #expect { try Sysctl.read("net.ipv4.no_such_key", in: host.namespace) } throws: { ($0 as? NetlinkError)?.code == .notFound }
    }
}

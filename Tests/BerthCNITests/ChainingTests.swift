@testable import BerthCNI
import BerthTestSupport
import Foundation
import Testing

@Suite("CNI protocol pieces (no privileges)")
struct CNIProtocolUnitTests {
    /// FIPS 180-4 / NIST example digests.
    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func attachmentIDsDifferPerNetworkContainerAndInterface() {
        let a = CNIAttachment(network: "n", containerID: "c", interfaceName: "eth0").endpointID
        #expect(a != CNIAttachment(network: "m", containerID: "c", interfaceName: "eth0").endpointID)
        #expect(a != CNIAttachment(network: "n", containerID: "d", interfaceName: "eth0").endpointID)
        #expect(a != CNIAttachment(network: "n", containerID: "c", interfaceName: "eth1").endpointID)
        #expect(a.count == 64 && a.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test func argsParsing() throws {
        let a = try CNIArgs.parse("IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.0.0.5;IP=10.0.0.5;MAC=02:00:00:00:00:01")
        #expect(a.ip == "10.0.0.5" && a.mac == "02:00:00:00:00:01")
        #expect(throws: CNIError.self) { try CNIArgs.parse("IP=10.0.0.5;IP=10.0.0.6") }
        #expect(throws: CNIError.self) { try CNIArgs.parse("K8S_POD_NAME=x") }
        #expect(try CNIArgs.parse("") == CNIArgs())
    }

    /// Results converted per the spec: ips[].version added for 0.x, removed for 1.x.
    @Test func resultConversion() {
        let v1: CNIJSON = .object(["cniVersion": .string("1.0.0"), "ips": .array([.object(["address": .string("10.0.0.2/24")])])])
        let old = CNIResult.convert(v1, to: CNIVersion("0.4.0") ?? .current)
        #expect(old["ips"] == .array([.object(["address": .string("10.0.0.2/24"), "version": .string("4")])]))
        #expect(old["cniVersion"] == .string("0.4.0"))
        let back = CNIResult.convert(old, to: .current)
        #expect(back["ips"] == .array([.object(["address": .string("10.0.0.2/24")])]))
    }

    @Test func unknownKeysAreIgnoredAndKnownOnesTyped() throws {
        let json = try CNIJSON.parse(Array(#"{"cniVersion":"1.1.0","name":"n","type":"berth","futureKey":{"x":1},"mtu":1400}"#.utf8), what: "t")
        let c = try CNINetworkConfig(json)
        #expect(c.mtu == 1400 && c.cniVersion == .current)
        let bad = try CNIJSON.parse(Array(#"{"cniVersion":"1.1.0","name":"n","type":"berth","mtu":1400.5}"#.utf8), what: "t")
        #expect { try CNINetworkConfig(bad) } throws: { ($0 as? CNIError)?.code == .invalidConfig }
    }
}

/// Berth first in a chain, followed by the reference plugins (Debian's containernetworking-plugins
/// in /usr/lib/cni), each exec'd with the previous result as `prevResult`, then DEL in reverse.
@Suite("CNI chaining with the reference plugins", .enabled(if: Sandbox.isActive && FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/portmap")))
struct CNIChainingTests {
    @Test func berthThenPortmapTuningFirewall() throws {
        let h = try CNIHost()
        let c = try h.container()
        let add1 = try h.add(c, config: h.config("1.0.0"))
        var prev = try #require(add1.json, "\(add1.stdout)")
        func plugin(_ type: String) -> CNIExec {
            var e = h.exec
            e.plugin = "/usr/lib/cni/" + type
            return e
        }
        let ports: [[String: Any]] = [["hostPort": 19090, "containerPort": 80, "protocol": "tcp"]]
        let chain: [(String, [String: Any])] = [
            ("portmap", ["capabilities": ["portMappings": true], "runtimeConfig": ["portMappings": ports]]),
            ("tuning", ["sysctl": ["net.ipv4.conf.eth0.arp_ignore": "1"]]),
            ("firewall", ["backend": "iptables"]),
        ]
        var configs: [(String, String)] = []
        for (type, extra) in chain {
            var o: [String: Any] = ["cniVersion": "1.0.0", "name": "cninet", "type": type, "prevResult": prev]
            for (k, v) in extra { o[k] = v }
            let text = CNIExec.json(o)
            let r = try plugin(type).run("ADD", containerID: "c1", netns: c.path, ifname: "eth0", stdin: text)
            #expect(r.status == 0, "\(type): \(r.stdout) \(r.stderr)")
            let next = try #require(r.json)
            #expect((next["ips"] as? [[String: Any]])?.first?["address"] as? String == "10.91.0.2/24", "\(type) passes the result on")
            prev = next
            configs.append((type, text))
        }
        let nat = try Sandbox.iptablesSave(netns: h.host.name)
        #expect(nat.contains { $0.contains("CNI-HOSTPORT-DNAT") })
        #expect(nat.contains { $0.contains("--dport 19090") && $0.contains("10.91.0.2:80") })
        #expect(try Sandbox.sysctl("net.ipv4.conf.eth0.arp_ignore", netns: c.name) == "1")
        #expect(nat.contains { $0.contains("CNI-FORWARD") })
        // Berth's CHECK with the chain's final result.
        let check = try h.exec.run("CHECK", containerID: "c1", netns: c.path, ifname: "eth0", stdin: h.config("1.0.0", ["prevResult": prev]))
        #expect(check.status == 0, "\(check.stdout)")
        for (type, text) in configs.reversed() {
            let r = try plugin(type).run("DEL", containerID: "c1", netns: c.path, ifname: "eth0", stdin: text)
            #expect(r.status == 0, "\(type) DEL: \(r.stdout)")
        }
        #expect(try h.del(c.path, config: h.config("1.0.0", ["prevResult": prev])).status == 0)
        let after = try Sandbox.iptablesSave(netns: h.host.name)
        #expect(!after.contains { $0.contains("19090") || $0.contains("10.91.0.2") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints").isEmpty)
    }

    /// Berth after another plugin: the previous result's interfaces, addresses and routes come
    /// first, converted to the request's version; Berth's address indexes its own interface.
    @Test func berthAfterAnotherPluginMergesThePreviousResult() throws {
        let h = try CNIHost()
        let c = try h.container()
        let prev: [String: Any] = ["cniVersion": "1.0.0", "interfaces": [["name": "lo0"]],
                                   "ips": [["address": "192.0.2.5/32", "interface": 0]], "routes": [["dst": "192.0.2.0/24"]]]
        let r = try h.add(c, config: h.config("0.4.0", ["prevResult": prev]))
        let result = try #require(r.json, "\(r.stdout)")
        let interfaces = try #require(result["interfaces"] as? [[String: Any]])
        #expect(interfaces.first?["name"] as? String == "lo0" && interfaces.count == 4)
        let ips = try #require(result["ips"] as? [[String: Any]])
        #expect(ips.count == 2)
        #expect(ips[0]["version"] as? String == "4")
        #expect(ips[1]["interface"] as? Int == 3 && interfaces[3]["name"] as? String == "eth0")
        #expect((result["routes"] as? [[String: Any]])?.count == 2)
    }
}

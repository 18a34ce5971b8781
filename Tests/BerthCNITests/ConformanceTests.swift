import BerthTestSupport
import Foundation
import Testing

/// One plugin host (a scratch namespace playing the machine), its state directory and helpers
/// to build configurations and snapshot what an independent observer sees.
final class CNIHost: @unchecked Sendable {
    let host: ScratchNamespace
    let state: String
    let exec: CNIExec
    var containers: [ScratchNamespace] = []

    init() throws {
        host = try ScratchNamespace(prefix: "bt-cnih-")
        state = NSTemporaryDirectory() + Sandbox.unique("berth-cni-")
        exec = CNIExec(hostNetns: host.name)
    }

    deinit {
        for c in containers { c.close() }
        host.close()
        try? FileManager.default.removeItem(atPath: state)
    }

    func container() throws -> ScratchNamespace {
        let c = try ScratchNamespace(prefix: "bt-cnic-")
        containers.append(c)
        return c
    }

    /// A `type: berth` network configuration; `extra` keys are merged in.
    func config(_ version: String = "1.0.0", name: String = "cninet", subnet: String? = "10.91.0.0/24",
                _ extra: [String: Any] = [:]) -> String {
        var o: [String: Any] = ["cniVersion": version, "name": name, "type": "berth", "stateDir": state]
        if let subnet { o["subnet"] = subnet }
        for (k, v) in extra { o[k] = v }
        return CNIExec.json(o)
    }

    func config(_ extra: [String: Any]) -> String { config("1.0.0", extra) }

    func add(_ c: ScratchNamespace, id: String = "c1", ifname: String = "eth0", args: String = "", config: String? = nil) throws -> CNIExec.Reply {
        try exec.run("ADD", containerID: id, netns: c.path, ifname: ifname, args: args, stdin: config ?? self.config())
    }

    func del(_ netns: String, id: String = "c1", ifname: String = "eth0", config: String? = nil) throws -> CNIExec.Reply {
        try exec.run("DEL", containerID: id, netns: netns, ifname: ifname, stdin: config ?? self.config())
    }

    /// What the observers see: host links and addresses, the host's iptables rules, the state
    /// files, and each container's links, addresses and routes.
    func snapshot() throws -> [String] {
        func addresses(_ netns: String) throws -> [String] {
            try Sandbox.ipJSON(["addr", "show"], netns: netns).map { l in
                let infos = ((l["addr_info"] as? [[String: Any]]) ?? []).map { "\($0["local"] ?? "")/\($0["prefixlen"] ?? "")" }
                return "\(netns) \(l["ifname"] ?? "") \(l["address"] ?? "") \(l["operstate"] ?? "") \(infos.sorted())"
            }.sorted()
        }
        var out: [String] = []
        out += try Sandbox.ipJSON(["-d", "link", "show"], netns: host.name).map { l in
            "link \(l["ifname"] ?? "") \(l["operstate"] ?? "") master=\(l["master"] ?? "-")"
        }.sorted()
        out += try addresses(host.name)
        out += try Sandbox.iptablesSave(netns: host.name)
        out += ((try? FileManager.default.subpathsOfDirectory(atPath: state)) ?? []).filter { $0 != "lock" }.sorted().map { "state \($0)" }
        for c in containers {
            out += try addresses(c.name)
            out += try Sandbox.ipJSON(["route", "show"], netns: c.name).map { r in
                "\(c.name) route \(r["dst"] ?? "") via \(r["gateway"] ?? "-") dev \(r["dev"] ?? "")"
            }.sorted()
        }
        return out
    }
}

@Suite("CNI plugin conformance (exec'd as a runtime does)", .enabled(if: Sandbox.isActive), .serialized)
struct CNIConformanceTests {
    static let versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    @Test func versionListsTheSupportedVersions() throws {
        let h = try CNIHost()
        for v in Self.versions + ["0.2.0"] {
            let r = try h.exec.run("VERSION", stdin: #"{"cniVersion":"\#(v)"}"#)
            #expect(r.status == 0)
            #expect(r.json?["cniVersion"] as? String == v)
            #expect(r.json?["supportedVersions"] as? [String] == Self.versions)
        }
        // podman's probe: CNI_IFNAME=dummy, CNI_NETNS=dummy.
        let probe = try h.exec.run("VERSION", netns: "dummy", ifname: "dummy", stdin: "")
        #expect(probe.status == 0 && probe.json?["cniVersion"] as? String == "1.1.0")
    }

    /// ADD in every version: the result's shape (0.x with ips[].version, 1.x without), what the
    /// kernel shows in the container, and DEL leaving nothing recorded.
    @Test(arguments: versions) func addAndDelInEveryVersion(_ version: String) throws {
        let h = try CNIHost()
        let c = try h.container()
        let config = h.config(version)
        let r = try h.add(c, config: config)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let result = try #require(r.json)
        #expect(result["cniVersion"] as? String == version)
        let ips = try #require(result["ips"] as? [[String: Any]])
        #expect(ips.count == 1)
        #expect(ips.first?["address"] as? String == "10.91.0.2/24")
        #expect(ips.first?["gateway"] as? String == "10.91.0.1")
        #expect((ips.first?["version"] as? String) == (version.hasPrefix("0.") ? "4" : nil))
        let interfaces = try #require(result["interfaces"] as? [[String: Any]])
        let index = try #require(ips.first?["interface"] as? Int)
        #expect(interfaces[index]["name"] as? String == "eth0")
        #expect(interfaces[index]["sandbox"] as? String == c.path)
        #expect(interfaces[index]["mac"] as? String == "02:42:0a:5b:00:02")
        #expect((result["routes"] as? [[String: Any]])?.first?["dst"] as? String == "0.0.0.0/0")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: c.name) == ["10.91.0.2/24"])
        let routes = try Sandbox.ipJSON(["route", "show", "default"], netns: c.name)
        #expect(routes.first?["gateway"] as? String == "10.91.0.1")
        let bridge = try #require(interfaces.first?["name"] as? String)
        // A CNI state directory has no Docker default network.
        #expect(try !Sandbox.linkNames(netns: h.host.name).contains("docker0"))
        #expect(try Sandbox.ipv4Addresses(bridge, netns: h.host.name) == ["10.91.0.1/24"])
        #expect(try Sandbox.iptablesSave(netns: h.host.name).contains { $0.contains("-s 10.91.0.0/24 ! -o \(bridge) -j MASQUERADE") })
        let d = try h.del(c.path, config: config)
        #expect(d.status == 0 && d.stdout.isEmpty, "\(d.stdout)")
        #expect(try eth0Addresses(c).isEmpty)
        let endpoints = try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints")
        #expect(endpoints.isEmpty)
    }

    /// Bad input: the spec's code, and nothing changed on the host, in the container or in the
    /// state directory.
    @Test func badInputChangesNothing() throws {
        let h = try CNIHost()
        let first = try h.container()
        #expect(try h.add(first, id: "base").status == 0)
        let c = try h.container()
        try Sandbox.check(["ip", "-n", c.name, "link", "add", "clash0", "type", "bridge"])
        let notANetns = NSTemporaryDirectory() + Sandbox.unique("not-netns-")
        FileManager.default.createFile(atPath: notANetns, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: notANetns) }
        let before = try h.snapshot()
        let cases: [(String, Int, () throws -> CNIExec.Reply)] = [
            ("garbage stdin", 6, { try h.exec.run("ADD", containerID: "x", netns: c.path, ifname: "eth0", stdin: "not json{") }),
            ("empty stdin", 6, { try h.exec.run("ADD", containerID: "x", netns: c.path, ifname: "eth0", stdin: "") }),
            ("missing name", 7, { try h.add(c, id: "x", config: #"{"cniVersion":"1.0.0","type":"berth","stateDir":"\#(h.state)"}"#) }),
            ("missing cniVersion", 7, { try h.add(c, id: "x", config: #"{"name":"n","type":"berth","stateDir":"\#(h.state)"}"#) }),
            ("unknown cniVersion", 1, { try h.add(c, id: "x", config: h.config("9.9.9")) }),
            ("cniVersion 0.2.0", 1, { try h.add(c, id: "x", config: h.config("0.2.0")) }),
            ("mtu of the wrong type", 7, { try h.add(c, id: "x", config: h.config(["mtu": "big"])) }),
            ("ipMasq of the wrong type", 7, { try h.add(c, id: "x", config: h.config(["ipMasq": "yes"])) }),
            ("bad subnet", 7, { try h.add(c, id: "x", config: h.config(name: "other", subnet: "10.300.0.0/24")) }),
            ("bad backend", 7, { try h.add(c, id: "x", config: h.config(["backend": "pf"])) }),
            ("changed subnet", 7, { try h.add(c, id: "x", config: h.config(subnet: "10.92.0.0/24")) }),
            ("isGateway false", 2, { try h.add(c, id: "x", config: h.config(["isGateway": false])) }),
            ("portMappings not an array", 7, { try h.add(c, id: "x", config: h.config(["runtimeConfig": ["portMappings": 5]])) }),
            ("two static IPs", 7, { try h.add(c, id: "x", config: h.config(["runtimeConfig": ["ips": ["10.91.0.5", "10.91.0.6"]]])) }),
            ("IP outside the subnet", 7, { try h.add(c, id: "x", args: "IP=10.99.0.5") }),
            ("unknown CNI_ARGS key", 4, { try h.add(c, id: "x", args: "FOO=1") }),
            ("CNI_ARGS without =", 4, { try h.add(c, id: "x", args: "IgnoreUnknown=1;junk") }),
            ("no CNI_CONTAINERID", 4, { try h.exec.run("ADD", netns: c.path, ifname: "eth0", stdin: h.config()) }),
            ("no CNI_IFNAME", 4, { try h.exec.run("ADD", containerID: "x", netns: c.path, stdin: h.config()) }),
            ("CNI_IFNAME invalid", 4, { try h.add(c, id: "x", ifname: "a/b") }),
            ("no CNI_NETNS", 4, { try h.exec.run("ADD", containerID: "x", ifname: "eth0", stdin: h.config()) }),
            ("unknown CNI_COMMAND", 4, { try h.exec.run("FROB", containerID: "x", netns: c.path, ifname: "eth0", stdin: h.config()) }),
            ("netns path missing", 3, { try h.exec.run("ADD", containerID: "x", netns: "/run/netns/nope-\(UUID())", ifname: "eth0", stdin: h.config()) }),
            ("netns path not a netns", 4, { try h.exec.run("ADD", containerID: "x", netns: notANetns, ifname: "eth0", stdin: h.config()) }),
            ("CNI_IFNAME clash", 101, { try h.add(c, id: "x", ifname: "clash0") }),
            ("ADD of an attachment that exists", 101, { try h.add(first, id: "base") }),
            ("address in use", 102, { try h.add(c, id: "x", args: "IP=10.91.0.2") }),
        ]
        for (what, code, call) in cases {
            let r = try call()
            #expect(r.status != 0, "\(what): exit status")
            #expect(r.code == code, "\(what): \(r.stdout)")
            #expect((r.json?["msg"] as? String)?.isEmpty == false, "\(what): msg")
            let after = try h.snapshot()
            #expect(after == before, "\(what) changed: \(after.filter { !before.contains($0) }) gone: \(before.filter { !after.contains($0) })")
        }
    }

    /// A failed first ADD (the interface exists) removes the network it created.
    @Test func failedFirstAddLeavesNoNetwork() throws {
        let h = try CNIHost()
        let c = try h.container()
        try Sandbox.check(["ip", "-n", c.name, "link", "add", "eth0", "type", "bridge"])
        let r = try h.add(c)
        #expect(r.code == 101, "\(r.stdout)")
        #expect(try Sandbox.linkNames(netns: h.host.name).filter { $0.hasPrefix("br-") }.isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.state + "/networks")) ?? []).isEmpty)
    }

    /// DEL is idempotent and best-effort: never added, twice, CNI_NETNS empty, the netns gone.
    @Test func delIsIdempotent() throws {
        let h = try CNIHost()
        #expect(try h.del("", id: "never").status == 0)
        let c = try h.container()
        #expect(try h.add(c).status == 0)
        let gone = try h.container()
        #expect(try h.add(gone, id: "c2").status == 0)
        #expect(try h.del(c.path).status == 0)
        #expect(try h.del(c.path).status == 0)
        #expect(try h.del("").status == 0)
        gone.close()
        let r = try h.del(gone.path, id: "c2")
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints").isEmpty)
        // The address of c2 is free again: a new ADD gets the lowest address.
        let again = try h.container()
        #expect((try h.add(again, id: "c3").json?["ips"] as? [[String: Any]])?.first?["address"] as? String == "10.91.0.2/24")
    }

    /// CHECK: as set up passes; an address, a route or a rule missing fails with Berth's code;
    /// 0.3.1 has no CHECK; prevResult is required.
    @Test func checkVerifiesInterfaceAddressRouteAndRules() throws {
        let h = try CNIHost()
        let c = try h.container()
        let add = try h.add(c, config: h.config("1.0.0"))
        let prev = try #require(add.json)
        let checkConfig = h.config("1.0.0", ["prevResult": prev])
        func check() throws -> CNIExec.Reply { try h.exec.run("CHECK", containerID: "c1", netns: c.path, ifname: "eth0", stdin: checkConfig) }
        #expect(try check().status == 0)
        #expect(try h.exec.run("CHECK", containerID: "c1", netns: c.path, ifname: "eth0", stdin: h.config("0.3.1", ["prevResult": prev])).code == 1)
        #expect(try h.exec.run("CHECK", containerID: "c1", netns: c.path, ifname: "eth0", stdin: h.config("1.0.0")).code == 7)
        #expect(try h.exec.run("CHECK", containerID: "other", netns: c.path, ifname: "eth0", stdin: checkConfig).code == 3)
        try Sandbox.check(["ip", "-n", c.name, "route", "del", "default"])
        #expect(try check().code == 106)
        try Sandbox.check(["ip", "-n", c.name, "route", "add", "default", "via", "10.91.0.1"])
        #expect(try check().status == 0)
        try Sandbox.check(["ip", "-n", c.name, "addr", "del", "10.91.0.2/24", "dev", "eth0"])
        #expect(try check().code == 106)
        try Sandbox.check(["ip", "-n", c.name, "addr", "add", "10.91.0.2/24", "dev", "eth0"])
        try Sandbox.check(["ip", "-n", c.name, "route", "add", "default", "via", "10.91.0.1"])
        #expect(try check().status == 0)
        try Sandbox.check(["ip", "netns", "exec", h.host.name, "iptables", "-t", "nat", "-F", "POSTROUTING"])
        let rules = try check()
        #expect(rules.code == 106 && (rules.json?["msg"] as? String)?.contains("rules") == true, "\(rules.stdout)")
    }

    /// What an ADD killed before its record was written leaves (a Berth-shaped veth on the
    /// bridge, its port rules, no record) is removed by the next ADD, by the runtime's DEL of
    /// that attachment (both reconcile at their first change: the trial of 2026-12-02 found the
    /// DEL returning success with the veth and its DNAT rule left), and by GC.
    @Test(arguments: ["ADD", "DEL", "GC"]) func killedAddLeftoversAreRemoved(_ next: String) throws {
        let h = try CNIHost()
        let a = try h.container(), b = try h.container()
        let config = h.config("1.1.0")
        let ported = h.config("1.1.0", ["runtimeConfig": ["portMappings": [["hostPort": 9000, "containerPort": 80, "protocol": "tcp"]]]])
        #expect(try h.add(a, id: "keep", config: config).status == 0)
        let r = try h.add(b, id: "killed", config: ported)
        let veth = try #require((r.json?["interfaces"] as? [[String: Any]])?[1]["name"] as? String)
        // The record gone, as if the ADD had been killed between its kernel steps and its write.
        for file in try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints") {
            if try String(contentsOfFile: h.state + "/endpoints/" + file, encoding: .utf8).contains(veth) {
                try FileManager.default.removeItem(atPath: h.state + "/endpoints/" + file)
            }
        }
        switch next {
        case "ADD": #expect(try h.add(try h.container(), id: "next", config: config).status == 0)
        case "DEL": #expect(try h.del(b.path, id: "killed", config: ported).status == 0)
        default:
            let gc = h.config("1.1.0", ["cni.dev/valid-attachments": [["containerID": "keep", "ifname": "eth0"]]])
            #expect(try h.exec.run("GC", stdin: gc).status == 0)
        }
        #expect(try Sandbox.link(veth, netns: h.host.name) == nil, "\(next) removed the leftover veth")
        #expect(!(try Sandbox.iptablesSave(netns: h.host.name).joined(separator: "\n").contains("--dport 9000")), "\(next) removed its DNAT")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: a.name) == ["10.91.0.2/24"])
    }

    /// STATUS: ready while addresses are left; code 50 when the pool is exhausted; 1.1.0 only.
    @Test func statusReportsAnExhaustedPool() throws {
        let h = try CNIHost()
        let config = h.config("1.1.0", subnet: "10.93.0.0/30")
        #expect(try h.exec.run("STATUS", stdin: config).status == 0)
        let c = try h.container()
        #expect(try h.add(c, config: config).status == 0)
        let full = try h.exec.run("STATUS", stdin: config)
        #expect(full.code == 50, "\(full.stdout)")
        let more = try h.add(try h.container(), id: "c2", config: config)
        #expect(more.code == 11, "\(more.stdout)")
        #expect(try h.exec.run("STATUS", stdin: h.config("1.0.0", subnet: "10.93.0.0/30")).code == 1)
        #expect(try h.del(c.path, config: config).status == 0)
        #expect(try h.exec.run("STATUS", stdin: config).status == 0)
    }

    /// GC releases every endpoint of the network not in cni.dev/valid-attachments; other networks' stay.
    @Test func gcReleasesUnlistedAttachmentsOfItsNetworkOnly() throws {
        let h = try CNIHost()
        let a = try h.container(), b = try h.container(), o = try h.container()
        let config = h.config("1.1.0")
        #expect(try h.add(a, id: "keep", config: config).status == 0)
        #expect(try h.add(b, id: "stale", config: config).status == 0)
        #expect(try h.add(o, id: "stale", config: h.config("1.1.0", name: "othernet", subnet: "10.94.0.0/24")).status == 0)
        let gc = h.config("1.1.0", ["cni.dev/valid-attachments": [["containerID": "keep", "ifname": "eth0"]]])
        let r = try h.exec.run("GC", stdin: gc)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: a.name) == ["10.91.0.2/24"])
        #expect(try eth0Addresses(b).isEmpty)
        #expect(try Sandbox.ipv4Addresses("eth0", netns: o.name) == ["10.94.0.2/24"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints").count == 2)
        #expect(try h.exec.run("GC", stdin: h.config("1.0.0", ["cni.dev/valid-attachments": []])).code == 1)
        #expect(try h.exec.run("GC", stdin: h.config("1.1.0")).code == 7)
    }

    /// Static address and MAC from CNI_ARGS (podman) or runtimeConfig (CRI), duplicates
    /// tolerated, IgnoreUnknown honoured; published ports as Docker's DNAT.
    @Test func staticAddressMACAndPorts() throws {
        let h = try CNIHost()
        let a = try h.container(), b = try h.container()
        let r = try h.add(a, args: "IgnoreUnknown=1;K8S_POD_NAME=a;MAC=02:00:00:00:00:50;IP=10.91.0.50;IP=10.91.0.50")
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: a.name) == ["10.91.0.50/24"])
        #expect(try Sandbox.link("eth0", netns: a.name)?["address"] as? String == "02:00:00:00:00:50")
        let rc: [String: Any] = ["ips": ["10.91.0.60/24", "10.91.0.60"], "mac": "02:00:00:00:00:60",
                                 "portMappings": [["hostPort": 18080, "containerPort": 80, "protocol": "tcp"]]]
        let s = try h.add(b, id: "c2", config: h.config(["runtimeConfig": rc]))
        #expect(s.status == 0, "\(s.stdout)")
        #expect(try Sandbox.ipv4Addresses("eth0", netns: b.name) == ["10.91.0.60/24"])
        #expect(try Sandbox.link("eth0", netns: b.name)?["address"] as? String == "02:00:00:00:00:60")
        #expect(try Sandbox.iptablesSave(netns: h.host.name).contains { $0.contains("--dport 18080 -j DNAT --to-destination 10.91.0.60:80") })
        #expect(try h.del(b.path, id: "c2", config: h.config(["runtimeConfig": rc])).status == 0)
        #expect(try !Sandbox.iptablesSave(netns: h.host.name).contains { $0.contains("18080") })
    }

    /// The nftables backend: ADD programs Berth's table, DEL removes the endpoint.
    @Test func nftablesBackend() throws {
        let h = try CNIHost()
        let c = try h.container()
        let ports: [[String: Any]] = [["hostPort": 18081, "containerPort": 80]]
        let config = h.config(["backend": "nftables", "runtimeConfig": ["portMappings": ports] as [String: Any]])
        #expect(try h.add(c, config: config).status == 0)
        let ruleset = try Sandbox.nftRuleset(netns: h.host.name)
        #expect(ruleset.contains("10.91.0.0/24") && ruleset.contains("18081"))
        #expect(try h.del(c.path, config: config).status == 0)
        #expect(try !Sandbox.nftRuleset(netns: h.host.name).contains("18081"))
    }

    /// Concurrent ADDs and DELs from separate processes: distinct addresses, no failure, nothing left.
    @Test func concurrentAddAndDel() throws {
        let h = try CNIHost()
        let cs = try (0..<8).map { _ in try h.container() }
        #expect(try h.add(cs[0], id: "warm").status == 0)
        let results = ThreadBox<[Int: CNIExec.Reply]>([:])
        DispatchQueue.concurrentPerform(iterations: 7) { i in
            let r = try? h.add(cs[i + 1], id: "p\(i)")
            results.mutate { $0[i] = r }
        }
        let replies = results.value
        #expect(replies.values.allSatisfy { $0.status == 0 }, "\(replies.values.map(\.stdout))")
        let addresses = Set(replies.values.compactMap { ($0.json?["ips"] as? [[String: Any]])?.first?["address"] as? String })
        #expect(addresses.count == 7)
        DispatchQueue.concurrentPerform(iterations: 7) { i in
            let r = try? h.del(cs[i + 1].path, id: "p\(i)")
            results.mutate { $0[i] = r }
        }
        #expect(results.value.values.allSatisfy { $0.status == 0 })
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.state + "/endpoints").count == 1)
    }
}

/// The IPv4 addresses of eth0 in `c`; none when there is no eth0 (DEL renames the interface it
/// unplugs out of the way until the kernel deletes it).
func eth0Addresses(_ c: ScratchNamespace) throws -> [String] {
    try Sandbox.linkNames(netns: c.name).contains("eth0") ? Sandbox.ipv4Addresses("eth0", netns: c.name) : []
}

/// A value shared between the threads of `concurrentPerform`.
final class ThreadBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout T) -> Void) { lock.lock(); body(&stored); lock.unlock() }
}

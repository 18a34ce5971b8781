@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// `berth attach --tap` (issue 16): a persistent TAP on the network's bridge, the guest
/// configuration printed, detach by TAP name; no /dev/net/tun is a typed error that changes nothing.
@Suite("CLI attach --tap", .enabled(if: Sandbox.isActive))
struct TapCLITests {
    @Test(arguments: FirewallBackendKind.allCases)
    func attachTap(_ backend: FirewallBackendKind) throws {
        let host = Sandbox.unique("bt-clit-")
        try Sandbox.addNamespace(host)
        defer { Sandbox.deleteNamespace(host) }
        let state = NSTemporaryDirectory() + Sandbox.unique("berth-clit-")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let global = ["--backend", backend.rawValue, "--state-dir", state, "--host-netns", host]
        func berth(_ args: String...) throws -> Sandbox.Output { try Sandbox.run([BerthBinary.path] + global + args) }
        #expect(try berth("network", "create", "--subnet", "10.84.0.0/24", "vms").status == 0)
        let text = try berth("attach", "--tap", "fc%d", "--owner", "1000", "vms")
        #expect(text.status == 0, "\(text.stderr)")
        let lines = Dictionary(text.stdout.split(separator: "\n").map { l -> (String, String) in
            let p = l.split(separator: "\t", maxSplits: 1).map(String.init)
            return (p[0], p.count > 1 ? p[1] : "")
        }, uniquingKeysWith: { a, _ in a })
        #expect(lines["tap"] == "fc0" && lines["guest_mac"] == "02:42:0a:54:00:02" && lines["address"] == "10.84.0.2/24")
        #expect(lines["gateway"] == "10.84.0.1" && lines["mtu"] == "1500")
        #expect(lines["boot"] == "ip=10.84.0.2::10.84.0.1:255.255.255.0::eth0:off")
        let link = try #require(try Sandbox.ipJSON(["-d", "link", "show", "fc0"], netns: host).first)
        let info = (link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
        // ip prints the owner's user name when uid 1000 has one.
        let user = (try? Sandbox.run(["id", "-nu", "1000"]))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        #expect(info?["persist"] as? Bool == true && info?["vnet_hdr"] as? Bool == true)
        #expect(info?["user"] as? Int == 1000 || (!user.isEmpty && info?["user"] as? String == user))
        let json = try berth("--json", "attach", "--tap", "fc%d", "--queues", "2", "vms")
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let guest = object?["guest"] as? [String: Any]
        #expect(guest?["tap"] as? String == "fc1" && guest?["bootParameter"] as? String == "ip=10.84.0.3::10.84.0.1:255.255.255.0::eth0:off")
        #expect(((object?["endpoint"] as? [String: Any])?["tap"] as? [String: Any])?["queues"] as? Int == 2)
        // Taken name, bad queues: typed, exit codes of their class.
        let taken = try berth("attach", "--tap", "fc0", "vms")
        #expect(taken.status == 4 && taken.stderr.contains("fc0"), "\(taken.stderr)")
        #expect(try berth("attach", "--tap", "fc9", "--queues", "0", "vms").status == 64)
        #expect(try berth("attach", "--tap", "fc9", "vms", "no-such-sandbox").status == 3)
        #expect(try berth("attach", "--tap", "fc9", "--create", "vms", "x").status == 64)
        // Detach by TAP name and by ID; again is success.
        #expect(try berth("detach", "--wait", "vms", "fc0").status == 0)
        #expect(try berth("detach", "vms", "fc1").status == 0)
        #expect(try berth("detach", "vms", "fc0").status == 0)
        #expect(try berth("gc").status == 0)
        #expect(try Sandbox.linkNames(netns: host).filter { $0.hasPrefix("fc") || $0.hasPrefix("berthtap") }.isEmpty)
        // No /dev/net/tun (a tmpfs over /dev/net in a private mount namespace): exit 1, nothing changed.
        let rules = try Sandbox.exec(host, backend == .iptables ? ["iptables-save"] : ["nft", "list", "ruleset"]).stdout
        let noTun = try Sandbox.run(["unshare", "--mount", "sh", "-c", "mount -t tmpfs none /dev/net && exec \"$@\"", "sh", BerthBinary.path]
                                    + global + ["attach", "--tap", "fc5", "vms"])
        #expect(noTun.status == 1 && noTun.stderr.contains("/dev/net/tun"), "\(noTun.stderr)")
        #expect(try Sandbox.exec(host, backend == .iptables ? ["iptables-save"] : ["nft", "list", "ruleset"]).stdout == rules)
        #expect(try Sandbox.linkNames(netns: host).filter { $0.hasPrefix("fc") }.isEmpty)
        #expect(try berth("network", "rm", "--wait", "vms").status == 0)
    }
}

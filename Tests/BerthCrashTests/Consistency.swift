@testable import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
import Foundation

/// The one consistency checker of the crash tests: reads the state directory's files and the
/// kernel through independent observers (`ip -j`, `bridge -j`, `ip netns list`, `/proc/sys`,
/// `iptables-save` / `nft -j list ruleset`) and lists every difference between them. The
/// expected firewall is the records' rules applied by the backend to an empty namespace and
/// read back with the same observer.
enum Consistency {
    struct Records {
        var networks: [Network] = []
        var endpoints: [Endpoint] = []
        var intents: [String] = []
        var snapshot: StateSnapshot {
            var s = StateSnapshot()
            for n in networks { s.networks[n.id] = n }
            for e in endpoints { s.endpoints[e.id] = e }
            return s
        }
    }

    static func records(_ dir: String) throws -> Records {
        func files(_ sub: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/\(sub)")) ?? [])
                .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { "\(dir)/\(sub)/\($0)" }
        }
        var r = Records()
        for f in files("networks") { r.networks.append(try JSONDecoder().decode(Network.self, from: Data(contentsOf: URL(fileURLWithPath: f)))) }
        for f in files("endpoints") { r.endpoints.append(try JSONDecoder().decode(Endpoint.self, from: Data(contentsOf: URL(fileURLWithPath: f)))) }
        r.intents = files("intents")
        return r
    }

    /// Every inconsistency found (empty: kernel and records match exactly).
    /// - Parameter pendingAllowed: links unplugged by a removal and not yet deleted (issue 11) are
    ///   accepted, as the design allows them between a removal and the next reconciliation: each
    ///   in the pending group, down, off every bridge and without ports, named by no record, a
    ///   `veth<7 hex>` host end or a bridge renamed `berthrm<8 hex>`. False (after `gc` or any
    ///   open that reconciles): a pending link is a problem.
    static func check(_ lab: CrashLab, pendingAllowed: Bool = false) throws -> [String] {
        var problems: [String] = []
        let rec = try records(lab.stateDirectory)
        if !rec.intents.isEmpty { problems.append("intents left: \(rec.intents)") }
        let bridges = Set(rec.networks.map(\.bridge))
        let veths = Set(rec.endpoints.map(\.hostInterface))
        if Set(rec.networks.map(\.name)).count != rec.networks.count { problems.append("duplicate network names") }
        for n in rec.networks {
            if rec.networks.contains(where: { $0.id != n.id && $0.subnet.overlaps(n.subnet) }) { problems.append("overlapping subnet \(n.subnet)") }
        }
        for e in rec.endpoints where !rec.networks.contains(where: { $0.id == e.networkID }) { problems.append("endpoint \(e.id.prefix(12)) of no network") }
        let byNetwork = Dictionary(grouping: rec.endpoints, by: \.networkID)
        for (_, eps) in byNetwork {
            if Set(eps.map(\.address)).count != eps.count { problems.append("duplicate address in \(eps.map(\.address))") }
            if Set(eps.map(\.mac)).count != eps.count { problems.append("duplicate MAC in \(eps.map(\.mac))") }
        }

        // Links (ip -j -d link) and ports (bridge -j link).
        let links = try lab.ipJSON(["-d", "link", "show"], netns: lab.hostName)
        let ports = try bridgePorts(lab)
        var seenBridges = Set<String>(), seenVeths = Set<String>()
        for l in links {
            guard let name = l["ifname"] as? String, name != "lo" else { continue }
            let kind = (l["linkinfo"] as? [String: Any])?["info_kind"] as? String
            // Unplugged, waiting for deletion (issue 11): only where the design allows it, and
            // then marked, down, off every bridge, without ports and explained by no record.
            if Self.isPending(l) {
                guard pendingAllowed else { problems.append("pending link \(name) left after a reconciliation"); continue }
                let flags = (l["flags"] as? [String]) ?? []
                if flags.contains("UP") || l["master"] != nil { problems.append("pending link \(name) is still plugged: \(flags)") }
                if ports.values.contains(name) { problems.append("pending bridge \(name) still has ports") }
                if bridges.contains(name) || veths.contains(name) { problems.append("pending link \(name) is recorded") }
                let shaped = kind == "veth" ? BerthNames.isBerthVeth(name)
                    : kind == "tun" ? TapMark.isPendingName(name)
                    : kind == "bridge" && name.hasPrefix(Pending.namePrefix) && name.count == Pending.namePrefix.count + 8
                if !shaped { problems.append("pending link \(name) (\(kind ?? "?")) is not an unplugged host end or renamed bridge") }
                continue
            }
            switch kind {
            case "bridge": seenBridges.insert(name)
            case "veth", "tun": seenVeths.insert(name)  // a TAP endpoint's hostInterface is its TAP (issue 16)
            default: problems.append("unexpected link \(name) (\(kind ?? "?"))")
            }
        }
        if seenBridges != bridges { problems.append("bridges: kernel \(seenBridges.sorted()) records \(bridges.sorted())") }
        if seenVeths != veths { problems.append("veths: kernel \(seenVeths.sorted()) records \(veths.sorted())") }
        for e in rec.endpoints {
            guard let n = rec.networks.first(where: { $0.id == e.networkID }) else { continue }
            if seenVeths.contains(e.hostInterface), ports[e.hostInterface] != n.bridge {
                problems.append("port \(e.hostInterface) on \(ports[e.hostInterface] ?? "no bridge"), recorded on \(n.bridge)")
            }
        }
        // Routes and gateway addresses.
        let routes = Set(try lab.ipJSON(["-4", "route", "show"], netns: lab.hostName).compactMap { $0["dst"] as? String })
        let subnets = Set(rec.networks.map { $0.subnet.canonical.description })
        if routes != subnets { problems.append("routes: kernel \(routes.sorted()) records \(subnets.sorted())") }
        for n in rec.networks where seenBridges.contains(n.bridge) {
            let addrs = try Self.addresses(lab, n.bridge, netns: lab.hostName)
            if !addrs.contains("\(n.gateway)/\(n.subnet.prefixLength)") { problems.append("bridge \(n.bridge) lacks \(n.gateway)") }
            if n.enableIPv6, let gateway6 = n.gateway6, let subnet6 = n.subnet6,
               try !Self.addresses6(lab, n.bridge, netns: lab.hostName).contains("\(gateway6)/\(subnet6.prefixLength)") {
                problems.append("bridge \(n.bridge) lacks \(gateway6)")
            }
        }
        // Namespaces (ip netns list): the lab's own plus those Berth created and records.
        let netns = Set(try lab.run(["ip", "netns", "list"]).stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        let created = Set(rec.endpoints.filter(\.createdSandbox).compactMap(\.sandboxName))
        let expectedNetns = created.union(lab.userSandboxes).union([lab.hostName])
        if netns != expectedNetns { problems.append("netns: kernel \(netns.sorted()) expected \(expectedNetns.sorted())") }
        for e in rec.endpoints where e.tap?.mode != .bridge {
            guard let name = e.sandboxName, netns.contains(name) else { problems.append("sandbox of \(e.id.prefix(12)) missing"); continue }
            if try !Self.addresses(lab, e.interfaceName, netns: name).contains(e.cidr) { problems.append("\(name) \(e.interfaceName) lacks \(e.cidr)") }
            if let cidr6 = e.cidr6, try !Self.addresses6(lab, e.interfaceName, netns: name).contains(cidr6) {
                problems.append("\(name) \(e.interfaceName) lacks \(cidr6)")
            }
        }
        if try lab.hostExec(["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "1"
            && !rec.networks.isEmpty {
            problems.append("ip_forward is not 1")
        }
        // Firewall.
        let actual = try firewallListing(lab)
        let expected = try referenceListing(rec.snapshot.firewallState(hairpinMode: false), backend: lab.backend, empty: rec.networks.isEmpty,
                                            forwardPolicy: recordedForwardPolicy(lab.stateDirectory))
        if actual != expected { problems.append("firewall differs:\n--- kernel\n\(actual)\n--- expected\n\(expected)") }
        // Userland proxies (issue 13): exactly the recorded ones run, one per published binding.
        let running = Set(proxyPids(lab.stateDirectory))
        let recorded = rec.endpoints.flatMap { $0.proxies ?? [] }
        if running != Set(recorded.map(\.process.pid)) {
            problems.append("proxies: running \(running.sorted()) recorded \(recorded.map(\.process.pid).sorted())")
        }
        // One per port of a range and family, as Docker 20.10: 0.0.0.0 (or the IPv4 host address)
        // and `::` (or the IPv6 host address); the implicit `::` one only where the host has IPv6.
        let hostIPv6 = try ["all", "lo"].allSatisfy {
            try lab.hostExec(["cat", "/proc/sys/net/ipv6/conf/\($0)/disable_ipv6"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
        }
        for e in rec.endpoints {
            let expected = e.ports.flatMap(\.singles).flatMap { p -> [PortMapping] in
                let v4 = p.hostIP6 == nil ? [p] : []
                let implicit = p.hostIP == nil || p.hostIP?.value == 0
                let v6 = p.hostIP6 != nil || (implicit && hostIPv6)
                    ? [PortMapping(proto: p.proto, hostPort: p.hostPort, containerPort: p.containerPort, hostIP6: p.hostIP6 ?? IPv6Address("::"))] : []
                return v4 + v6
            }
            let actual = (e.proxies ?? []).map(\.port)
            if Set(actual) != Set(expected) || actual.count != expected.count {
                problems.append("endpoint \(e.id.prefix(12)): proxies \(actual) for ports \(e.ports)")
            }
        }
        return problems
    }

    /// Pids of the `berth-proxy` processes marked with this state directory (`/proc/PID/cmdline`).
    static func proxyPids(_ stateDirectory: String) -> [Int32] {
        let mark = URL(fileURLWithPath: stateDirectory).resolvingSymlinksInPath().path
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.compactMap { name -> Int32? in
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let i = argv.firstIndex(of: "-berth-state"), i + 1 < argv.count, argv[i + 1] == mark else { return nil }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return stat.split(separator: ")").last?.split(separator: " ").first == "Z" ? nil : pid
        }
    }

    /// A link of Berth's pending group (`ip -j` prints the group number, or a name from
    /// /etc/iproute2/group).
    static func isPending(_ link: [String: Any]) -> Bool {
        "\(link["group"] ?? "")" == String(Pending.group)
    }

    /// The pending links left in the lab's host namespace (empty once drained).
    static func pendingLinks(_ lab: CrashLab) throws -> [String] {
        try lab.ipJSON(["-d", "link", "show"], netns: lab.hostName).filter(isPending).compactMap { $0["ifname"] as? String }
    }

    static func bridgePorts(_ lab: CrashLab) throws -> [String: String] {
        let r = try lab.run(["bridge", "-n", lab.hostName, "-j", "link", "show"])
        let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
        var out: [String: String] = [:]
        for p in json { if let n = p["ifname"] as? String, let m = p["master"] as? String { out[n] = m } }
        return out
    }

    static func addresses(_ lab: CrashLab, _ dev: String, netns: String) throws -> [String] {
        try lab.ipJSON(["-4", "addr", "show", "dev", dev], netns: netns).flatMap { entry -> [String] in
            ((entry["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
                guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
                return "\(local)/\(len)"
            }
        }
    }

    /// The host's firewall: `iptables-save` and `ip6tables-save` (IPv6 networks, issue 15), or the
    /// whole nftables ruleset (Berth's `ip` and `ip6` tables).
    static func addresses6(_ lab: CrashLab, _ dev: String, netns: String) throws -> [String] {
        try lab.ipJSON(["-6", "addr", "show", "dev", dev], netns: netns).flatMap { entry -> [String] in
            ((entry["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
                guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
                return "\(local)/\(len)"
            }
        }
    }

    static func firewallListing(_ lab: CrashLab) throws -> String {
        lab.backend == "iptables"
            ? normalizeIptables(try lab.hostExec(["iptables-save"]).stdout) + "\n# ip6tables\n"
                + normalizeIptables(try lab.hostExec(["ip6tables-save"]).stdout)
            : normalizeNft(try lab.hostExec(["nft", "-j", "list", "ruleset"]).stdout)
    }

    /// The FORWARD policy decision the state directory records (`host.json`), or the default.
    static func recordedForwardPolicy(_ stateDirectory: String) -> ForwardPolicy {
        guard let data = FileManager.default.contents(atPath: stateDirectory + "/host.json"),
              let binding = try? JSONDecoder().decode(HostBinding.self, from: data) else { return ForwardPolicy() }
        return binding.forwardPolicy ?? ForwardPolicy()
    }

    /// The records' rules applied by the backend in a fresh namespace, read with the same observer,
    /// with the recorded FORWARD policy decision (the IPv6 DROP is Berth's only when it decided so).
    static func referenceListing(_ state: FirewallState, backend: String, empty: Bool,
                                 forwardPolicy: ForwardPolicy = ForwardPolicy()) throws -> String {
        let name = Sandbox.unique("bt-ref-")
        try Sandbox.addNamespace(name)
        defer { Sandbox.deleteNamespace(name) }
        if !empty {
            let ns = try NetworkNamespace.open(name: name)
            let fw: any FirewallBackend = backend == "iptables"
                ? try IptablesBackend(host: ns, forwardPolicy: forwardPolicy) : NftablesBackend(host: ns)
            try fw.reapply(state)
        }
        return backend == "iptables"
            ? normalizeIptables(try Sandbox.exec(name, ["iptables-save"]).stdout) + "\n# ip6tables\n"
                + normalizeIptables(try Sandbox.exec(name, ["ip6tables-save"]).stdout)
            : normalizeNft(try Sandbox.exec(name, ["nft", "-j", "list", "ruleset"]).stdout)
    }

    /// `iptables-save` text without comments, with zeroed counters and without tables that hold
    /// nothing (builtin chains with policy ACCEPT only: iptables cannot delete a table once used,
    /// so ip6tables keeps empty ones after the last IPv6 network; a fresh namespace has none).
    static func normalizeIptables(_ text: String) -> String {
        var kept: [Substring] = []
        var block: [Substring] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            block.append(line)
            guard line == "COMMIT" else { continue }
            let empty = block.dropFirst().dropLast().allSatisfy { $0.hasPrefix(":") && $0.contains(" ACCEPT ") }
            if !empty { kept += block }
            block = []
        }
        kept += block
        return kept
            .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "[0:0]", options: .regularExpression) }
            .joined(separator: "\n")
    }

    /// Chains (with hook, priority, policy) and sets as sorted lines, rules per chain in order,
    /// handles dropped: equal when the rulesets act the same and list the same.
    static func normalizeNft(_ text: String) -> String {
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let items = root["nftables"] as? [[String: Any]] else { return text }
        func canon(_ v: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
        }
        var heads: [String] = [], rules: [String: [String]] = [:]
        for item in items {
            for (kind, value) in item {
                guard var obj = value as? [String: Any] else { continue }
                obj["handle"] = nil
                switch kind {
                case "rule":
                    let chain = "\(obj["table"] ?? "")/\(obj["chain"] ?? "")"
                    rules[chain, default: []].append(canon([obj["expr"] ?? [], obj["comment"] ?? ""]))
                case "set", "map":
                    if let elems = obj["elem"] as? [Any] { obj["elem"] = elems.map(canon).sorted() }
                    heads.append("\(kind) \(canon(obj))")
                case "metainfo": continue
                default: heads.append("\(kind) \(canon(obj))")
                }
            }
        }
        var out = heads.sorted()
        for chain in rules.keys.sorted() { out.append("rules \(chain):"); out += rules[chain, default: []].map { "  " + $0 } }
        return out.joined(separator: "\n")
    }
}

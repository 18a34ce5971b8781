import BerthTestSupport
import Foundation

/// The observable state of one side after a step, as normalised facts `key → value`, read with
/// independent tools only (`ip -j`, `iptables-save`, `/proc/sys`). Keys name what is compared:
///
/// - `host.link[NAME].FIELD` — kind, mtu, operstate, qdisc, txqlen, master, numtxqueues and the
///   bridge (`bridge.X`) and bridge-port (`port.X`) attributes that are configuration, not timers;
/// - `host.addr[NAME]`, `host.route4`, `host.route6`, `host.sysctl[PATH]`;
/// - `host.iptables.filter`, `host.iptables.nat` (iptables-save without counters and comments),
///   `host.ip6tables.filter`, `host.ip6tables.nat` (the same of ip6tables-save);
/// - `sandbox[CONTAINER].link[NAME].FIELD`, `.addr[NAME]`, `.route4`, `.route6`, `.sysctl[PATH]`.
///
/// Normalisation: `br-<12 hex>` becomes `br-<network>`, a host veth becomes `veth[CONTAINER/IFNAME]`
/// (its peer), random MACs (bridges, host veths) and the link-local addresses made from them are
/// dropped, ifindexes and netns ids are dropped. Sandbox MACs (Docker 20.10: `02:42:` + IPv4) stay.
struct Snapshot {
    var facts: [String: String] = [:]

    static let bridgeKeys = ["forward_delay", "hello_time", "max_age", "ageing_time", "stp_state", "priority",
                             "vlan_filtering", "vlan_protocol", "mcast_snooping", "mcast_router", "mcast_querier",
                             "nf_call_iptables", "nf_call_ip6tables", "nf_call_arptables", "group_fwd_mask"]
    static let portKeys = ["state", "priority", "cost", "hairpin", "guard", "root_block", "fastleave", "learning",
                           "flood", "proxy_arp", "mcast_flood", "bcast_flood", "neigh_suppress", "isolated"]

    static func take(_ side: Side) throws -> Snapshot {
        var s = Snapshot()
        // Sandboxes first: their links name the host ends of the veths.
        var hostVeths: [Int: String] = [:]
        for c in side.containers {
            let links = try json(side.inSandbox(c, ["ip", "-j", "-d", "link", "show"]))
            var names: [Int: String] = [:]
            for l in links {
                guard let name = l["ifname"] as? String, let index = l["ifindex"] as? Int else { continue }
                names[index] = name
                if let peer = l["link_index"] as? Int { hostVeths[peer] = "veth[\(c)/\(name)]" }
            }
            s.links(links, prefix: "sandbox[\(c)]", keepMAC: true) { $0 }
            s.addresses(try json(side.inSandbox(c, ["ip", "-j", "addr", "show"])), prefix: "sandbox[\(c)]", keepLinkLocal: true) { $0 }
            s.routes(try json(side.inSandbox(c, ["ip", "-j", "-4", "route", "show", "table", "main"])), key: "sandbox[\(c)].route4") { $0 }
            s.routes(try json(side.inSandbox(c, ["ip", "-j", "-6", "route", "show", "table", "main"])), key: "sandbox[\(c)].route6") { $0 }
            s.sysctls(try side.inSandbox(c, ["sh", "-c", sandboxSysctls]).stdout, prefix: "sandbox[\(c)]") { $0 }
        }
        let hostLinks = try json(side.host(["ip", "-j", "-d", "link", "show"]))
        var hostNames: [String: String] = [:]
        for l in hostLinks {
            guard let name = l["ifname"] as? String, let index = l["ifindex"] as? Int else { continue }
            hostNames[name] = hostVeths[index] ?? side.bridgeNames[name] ?? name
        }
        let rename: (String) -> String = { hostNames[$0] ?? side.bridgeNames[$0] ?? $0 }
        s.links(hostLinks, prefix: "host", keepMAC: false, rename)
        s.addresses(try json(side.host(["ip", "-j", "addr", "show"])), prefix: "host", keepLinkLocal: false, rename)
        s.routes(try json(side.host(["ip", "-j", "-4", "route", "show", "table", "main"])), key: "host.route4", rename)
        s.routes(try json(side.host(["ip", "-j", "-6", "route", "show", "table", "main"])), key: "host.route6", rename)
        s.sysctls(try side.host(["sh", "-c", hostSysctls]).stdout, prefix: "host", rename)
        for table in ["filter", "nat"] {
            let text = try side.host(["iptables-save", "-t", table]).stdout
            s.facts["host.iptables.\(table)"] = normalizeRules(text, side.bridgeNames)
            // ip6tables too (issue 15): empty on both sides until an IPv6 network exists. The
            // DOCKER-USER lines are a fact of their own (Berth has an IPv6 DOCKER-USER, 20.10
            // none: a documented deviation that must not hide any other difference).
            let rules6 = normalizeRules(try side.host(["ip6tables-save", "-t", table]).stdout, side.bridgeNames)
                .split(separator: "\n", omittingEmptySubsequences: false)
            s.facts["host.ip6tables.\(table)"] = rules6.filter { !$0.contains("DOCKER-USER") }.joined(separator: "\n")
            let user = rules6.filter { $0.contains("DOCKER-USER") }
            if !user.isEmpty { s.facts["host.ip6tables.\(table).DOCKER-USER"] = user.joined(separator: "\n") }
        }
        return s
    }

    // MARK: readers

    private static func json(_ r: Output) throws -> [[String: Any]] {
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.status == 0, !text.isEmpty else { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// Per link (not `lo` on the host): the sysctls Docker 20.10 writes or that decide IPv6 there.
    static let hostSysctls = """
        for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding \
          /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables \
          /proc/sys/net/ipv6/conf/*/accept_ra /proc/sys/net/ipv6/conf/*/disable_ipv6 \
          /proc/sys/net/ipv4/conf/*/route_localnet; do [ -e "$f" ] && echo "$f=$(cat "$f")"; done; true
        """
    static let sandboxSysctls = """
        for f in /proc/sys/net/ipv6/conf/*/disable_ipv6 /proc/sys/net/ipv6/conf/*/accept_ra \
          /proc/sys/net/ipv4/ip_forward; do [ -e "$f" ] && echo "$f=$(cat "$f")"; done; true
        """

    private mutating func links(_ links: [[String: Any]], prefix: String, keepMAC: Bool, _ rename: (String) -> String) {
        for l in links {
            guard let raw = l["ifname"] as? String else { continue }
            let name = rename(raw)
            let k = "\(prefix).link[\(name)]"
            let info = l["linkinfo"] as? [String: Any]
            facts[k + ".kind"] = info?["info_kind"] as? String ?? "-"
            facts[k + ".mtu"] = text(l["mtu"])
            facts[k + ".operstate"] = text(l["operstate"])
            facts[k + ".qdisc"] = text(l["qdisc"])
            facts[k + ".txqlen"] = text(l["txqlen"] ?? 0)
            facts[k + ".flags"] = ((l["flags"] as? [String]) ?? []).sorted().joined(separator: ",")
            facts[k + ".numtxqueues"] = text(l["num_tx_queues"])
            if let m = l["master"] as? String { facts[k + ".master"] = rename(m) }
            if keepMAC, raw != "lo" { facts[k + ".mac"] = text(l["address"]) }
            if let data = info?["info_data"] as? [String: Any], facts[k + ".kind"] == "bridge" {
                for key in Self.bridgeKeys where data[key] != nil { facts[k + ".bridge.\(key)"] = text(data[key]) }
            }
            if let data = info?["info_slave_data"] as? [String: Any] {
                for key in Self.portKeys where data[key] != nil { facts[k + ".port.\(key)"] = text(data[key]) }
            }
        }
    }

    private mutating func addresses(_ links: [[String: Any]], prefix: String, keepLinkLocal: Bool, _ rename: (String) -> String) {
        for l in links {
            guard let raw = l["ifname"] as? String else { continue }
            let list = ((l["addr_info"] as? [[String: Any]]) ?? []).map { a -> String in
                let local = text(a["local"])
                let shown = !keepLinkLocal && local.hasPrefix("fe80:") ? "fe80::(from mac)" : local
                return "\(shown)/\(text(a["prefixlen"])) \(text(a["scope"]))"
            }
            facts["\(prefix).addr[\(rename(raw))]"] = list.sorted().joined(separator: "; ")
        }
    }

    private mutating func routes(_ routes: [[String: Any]], key: String, _ rename: (String) -> String) {
        let list = routes.map { r -> String in
            var parts = [text(r["dst"])]
            if let g = r["gateway"] { parts.append("via \(text(g))") }
            if let d = r["dev"] as? String { parts.append("dev \(rename(d))") }
            for f in ["protocol", "scope", "prefsrc", "metric"] where r[f] != nil { parts.append("\(f) \(text(r[f]))") }
            if let flags = r["flags"] as? [String], !flags.isEmpty { parts.append(flags.sorted().joined(separator: ",")) }
            return parts.joined(separator: " ")
        }
        facts[key] = list.sorted().joined(separator: "; ")
    }

    private mutating func sysctls(_ output: String, prefix: String, _ rename: (String) -> String) {
        for line in output.split(separator: "\n") {
            guard let eq = line.lastIndex(of: "=") else { continue }
            var path = line[..<eq].replacingOccurrences(of: "/proc/sys/", with: "").split(separator: "/").map(String.init)
            if path.count == 5, path[2] == "conf" {
                if prefix == "host", path[3] == "lo" { continue }
                path[3] = rename(path[3])
            }
            facts["\(prefix).sysctl[\(path.joined(separator: "."))]"] = String(line[line.index(after: eq)...])
        }
    }

    /// iptables-save of one table without comments and counters, bridge names normalised.
    static func normalizeRules(_ text: String, _ bridges: [String: String]) -> String {
        var lines: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var l = String(line)
            if l.hasPrefix(":"), let bracket = l.firstIndex(of: "[") { l = String(l[..<bracket]).trimmingCharacters(in: .whitespaces) }
            for (k, v) in bridges { l = l.replacingOccurrences(of: k, with: v) }
            lines.append(l)
        }
        return lines.joined(separator: "\n")
    }

    private static func text(_ v: Any?) -> String {
        switch v {
        case nil: "-"
        case let s as String: s
        case let n as NSNumber: n.stringValue
        case let a as [Any]: a.map { text($0) }.joined(separator: ",")
        default: String(describing: v ?? "")
        }
    }
    private func text(_ v: Any?) -> String { Self.text(v) }

    /// The keys whose values differ (or exist on one side only), sorted.
    static func differences(_ a: Snapshot, _ b: Snapshot) -> [(key: String, docker: String, berth: String)] {
        Set(a.facts.keys).union(b.facts.keys).sorted().compactMap { k in
            let x = a.facts[k] ?? "<absent>", y = b.facts[k] ?? "<absent>"
            return x == y ? nil : (k, x, y)
        }
    }
}

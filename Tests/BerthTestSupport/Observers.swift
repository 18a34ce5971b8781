import Foundation

/// Independent observers: what iproute2, iptables, nft, ping and /proc say about a namespace,
/// never what the code under test says about itself.
extension Sandbox {
    /// `ip [-n NS] -j ARGS...` parsed as a JSON array of objects.
    package static func ipJSON(_ args: [String], netns: String? = nil) throws -> [[String: Any]] {
        var argv = ["ip"]
        if let netns { argv += ["-n", netns] }
        let text = try check(argv + ["-j"] + args).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// `ip -j -d link show NAME` in `netns`, or nil when the link does not exist.
    package static func link(_ name: String, netns: String? = nil) throws -> [String: Any]? {
        var argv = ["ip"]
        if let netns { argv += ["-n", netns] }
        let r = try run(argv + ["-j", "-d", "link", "show", "dev", name])
        if r.status != 0 { return nil }
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])?.first
    }

    /// The link names of `netns`, from `ip -j link`.
    package static func linkNames(netns: String? = nil) throws -> [String] {
        try ipJSON(["link", "show"], netns: netns).compactMap { $0["ifname"] as? String }
    }

    /// IPv4 addresses (`a.b.c.d/len`) of a link, from `ip -j addr`.
    package static func ipv4Addresses(_ name: String, netns: String? = nil) throws -> [String] {
        try ipJSON(["-4", "addr", "show", "dev", name], netns: netns).flatMap { entry -> [String] in
            ((entry["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
                guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
                return "\(local)/\(len)"
            }
        }
    }

    /// IPv6 addresses (`x::y/len`) of a link, from `ip -j -6 addr`; `globalOnly` leaves out the
    /// link-local ones (`scope link`).
    package static func ipv6Addresses(_ name: String, netns: String? = nil, globalOnly: Bool = false) throws -> [String] {
        try ipJSON(["-6", "addr", "show", "dev", name], netns: netns).flatMap { entry -> [String] in
            ((entry["addr_info"] as? [[String: Any]]) ?? []).compactMap { info in
                guard let local = info["local"] as? String, let len = info["prefixlen"] as? Int else { return nil }
                if globalOnly && info["scope"] as? String == "link" { return nil }
                return "\(local)/\(len)"
            }
        }
    }

    /// `bridge -d -j link show dev PORT` in `netns`: the bridge port's flags (hairpin, state…).
    package static func bridgePort(_ port: String, netns: String) throws -> [String: Any]? {
        let out = try check(["bridge", "-n", netns, "-d", "-j", "link", "show", "dev", port]).stdout
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])?.first
    }

    /// A sysctl of `netns` as /proc/sys shows it there (`net.ipv4.ip_forward` → its value).
    package static func sysctl(_ key: String, netns: String) throws -> String {
        let file = "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")
        return try check(["ip", "netns", "exec", netns, "cat", file]).stdout.trimmingCharacters(in: .newlines)
    }

    /// Up to three ICMP echoes 0.2 s apart from `netns` to `address`, each waiting at most 1 s;
    /// true when any is answered (one lost first packet, e.g. to ARP on a loaded machine, is not
    /// a failure).
    package static func ping(from netns: String, _ address: String) throws -> Bool {
        try exec(netns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-q", address]).status == 0
    }

    /// `iptables-save` of `netns` normalised (`IptablesText.normalizedSave`); `command` picks the
    /// variant (`iptables-save`, `iptables-nft-save`, `iptables-legacy-save`).
    package static func iptablesSave(netns: String, command: String = "iptables-save") throws -> [String] {
        IptablesText.normalizedSave(try check(["ip", "netns", "exec", netns, command]).stdout)
    }

    /// `iptables -t TABLE -S` of `netns`, one rule a line.
    package static func iptablesRules(netns: String, table: String = "filter", command: String = "iptables") throws -> [String] {
        IptablesText.lines(try check(["ip", "netns", "exec", netns, command, "-t", table, "-S"]).stdout)
    }

    /// `nft list ruleset` of `netns`; with `handles` (`-a`), equal listings mean nothing was re-created.
    package static func nftRuleset(netns: String, handles: Bool = false) throws -> String {
        try check(["ip", "netns", "exec", netns, "nft"] + (handles ? ["-a"] : []) + ["list", "ruleset"]).stdout
    }

    /// `nft -j list ruleset` of `netns` as the array under "nftables".
    package static func nftJSON(netns: String) throws -> [[String: Any]] {
        let out = try check(["ip", "netns", "exec", netns, "nft", "-j", "list", "ruleset"]).stdout
        let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return object?["nftables"] as? [[String: Any]] ?? []
    }
}

/// iptables text as the tools print it, made comparable.
package enum IptablesText {
    /// Non-empty lines of a text block.
    package static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// `iptables-save` output without comments, with zeroed counters and the tables in name
    /// order (iptables-legacy-save prints nat before filter), for comparisons. A table that holds
    /// nothing (built-in chains with policy ACCEPT only, no rule) is left out: it filters nothing,
    /// and iptables cannot delete a table once a rule was in it (an SCTP port's mangle rule, the
    /// first IPv6 network's ip6tables tables), so "as before" means no table of it.
    package static func normalizedSave(_ text: String) -> [String] {
        var blocks: [[String]] = []
        for line in lines(text) where !line.hasPrefix("#") {
            var line = line
            if line.hasPrefix(":"), let open = line.lastIndex(of: "[") { line = String(line[..<open]) + "[0:0]" }
            if line.hasPrefix("*") || blocks.isEmpty { blocks.append([]) }
            blocks[blocks.count - 1].append(line)
        }
        let empty = { (block: [String]) in
            block.allSatisfy { $0.hasPrefix("*") || $0 == "COMMIT" || ($0.hasPrefix(":") && $0.hasSuffix(" ACCEPT [0:0]")) }
        }
        return blocks.filter { !empty($0) }.sorted { ($0.first ?? "") < ($1.first ?? "") }.flatMap { $0 }
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A nested value of decoded JSON: `link[path: "linkinfo", "info_kind"]`.
    package subscript(path path: String...) -> Any? {
        var current: Any? = self
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }
}

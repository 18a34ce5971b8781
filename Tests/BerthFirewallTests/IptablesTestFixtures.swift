import BerthNetlink
@testable import BerthFirewall

/// The networks and endpoint of the golden walkthrough (Tests/Fixtures/docker-20.10).
enum Walkthrough {
    static let docker0 = NetworkRules(id: String(repeating: "d", count: 64), bridge: "docker0",
                                      subnet: subnet("172.17.0.0/16"))
    static let test1 = NetworkRules(id: "2a02aed81558" + String(repeating: "0", count: 52), bridge: "br-2a02aed81558",
                                    subnet: subnet("172.18.0.0/16"))
    /// `docker run -p 8080:80` on the default bridge: 172.17.0.3 (golden c-containers).
    static let published = EndpointPorts(endpointID: "cpub", networkID: docker0.id, bridge: "docker0",
                                         address: address("172.17.0.3"),
                                         ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)])

    static func subnet(_ text: String) -> IPv4Subnet {
        guard let s = IPv4Subnet(text) else { fatalError("bad subnet \(text)") }
        return s
    }

    static func address(_ text: String) -> IPv4Address {
        guard let a = IPv4Address(text) else { fatalError("bad address \(text)") }
        return a
    }

    /// Non-empty lines of a text block.
    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// `iptables-save` output without comments, with zeroed counters and the tables in name
    /// order (iptables-legacy-save prints nat before filter), for comparisons.
    static func normalizedSave(_ text: String) -> [String] {
        var blocks: [[String]] = []
        for line in lines(text) where !line.hasPrefix("#") {
            var line = line
            if line.hasPrefix(":"), let open = line.lastIndex(of: "[") { line = String(line[..<open]) + "[0:0]" }
            if line.hasPrefix("*") || blocks.isEmpty { blocks.append([]) }
            blocks[blocks.count - 1].append(line)
        }
        return blocks.sorted { ($0.first ?? "") < ($1.first ?? "") }.flatMap { $0 }
    }
}

extension Walkthrough {
    /// A restore plan against `save` (or an empty ruleset), built by `build`.
    static func plan(from save: String? = nil, _ build: (inout RestorePlan) -> Void) -> RestorePlan {
        var plan = RestorePlan(current: save.map { IptablesRuleset(parsing: $0) } ?? IptablesRuleset())
        build(&plan)
        return plan
    }
}

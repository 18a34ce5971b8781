@_spi(BerthInternal) import BerthNetlink
import BerthTestSupport
@_spi(BerthInternal) @testable import BerthFirewall

/// The networks and endpoint of the golden walkthrough (Tests/Fixtures/docker-20.10).
enum Walkthrough {
    static let docker0 = NetworkRules(id: String(repeating: "d", count: 64), bridge: "docker0",
                                      subnet: Fixtures.subnet("172.17.0.0/16"))
    static let test1 = NetworkRules(id: "2a02aed81558" + String(repeating: "0", count: 52), bridge: "br-2a02aed81558",
                                    subnet: Fixtures.subnet("172.18.0.0/16"))
    /// `docker run -p 8080:80` on the default bridge: 172.17.0.3 (golden c-containers).
    static let published = EndpointPorts(endpointID: "cpub", networkID: docker0.id, bridge: "docker0",
                                         address: Fixtures.address("172.17.0.3"),
                                         ports: [PortMapping(proto: .tcp, hostPort: 8080, containerPort: 80)])
}

extension Walkthrough {
    /// A restore plan against `save` (or an empty ruleset), built by `build`.
    static func plan(from save: String? = nil, _ build: (inout RestorePlan) -> Void) -> RestorePlan {
        var plan = RestorePlan(current: save.map { IptablesRuleset(parsing: $0) } ?? IptablesRuleset())
        build(&plan)
        return plan
    }
}

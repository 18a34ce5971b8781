/// The IPv6 scenarios (issue 15), run against a dockerd started with `--experimental --ip6tables
/// --ipv6 --fixed-cidr-v6 2001:db8:1::/64` and `berth --fixed-cidr-v6 2001:db8:1::/64`
/// (`OracleTests.ipv6ScenariosMatchDocker`): the walkthrough of Tests/Fixtures/docker-20.10/ipv6/
/// and the network options that golden dump leaves out (icc off, internal, masquerade off, two
/// networks, connect), each with IPv4 and IPv6.
extension Scenarios {
    static let ipv6: [Scenario] = [
        Scenario("v6-net", [.create("n1", ["--ipv6", "--subnet", "fd00:61::/64"]), .run("c1", on: "n1"), .run("c2", on: "n1"),
                            .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("v6-publish", [.create("n1", ["--ipv6", "--subnet", "fd00:62::/64"]), .run("c1", on: "n1", .publish("8080:80")),
                                .remove("c1"), .rm("n1")]),
        Scenario("v6-publish-host-ips", [.create("n1", ["--ipv6", "--subnet", "fd00:63::/64"]),
                                         .run("c1", on: "n1", .publish("[::]:8082:80", "127.0.0.1:8083:80", "8084:84/udp")),
                                         .remove("c1"), .rm("n1")]),
        Scenario("v6-static", [.create("n1", ["--ipv6", "--subnet", "fd00:64::/64"]), .run("c1", on: "n1", .ip6("fd00:64::99")),
                               .run("c2", on: "n1"), .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("v6-range-gateway", [.create("n1", ["--ipv6", "--subnet", "172.30.0.0/16", "--subnet", "fd00:65::/64",
                                                     "--gateway", "fd00:65::fe", "--ip-range", "fd00:65::/80"]),
                                      .run("c1", on: "n1"), .remove("c1"), .rm("n1")]),
        Scenario("v6-bridge", [.run("c1", on: "bridge", .publish("8085:80")), .run("c2"), .remove("c1"), .remove("c2")]),
        Scenario("v6-two-networks", [.create("na", ["--ipv6", "--subnet", "fd00:66::/64"]), .create("nb", ["--ipv6", "--subnet", "fd00:67::/64"]),
                                     .run("c1", on: "na"), .run("c2", on: "nb"), .connect("nb", "c1"), .remove("c1"), .remove("c2"),
                                     .rm("na"), .rm("nb")]),
        Scenario("v6-and-v4-networks", [.create("n4", ["--subnet", "10.90.0.0/24"]), .create("n6", ["--ipv6", "--subnet", "fd00:68::/64"]),
                                        .run("c1", on: "n4"), .connect("n6", "c1"), .remove("c1"),
                                        .rm("n4"), .rm("n6")]),
        Scenario("v6-icc-off", [.create("n1", ["--ipv6", "--subnet", "fd00:69::/64", "-o", "\(icc)=false"]), .run("c1", on: "n1"),
                                .remove("c1"), .rm("n1")]),
        Scenario("v6-internal", [.create("n1", ["--ipv6", "--internal", "--subnet", "fd00:6a::/64"]), .run("c1", on: "n1"),
                                 .remove("c1"), .rm("n1")]),
        Scenario("v6-masquerade-off", [.create("n1", ["--ipv6", "--subnet", "fd00:6b::/64", "-o", "\(masq)=false"]),
                                       .run("c1", on: "n1", .publish("8087:80")), .remove("c1"), .rm("n1")]),
        Scenario("v6-errors", [.create("n1", ["--ipv6", "--subnet", "10.91.0.0/24"]),
                               .create("n2", ["--ipv6", "--subnet", "10.92.0.0/24", "--subnet", "fd00:6c::/64"]),
                               .run("c1", on: "n2", .ip6("fd00:6d::5")), .run("c2", on: "n2", .ip6("fd00:6c::1")), .rm("n2")]),
        // A refused --ipv6 without an IPv6 subnet: dockerd's IPAM has taken the next automatic
        // IPv4 pool before it fails (D4).
        Scenario("v6-no-subnet-pool", [.create("n1", ["--ipv6"]), .create("n2"), .rm("n2")]),
    ]
}

/// The oracle's scenarios: every network option, static addresses, ports, several networks per
/// sandbox, removal orders, subnet reuse and error cases, as a new user would try them. Each runs
/// on the same dockerd and the same Berth state directory, so the automatic-subnet history (Docker's
/// IPAM start index) is shared by the scenarios in this order.
enum Scenarios {
    static let icc = "com.docker.network.bridge.enable_icc"
    static let masq = "com.docker.network.bridge.enable_ip_masquerade"
    static let mtu = "com.docker.network.driver.mtu"
    static let bname = "com.docker.network.bridge.name"

    static let all: [Scenario] = [
        // Network options
        Scenario("net-default", [.create("n1"), .rm("n1")]),
        Scenario("net-subnet", [.create("n1", ["--subnet", "10.10.0.0/24"]), .run("c1", on: "n1"), .remove("c1"), .rm("n1")]),
        Scenario("net-gateway", [.create("n1", ["--subnet", "10.11.0.0/24", "--gateway", "10.11.0.254"]), .run("c1", on: "n1"),
                                 .remove("c1"), .rm("n1")]),
        Scenario("net-ip-range", [.create("n1", ["--subnet", "10.12.0.0/16", "--ip-range", "10.12.5.0/24"]), .run("c1", on: "n1"),
                                  .run("c2", on: "n1"), .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("net-ip-range-gateway", [.create("n1", ["--subnet", "10.13.0.0/16", "--ip-range", "10.13.8.0/24", "--gateway", "10.13.0.1"]),
                                          .run("c1", on: "n1"), .remove("c1"), .rm("n1")]),
        Scenario("net-ip-range-mid", [.create("n1", ["--subnet", "10.14.0.0/24", "--ip-range", "10.14.0.128/25"]), .run("c1", on: "n1"),
                                      .remove("c1"), .rm("n1")]),
        Scenario("net-internal", [.create("n1", ["--internal"]), .run("c1", on: "n1"), .run("c2", on: "n1"), .remove("c1"),
                                  .remove("c2"), .rm("n1")]),
        Scenario("net-internal-publish", [.create("n1", ["--internal", "--subnet", "10.15.0.0/24"]),
                                          .run("c1", on: "n1", .publish("8080:80")), .remove("c1"), .rm("n1")]),
        Scenario("net-icc-off", [.create("n1", ["-o", "\(icc)=false"]), .run("c1", on: "n1"), .run("c2", on: "n1"),
                                 .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("net-masquerade-off", [.create("n1", ["-o", "\(masq)=false"]), .run("c1", on: "n1", .publish("8090:80")),
                                        .remove("c1"), .rm("n1")]),
        Scenario("net-mtu", [.create("n1", ["-o", "\(mtu)=1400"]), .run("c1", on: "n1"), .run("c2", on: "n1"), .remove("c1"),
                             .remove("c2"), .rm("n1")]),
        Scenario("net-bridge-name", [.create("n1", ["-o", "\(bname)=brtest0"]), .run("c1", on: "n1"), .remove("c1"), .rm("n1")]),
        Scenario("net-labels", [.create("n1", ["--label", "team=a", "--label", "tier=db"]), .run("c1", on: "n1"), .remove("c1"),
                                .rm("n1")]),
        Scenario("net-all-options", [.create("n1", ["--subnet", "10.16.0.0/16", "--gateway", "10.16.0.1", "--ip-range", "10.16.4.0/22",
                                                   "-o", "\(icc)=false", "-o", "\(masq)=false", "-o", "\(mtu)=1450",
                                                   "-o", "\(bname)=brall0", "--label", "x=y"]),
                                     .run("c1", on: "n1", .publish("8100:80")), .run("c2", on: "n1"), .remove("c1"), .remove("c2"),
                                     .rm("n1")]),
        Scenario("net-internal-icc-off", [.create("n1", ["--internal", "-o", "\(icc)=false"]), .run("c1", on: "n1"),
                                          .remove("c1"), .rm("n1")]),
        // The default bridge
        Scenario("bridge-one", [.run("c1"), .remove("c1")]),
        Scenario("bridge-two", [.run("c1"), .run("c2"), .remove("c1"), .remove("c2")]),
        Scenario("bridge-publish", [.run("c1", on: "bridge", .publish("8110:80")), .remove("c1")]),
        // Static addresses and MACs
        Scenario("static-ip", [.create("n1", ["--subnet", "10.20.0.0/24"]), .run("c1", on: "n1", .ip("10.20.0.50")),
                               .run("c2", on: "n1"), .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("static-mac", [.create("n1", ["--subnet", "10.21.0.0/24"]), .run("c1", on: "n1", .mac("02:42:aa:bb:cc:01")),
                                .remove("c1"), .rm("n1")]),
        Scenario("static-ip-and-mac", [.create("n1", ["--subnet", "10.22.0.0/24"]),
                                       .run("c1", on: "n1", .init(ip: "10.22.0.9", mac: "02:42:aa:bb:cc:02")), .remove("c1"), .rm("n1")]),
        Scenario("static-ip-no-subnet", [.create("n1"), .run("c1", on: "n1", .ip("172.30.0.50")), .rm("n1")]),
        Scenario("static-ip-outside", [.create("n1", ["--subnet", "10.23.0.0/24"]), .run("c1", on: "n1", .ip("10.24.0.5")),
                                       .rm("n1")]),
        Scenario("static-ip-in-use", [.create("n1", ["--subnet", "10.25.0.0/24"]), .run("c1", on: "n1", .ip("10.25.0.7")),
                                      .run("c2", on: "n1", .ip("10.25.0.7")), .remove("c1"), .rm("n1")]),
        Scenario("static-ip-gateway", [.create("n1", ["--subnet", "10.26.0.0/24"]), .run("c1", on: "n1", .ip("10.26.0.1")),
                                       .rm("n1")]),
        // Ports
        Scenario("publish-tcp", [.create("n1", ["--subnet", "10.30.0.0/24"]), .run("c1", on: "n1", .publish("8080:80")),
                                 .remove("c1"), .rm("n1")]),
        Scenario("publish-udp", [.create("n1", ["--subnet", "10.31.0.0/24"]), .run("c1", on: "n1", .publish("5353:53/udp")),
                                 .remove("c1"), .rm("n1")]),
        Scenario("publish-host-ip", [.create("n1", ["--subnet", "10.32.0.0/24"]), .run("c1", on: "n1", .publish("127.0.0.1:8081:80")),
                                     .remove("c1"), .rm("n1")]),
        // Host and container ports in the same order: nat.SortPortMap's comparator is then a strict
        // order, so Docker's result does not depend on its map's random iteration order (with
        // 8082:80, 8083:443, 9000:90/udp it does, and the oracle saw both orders).
        Scenario("publish-several", [.create("n1", ["--subnet", "10.33.0.0/24"]),
                                     .run("c1", on: "n1", .publish("8082:80", "8083:90/udp", "9000:443")), .remove("c1"), .rm("n1")]),
        Scenario("publish-order", [.create("n1", ["--subnet", "10.34.0.0/24"]),
                                   .run("c1", on: "n1", .publish("7000:70", "9001:80", "8000:80")), .remove("c1"), .rm("n1")]),
        Scenario("publish-two-containers", [.create("n1", ["--subnet", "10.35.0.0/24"]), .run("c1", on: "n1", .publish("8084:80")),
                                            .run("c2", on: "n1", .publish("8085:80/udp")), .remove("c1"), .remove("c2"), .rm("n1")]),
        Scenario("publish-port-taken", [.create("n1", ["--subnet", "10.36.0.0/24"]), .run("c1", on: "n1", .publish("8086:80")),
                                        .run("c2", on: "n1", .publish("8086:80")), .remove("c1"), .rm("n1")]),
        // Ranges (issue 13): Docker 20.10 expands them into single bindings, highest port first.
        Scenario("publish-range", [.create("n1", ["--subnet", "10.37.0.0/24"]),
                                   .run("c1", on: "n1", .publish("8200-8202:8200-8202", "127.0.0.1:9200-9201:9200-9201/udp")),
                                   .remove("c1"), .rm("n1")]),
        // A host range to one container port: the first free port of the range, for each container.
        Scenario("publish-host-range", [.create("n1", ["--subnet", "10.38.0.0/24"]), .run("c1", on: "n1", .publish("8210-8219:80")),
                                        .run("c2", on: "n1", .publish("8210-8219:80")), .run("c3", on: "n1", .publish("8211:81")),
                                        .remove("c1"), .remove("c2"), .remove("c3"), .rm("n1")]),
        // A range overlapping a published port: refused, nothing changed.
        Scenario("publish-range-overlap", [.create("n1", ["--subnet", "10.39.0.0/24"]), .run("c1", on: "n1", .publish("8225:80")),
                                           .run("c2", on: "n1", .publish("8220-8229:8220-8229")), .remove("c1"), .rm("n1")]),
        // No host port: the first port of ip_local_port_range (the only scenario asking for one, so
        // dockerd's round-robin allocator and Berth's lowest-free choice give the same number).
        Scenario("publish-ephemeral", [.create("n1", ["--subnet", "10.71.0.0/24"]), .run("c1", on: "n1", .publish("80")),
                                       .remove("c1"), .rm("n1")]),
        // Several networks per sandbox
        Scenario("connect-later-name", [.create("na", ["--subnet", "10.40.0.0/24"]), .create("nb", ["--subnet", "10.41.0.0/24"]),
                                        .run("c1", on: "na"), .connect("nb", "c1"), .remove("c1"), .rm("na"), .rm("nb")]),
        Scenario("connect-earlier-name", [.create("na", ["--subnet", "10.42.0.0/24"]), .create("nb", ["--subnet", "10.43.0.0/24"]),
                                          .run("c1", on: "nb"), .connect("na", "c1"), .remove("c1"), .rm("na"), .rm("nb")]),
        Scenario("connect-internal", [.create("na", ["--subnet", "10.44.0.0/24"]), .create("nb", ["--internal", "--subnet", "10.45.0.0/24"]),
                                      .run("c1", on: "nb"), .connect("na", "c1"), .remove("c1"), .rm("na"), .rm("nb")]),
        Scenario("disconnect-default-route", [.create("na", ["--subnet", "10.46.0.0/24"]), .create("nb", ["--subnet", "10.47.0.0/24"]),
                                              .run("c1", on: "na"), .connect("nb", "c1"), .disconnect("na", "c1"),
                                              .remove("c1"), .rm("na"), .rm("nb")]),
        Scenario("disconnect-second", [.create("na", ["--subnet", "10.48.0.0/24"]), .create("nb", ["--subnet", "10.49.0.0/24"]),
                                       .run("c1", on: "na"), .connect("nb", "c1"), .disconnect("nb", "c1"), .remove("c1"),
                                       .rm("na"), .rm("nb")]),
        Scenario("connect-static-ip", [.create("na", ["--subnet", "10.50.0.0/24"]), .create("nb", ["--subnet", "10.51.0.0/24"]),
                                       .run("c1", on: "na"), .connect("nb", "c1", .ip("10.51.0.77")), .remove("c1"),
                                       .rm("na"), .rm("nb")]),
        Scenario("connect-three", [.create("nc", ["--subnet", "10.52.0.0/24"]), .create("na", ["--subnet", "10.53.0.0/24"]),
                                   .create("nb", ["--subnet", "10.54.0.0/24"]), .run("c1", on: "nc"), .connect("nb", "c1"),
                                   .connect("na", "c1"), .disconnect("na", "c1"), .remove("c1"), .rm("na"), .rm("nb"), .rm("nc")]),
        Scenario("connect-bridge-and-user", [.create("n1", ["--subnet", "10.55.0.0/24"]), .run("c1"), .connect("n1", "c1"),
                                             .remove("c1"), .rm("n1")]),
        Scenario("connect-publish", [.create("na", ["--subnet", "10.56.0.0/24"]), .create("nb", ["--subnet", "10.57.0.0/24"]),
                                     .run("c1", on: "nb", .publish("8120:80")), .connect("na", "c1"), .disconnect("na", "c1"),
                                     .remove("c1"), .rm("na"), .rm("nb")]),
        // Removal orders
        Scenario("rm-network-in-use", [.create("n1", ["--subnet", "10.60.0.0/24"]), .run("c1", on: "n1"), .rm("n1"),
                                       .remove("c1"), .rm("n1")]),
        Scenario("rm-in-creation-order", [.create("na", ["--subnet", "10.61.0.0/24"]), .create("nb", ["--subnet", "10.62.0.0/24"]),
                                          .create("nc", ["--subnet", "10.63.0.0/24"]), .rm("na"), .rm("nb"), .rm("nc")]),
        Scenario("rm-in-reverse-order", [.create("na", ["--subnet", "10.64.0.0/24"]), .create("nb", ["--subnet", "10.65.0.0/24"]),
                                         .create("nc", ["--subnet", "10.66.0.0/24"]), .rm("nc"), .rm("nb"), .rm("na")]),
        Scenario("rm-middle-first", [.create("na", ["--subnet", "10.67.0.0/24"]), .create("nb", ["-o", "\(icc)=false", "--subnet", "10.68.0.0/24"]),
                                     .create("nc", ["--internal", "--subnet", "10.69.0.0/24"]), .rm("nb"), .rm("na"), .rm("nc")]),
        Scenario("rm-containers-out-of-order", [.create("n1", ["--subnet", "10.70.0.0/24"]), .run("c1", on: "n1"), .run("c2", on: "n1"),
                                                .run("c3", on: "n1"), .remove("c2"), .run("c4", on: "n1"), .remove("c1"),
                                                .remove("c3"), .remove("c4"), .rm("n1")]),
        // Automatic subnets
        Scenario("subnet-sequence", [.create("na"), .create("nb"), .create("nc"), .rm("nb"), .create("nd"), .rm("na"), .rm("nc"),
                                     .rm("nd")]),
        Scenario("subnet-reuse-after-rm", [.create("na"), .rm("na"), .create("nb"), .rm("nb")]),
        // Error cases
        Scenario("error-duplicate-name", [.create("n1", ["--subnet", "10.80.0.0/24"]), .create("n1", ["--subnet", "10.81.0.0/24"]),
                                          .rm("n1")]),
        Scenario("error-overlap", [.create("n1", ["--subnet", "10.82.0.0/16"]), .create("n2", ["--subnet", "10.82.1.0/24"]),
                                   .rm("n1")]),
        Scenario("error-gateway-outside", [.create("n1", ["--subnet", "10.83.0.0/24", "--gateway", "10.84.0.1"])]),
        Scenario("error-bad-subnet", [.create("n1", ["--subnet", "10.85.0.0/33"])]),
        Scenario("error-ip-range-outside", [.create("n1", ["--subnet", "10.86.0.0/24", "--ip-range", "10.87.0.0/25"])]),
        Scenario("error-rm-missing", [.rm("nope")]),
        Scenario("error-bridge-name-taken", [.create("n1", ["-o", "\(bname)=brdup0", "--subnet", "10.88.0.0/24"]),
                                             .create("n2", ["-o", "\(bname)=brdup0", "--subnet", "10.89.0.0/24"]), .rm("n1")]),
        Scenario("error-unknown-network", [.run("c1", on: "nope")]),
    ]
}

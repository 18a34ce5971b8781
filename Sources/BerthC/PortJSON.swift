// The "port" object of include/berth.h ("JSON shapes"): one published port of an endpoint.

@_spi(BerthInternal) import BerthFirewall

/// A published port as JSON: `{"proto":"tcp"|"udp"|"sctp","host_ip":"a.b.c.d"?,"host_port":1-65535,
/// "container_port":1-65535,"count":1-65535}`; `host_ip` is absent when the port is published on
/// every address; `count` consecutive ports (1 for a single binding, 10 for `-p 8000-8009:9000-9009`).
/// The mirror of `PortMapping` (Docker's `-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO]`); each field
/// of its record must have a key here (checked by scripts/test-c-abi.sh).
struct PortJSON: Encodable {
    var proto: String
    var hostIP: String?
    /// An IPv6 host address (the binding is IPv6 only; `::` for every address).
    var hostIP6: String?
    var hostPort: UInt16
    var containerPort: UInt16
    var count: UInt16

    /// The keys, as berth.h spells them.
    enum CodingKeys: String, CodingKey {
        case proto
        case hostIP = "host_ip"
        case hostIP6 = "host_ip6"
        case hostPort = "host_port"
        case containerPort = "container_port"
        case count
    }

    init(_ p: PortMapping) {
        proto = p.proto.rawValue
        hostIP = p.hostIP?.description
        hostIP6 = p.hostIP6?.description
        hostPort = p.hostPort
        containerPort = p.containerPort
        count = p.count
    }
}

import Foundation

/// The golden dumps of real Docker 20.10 (`docker-20.10/`, see its README), shipped as this
/// target's resources: the one copy of the reference the tests compare with.
package enum DockerGolden {
    /// The folder of the dumps inside the resource bundle.
    package static var directory: URL? { Bundle.module.url(forResource: "docker-20.10", withExtension: nil) }

    /// The file's text without its final newline; a missing file reads as a text that names it,
    /// so the comparison fails with the name.
    package static func file(_ name: String) -> String {
        guard let url = directory?.appendingPathComponent(name),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            return "missing golden file \(name)"
        }
        return text.trimmingCharacters(in: .newlines)
    }

    /// The file's bytes (for JSON), or nil when it is missing.
    package static func data(_ name: String) -> Data? {
        directory.flatMap { try? Data(contentsOf: $0.appendingPathComponent(name)) }
    }

    package static var aStartSave: String { file("docker-a-start.iptables-save.txt") }
    package static var bNetcreateS: String { file("docker-b-netcreate.iptables-S.txt") }
    package static var bNetcreateNatS: String { file("docker-b-netcreate.iptables-nat-S.txt") }
    package static var bNetcreateSave: String { file("docker-b-netcreate.iptables-save.txt") }
    package static var bNetcreateInspect: Data? { data("docker-b-netcreate.network-inspect.json") }
    package static var cContainersSave: String { file("docker-c-containers.iptables-save.txt") }
    package static var cContainersS: String { file("docker-c-containers.iptables-S.txt") }
    package static var cContainersNatS: String { file("docker-c-containers.iptables-nat-S.txt") }
    package static var dNetrmSave: String { file("docker-d-netrm.iptables-save.txt") }

    /// dockerd 20.10 `--experimental --ip6tables --ipv6 --fixed-cidr-v6 2001:db8:1::/64`
    /// (`ipv6/`, see its README): a dump file by name (`b-netcreate.ip6tables-save.txt`).
    package static func ipv6(_ name: String) -> String { file("ipv6/\(name)") }
    /// The same, as bytes (JSON).
    package static func ipv6Data(_ name: String) -> Data? { data("ipv6/\(name)") }

    /// dockerd 20.10 `--userland-proxy=false` (`noproxy/`, see its README): the iptables-save
    /// text after step `a-start`, `b-netcreate`, `c-containers`, `d-rm`, `e-netrm`.
    package static func noProxySave(_ step: String) -> String { file("noproxy/\(step).iptables-save.txt") }
    /// The same step's `net.ipv4.conf.*.route_localnet` lines (veths as `veth<container>`).
    package static func noProxySysctl(_ step: String) -> String { file("noproxy/\(step).sysctl.txt") }
    /// The same step's bridge ports (`veth<container> master BRIDGE hairpin 0|1`).
    package static func noProxyBridgePorts(_ step: String) -> String { file("noproxy/\(step).bridge-ports.txt") }
}

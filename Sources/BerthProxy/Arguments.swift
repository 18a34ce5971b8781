#if canImport(Glibc)
import Glibc
#endif

/// The command line of `berth-proxy`, modelled on docker-proxy's (libnetwork `cmd/proxy`):
/// `-proto tcp|udp -host-ip A (IPv4 or IPv6) -host-port N -container-ip B -container-port M`, plus Berth's marks
/// `-berth-state DIR -berth-endpoint ID`, which the library's reconciler reads back from
/// `/proc/PID/cmdline` to find proxies no record explains. Values are given as separate words.
struct ProxyArguments {
    enum Proto: String { case tcp, udp }
    var proto: Proto = .tcp
    /// 0.0.0.0 when `-host-ip` is not given.
    var hostIP: ProxyAddress = .anyIPv4
    var hostPort: UInt16 = 0
    /// Either family, independent of the host address's (docker-proxy's `::` proxy forwards to
    /// the container's IPv4 address when it has no IPv6 one).
    var containerIP: ProxyAddress = .anyIPv4
    var containerPort: UInt16 = 0

    /// - Returns: the arguments, or a one-line reason they are wrong.
    static func parse(_ argv: [String]) -> Result<ProxyArguments, ProxyFailure> {
        var a = ProxyArguments()
        var seen = Set<String>()
        var i = 1
        while i < argv.count {
            let flag = argv[i]
            guard i + 1 < argv.count else { return .failure(ProxyFailure("\(flag) needs a value")) }
            let value = argv[i + 1]
            i += 2
            seen.insert(flag)
            switch flag {
            case "-proto":
                guard let p = Proto(rawValue: value) else { return .failure(ProxyFailure("unsupported protocol \(value)")) }
                a.proto = p
            case "-host-ip", "-container-ip":
                guard let addr = ProxyAddress(value) else { return .failure(ProxyFailure("\(flag): not an IPv4 or IPv6 address: \(value)")) }
                if flag == "-host-ip" { a.hostIP = addr } else { a.containerIP = addr }
            case "-host-port", "-container-port":
                guard let n = UInt16(value), n > 0 else { return .failure(ProxyFailure("\(flag): not a port 1-65535: \(value)")) }
                if flag == "-host-port" { a.hostPort = n } else { a.containerPort = n }
            case "-berth-state", "-berth-endpoint":
                continue
            default:
                return .failure(ProxyFailure("unknown option \(flag)"))
            }
        }
        for required in ["-host-port", "-container-ip", "-container-port"] where !seen.contains(required) {
            return .failure(ProxyFailure("missing \(required)"))
        }
        return .success(a)
    }
}

/// A failure with its text (and the errno's, when there is one).
struct ProxyFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
    init(call: String, errno code: Int32) {
        message = "\(call): \(String(cString: strerror(code)))"
    }
}

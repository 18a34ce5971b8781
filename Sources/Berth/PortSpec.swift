@_spi(BerthInternal) import BerthFirewall

/// A port publication as `docker run -p` takes it, before host ports are chosen:
/// `[HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp]`. The one validator of port
/// requests (CLI `-p`, the C ABI's `ports` objects and `AttachOptions`), with Docker 20.10's rules
/// (go-connections `nat.ParsePortSpec`, checked against dockerd 20.10, `docs/oracle.md`):
/// - a host range and a container range must have the same length
///   (`invalid ranges specified for container and host Ports: 80-82 and 8000-8001`), except that
///   a host range may go to one container port: the first host port of the range that is free is
///   taken (`-p 8000-8009:80` twice gives 8000, then 8001);
/// - no host port (`-p 80`, `-p :80`, `-p 127.0.0.1::80`) or host port 0 (`-p 0:80`): a free port
///   of the host's ephemeral range `net.ipv4.ip_local_port_range` (32768–60999 by default; Docker
///   falls back to 49153–65535 when it cannot read it) for each container port;
/// - reversed ranges (`8009-8000`), ports above 65535 and unknown protocols are refused.
/// Berth also refuses container port 0, which Docker accepts and programs as a DNAT to port 0
/// (reachable by nothing).
public struct PortSpec: Sendable, Hashable {
    public var proto: PortMapping.TransportProtocol
    /// The host address to bind; nil for all (0.0.0.0).
    public var hostIP: IPv4Address?
    /// An IPv6 host address (`-p [::]:8080:80`, `-p [fd00:1::1]:8080:80`): the binding is IPv6
    /// only (`PortMapping.hostIP6`); `hostIP` is nil then.
    public var hostIP6: IPv6Address? = nil
    /// The host port or range; nil: one ephemeral port per container port.
    public var hostPorts: ClosedRange<UInt16>?
    /// The container port or range; never contains 0.
    public var containerPorts: ClosedRange<UInt16>

    /// A request as given (not checked: `attach` checks it, or use `validated`).
    public init(proto: PortMapping.TransportProtocol = .tcp, hostIP: IPv4Address? = nil, hostPorts: ClosedRange<UInt16>?,
                containerPorts: ClosedRange<UInt16>) {
        self.proto = proto
        self.hostIP = hostIP
        self.hostPorts = hostPorts
        self.containerPorts = containerPorts
    }

    /// The request that publishes exactly `mapping` (a single binding or a run); host port 0 of
    /// a single binding asks for an ephemeral port, as `-p 0:80` does.
    public init(_ mapping: PortMapping) {
        proto = mapping.proto
        hostIP = mapping.hostIP
        hostIP6 = mapping.hostIP6
        hostPorts = mapping.hostPort == 0 && mapping.count <= 1 ? nil : mapping.hostPort...max(mapping.hostPort, mapping.hostPortEnd)
        containerPorts = mapping.containerPort...max(mapping.containerPort, mapping.containerPortEnd)
    }

    /// Checks numbers as given (they may be reversed, 0 or above 65535) and builds the request.
    /// - Parameters:
    ///   - proto: `tcp`, `udp` or `sctp`.
    ///   - host: first and last host port; nil or (0, 0) for an ephemeral port.
    ///   - container: first and last container port.
    /// - Throws: `BerthError(.invalidArgument)` naming `object`, with Docker's wording.
    public static func validated(proto: String, hostIP: IPv4Address?, hostIP6: IPv6Address? = nil, host: (Int, Int)?, container: (Int, Int),
                                 operation: OperationName, object: String) throws(BerthError) -> PortSpec {
        func fail(_ detail: String) -> BerthError { BerthError(.invalidArgument, operation: operation, object: object, detail: detail) }
        func text(_ r: (Int, Int)) -> String { r.0 == r.1 ? "\(r.0)" : "\(r.0)-\(r.1)" }
        guard let p = PortMapping.TransportProtocol(rawValue: proto) else { throw fail("invalid proto: \(proto) (tcp, udp or sctp)") }
        guard (1...65535).contains(container.0), (1...65535).contains(container.1), container.0 <= container.1 else {
            throw fail("invalid containerPort: \(text(container))\(container.0 == 0 || container.1 == 0 ? " (port 0 is refused)" : "")")
        }
        var hostRange: ClosedRange<UInt16>?
        if let host, !(host.0 == 0 && host.1 == 0) {
            guard (1...65535).contains(host.0), (1...65535).contains(host.1), host.0 <= host.1 else {
                throw fail("invalid hostPort: \(text(host))")
            }
            if host.1 - host.0 != container.1 - container.0 && container.0 != container.1 {
                throw fail("invalid ranges specified for container and host Ports: \(text(container)) and \(text(host))")
            }
            hostRange = UInt16(host.0)...UInt16(host.1)
        }
        if let hostIP6, hostIP6.isMulticast || hostIP6.isLinkLocal {
            throw fail("invalid IP address: \(hostIP6) (multicast and link-local addresses cannot be published on)")
        }
        if let hostIP6, hostIP6.isIPv4Mapped {
            throw fail("invalid IP address: \(hostIP6) is an IPv4-mapped address; publish on the IPv4 address itself")
        }
        var spec = PortSpec(proto: p, hostIP: hostIP6 == nil ? hostIP : nil, hostPorts: hostRange, containerPorts: UInt16(container.0)...UInt16(container.1))
        spec.hostIP6 = hostIP6
        return spec
    }

    /// Parses Docker's `-p` syntax (`[HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/PROTO]`; an
    /// IPv6 host address in brackets, `[::]:8080:80`).
    /// - Throws: `BerthError(.invalidArgument)` with operation `parsePublish`, naming the text.
    public init(parsing text: String) throws(BerthError) {
        let op = OperationName.parsePublish
        func fail(_ detail: String) -> BerthError { BerthError(.invalidArgument, operation: op, object: text, detail: detail) }
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            throw fail("'\(text)' contains whitespace or a control character")
        }
        var spec = Substring(text)
        var proto = "tcp"
        if let slash = spec.firstIndex(of: "/") {
            proto = String(spec[spec.index(after: slash)...])
            spec = spec[..<slash]
        }
        var hostIP6: IPv6Address?
        if spec.hasPrefix("[") {
            guard let close = spec.firstIndex(of: "]"), let ip = IPv6Address(String(spec[spec.index(after: spec.startIndex)..<close])) else {
                throw fail("invalid IP address: \(spec)")
            }
            let rest = spec[spec.index(after: close)...]
            guard rest.hasPrefix(":") else { throw fail("expected [HOSTIP]:[HOSTPORT]:CONTAINERPORT[/PROTO], not '\(text)'") }
            hostIP6 = ip
            spec = "0.0.0.0" + rest   // the address is kept aside; the ports parse as for IPv4
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if hostIP6 != nil && parts.count != 3 { throw fail("expected [HOSTIP]:[HOSTPORT]:CONTAINERPORT[/PROTO], not '\(text)'") }
        var hostIP: IPv4Address?
        var hostText = ""
        let containerText: String
        switch parts.count {
        case 1: containerText = parts[0]
        case 2: (hostText, containerText) = (parts[0], parts[1])
        case 3:
            if !parts[0].isEmpty {
                guard let ip = IPv4Address(parts[0]) else { throw fail("invalid IP address: \(parts[0])") }
                hostIP = ip
            }
            (hostText, containerText) = (parts[1], parts[2])
        default:
            throw fail("expected [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO], not '\(text)'")
        }
        if containerText.isEmpty { throw fail("no port specified: \(spec)<empty>") }
        func range(_ s: String, _ role: String) throws(BerthError) -> (Int, Int) {
            let bounds = s.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            func number(_ t: String) -> Int? {
                guard !t.isEmpty, t.count <= 6, t.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
                return Int(t)
            }
            guard let first = number(bounds[0]), let last = bounds.count == 2 ? number(bounds[1]) : first,
                  first <= 65535, last <= 65535, first <= last else {
                throw fail("invalid \(role): \(s)")
            }
            return (first, last)
        }
        let container = try range(containerText, "containerPort")
        let host = hostText.isEmpty ? nil : try range(hostText, "hostPort")
        self = try PortSpec.validated(proto: proto, hostIP: hostIP, hostIP6: hostIP6, host: host, container: container, operation: op, object: text)
    }

    /// Re-checks a request built directly (ranges of the same length, or a host range to one
    /// container port; no port 0).
    /// - Throws: `BerthError(.invalidArgument)`.
    public func check(operation: OperationName, object: String) throws(BerthError) {
        _ = try PortSpec.validated(proto: proto.rawValue, hostIP: hostIP, hostIP6: hostIP6, host: hostPorts.map { (Int($0.lowerBound), Int($0.upperBound)) },
                                   container: (Int(containerPorts.lowerBound), Int(containerPorts.upperBound)),
                                   operation: operation, object: object)
    }

    /// Docker's fallback when `ip_local_port_range` cannot be read (libnetwork portallocator).
    public static let fallbackEphemeralRange: ClosedRange<UInt16> = 49153...65535

    /// Parses `net.ipv4.ip_local_port_range` ("32768\t60999"); nil when malformed.
    public static func ephemeralRange(sysctl text: String) -> ClosedRange<UInt16>? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count == 2, let low = UInt16(fields[0]), let high = UInt16(fields[1]), low > 0, low <= high else { return nil }
        return low...high
    }

    /// Chooses host ports for `specs`, in order, so that no host port (protocol, host address) is
    /// published twice across `published` and the new bindings: a fixed port or run that overlaps
    /// is `portAllocated` naming the first clashing port; a host range to one container port takes
    /// its lowest free port; an ephemeral port is the lowest free port of `ephemeral` (Docker
    /// 20.10 hands them out round-robin from the last one given, so after a release Docker and
    /// Berth may pick different numbers).
    /// - Returns: the bindings, in the order of `specs` (runs kept whole).
    /// - Throws: `BerthError(.portAllocated)` naming the port; nothing is changed by this call.
    public static func resolve(_ specs: [PortSpec], published: [PortMapping], ephemeral: ClosedRange<UInt16>,
                               operation: OperationName, object: String) throws(BerthError) -> [PortMapping] {
        var taken = published
        var out: [PortMapping] = []
        func clash(_ m: PortMapping) -> PortMapping? { taken.first { $0.overlaps(m) } }
        func allocated(_ m: PortMapping, _ other: PortMapping) -> BerthError {
            let port = max(m.hostPort, other.hostPort)
            return BerthError(.portAllocated, operation: operation, object: object,
                              detail: "Bind for \(m.hostText ?? other.hostText ?? "0.0.0.0"):\(port) failed: port is already allocated")
        }
        func firstFree(_ range: ClosedRange<UInt16>, proto: PortMapping.TransportProtocol, ip: IPv4Address?, ip6: IPv6Address?,
                       containerPort: UInt16) -> PortMapping? {
            // Jump past each clash instead of probing port by port (a full range is walked once).
            var port = Int(range.lowerBound)
            while port <= Int(range.upperBound) {
                let candidate = PortMapping(proto: proto, hostIP: ip, hostPort: UInt16(port), containerPort: containerPort, hostIP6: ip6)
                guard let other = clash(candidate) else { return candidate }
                port = Int(other.hostPortEnd) + 1
            }
            return nil
        }
        for spec in specs {
            let count = Int(spec.containerPorts.upperBound) - Int(spec.containerPorts.lowerBound) + 1
            if let host = spec.hostPorts, host.count == count {
                let m = PortMapping(proto: spec.proto, hostIP: spec.hostIP, hostPort: host.lowerBound, containerPort: spec.containerPorts.lowerBound,
                                    count: UInt16(count), hostIP6: spec.hostIP6)
                if let other = clash(m) { throw allocated(m, other) }
                taken.append(m)
                out.append(m)
            } else if let host = spec.hostPorts {
                guard let m = firstFree(host, proto: spec.proto, ip: spec.hostIP, ip6: spec.hostIP6, containerPort: spec.containerPorts.lowerBound) else {
                    let first = PortMapping(proto: spec.proto, hostIP: spec.hostIP, hostPort: host.lowerBound, containerPort: spec.containerPorts.lowerBound,
                                            count: UInt16(host.count), hostIP6: spec.hostIP6)
                    throw BerthError(.portAllocated, operation: operation, object: object,
                                     detail: "Bind for \(first.hostText ?? "0.0.0.0"):\(host.lowerBound)-\(host.upperBound) failed: every port of the range is already allocated")
                }
                taken.append(m)
                out.append(m)
            } else {
                for container in spec.containerPorts {
                    guard let m = firstFree(ephemeral, proto: spec.proto, ip: spec.hostIP, ip6: spec.hostIP6, containerPort: container) else {
                        throw BerthError(.portAllocated, operation: operation, object: object,
                                         detail: "no free port in the ephemeral range \(ephemeral.lowerBound)-\(ephemeral.upperBound) for \(container)/\(spec.proto.rawValue)")
                    }
                    taken.append(m)
                    out.append(m)
                }
            }
        }
        return out
    }
}

extension PortMapping {
    /// The host address as Docker prints it in "Bind for ADDR:PORT failed" (`[x::y]` for IPv6), nil for 0.0.0.0 / none.
    var hostText: String? {
        if let hostIP6 { return "[\(hostIP6)]" }
        return hostIP.map { "\($0)" }
    }
}

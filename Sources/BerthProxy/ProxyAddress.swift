#if canImport(Glibc)
import Glibc
#endif

/// A host or container address of the proxy: IPv4 or IPv6. docker-proxy reads both with Go's
/// `net.ParseIP` and picks the family from `IP.To4()` (libnetwork cmd/proxy tcp_proxy.go,
/// udp_proxy.go: "tcp4"/"udp4" for an IPv4 address, "tcp6"/"udp6" otherwise), so an
/// IPv4-mapped text (`::ffff:10.0.0.1`) is IPv4 here too.
enum ProxyAddress {
    case v4(in_addr)
    case v6(in6_addr)

    /// IPv4 dotted quad or RFC 4291 text; nil for anything else.
    init?(_ text: String) {
        var a4 = in_addr()
        var a6 = in6_addr()
        if inet_pton(AF_INET, text, &a4) == 1 {
            self = .v4(a4)
        } else if inet_pton(AF_INET6, text, &a6) == 1 {
            let b = withUnsafeBytes(of: a6) { Array($0) }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
                self = .v4(in_addr(s_addr: UInt32(b[12]) | UInt32(b[13]) << 8 | UInt32(b[14]) << 16 | UInt32(b[15]) << 24))
            } else {
                self = .v6(a6)
            }
        } else {
            return nil
        }
    }

    /// 0.0.0.0: docker-proxy's host address when none is given.
    static let anyIPv4 = ProxyAddress.v4(in_addr(s_addr: 0))

    /// AF_INET or AF_INET6.
    var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// `10.0.0.1` or `[fd00::1]` (Go's `host:port` form, for error texts).
    var bracketed: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch self {
        case .v4(var a):
            inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
            return Self.string(text)
        case .v6(var a):
            inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
            return "[" + Self.string(text) + "]"
        }
    }

    private static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The socket address of this address and `port`.
    func socketAddress(port: UInt16) -> SocketAddress {
        var storage = sockaddr_storage()
        switch self {
        case .v4(let a):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr = a
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: sa) { raw.copyMemory(from: $0) } }
            return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        case .v6(let a):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_addr = a
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: sa) { raw.copyMemory(from: $0) } }
            return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }
}

/// A socket address of either family (`sockaddr_storage` and its used length): what
/// recvfrom(2) reports and sendto(2), bind(2), connect(2) take.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    /// The used bytes: family, port, address (and IPv6 flow label and scope): a flow's key.
    var key: [UInt8] {
        withUnsafeBytes(of: storage) { Array($0.prefix(Int(length))) }
    }

    /// Calls `body` with the address as the `sockaddr` pointer the socket calls take.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}

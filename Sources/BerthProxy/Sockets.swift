#if canImport(Glibc)
import Glibc
#endif

/// Socket helpers of the proxy (IPv4 and IPv6): with `ProxyAddress`, the only unsafe pointer
/// work of this executable.
enum Sockets {
    /// socket + SO_REUSEADDR (TCP, as Go's net.Listen) + IPV6_V6ONLY=1 on an IPv6 socket (Go's
    /// "tcp6"/"udp6", which docker-proxy uses for a v6 host address: its `::` proxy and the
    /// `0.0.0.0` one hold the same port side by side) + bind (+ listen for TCP).
    /// - Throws: "listen ADDR:PORT: <strerror>" (EADDRINUSE: "Address already in use", the text
    ///   the library maps to `.portAllocated`), or the failing call's name and strerror.
    static func listener(_ type: Int32, _ ip: ProxyAddress, _ port: UInt16) throws(ProxyFailure) -> Int32 {
        let fd = socket(ip.family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProxyFailure(call: "listen \(ip.bracketed):\(port): socket", errno: errno) }
        var one: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        if type == Int32(SOCK_STREAM.rawValue) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size)
        }
        if ip.family == AF_INET6 && setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, size) != 0 {
            let e = errno
            close(fd)
            throw ProxyFailure(call: "setsockopt IPV6_V6ONLY", errno: e)
        }
        let rc = ip.socketAddress(port: port).withSockaddr { bind(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw ProxyFailure(call: "listen \(ip.bracketed):\(port)", errno: e)
        }
        if type == Int32(SOCK_STREAM.rawValue) && listen(fd, 128) != 0 {
            let e = errno
            close(fd)
            throw ProxyFailure(call: "listen", errno: e)
        }
        return fd
    }

    /// A socket connected to `ip:port` (blocking connect), of the address's family.
    static func connected(_ type: Int32, _ ip: ProxyAddress, _ port: UInt16) -> Int32? {
        let fd = socket(ip.family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let rc = ip.socketAddress(port: port).withSockaddr { connect(fd, $0, $1) }
        if rc != 0 { close(fd); return nil }
        return fd
    }

    static func sendTo(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ peer: SocketAddress) {
        _ = peer.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
    }

    /// recvfrom into `buffer`; the byte count and the sender.
    static func receiveFrom(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> (Int, SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        return n < 0 ? nil : (n, SocketAddress(storage: storage, length: length))
    }
}

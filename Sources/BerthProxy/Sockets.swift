#if canImport(Glibc)
import Glibc
#endif

/// IPv4 socket helpers of the proxy: the only unsafe pointer work of this executable.
enum Sockets {
    static func address(_ ip: in_addr, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr = ip
        return sa
    }

    /// socket + SO_REUSEADDR (TCP, as Go's net.Listen) + bind (+ listen for TCP).
    static func listener(_ type: Int32, _ ip: in_addr, _ port: UInt16) throws(ProxyFailure) -> Int32 {
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProxyFailure(call: "socket", errno: errno) }
        var one: Int32 = 1
        if type == Int32(SOCK_STREAM.rawValue) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var sa = address(ip, port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            var text = [CChar](repeating: 0, count: 16)
            var ipCopy = ip
            inet_ntop(AF_INET, &ipCopy, &text, socklen_t(text.count))
            throw ProxyFailure(call: "listen \(String(cString: text)):\(port)", errno: e)
        }
        if type == Int32(SOCK_STREAM.rawValue) && listen(fd, 128) != 0 {
            let e = errno
            close(fd)
            throw ProxyFailure(call: "listen", errno: e)
        }
        return fd
    }

    /// A socket connected to `ip:port` (blocking connect).
    static func connected(_ type: Int32, _ ip: in_addr, _ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var sa = address(ip, port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return nil }
        return fd
    }

    static func sendTo(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ peer: sockaddr_in) {
        var p = peer
        _ = withUnsafePointer(to: &p) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// recvfrom into `buffer`; the byte count and the sender.
    static func receiveFrom(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> (Int, sockaddr_in)? {
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        return n < 0 ? nil : (n, peer)
    }
}

internal import CMnl
internal import CBerthShims
@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// A netlink socket from libmnl (`mnl_socket_open2` with SOCK_CLOEXEC, `mnl_socket_bind` with an
/// automatic port id), with NETLINK_EXT_ACK and NETLINK_CAP_ACK enabled and send/receive time-outs.
///
/// A netlink socket stays bound to the network namespace it was opened in; `open(bus:in:)` opens it
/// on the namespace thread when another namespace is asked for, after which it can be used from
/// any thread (design.md §3). Not safe for concurrent use by itself: the `NetlinkEngine` that
/// owns it serializes every exchange.
package final class MnlSocket: NetlinkTransport, @unchecked Sendable {
    /// NETLINK_ROUTE and NETLINK_NETFILTER, linux/netlink.h.
    package static let routeBus = RTNL.NETLINK_ROUTE
    package static let netfilterBus = RTNL.NETLINK_NETFILTER
    /// Send and receive time-out in seconds.
    package static let timeoutSeconds = 5

    private let socket: OpaquePointer
    package let portID: UInt32
    private var buffer: [UInt8]
    /// The largest SO_RCVBUFFORCE / SO_SNDBUFFORCE set so far (0: the defaults).
    private var receiveBufferSize = 0
    private var sendBufferSize = 0

    private init(socket: OpaquePointer, portID: UInt32) {
        self.socket = socket
        self.portID = portID
        buffer = [UInt8](repeating: 0, count: 1 << 16)
    }

    deinit { mnl_socket_close(socket) }

    /// The socket's file descriptor.
    package var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    /// Opens and binds a socket on `bus` inside `namespace` (nil: the calling thread's namespace).
    /// - Throws: `NetlinkError` `.socket` (open/bind/setsockopt failures) or `.namespace`.
    package static func open(bus: Int32, in namespace: NetworkNamespace?) throws(NetlinkError) -> MnlSocket {
        let object = namespace.map(\.description) ?? "current netns"
        guard let namespace else { return try openHere(bus: bus, object: object) }
        do {
            return try NamespaceThread.shared.run(in: namespace) { () throws(NetlinkError) in
                try openHere(bus: bus, object: object)
            }
        } catch {
            throw error.unwrapped { NetlinkError.wrapping($0, operation: .openNetlinkSocket, object: object) }
        }
    }

    /// `open(bus:in:)`, then `alsoThere` in the same visit of the namespace thread (one thread hop
    /// for both; `alsoThere` runs in `namespace` and must not use the namespace thread itself).
    /// When `alsoThere` throws, the socket is closed and its error is thrown.
    /// - Returns: the socket and what `alsoThere` returned.
    /// - Throws: `NetlinkError` `.socket`, `.namespace`, or what `alsoThere` threw.
    package static func open<T>(bus: Int32, in namespace: NetworkNamespace,
                                alsoThere: () throws(NetlinkError) -> T) throws(NetlinkError) -> (MnlSocket, T) {
        let object = namespace.description
        do {
            return try NamespaceThread.shared.run(in: namespace) { () throws(NetlinkError) -> (MnlSocket, T) in
                let socket = try openHere(bus: bus, object: object)
                return (socket, try alsoThere())
            }
        } catch {
            throw error.unwrapped { NetlinkError.wrapping($0, operation: .openNetlinkSocket, object: object) }
        }
    }

    private static func openHere(bus: Int32, object: String) throws(NetlinkError) -> MnlSocket {
        let op = OperationName.openNetlinkSocket
        guard let nl = mnl_socket_open2(bus, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError(.socket, errno: .current, operation: op, object: object)
        }
        var one: Int32 = 1
        _ = mnl_socket_setsockopt(nl, RTNL.NETLINK_EXT_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(nl, RTNL.NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let fd = mnl_socket_get_fd(nl)
        if setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0
            || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) != 0 {
            let err = Errno.current
            mnl_socket_close(nl)
            throw NetlinkError(.socket, errno: err, operation: op, object: object)
        }
        if mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let err = Errno.current
            mnl_socket_close(nl)
            throw NetlinkError(.socket, errno: err, operation: op, object: object)
        }
        return MnlSocket(socket: nl, portID: mnl_socket_get_portid(nl))
    }

    package func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError) {
        let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        if sent < 0 {
            let err = Errno.current
            throw NetlinkError(err.rawValue == EAGAIN ? .timeout : .socket, errno: err, operation: operation, object: object)
        }
    }

    /// recvmsg(2) of one datagram, with the sender's nl_pid and MSG_TRUNC; EINTR is retried.
    package func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram {
        var address = sockaddr_nl()
        var flags: Int32 = 0
        var failure = Errno(0)
        let fd = fileDescriptor
        let count = buffer.withUnsafeMutableBytes { raw -> Int in
            withUnsafeMutablePointer(to: &address) { addr in
                var iov = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var msg = msghdr()
                    msg.msg_name = UnsafeMutableRawPointer(addr)
                    msg.msg_namelen = socklen_t(MemoryLayout<sockaddr_nl>.size)
                    msg.msg_iov = iovp
                    msg.msg_iovlen = 1
                    while true {
                        let n = recvmsg(fd, &msg, 0)
                        if n < 0 { failure = Errno.current }  // before any other call can overwrite it
                        if n < 0 && failure.rawValue == EINTR { continue }
                        flags = msg.msg_flags
                        return n
                    }
                }
            }
        }
        if count < 0 {
            let err = failure
            throw NetlinkError(err.rawValue == EAGAIN || err.rawValue == EWOULDBLOCK ? .timeout : .socket, errno: err,
                               operation: operation, object: object)
        }
        return NetlinkDatagram(Array(buffer[0..<min(count, buffer.count)]), senderPort: address.nl_pid,
                               truncated: flags & Int32(MSG_TRUNC) != 0)
    }

    /// SO_RCVBUFFORCE / SO_SNDBUFFORCE (socket(7)): they need CAP_NET_ADMIN, which any change
    /// through this socket needs anyway; a refusal leaves the defaults. Sizes only ever grow,
    /// and a size already set is not set again (no system call per exchange).
    package func reserveBuffers(receiveBytes: Int, sendBytes: Int) {
        let fd = fileDescriptor
        if receiveBytes > receiveBufferSize {
            var size = Int32(clamping: receiveBytes)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            receiveBufferSize = receiveBytes
        }
        if sendBytes > sendBufferSize {
            var size = Int32(clamping: sendBytes)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            sendBufferSize = sendBytes
        }
    }
}

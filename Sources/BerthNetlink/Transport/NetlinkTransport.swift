@_spi(BerthInternal) import BerthNamespace
/// What the netlink engine needs from a socket; the real one is `MnlSocket`, tests use scripted
/// mocks to check requests byte for byte and feed replies.
///
/// A transport only moves datagrams: every check of what comes back (sender, truncation, port,
/// sequence, message framing) is done once, by `NetlinkEngine`.
package protocol NetlinkTransport: AnyObject, Sendable {
    /// The socket's port id (nl_pid), which replies must carry in nlmsg_pid.
    var portID: UInt32 { get }
    /// Sends one or more complete messages in one datagram.
    /// - Throws: `NetlinkError` `.socket` (or `.timeout` for EAGAIN) with the errno.
    func send(_ bytes: [UInt8], operation: OperationName, object: String) throws(NetlinkError)
    /// Receives one datagram, which may hold several messages, with its sender and whether it
    /// was cut to fit the receive buffer (MSG_TRUNC).
    /// - Throws: `NetlinkError` `.timeout` (EAGAIN after the socket's time-out) or `.socket`.
    func receive(operation: OperationName, object: String) throws(NetlinkError) -> NetlinkDatagram
    /// Optional capability: grows the socket buffers to at least `receiveBytes` / `sendBytes`
    /// (0: leave as is), for exchanges with many replies (one skb each) or a large request.
    /// Best effort, never throws; the default does nothing.
    func reserveBuffers(receiveBytes: Int, sendBytes: Int)
}

package extension NetlinkTransport {
    func reserveBuffers(receiveBytes: Int, sendBytes: Int) {}
}

/// One received datagram as the socket returned it.
package struct NetlinkDatagram: Sendable, Equatable {
    /// The bytes received (several netlink messages, NLMSG_ALIGNed).
    package var bytes: [UInt8]
    /// nl_pid of the sender's `sockaddr_nl`: 0 for the kernel, a port id for another socket.
    package var senderPort: UInt32
    /// The datagram was larger than the receive buffer and was cut (MSG_TRUNC in msg_flags).
    package var truncated: Bool

    package init(_ bytes: [UInt8], senderPort: UInt32 = 0, truncated: Bool = false) {
        self.bytes = bytes
        self.senderPort = senderPort
        self.truncated = truncated
    }
}

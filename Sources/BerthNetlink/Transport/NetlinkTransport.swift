/// What a netlink session needs from a socket; the real one is `MnlSocket`, tests use a scripted
/// mock to check requests byte for byte and feed replies.
public protocol NetlinkTransport: AnyObject, Sendable {
    /// The socket's port id (nl_pid), which replies must carry in nlmsg_pid.
    var portID: UInt32 { get }
    /// Sends one or more complete messages in one datagram.
    func send(_ bytes: [UInt8], operation: String, object: String) throws(NetlinkError)
    /// Receives one datagram, which may hold several messages. Datagrams not sent by the kernel
    /// (nl_pid != 0) must be rejected with `.malformedReply`.
    func receive(operation: String, object: String) throws(NetlinkError) -> [UInt8]
}

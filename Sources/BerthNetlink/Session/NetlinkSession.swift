import BerthNamespace
import Synchronization

/// One rtnetlink conversation partner: a transport (socket) bound to one network namespace, with
/// its own sequence numbers. Every request gets a fresh sequence number; every reply is checked
/// for that sequence number, our port id and a kernel sender; several messages in one datagram
/// are parsed; interrupted dumps (NLM_F_DUMP_INTR) are retried; the extended-ack text goes into
/// the error.
///
/// Thread-safe: requests are serialized on the session.
public final class NetlinkSession: Sendable {
    /// How many times a dump interrupted by a concurrent change is retried (as netlinksafe does).
    public static let dumpAttempts = 5

    private let transport: any NetlinkTransport
    private let sequence: Mutex<UInt32>
    /// The namespace this session talks to (nil: the namespace of the thread that opened it).
    public let namespace: NetworkNamespace?

    /// A session over any transport (tests pass a mock).
    public init(transport: any NetlinkTransport, namespace: NetworkNamespace? = nil, firstSequence: UInt32 = 1) {
        self.transport = transport
        self.namespace = namespace
        self.sequence = Mutex(firstSequence)
    }

    /// Opens an rtnetlink (NETLINK_ROUTE) session inside `namespace` (nil: the caller's).
    /// - Throws: `NetlinkError` `.socket` or `.namespace`.
    public static func route(in namespace: NetworkNamespace? = nil) throws(NetlinkError) -> NetlinkSession {
        NetlinkSession(transport: try MnlSocket.open(bus: MnlSocket.routeBus, in: namespace), namespace: namespace)
    }

    /// Sends a request with NLM_F_ACK and returns the messages that came before the ACK
    /// (for a GET, the object). An error reply throws with the kernel's errno and ext-ack text.
    public func request(_ message: NetlinkMessageBuilder, operation: String, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        try exchange(message, operation: operation, object: object, dump: false).messages
    }

    /// Sends a dump request and returns every object message until NLMSG_DONE, retrying up to
    /// `dumpAttempts` times while the kernel marks the dump interrupted.
    public func dump(_ message: NetlinkMessageBuilder, operation: String, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        for _ in 0..<Self.dumpAttempts {
            let result = try exchange(message, operation: operation, object: object, dump: true)
            if !result.interrupted { return result.messages }
        }
        throw NetlinkError(.dumpInterrupted, operation: operation, object: object,
                           detail: "dump interrupted \(Self.dumpAttempts) times by concurrent changes")
    }

    private func exchange(_ message: NetlinkMessageBuilder, operation: String, object: String,
                          dump: Bool) throws(NetlinkError) -> (messages: [NetlinkMessage], interrupted: Bool) {
        do {
            return try sequence.withLock { (seq: inout UInt32) throws(NetlinkError) -> (messages: [NetlinkMessage], interrupted: Bool) in
                let mySeq = seq
                seq = seq &+ 1
                if seq == 0 { seq = 1 }
                let port = transport.portID
                try transport.send(message.finish(sequence: mySeq, portID: port), operation: operation, object: object)
                var collected: [NetlinkMessage] = []
                var interrupted = false
                while true {
                    let datagram = try transport.receive(operation: operation, object: object)
                    for m in try NetlinkParser.messages(in: datagram, operation: operation, object: object) {
                        if m.portID != port {
                            throw NetlinkError(.malformedReply, operation: operation, object: object,
                                               detail: "reply for port \(m.portID), ours is \(port)")
                        }
                        if m.sequence != mySeq {
                            if m.sequence < mySeq { continue }  // a late reply to an earlier, timed-out request
                            throw NetlinkError(.malformedReply, operation: operation, object: object,
                                               detail: "reply with sequence \(m.sequence), expected \(mySeq)")
                        }
                        if m.flags & RTNL.NLM_F_DUMP_INTR != 0 { interrupted = true }
                        switch m.type {
                        case RTNL.NLMSG_NOOP:
                            continue
                        case RTNL.NLMSG_ERROR:
                            let (err, text) = try RouteDecoding.error(m, operation: operation, object: object)
                            if err != 0 { throw NetlinkError.kernel(err, operation: operation, object: object, message: text) }
                            if !dump { return (collected, interrupted) }
                        case RTNL.NLMSG_DONE:
                            if let code = ByteReader(m.payload).read(Int32.self, at: 0), code < 0 {
                                throw NetlinkError.kernel(-code, operation: operation, object: object)
                            }
                            return (collected, interrupted)
                        case RTNL.NLMSG_OVERRUN:
                            throw NetlinkError(.socket, operation: operation, object: object, detail: "netlink overrun")
                        default:
                            collected.append(m)
                        }
                    }
                }
            }
        } catch {
            throw error
        }
    }
}

@_spi(BerthInternal) import BerthNamespace

/// One rtnetlink conversation partner: a `NetlinkEngine` over a transport (socket) bound to one
/// network namespace. Every request gets a fresh sequence number and our port id in nlmsg_pid;
/// the engine checks every reply (sequence, port, kernel sender, framing), retries interrupted
/// dumps (NLM_F_DUMP_INTR) and puts the extended-ack text into the error.
///
/// Thread-safe: requests are serialized by the engine.
@_spi(BerthInternal) public final class NetlinkSession: Sendable {
    /// How many times a dump interrupted by a concurrent change is tried (as netlinksafe does).
    public static let dumpAttempts = NetlinkEngine.dumpAttempts

    private let engine: NetlinkEngine
    /// The namespace this session talks to (nil: the namespace of the thread that opened it).
    public let namespace: NetworkNamespace?

    /// A session over any transport (tests pass a mock).
    package init(transport: any NetlinkTransport, namespace: NetworkNamespace? = nil, firstSequence: UInt32 = 1) {
        engine = NetlinkEngine(transport: transport, firstSequence: firstSequence)
        self.namespace = namespace
    }

    /// Opens an rtnetlink (NETLINK_ROUTE) session inside `namespace` (nil: the caller's).
    /// - Throws: `NetlinkError` `.socket` or `.namespace`.
    public static func route(in namespace: NetworkNamespace? = nil) throws(NetlinkError) -> NetlinkSession {
        NetlinkSession(transport: try MnlSocket.open(bus: MnlSocket.routeBus, in: namespace), namespace: namespace)
    }

    /// `route(in:)` and `Sysctl.writeWherePresent(keys, value, in: namespace)` in one visit of the
    /// namespace thread instead of two (an attach opens its sandbox session and sets the new
    /// interface's `disable_ipv6` together).
    /// - Returns: the session and the keys whose value was changed.
    /// - Throws: `NetlinkError` from the socket, the namespace entry or the sysctl writes; then no
    ///   session is left open (a sysctl written before a later one failed stays written).
    package static func route(in namespace: NetworkNamespace, writingWherePresent keys: [String],
                              _ value: String) throws(NetlinkError) -> (session: NetlinkSession, changed: [String]) {
        let paths = try Sysctl.paths(for: keys)
        let (socket, changed) = try MnlSocket.open(bus: MnlSocket.routeBus, in: namespace) { () throws(NetlinkError) -> [String] in
            try Sysctl.writeWherePresentHere(paths, value)
        }
        return (NetlinkSession(transport: socket, namespace: namespace), changed)
    }

    /// Sends a request with NLM_F_ACK and returns the messages that came before the ACK
    /// (for a GET, the object). An error reply throws with the kernel's errno and ext-ack text.
    package func request(_ message: NetlinkMessageBuilder, operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        try engine.request(message.finish(sequence: 0, portID: engine.portID), operation: operation, object: object)
    }

    /// Sends a dump request and returns every object message until NLMSG_DONE, retrying up to
    /// `dumpAttempts` times while the kernel marks the dump interrupted.
    package func dump(_ message: NetlinkMessageBuilder, operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        try engine.dump(message.finish(sequence: 0, portID: engine.portID), operation: operation, object: object)
    }
}

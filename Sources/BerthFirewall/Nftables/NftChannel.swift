@_spi(BerthInternal) import BerthNamespace
internal import CNftnl
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// The nftables backend's conversation with NETLINK_NETFILTER: the three exchanges it needs —
/// a dump, a multi-GET query and one atomic batch — as nf_tables messages (`NftMessageEncoder`)
/// sent through the Netlink layer's `NetlinkEngine`, which checks every reply. This type only
/// encodes requests and turns the engine's `NetlinkError`s into `FirewallError`s (keeping each
/// as the `cause`).
///
/// Not thread-safe by itself: `NftablesBackend` serializes all use behind its lock.
final class NftChannel {
    private let engine: NetlinkEngine
    private let object: String

    /// - Parameters:
    ///   - transport: a NETLINK_NETFILTER socket (`MnlSocket`) or a test double.
    ///   - object: names the table and namespace in errors.
    ///   - firstSequence: the first sequence number (nil: derived from the monotonic clock, so a
    ///     new socket does not reuse the numbers of the one before, as nft does with time(NULL)).
    init(transport: any NetlinkTransport, object: String, firstSequence: UInt32? = nil) {
        self.object = object
        engine = NetlinkEngine(transport: transport, firstSequence: firstSequence ?? Self.clockSequence())
    }

    /// A channel on a new NETLINK_NETFILTER socket opened in `host` (nil: the caller's namespace).
    /// - Throws: `.namespace`, `.missingCapability` (EPERM), `.system`; the `NetlinkError` is the cause.
    static func open(in host: NetworkNamespace?, object: String, operation: OperationName) throws(FirewallError) -> NftChannel {
        do {
            let socket = try MnlSocket.open(bus: MnlSocket.netfilterBus, in: host)
            return NftChannel(transport: socket, object: object)
        } catch {
            let code: FirewallError.Code = error.code == .namespace ? .namespace
                : (error.errno == Errno(EPERM) ? .missingCapability : .system)
            throw FirewallError(code, errno: error.errno, operation: operation, object: object,
                                detail: "open NETLINK_NETFILTER socket: \(error)", cause: .netlink(error))
        }
    }

    private static func clockSequence() -> UInt32 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt32(truncatingIfNeeded: now.tv_sec &* 1000 &+ now.tv_nsec / 1_000_000) &+ 1
    }

    /// One received nf_tables message with its full bytes (header included, for libnftnl parsers).
    struct Message {
        var type: UInt16
        var flags: UInt16
        var seq: UInt32
        var portID: UInt32
        var bytes: [UInt8]

        init(_ m: NetlinkMessage) {
            type = m.type
            flags = m.flags
            seq = m.sequence
            portID = m.portID
            bytes = m.wireBytes
        }

        /// sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg): where the NFTA_* attributes start.
        static let attributesOffset = NetlinkMessageBuilder.headerLength + MemoryLayout<nfgenmsg>.size

        /// The attributes after nlmsghdr and nfgenmsg.
        func attributes(operation: OperationName, object: String) throws(NetlinkError) -> [UInt16: ArraySlice<UInt8>] {
            guard bytes.count >= Self.attributesOffset else { return [:] }
            return try NetlinkParser.attributes(in: bytes[Self.attributesOffset...], operation: operation, object: object)
        }
    }

    /// Sends a dump request and collects every reply message up to NLMSG_DONE; an interrupted
    /// dump (NLM_F_DUMP_INTR) is retried (`NetlinkEngine.dumpAttempts` in all).
    /// - Throws: `.rejected` with the kernel's errno (ENOENT when the set/table is absent),
    ///   `.missingCapability` for EPERM, `.system` for socket and reply failures (no errno when every
    ///   attempt was interrupted); the `NetlinkError` is the cause.
    func dump(_ type: nf_tables_msg_types, table: String?, set: String? = nil, chain: String? = nil,
              family: NftFamily = .ip, operation: OperationName) throws(FirewallError) -> [Message] {
        let request = try NftMessageEncoder.dumpRequest(type, table: table, set: set, chain: chain, family: family, seq: 0)
        do {
            return try engine.dump(request, operation: operation, object: object).map(Message.init)
        } catch {
            throw failure(error, operation: operation)
        }
    }

    /// The answer to one `NftQuery`: the object message(s) the kernel sent before its
    /// acknowledgement, and its refusal if any (ENOENT: absent).
    struct QueryReply {
        var messages: [Message] = []
        var error: NetlinkError?
        /// The kernel's errno: 0 found, ENOENT absent.
        var errno: Int32 { error?.errno.code ?? 0 }
        /// The extended-ack text of the refusal.
        var text: String? { error?.kernelMessage }
    }

    /// Sends every query (single-object GETs, each with NLM_F_ACK) in ONE sendmsg and collects
    /// each one's reply up to its acknowledgement: one round trip however many objects.
    /// - Throws: `.system` for socket and reply failures (a refusal is in the reply, not thrown).
    func query(_ queries: [NftQuery], table: String, family: NftFamily = .ip, operation: OperationName) throws(FirewallError) -> [QueryReply] {
        try query(queries.map { (family, $0) }, table: table, operation: operation)
    }

    /// `query` of lookups in the tables of several families (`ip` and `ip6 <table>`): still ONE round trip.
    func query(_ queries: [(family: NftFamily, query: NftQuery)], table: String, operation: OperationName) throws(FirewallError) -> [QueryReply] {
        guard !queries.isEmpty else { return [] }
        var requests: [[UInt8]] = []
        requests.reserveCapacity(queries.count)
        for q in queries { requests.append(try NftMessageEncoder.queryRequest(q.query, table: table, family: q.family, seq: 0)) }
        return try query(encoded: requests, operation: operation)
    }

    /// `query` of requests already encoded (each with NLM_F_ACK): one round trip.
    func query(encoded requests: [[UInt8]], operation: OperationName) throws(FirewallError) -> [QueryReply] {
        do {
            return try engine.query(requests, operation: operation, object: object).map {
                QueryReply(messages: $0.messages.map(Message.init), error: $0.error)
            }
        } catch {
            throw failure(error, operation: operation)
        }
    }

    /// Sends `commands` as ONE nf_tables transaction (NFNL_MSG_BATCH_BEGIN … END) and waits for
    /// the ACK or error of every message, matched by seq. The kernel applies all or nothing.
    /// - Throws: `.rejected` (or `.missingCapability` for EPERM) naming the first failing command,
    ///   with the kernel's errno and extended-ack text; other failures of the same batch are
    ///   counted; a refusal of the whole batch names `batch`. `.system` for socket and reply
    ///   failures. The first `NetlinkError` is the cause.
    func commit(_ commands: [NftCommand], encoder: NftMessageEncoder, operation: OperationName) throws(FirewallError) {
        try commit([(encoder, commands)], operation: operation)
    }

    /// `commit` of the commands of several tables (Berth's `ip` and `ip6` tables, each part with
    /// its table's encoder) as ONE transaction: the kernel applies both tables' changes or none.
    /// Errors name the failing command with its table (`ip6 berth: add chain …`) when the batch
    /// spans two tables.
    func commit(_ parts: [(encoder: NftMessageEncoder, commands: [NftCommand])], operation: OperationName) throws(FirewallError) {
        let parts = parts.filter { !$0.commands.isEmpty }
        guard !parts.isEmpty else { return }
        var messages: [[UInt8]] = []
        var summaries: [String] = []
        var setID: UInt32 = 0
        for (encoder, part) in parts {
            for command in part {
                // A rule with anonymous port sets is several messages (the sets, then the rule).
                let encoded = try encoder.messages(command, setID: &setID)
                messages += encoded
                let summary = parts.count > 1 ? "\(encoder.tableFamily.name) \(encoder.table): \(command.summary)" : command.summary
                summaries += Array(repeating: summary, count: encoded.count)
            }
        }
        let reply: NetlinkBatchReply
        do {
            reply = try engine.transaction(begin: NftMessageEncoder.batchBegin(seq: 0), messages,
                                           end: NftMessageEncoder.batchEnd(seq: 0), operation: operation, object: object)
        } catch {
            throw failure(error, operation: operation)
        }
        let failures = reply.failures
        let first: (what: String, error: NetlinkError)
        if let failed = failures.first {
            first = (summaries[failed.index], failed.error)
        } else if let refusal = reply.refusal {
            first = ("batch", refusal)
        } else {
            return
        }
        let errno = first.error.errno
        let errnoText = errno?.description ?? first.error.reason
        var detail = first.what + ": " + (first.error.kernelMessage ?? errnoText)
        if first.error.kernelMessage != nil { detail += " (\(errnoText))" }
        let count = failures.count + (reply.refusal == nil ? 0 : 1)
        if count > 1 { detail += "; \(count - 1) more message(s) failed" }
        throw FirewallError(errno == Errno(EPERM) ? .missingCapability : .rejected, errno: errno,
                            operation: operation, object: object, detail: detail, cause: .netlink(first.error))
    }

    /// The Firewall error for a failed exchange: the kernel's refusal → `.rejected`
    /// (`.missingCapability` for EPERM) with the extended-ack text; every attempt of a dump
    /// interrupted → `.system` (no errno); anything else (socket, time-out, malformed reply) →
    /// `.system` with the errno (nil when none), which makes the backend open a new socket.
    private func failure(_ error: NetlinkError, operation: OperationName) -> FirewallError {
        if error.isRefusal {
            let err = error.errno
            return FirewallError(err == Errno(EPERM) ? .missingCapability : .rejected, errno: err, operation: operation, object: object,
                                 detail: error.kernelMessage.map { "\($0) (\(error.errno?.description ?? error.code.rawValue))" },
                                 cause: .netlink(error))
        }
        if error.code == .dumpInterrupted {
            return FirewallError(.system, operation: operation, object: object,
                                 detail: "dump interrupted \(NetlinkEngine.dumpAttempts) times by concurrent ruleset changes",
                                 cause: .netlink(error))
        }
        let err = error.errno
        return FirewallError(err == Errno(EPERM) ? .missingCapability : .system, errno: err, operation: operation, object: object,
                             detail: "netlink: \(error.reason)", cause: .netlink(error))
    }
}

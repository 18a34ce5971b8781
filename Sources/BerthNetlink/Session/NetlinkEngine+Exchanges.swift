@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// The four exchanges of the engine. Every message is a complete netlink message (`struct
/// nlmsghdr` and payload, as `NetlinkMessageBuilder.finish` or libnftnl build it); its nlmsg_seq
/// is overwritten by the engine. All throw only `NetlinkError`.
extension NetlinkEngine {
    /// Sends one request (which should carry NLM_F_ACK) and returns the messages that came before
    /// the acknowledgement (for a single-object GET, the object).
    /// - Throws: the kernel's refusal (`isRefusal`, errno and extended-ack text), or any reply or
    ///   transport failure (see `NetlinkEngine`).
    package func request(_ message: [UInt8], operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        let reply = try replies(to: [message], operation: operation, object: object)[0]
        if let error = reply.error { throw error }
        return reply.messages
    }

    /// Sends a dump request (NLM_F_DUMP) and returns every object message up to NLMSG_DONE. A
    /// dump the kernel marks inconsistent (NLM_F_DUMP_INTR on any of its messages) is sent again,
    /// up to `dumpAttempts` times in all.
    /// - Throws: `.dumpInterrupted` when every attempt was interrupted; the kernel's refusal (an
    ///   NLMSG_ERROR, or NLMSG_DONE with a negative code, e.g. ENOENT for an absent table);
    ///   reply or transport failures.
    package func dump(_ message: [UInt8], operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        for _ in 0..<Self.dumpAttempts {
            var collected: [NetlinkMessage] = []
            var interrupted = false
            try converse([message], operation: operation, object: object) { (m, _) throws(NetlinkError) -> Bool in
                if m.flags & RTNL.NLM_F_DUMP_INTR != 0 { interrupted = true }
                switch m.type {
                case RTNL.NLMSG_ERROR:
                    // A dump is never acknowledged with 0 (netlink_rcv_skb skips it); if it is, it ends here.
                    if let error = try Self.refusal(in: m, operation: operation, object: object) { throw error }
                    return true
                case RTNL.NLMSG_DONE:
                    if let error = Self.doneError(m, operation: operation, object: object) { throw error }
                    return true
                default:
                    collected.append(m)
                    return false
                }
            }
            if !interrupted { return collected }
        }
        throw NetlinkError(.dumpInterrupted, operation: operation, object: object,
                           detail: "dump interrupted \(Self.dumpAttempts) times by concurrent changes")
    }

    /// Sends every message (single-object GETs or changes, each with NLM_F_ACK) in ONE datagram
    /// and collects each one's reply up to its own acknowledgement, matched by sequence number:
    /// one round trip however many objects. The receive buffer is grown first for up to two
    /// skbs of a page each per message (object and ACK).
    /// - Returns: one `NetlinkReply` per message, in order; a refusal is a value here, not thrown.
    /// - Throws: reply or transport failures only.
    package func query(_ messages: [[UInt8]], operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkReply] {
        guard !messages.isEmpty else { return [] }
        return try replies(to: messages, operation: operation, object: object,
                           replyBytes: messages.count.multipliedReportingOverflow(by: 8192).partialValue)
    }

    /// Sends `begin`, `messages` and `end` (NFNL_MSG_BATCH_BEGIN … BATCH_END, linux/netfilter/
    /// nfnetlink.h) as ONE datagram, which the kernel applies entirely or not at all, and waits
    /// for the answer of every message, matched by sequence number (the kernel sends them once
    /// the whole batch is processed, nfnetlink_rcv_batch). Every message between BEGIN and END
    /// must carry NLM_F_ACK, so that each one is answered. The buffers are grown first: ~1 KiB of
    /// receive buffer per acknowledgement, and a send buffer larger than a big batch.
    /// - Returns: the per-message errors, or the refusal of the whole batch (an error on BEGIN or
    ///   END, after which nothing else is awaited). Nothing is sent when `messages` is empty.
    /// - Throws: `.invalidArgument` (before sending) when a message lacks NLM_F_ACK or is not one
    ///   whole message; reply or transport failures.
    package func transaction(begin: [UInt8], _ messages: [[UInt8]], end: [UInt8],
                            operation: OperationName, object: String) throws(NetlinkError) -> NetlinkBatchReply {
        var reply = NetlinkBatchReply(errors: Array(repeating: nil, count: messages.count))
        guard !messages.isEmpty else { return reply }
        if let i = messages.firstIndex(where: { !Self.asksForAck($0) }) {
            throw NetlinkError(.invalidArgument, operation: operation, object: object,
                               detail: "batch message \(i + 1) of \(messages.count) does not ask for an acknowledgement")
        }
        let last = messages.count + 1
        var awaiting = messages.count
        var answered = [Bool](repeating: false, count: messages.count)
        try converse([begin] + messages + [end], operation: operation, object: object,
                     replyBytes: messages.count.multipliedReportingOverflow(by: 1024).partialValue) { (m, index) throws(NetlinkError) -> Bool in
            guard m.type == RTNL.NLMSG_ERROR else { return false }
            let error = try Self.refusal(in: m, operation: operation, object: object)
            if index == 0 || index == last {
                guard let error else { return false }
                reply.refusal = error
                return true
            }
            guard !answered[index - 1] else { return false }
            answered[index - 1] = true
            reply.errors[index - 1] = error
            awaiting -= 1
            return awaiting == 0
        }
        return reply
    }

    // MARK: - Pieces

    /// Replies to `messages`, each collected up to its NLMSG_ERROR (or NLMSG_DONE).
    private func replies(to messages: [[UInt8]], operation: OperationName, object: String,
                         replyBytes: Int? = nil) throws(NetlinkError) -> [NetlinkReply] {
        var replies = [NetlinkReply](repeating: NetlinkReply(), count: messages.count)
        var finished = [Bool](repeating: false, count: messages.count)
        var open = messages.count
        try converse(messages, operation: operation, object: object, replyBytes: replyBytes) { (m, i) throws(NetlinkError) -> Bool in
            guard !finished[i] else { return false }
            switch m.type {
            case RTNL.NLMSG_ERROR:
                replies[i].error = try Self.refusal(in: m, operation: operation, object: object)
            case RTNL.NLMSG_DONE:
                replies[i].error = Self.doneError(m, operation: operation, object: object)
            default:
                replies[i].messages.append(m)
                return false
            }
            finished[i] = true
            open -= 1
            return open == 0
        }
        return replies
    }

    /// nil for an ACK (error 0), else the refusal an NLMSG_ERROR carries.
    static func refusal(in m: NetlinkMessage, operation: OperationName, object: String) throws(NetlinkError) -> NetlinkError? {
        let (err, text) = try RouteDecoding.error(m, operation: operation, object: object)
        return err == 0 ? nil : NetlinkError.refusal(Errno(err), operation: operation, object: object, message: text)
    }

    /// The refusal an NLMSG_DONE carries in its int payload (negative errno), if any.
    static func doneError(_ m: NetlinkMessage, operation: OperationName, object: String) -> NetlinkError? {
        guard let code = ByteReader(m.payload).read(Int32.self, at: 0), code < 0 else { return nil }
        return NetlinkError.refusal(Errno(code == Int32.min ? Int32.max : -code), operation: operation, object: object)
    }

    static func asksForAck(_ message: [UInt8]) -> Bool {
        (ByteReader(message).read(UInt16.self, at: 6) ?? 0) & RTNL.NLM_F_ACK != 0
    }
}

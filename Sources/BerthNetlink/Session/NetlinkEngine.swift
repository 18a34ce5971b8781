@_spi(BerthInternal) import BerthNamespace
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one netlink request/reply engine, for every family (rtnetlink through `NetlinkSession`,
/// nfnetlink through the nftables backend's channel), over any `NetlinkTransport`.
///
/// Each exchange stamps fresh, consecutive sequence numbers on the caller's messages (nlmsg_seq,
/// bytes 8–11 of each `struct nlmsghdr`; everything else is sent as given), sends them in ONE
/// datagram and reads replies until the exchange is complete. Every reply is checked here and
/// nowhere else (linux/netlink.h, netlink(7)):
/// - a datagram from a sender other than the kernel (nl_pid ≠ 0): `.malformedReply`;
/// - a datagram cut to fit the receive buffer (MSG_TRUNC): `.truncatedReply` (ENOSPC);
/// - a buffer that does not split into whole messages: `.truncatedReply` / `.malformedReply`;
/// - a message for another port (nlmsg_pid ≠ ours): `.malformedReply`;
/// - a message with a sequence number earlier than this exchange's: a late reply to an earlier,
///   timed-out exchange, skipped; a later one (never sent): `.malformedReply`;
/// - NLMSG_NOOP: skipped; NLMSG_OVERRUN: `.socket` (data was lost).
/// The kernel's own answers (NLMSG_ERROR with an errno, NLMSG_DONE with a negative code) become
/// `NetlinkError.refusal` errors carrying the errno and the extended-ack text.
///
/// Thread-safe: exchanges are serialized on the engine (the lock also guards the transport).
package final class NetlinkEngine: Sendable {
    /// How many times a dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is tried before
    /// `.dumpInterrupted` is thrown (as netlinksafe does).
    package static let dumpAttempts = 5

    private let transport: any NetlinkTransport
    /// The next sequence number to use; the lock serializes whole exchanges.
    private let nextSequence: Mutex<UInt32>

    /// An engine over `transport`; the first exchange uses `firstSequence` (0 is never used:
    /// it is what the kernel puts in notifications).
    package init(transport: any NetlinkTransport, firstSequence: UInt32 = 1) {
        self.transport = transport
        nextSequence = Mutex(firstSequence == 0 ? 1 : firstSequence)
    }

    /// The transport's port id, which every reply must carry.
    package var portID: UInt32 { transport.portID }

    /// Stamps consecutive sequence numbers on `messages`, sends them in one datagram and hands
    /// every checked reply message meant for one of them to `handle`, with the index of the
    /// message it answers, until `handle` returns true (the exchange is complete). With
    /// `replyBytes` (what all the answers may take in the receive buffer), the transport's
    /// buffers are grown first: the receive buffer to that (at least 256 KiB) and, for a request
    /// over 100 000 bytes, the send buffer to 64 KiB more than the request.
    /// - Throws: `.invalidArgument` when a message is not one whole `nlmsghdr`-framed message;
    ///   the transport's errors; the reply checks above; whatever `handle` throws.
    func converse(_ messages: [[UInt8]], operation: OperationName, object: String, replyBytes: Int? = nil,
                  handle: (NetlinkMessage, Int) throws(NetlinkError) -> Bool) throws(NetlinkError) {
        guard !messages.isEmpty else { return }
        try nextSequence.withLock { (next: inout UInt32) throws(NetlinkError) -> Void in
            var first = next
            let count = UInt32(clamping: messages.count)
            if first &+ (count &- 1) < first { first = 1 }  // the range would wrap through 0
            let datagram = try Self.stamp(messages, first: first, operation: operation, object: object)
            next = first &+ count
            if next == 0 { next = 1 }
            if let replyBytes {
                transport.reserveBuffers(receiveBytes: max(replyBytes, 1 << 18),
                                         sendBytes: datagram.count > 100_000 ? datagram.count + 65536 : 0)
            }
            try transport.send(datagram, operation: operation, object: object)
            let port = transport.portID
            while true {
                let received = try transport.receive(operation: operation, object: object)
                for m in try Self.checked(received, port: port, operation: operation, object: object) {
                    let offset = m.sequence &- first
                    guard offset < count else {
                        if Int32(bitPattern: offset) < 0 { continue }  // a late reply to an earlier exchange
                        throw NetlinkError(.malformedReply, operation: operation, object: object,
                                           detail: "reply with sequence \(m.sequence), expected \(Self.range(first, count))")
                    }
                    if try handle(m, Int(offset)) { return }
                }
            }
        }
    }

    static func range(_ first: UInt32, _ count: UInt32) -> String {
        count == 1 ? "\(first)" : "\(first)…\(first &+ (count &- 1))"
    }

    /// The request datagram: each message with its nlmsg_seq set, padded to NLMSG_ALIGN.
    static func stamp(_ messages: [[UInt8]], first: UInt32, operation: OperationName, object: String) throws(NetlinkError) -> [UInt8] {
        var datagram: [UInt8] = []
        datagram.reserveCapacity(messages.reduce(0) { $0 + NetlinkParser.align($1.count) })
        for (i, message) in messages.enumerated() {
            guard message.count >= NetlinkMessageBuilder.headerLength,
                  ByteReader(message).read(UInt32.self, at: 0).map({ Int($0) == message.count }) == true else {
                throw NetlinkError(.invalidArgument, operation: operation, object: object,
                                   detail: "request message \(i + 1) of \(messages.count) is not one whole netlink message")
            }
            var stamped = message
            NetlinkMessageBuilder.store(first &+ UInt32(i), into: &stamped, at: 8)
            datagram += stamped
            datagram += [UInt8](repeating: 0, count: NetlinkParser.align(datagram.count) - datagram.count)
        }
        return datagram
    }

    /// The messages of one received datagram after the sender, truncation, framing, port and
    /// control-message checks (NLMSG_NOOP dropped).
    static func checked(_ datagram: NetlinkDatagram, port: UInt32, operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        if datagram.truncated {
            throw NetlinkError(.truncatedReply, operation: operation, object: object,
                               detail: "datagram larger than the receive buffer")
        }
        if datagram.senderPort != 0 {
            throw NetlinkError(.malformedReply, operation: operation, object: object,
                               detail: "reply from port \(datagram.senderPort), not the kernel")
        }
        var out: [NetlinkMessage] = []
        for m in try NetlinkParser.messages(in: datagram.bytes, operation: operation, object: object) {
            if m.portID != port {
                throw NetlinkError(.malformedReply, operation: operation, object: object,
                                   detail: "reply for port \(m.portID), ours is \(port)")
            }
            switch m.type {
            case RTNL.NLMSG_NOOP:
                continue
            case RTNL.NLMSG_OVERRUN:
                throw NetlinkError(.socket, operation: operation, object: object, detail: "netlink overrun")
            default:
                out.append(m)
            }
        }
        return out
    }
}

internal import CNftnl
internal import CMnl
import BerthNetlink
import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// One NETLINK_NETFILTER socket (libmnl, opened inside the host namespace) and the two exchanges
/// the backend needs: a dump, and one atomic batch whose every message is acknowledged by seq.
/// Not thread-safe by itself: `NftablesBackend` serializes all use behind its lock.
final class NftChannel {
    private let socket: MnlSocket
    private var sequence: UInt32
    private let object: String
    /// The largest SO_RCVBUFFORCE / SO_SNDBUFFORCE set so far (0: defaults).
    private var receiveBufferSize: Int32 = 0
    private var sendBufferSize: Int32 = 0

    init(socket: MnlSocket, object: String) {
        self.socket = socket
        self.object = object
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        sequence = UInt32(truncatingIfNeeded: now.tv_sec &* 1000 &+ now.tv_nsec / 1_000_000)
    }

    private func nextSeq() -> UInt32 {
        sequence &+= 1
        if sequence == 0 { sequence = 1 }
        return sequence
    }

    /// One received netlink message with its full bytes (header included, for libnftnl parsers).
    struct Message {
        var type: UInt16
        var flags: UInt16
        var seq: UInt32
        var portID: UInt32
        var bytes: [UInt8]

        /// The attributes after nlmsghdr (16) and nfgenmsg (4).
        func attributes(operation: String, object: String) throws(NetlinkError) -> [UInt16: ArraySlice<UInt8>] {
            guard bytes.count >= 20 else { return [:] }
            return try NetlinkParser.attributes(in: bytes[20...], operation: operation, object: object)
        }
    }

    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    static let dumpInterrupted: UInt16 = 0x10

    private func receive(operation: String) throws(FirewallError) -> [Message] {
        let buffer: [UInt8]
        do {
            buffer = try socket.receive(operation: operation, object: object)
        } catch {
            throw FirewallError(.system, errno: error.errno, operation: operation,
                                object: object, detail: "netlink receive: \(error)")
        }
        var out: [Message] = []
        var offset = 0
        while offset + 16 <= buffer.count {
            let r = ByteReader(buffer)
            guard let length = r.read(UInt32.self, at: offset), let type = r.read(UInt16.self, at: offset + 4),
                  let flags = r.read(UInt16.self, at: offset + 6), let seq = r.read(UInt32.self, at: offset + 8),
                  let pid = r.read(UInt32.self, at: offset + 12), length >= 16, offset + Int(length) <= buffer.count else {
                throw FirewallError(.system, errno: EPROTO, operation: operation, object: object,
                                    detail: "malformed netlink reply at byte \(offset)")
            }
            out.append(Message(type: type, flags: flags, seq: seq, portID: pid,
                               bytes: Array(buffer[offset..<(offset + Int(length))])))
            offset += (Int(length) + 3) & ~3
        }
        return out
    }

    private func send(_ bytes: [UInt8], operation: String) throws(FirewallError) {
        do {
            try socket.send(bytes, operation: operation, object: object)
        } catch {
            throw FirewallError(error.errno == EPERM ? .missingCapability : .system, errno: error.errno,
                                operation: operation, object: object, detail: "netlink send: \(error)")
        }
    }

    /// Sends a dump request and collects every reply message up to NLMSG_DONE; an interrupted
    /// dump (NLM_F_DUMP_INTR) is retried up to five times.
    /// - Throws: `.rejected` with the kernel's errno (ENOENT when the set/table is absent).
    func dump(_ type: nf_tables_msg_types, table: String?, set: String? = nil, chain: String? = nil,
              operation: String) throws(FirewallError) -> [Message] {
        for _ in 0..<5 {
            let seq = nextSeq()
            try send(try NftMessageEncoder.dumpRequest(type, table: table, set: set, chain: chain, seq: seq), operation: operation)
            var out: [Message] = []
            var interrupted = false
            var done = false
            while !done {
                for m in try receive(operation: operation) where m.seq == seq && m.portID == socket.portID {
                    if m.flags & Self.dumpInterrupted != 0 { interrupted = true }
                    switch m.type {
                    case Self.nlmsgDone:
                        done = true
                    case Self.nlmsgError:
                        let (err, text) = try decodeError(m, operation: operation)
                        if err != 0 {
                            throw FirewallError(err == EPERM ? .missingCapability : .rejected, errno: err, operation: operation,
                                                object: object, detail: text.map { "\($0) (\(String(cString: strerror(err))))" })
                        }
                        done = true
                    default:
                        out.append(m)
                    }
                }
            }
            if !interrupted { return out }
        }
        throw FirewallError(.system, errno: EINTR, operation: operation, object: object,
                            detail: "dump interrupted five times by concurrent ruleset changes")
    }

    /// The answer to one `NftQuery`: the kernel's errno (0: found, ENOENT: absent) and the
    /// object message(s) it sent before its acknowledgement.
    struct QueryReply {
        var errno: Int32 = 0
        var text: String?
        var messages: [Message] = []
    }

    /// Sends every query (single-object GETs, each with NLM_F_ACK) in ONE sendmsg and collects
    /// each one's reply up to its acknowledgement: one round trip however many objects.
    func query(_ queries: [NftQuery], table: String, operation: String) throws(FirewallError) -> [QueryReply] {
        guard !queries.isEmpty else { return [] }
        var bytes: [UInt8] = []
        var index: [UInt32: Int] = [:]
        index.reserveCapacity(queries.count)
        for (i, q) in queries.enumerated() {
            let seq = nextSeq()
            index[seq] = i
            bytes += try NftMessageEncoder.queryRequest(q, table: table, seq: seq)
        }
        // Each answer is up to two skbs (object, ack), each up to a page plus overhead.
        sizeBuffers(messages: queries.count * 8, bytes: bytes.count)
        try send(bytes, operation: operation)
        var replies = [QueryReply](repeating: QueryReply(), count: queries.count)
        while !index.isEmpty {
            for m in try receive(operation: operation) where m.portID == socket.portID {
                guard let i = index[m.seq] else { continue }
                if m.type == Self.nlmsgError {
                    let (err, text) = try decodeError(m, operation: operation)
                    replies[i].errno = err
                    replies[i].text = text
                    index.removeValue(forKey: m.seq)
                } else {
                    replies[i].messages.append(m)
                }
            }
        }
        return replies
    }

    private func decodeError(_ m: Message, operation: String) throws(FirewallError) -> (Int32, String?) {
        let message = NetlinkMessage(type: m.type, flags: m.flags, sequence: m.seq, portID: m.portID, payload: Array(m.bytes[16...]))
        do {
            return try RouteDecoding.error(message, operation: operation, object: object)
        } catch {
            throw FirewallError(.system, errno: EPROTO, operation: operation, object: object, detail: "\(error)")
        }
    }

    /// Sends `commands` as ONE nf_tables transaction (NFNL_MSG_BATCH_BEGIN … END) and waits for
    /// the ACK or error of every message, matched by seq. The kernel applies all or nothing.
    /// - Throws: `.rejected` (or `.missingCapability` for EPERM) naming the first failing command,
    ///   with the kernel's errno and extended-ack text; other failures of the same batch are counted.
    func commit(_ commands: [NftCommand], encoder: NftMessageEncoder, operation: String) throws(FirewallError) {
        guard !commands.isEmpty else { return }
        let beginSeq = nextSeq()
        var batch = NftMessageEncoder.batchBegin(seq: beginSeq)
        var pending: [UInt32: NftCommand] = [:]
        var setID: UInt32 = 0
        for command in commands {
            let seq = nextSeq()
            if case .addSet = command { setID += 1 }
            batch += try encoder.encode(command, seq: seq, setID: setID)
            pending[seq] = command
        }
        let endSeq = nextSeq()
        batch += NftMessageEncoder.batchEnd(seq: endSeq)
        sizeBuffers(messages: commands.count, bytes: batch.count)
        try send(batch, operation: operation)

        var failures: [(command: NftCommand?, errno: Int32, text: String?)] = []
        while !pending.isEmpty {
            for m in try receive(operation: operation) where m.type == Self.nlmsgError && m.portID == socket.portID {
                let (err, text) = try decodeError(m, operation: operation)
                if let command = pending.removeValue(forKey: m.seq) {
                    if err != 0 { failures.append((command, err, text)) }
                } else if m.seq == beginSeq || m.seq == endSeq, err != 0 {
                    // The whole batch was refused (EPERM, ENOMEM, bad batch): no per-message replies follow.
                    failures.append((nil, err, text))
                    pending.removeAll()
                }
            }
        }
        guard let first = failures.first else { return }
        var detail = first.command?.summary ?? "batch"
        detail += ": " + (first.text ?? String(cString: strerror(first.errno)))
        if first.text != nil { detail += " (\(String(cString: strerror(first.errno))))" }
        if failures.count > 1 { detail += "; \(failures.count - 1) more message(s) failed" }
        throw FirewallError(first.errno == EPERM ? .missingCapability : .rejected, errno: first.errno,
                            operation: operation, object: object, detail: detail)
    }

    /// Every message gets its own ACK skb (~1 KiB of receive buffer each); a large batch also
    /// needs a send buffer bigger than the batch. Forced sizes need CAP_NET_ADMIN, which any
    /// nf_tables change needs anyway; failures here only leave the defaults.
    /// Sizes only ever grow, and a size already set is not set again (no syscall per batch).
    private func sizeBuffers(messages: Int, bytes: Int) {
        let fd = socket.fileDescriptor
        var receive = Int32(clamping: max(messages * 1024, 1 << 18))
        if receive > receiveBufferSize {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive, socklen_t(MemoryLayout<Int32>.size))
            receiveBufferSize = receive
        }
        if bytes > 100_000 {
            var send = Int32(clamping: bytes + 65536)
            if send > sendBufferSize {
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &send, socklen_t(MemoryLayout<Int32>.size))
                sendBufferSize = send
            }
        }
    }
}

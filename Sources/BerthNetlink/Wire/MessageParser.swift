@_spi(BerthInternal) import BerthNamespace
internal import CMnl

/// One netlink message as received: header fields and the payload after struct nlmsghdr.
package struct NetlinkMessage: Sendable, Equatable {
    package var type: UInt16
    package var flags: UInt16
    package var sequence: UInt32
    package var portID: UInt32
    /// Bytes after the 16-byte header, up to nlmsg_len.
    package var payload: [UInt8]

    package init(type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// The message as it was on the wire: `struct nlmsghdr` (nlmsg_len = 16 + payload count)
    /// followed by the payload, for parsers that want the whole message (libnftnl's
    /// `nftnl_*_nlmsg_parse`).
    package var wireBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(NetlinkMessageBuilder.headerLength + payload.count)
        withUnsafeBytes(of: UInt32(NetlinkMessageBuilder.headerLength + payload.count)) { out += $0 }
        withUnsafeBytes(of: type) { out += $0 }
        withUnsafeBytes(of: flags) { out += $0 }
        withUnsafeBytes(of: sequence) { out += $0 }
        withUnsafeBytes(of: portID) { out += $0 }
        return out + payload
    }
}

/// Reads host-order integers from a byte slice with bounds checks (never traps on short input).
package struct ByteReader: Sendable {
    package let bytes: ArraySlice<UInt8>

    package init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    package init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    /// The integer at `offset` (relative to the slice start), or nil when out of bounds.
    package func read<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset + size <= bytes.count else { return nil }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { raw in
            for i in 0..<size { raw[i] = bytes[bytes.startIndex + offset + i] }
        }
        return value
    }
}

/// Splits netlink buffers into messages and attributes; every malformed or truncated input gives a
/// typed `NetlinkError` (`.truncatedReply` / `.malformedReply`), never a crash.
package enum NetlinkParser {
    /// NLMSG_ALIGN (and NLA_ALIGN, the same 4): `n` rounded up to NLMSG_ALIGNTO, linux/netlink.h.
    package static func align(_ n: Int) -> Int { (n + alignTo - 1) & ~(alignTo - 1) }
    static let alignTo = Int(CMnl.NLMSG_ALIGNTO)

    /// Parses every message in one receive buffer (several replies may share one datagram).
    package static func messages(in buffer: [UInt8], operation: OperationName, object: String) throws(NetlinkError) -> [NetlinkMessage] {
        var result: [NetlinkMessage] = []
        var offset = 0
        let reader = ByteReader(buffer)
        while offset < buffer.count {
            guard let length = reader.read(UInt32.self, at: offset),
                  let type = reader.read(UInt16.self, at: offset + 4),
                  let flags = reader.read(UInt16.self, at: offset + 6),
                  let seq = reader.read(UInt32.self, at: offset + 8),
                  let pid = reader.read(UInt32.self, at: offset + 12) else {
                throw NetlinkError(.truncatedReply, operation: operation, object: object,
                                   detail: "reply ends inside a netlink header at byte \(offset)")
            }
            let len = Int(length)
            guard len >= NetlinkMessageBuilder.headerLength else {
                throw NetlinkError(.malformedReply, operation: operation, object: object,
                                   detail: "netlink message length \(len) is shorter than its header")
            }
            guard offset + len <= buffer.count else {
                throw NetlinkError(.truncatedReply, operation: operation, object: object,
                                   detail: "netlink message of \(len) bytes but only \(buffer.count - offset) received")
            }
            let payload = Array(buffer[(offset + 16)..<(offset + len)])
            result.append(NetlinkMessage(type: type, flags: flags, sequence: seq, portID: pid, payload: payload))
            offset += align(len)
        }
        return result
    }

    /// Parses a run of attributes (struct nlattr) into type → payload; the NLA_F_NESTED and
    /// NLA_F_NET_BYTEORDER bits are masked off the type. Later duplicates win, as in the kernel.
    package static func attributes(in bytes: ArraySlice<UInt8>, operation: OperationName, object: String) throws(NetlinkError) -> [UInt16: ArraySlice<UInt8>] {
        var result: [UInt16: ArraySlice<UInt8>] = [:]
        let reader = ByteReader(bytes)
        var offset = 0
        while offset + 4 <= bytes.count {
            guard let length = reader.read(UInt16.self, at: offset),
                  let rawType = reader.read(UInt16.self, at: offset + 2) else { break }
            let len = Int(length)
            guard len >= 4 else {
                throw NetlinkError(.malformedReply, operation: operation, object: object,
                                   detail: "attribute length \(len) is shorter than its header")
            }
            guard offset + len <= bytes.count else {
                throw NetlinkError(.truncatedReply, operation: operation, object: object,
                                   detail: "attribute of \(len) bytes runs past the message end")
            }
            let start = bytes.startIndex + offset
            result[rawType & RTNL.NLA_TYPE_MASK] = bytes[(start + 4)..<(start + len)]
            offset += align(len)
        }
        return result
    }
}

/// Typed accessors on attribute payloads.
package extension ArraySlice<UInt8> {
    /// A NUL-terminated (or unterminated) string payload.
    var netlinkString: String {
        String(decoding: prefix { $0 != 0 }, as: UTF8.self)
    }
    var netlinkU32: UInt32? { ByteReader(self).read(UInt32.self, at: 0) }
    var netlinkI32: Int32? { ByteReader(self).read(Int32.self, at: 0) }
    var netlinkU8: UInt8? { first }
}

internal import CMnl

/// Builds one netlink message (struct nlmsghdr, a fixed family header, then attributes) into a
/// byte array, in host byte order with 4-byte alignment (NLMSG_ALIGN / NLA_ALIGN, linux/netlink.h).
///
/// Pure: no system calls, so requests can be compared byte for byte in unprivileged tests.
package struct NetlinkMessageBuilder: Sendable {
    /// NLMSG_HDRLEN: sizeof(struct nlmsghdr), NLMSG_ALIGNed (16), linux/netlink.h.
    package static let headerLength = NetlinkParser.align(MemoryLayout<nlmsghdr>.size)
    /// NLA_F_NESTED.
    static let nestedFlag = RTNL.NLA_F_NESTED

    package private(set) var bytes: [UInt8]

    /// Starts a message of `type` (e.g. RTM_NEWLINK) with `flags` (NLM_F_*); length and sequence
    /// are filled in by `finish(sequence:portID:)`.
    package init(type: UInt16, flags: UInt16) {
        bytes = []
        bytes.reserveCapacity(256)
        append(UInt32(0))  // nlmsg_len
        append(type)
        append(flags)
        append(UInt32(0))  // nlmsg_seq
        append(UInt32(0))  // nlmsg_pid
    }

    /// Appends raw bytes, then pads to 4.
    package mutating func appendAligned(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
        pad()
    }

    /// Appends a fixed-size value in host byte order (no padding).
    package mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    private mutating func pad() {
        bytes += [UInt8](repeating: 0, count: NetlinkParser.align(bytes.count) - bytes.count)
    }

    /// One attribute (struct nlattr: u16 len, u16 type, payload, padding to 4).
    package mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
        append(UInt16(4 + payload.count))
        append(type)
        appendAligned(payload)
    }

    package mutating func attribute(_ type: UInt16, u32 value: UInt32) {
        attribute(type, withUnsafeBytes(of: value) { Array($0) })
    }

    package mutating func attribute(_ type: UInt16, u16 value: UInt16) {
        attribute(type, withUnsafeBytes(of: value) { Array($0) })
    }

    package mutating func attribute(_ type: UInt16, u8 value: UInt8) {
        attribute(type, [value])
    }

    /// A NUL-terminated string attribute (NLA_NUL_STRING / mnl_attr_put_strz).
    package mutating func attribute(_ type: UInt16, string value: String) {
        attribute(type, Array(value.utf8) + [0])
    }

    /// Opens a nested attribute with NLA_F_NESTED set (as libmnl's mnl_attr_nest_start does);
    /// close it with `endNested(_:)`.
    package mutating func beginNested(_ type: UInt16) -> Int {
        beginNested(type, flagged: true)
    }

    /// Opens a nested attribute, with NLA_F_NESTED only when `flagged` (iproute2's `tc` leaves it
    /// off its outer nests; the kernel accepts both).
    package mutating func beginNested(_ type: UInt16, flagged: Bool) -> Int {
        let start = bytes.count
        append(UInt16(0))
        append(flagged ? type | Self.nestedFlag : type)
        return start
    }

    /// The bytes of a fixed C struct, built field by field in host byte order (no padding is
    /// added: the caller writes the struct's own).
    package struct Payload: Sendable {
        package private(set) var bytes: [UInt8] = []
        package init() {}
        package mutating func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
    }

    /// Closes the nested attribute opened at `start`, writing its length.
    package mutating func endNested(_ start: Int) {
        let length = UInt16(bytes.count - start)
        bytes[start] = UInt8(length & 0xff)
        bytes[start + 1] = UInt8(length >> 8)
    }

    /// The finished message with nlmsg_len, nlmsg_seq and nlmsg_pid set.
    package func finish(sequence: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var out = bytes
        Self.store(UInt32(out.count), into: &out, at: 0)
        Self.store(sequence, into: &out, at: 8)
        Self.store(portID, into: &out, at: 12)
        return out
    }

    static func store(_ value: UInt32, into out: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for i in 0..<4 { out[offset + i] = raw[i] }
        }
    }
}

import Foundation
@_spi(BerthInternal) import BerthNamespace

/// The test's micro-VM guest: raw Ethernet frames written to and read from TAP queue fds, as a
/// virtio-net device would (issue 16). With `vnetHeader` each frame carries the 10-byte
/// `struct virtio_net_hdr` (linux/virtio_net.h; TUNSETVNETHDRSZ default), all zero here (no
/// offloads). It answers ARP requests for its own address and ICMP echo requests, so hosts on
/// the bridge can reach it, and records every frame it reads.
package final class GuestTap {
    package let fds: [Int32]
    package let mac: [UInt8]
    package let address: [UInt8]
    package let vnetHeader: Bool
    /// The gateway's MAC once an ARP reply from it was read.
    package private(set) var gatewayMAC: [UInt8]?
    /// Every frame read (Ethernet header first), in order.
    package private(set) var seen: [[UInt8]] = []

    package init(fds: [Int32], mac: String, address: String, vnetHeader: Bool = true) {
        self.fds = fds
        self.mac = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        self.address = address.split(separator: ".").compactMap { UInt8($0) }
        self.vnetHeader = vnetHeader
    }

    /// Writes one frame on queue `queue`.
    package func write(_ frame: [UInt8], queue: Int = 0) throws {
        let bytes = (vnetHeader ? [UInt8](repeating: 0, count: 10) : []) + frame
        let n = bytes.withUnsafeBytes { Foundation.write(fds[queue], $0.baseAddress, $0.count) }
        if n != bytes.count { throw GuestError.write(errno) }
    }

    /// Reads frames from every queue for up to `timeout` seconds, answering ARP and echo
    /// requests, until `until` accepts one; returns it (nil on timeout).
    @discardableResult
    package func read(timeout: Double = 3, until: ([UInt8]) -> Bool) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&polls, nfds_t(polls.count), ms) > 0 else { continue }
            for p in polls where p.revents & Int16(POLLIN) != 0 {
                var buffer = [UInt8](repeating: 0, count: 65_600)
                let n = buffer.withUnsafeMutableBytes { Foundation.read(p.fd, $0.baseAddress, $0.count) }
                guard n > (vnetHeader ? 10 : 0) + 14 else { continue }
                let frame = Array(buffer[(vnetHeader ? 10 : 0)..<n])
                seen.append(frame)
                respond(to: frame)
                if until(frame) { return frame }
            }
        }
        return nil
    }

    /// Who-has `target`, from the guest.
    package func arpRequest(for target: String) -> [UInt8] {
        let t = target.split(separator: ".").compactMap { UInt8($0) }
        return [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + mac + [0x08, 0x06]
            + [0, 1, 0x08, 0, 6, 4, 0, 1] + mac + address + [0, 0, 0, 0, 0, 0] + t
    }

    /// Resolves `gateway` by ARP (frames on `queue`); returns its MAC.
    package func resolve(_ gateway: String, queue: Int = 0) throws -> [UInt8]? {
        let g = gateway.split(separator: ".").compactMap { UInt8($0) }
        var reply: [UInt8]?
        for _ in 0..<3 where reply == nil {
            try write(arpRequest(for: gateway), queue: queue)
            reply = read(timeout: 1) { Self.isARPReply($0, from: g) }
        }
        if let reply { gatewayMAC = Array(reply[22..<28]) }
        return gatewayMAC
    }

    /// An IPv4 packet from the guest to `destination` through the gateway's MAC.
    package func ipv4(to destination: String, proto: UInt8, payload: [UInt8], via mac: [UInt8]) -> [UInt8] {
        let d = destination.split(separator: ".").compactMap { UInt8($0) }
        let total = 20 + payload.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, 64, proto, 0, 0] + address + d
        let sum = Self.checksum(ip)
        ip[10] = UInt8(sum >> 8); ip[11] = UInt8(sum & 0xff)
        return mac + self.mac + [0x08, 0x00] + ip + payload
    }

    /// ICMP echo request (type 8) with `id`/`sequence`.
    package func echoRequest(to destination: String, via mac: [UInt8], id: UInt16 = 0x4242, sequence: UInt16 = 1) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)] + Array("berth-guest".utf8)
        let sum = Self.checksum(icmp)
        icmp[2] = UInt8(sum >> 8); icmp[3] = UInt8(sum & 0xff)
        return ipv4(to: destination, proto: 1, payload: icmp, via: mac)
    }

    /// A UDP datagram (checksum 0: none, allowed for IPv4).
    package func udp(to destination: String, port: UInt16, from source: UInt16 = 40000, via mac: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let length = 8 + data.count
        let udp: [UInt8] = [UInt8(source >> 8), UInt8(source & 0xff), UInt8(port >> 8), UInt8(port & 0xff),
                            UInt8(length >> 8), UInt8(length & 0xff), 0, 0] + data
        return ipv4(to: destination, proto: 17, payload: udp, via: mac)
    }

    // MARK: Frame predicates

    package static func isARPReply(_ f: [UInt8], from sender: [UInt8]) -> Bool {
        f.count >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 && Array(f[28..<32]) == sender
    }

    package static func isEchoReply(_ f: [UInt8], from source: String) -> Bool {
        let s = source.split(separator: ".").compactMap { UInt8($0) }
        return f.count >= 42 && f[12] == 0x08 && f[13] == 0 && f[23] == 1 && Array(f[26..<30]) == s && f[34] == 0
    }

    /// An IPv4 packet to the guest's address (the destination after DNAT).
    package func isIPv4ToGuest(_ f: [UInt8], proto: UInt8) -> Bool {
        f.count >= 34 && f[12] == 0x08 && f[13] == 0 && f[23] == proto && Array(f[30..<34]) == address
    }

    /// A TCP SYN to the guest on `port`.
    package func isSYN(_ f: [UInt8], port: UInt16) -> Bool {
        guard isIPv4ToGuest(f, proto: 6) else { return false }
        let ihl = Int(f[14] & 0x0f) * 4
        let tcp = 14 + ihl
        guard f.count >= tcp + 14 else { return false }
        return UInt16(f[tcp + 2]) << 8 | UInt16(f[tcp + 3]) == port && f[tcp + 13] & 0x02 != 0
    }

    // MARK: Answers

    private func respond(to f: [UInt8]) {
        // ARP who-has for the guest's address.
        if f.count >= 42, f[12] == 0x08, f[13] == 0x06, f[21] == 1, Array(f[38..<42]) == address {
            let asker = Array(f[22..<28]), askerIP = Array(f[28..<32])
            let reply = asker + mac + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2] + mac + address + asker + askerIP
            try? write(reply)
            return
        }
        // ICMP echo request to the guest.
        if isIPv4ToGuest(f, proto: 1), f.count >= 42, f[34] == 8 {
            let ihl = Int(f[14] & 0x0f) * 4
            var ip = Array(f[14..<(14 + ihl)])
            let source = Array(ip[12..<16])
            ip.replaceSubrange(12..<16, with: address)
            ip.replaceSubrange(16..<20, with: source)
            ip[10] = 0; ip[11] = 0
            let s = Self.checksum(ip)
            ip[10] = UInt8(s >> 8); ip[11] = UInt8(s & 0xff)
            var icmp = Array(f[(14 + ihl)...])
            icmp[0] = 0; icmp[2] = 0; icmp[3] = 0
            let c = Self.checksum(icmp)
            icmp[2] = UInt8(c >> 8); icmp[3] = UInt8(c & 0xff)
            try? write(Array(f[6..<12]) + mac + [0x08, 0x00] + ip + icmp)
        }
    }

    /// RFC 1071 Internet checksum.
    package static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    package enum GuestError: Error { case write(Int32) }

    /// Opens the TAP `name` of `netnsPath` by name, as a VMM does (one queue, or `queues` with
    /// IFF_MULTI_QUEUE), through the library's one TUNSETIFF path.
    package static func open(name: String, netnsPath: String, vnetHeader: Bool = true, queues: Int = 1) throws -> [Int32] {
        let ns = try NetworkNamespace.open(path: netnsPath)
        return try TapDevice.open(name: name, flags: .init(vnetHeader: vnetHeader, multiQueue: queues > 1), queues: queues,
                                  exclusive: false, in: ns).fds
    }
}

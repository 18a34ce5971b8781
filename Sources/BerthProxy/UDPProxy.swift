#if canImport(Glibc)
import Glibc
#endif

/// docker-proxy's UDP proxy: one connected socket to the container per client address, replies
/// sent back from the listening socket, a flow forgotten after 90 s without traffic
/// (libnetwork `UDPConnTrackTimeout`). One process, one poll loop. The listener's family and the
/// container's may differ (a `::` proxy to an IPv4-only container).
enum UDPProxy {
    static let idleSeconds = 90

    private struct Flow {
        var client: SocketAddress
        var backend: Int32
        var lastActive: Int
    }

    static func run(listener: Int32, _ a: ProxyArguments) -> Never {
        var flows: [[UInt8]: Flow] = [:]   // by the client's socket address bytes (either family)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        while true {
            let keys = Array(flows.keys)
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                + keys.map { pollfd(fd: flows[$0]?.backend ?? -1, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 10_000)
            let now = Int(time(nil))
            if ready < 0 && errno != EINTR { continue }
            if fds[0].revents != 0, let (n, peer) = Sockets.receiveFrom(listener, buffer) {
                let k = peer.key
                if flows[k] == nil, let backend = Sockets.connected(Int32(SOCK_DGRAM.rawValue), a.containerIP, a.containerPort) {
                    flows[k] = Flow(client: peer, backend: backend, lastActive: now)
                }
                if var flow = flows[k] {
                    _ = send(flow.backend, buffer.baseAddress, n, Int32(MSG_NOSIGNAL))
                    flow.lastActive = now
                    flows[k] = flow
                }
            }
            for (i, k) in keys.enumerated() where fds[i + 1].revents != 0 {
                guard var flow = flows[k] else { continue }
                let n = recv(flow.backend, buffer.baseAddress, buffer.count, 0)
                if n >= 0 {
                    Sockets.sendTo(listener, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), flow.client)
                    flow.lastActive = now
                    flows[k] = flow
                }
            }
            for (k, flow) in flows where now - flow.lastActive > idleSeconds {
                close(flow.backend)
                flows[k] = nil
            }
        }
    }
}

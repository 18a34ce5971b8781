import Foundation

/// A TCP server in a namespace: python3 listening on `port`, answering every connection with a
/// fixed text or with the client's address as it sees it, until `stop()` (SIGKILL: SIGTERM is
/// blocked in processes the test runner spawns) or 30 s without a connection, so a crashed test
/// leaves nothing running. Its stdio is /dev/null: it must not hold other processes' pipes open.
package final class TCPServer {
    package enum Reply: Sendable {
        case text(String)
        /// The client's source address: what NAT made of it.
        case peerAddress
        /// The port the connection arrived on: where DNAT sent it.
        case localPort
    }

    private let process = Process()

    package convenience init(in netns: String, port: Int, reply: Reply, ipv6: Bool = false) throws {
        try self.init(in: netns, ports: [port], reply: reply, ipv6: ipv6)
    }

    /// One server listening on every port of `ports` (`ipv6`: on `::`, IPv6 only, else 0.0.0.0).
    package init(in netns: String, ports: [Int], reply: Reply, ipv6: Bool = false) throws {
        let answer = switch reply {
        case .text(let text): "\(Array(text.utf8))"
        case .peerAddress: "list(a[0].encode())"
        case .localPort: "list(str(c.getsockname()[1]).encode())"
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", netns, "python3", "-c", """
        import socket, select
        ls = []
        for p in \(ports):
            s = socket.socket(\(ipv6 ? "socket.AF_INET6" : "socket.AF_INET")); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if \(ipv6 ? "True" : "False"): s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((\(ipv6 ? "\"::\"" : "\"0.0.0.0\""), p)); s.listen(8); ls.append(s)
        while True:
            r, _, _ = select.select(ls, [], [], 30)
            if not r: break
            for s in r:
                c, a = s.accept(); c.sendall(bytes(\(answer))); c.close()
        """]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it listens.
        let last = ports.last ?? 0
        for _ in 0..<50 {
            let r = try Sandbox.exec(netns, ["ss", "-Hltn", "sport = :\(last)"])
            if !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            usleep(50_000)
        }
    }

    package func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Clients for TCP and UDP between the test's namespaces.
package enum Traffic {
    /// Connects from `netns` to `address:port` (up to `attempts` tries, 1 s each); the text
    /// received, or nil when no connection answered.
    package static func tcpFetch(from netns: String, _ address: String, _ port: Int, attempts: Int = 30) throws -> String? {
        let client = """
        import socket, sys, time
        for i in range(int(sys.argv[3])):
            try:
                c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1); print(c.recv(100).decode()); break
            except OSError:
                time.sleep(0.1)
        """
        let r = try Sandbox.exec(netns, ["python3", "-c", client, address, String(port), String(attempts)])
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Sends UDP datagrams from `netns` to `address:port`, where a listener in `listener` (bound
    /// to `address`) waits; returns the source address the listener saw, or nil.
    package static func udpSourceSeen(from netns: String, to address: String, port: Int, listener: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", listener, "python3", "-c",
                             "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('\(address)',\(port)));"
                             + "print('ready',flush=True);s.settimeout(5);d,a=s.recvfrom(64);print(a[0],flush=True)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        var seen = ""
        while !seen.contains("ready\n") {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        for _ in 0..<3 {
            _ = try Sandbox.exec(netns, ["bash", "-c", "echo hi > /dev/udp/\(address)/\(port)"])
            usleep(100_000)
        }
        let rest = handle.readDataToEndOfFile()
        process.waitUntilExit()
        seen += String(decoding: rest, as: UTF8.self)
        return seen.split(separator: "\n").map(String.init).first { $0 != "ready" }
    }
}

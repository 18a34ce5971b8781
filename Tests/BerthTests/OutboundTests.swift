import Berth
import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// An "outside" namespace routed through the host: host `up0` 10.200.0.1/24 ↔ outside `eth0`
/// 10.200.0.2/24. Traffic stays between the test's own namespaces.
func addOutside(to f: Fixture) throws -> String {
    let outside = try f.sandbox()
    try Sandbox.run(["ip", "-n", f.hostName, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", outside])
    try Sandbox.run(["ip", "-n", f.hostName, "addr", "add", "10.200.0.1/24", "dev", "up0"])
    try Sandbox.run(["ip", "-n", f.hostName, "link", "set", "up0", "up"])
    try Sandbox.run(["ip", "-n", outside, "addr", "add", "10.200.0.2/24", "dev", "eth0"])
    try Sandbox.run(["ip", "-n", outside, "link", "set", "eth0", "up"])
    return outside
}

/// Sends one UDP datagram from `sandbox` to the outside and returns the source address the outside saw.
func sourceSeenOutside(from sandbox: String, outside: String) throws -> String? {
    let listener = Process()
    listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    listener.arguments = ["ip", "netns", "exec", outside, "python3", "-c",
                          "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('10.200.0.2',9999));"
                          + "print('ready',flush=True);s.settimeout(5);d,a=s.recvfrom(64);print(a[0],flush=True)"]
    let pipe = Pipe()
    listener.standardOutput = pipe
    try listener.run()
    let handle = pipe.fileHandleForReading
    var seen = ""
    while !seen.contains("ready\n") {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        seen += String(decoding: chunk, as: UTF8.self)
    }
    for _ in 0..<3 {
        _ = try Sandbox.exec(sandbox, ["bash", "-c", "echo hi > /dev/udp/10.200.0.2/9999"])
        usleep(100_000)
    }
    let rest = handle.readDataToEndOfFile()
    listener.waitUntilExit()
    seen += String(decoding: rest, as: UTF8.self)
    return seen.split(separator: "\n").map(String.init).first { $0 != "ready" }
}

@Suite("Façade acceptance: outbound NAT (A09)", .enabled(if: Sandbox.isActive))
struct OutboundTests {
    @Test("A09 outbound masquerade on and off", arguments: backends)
    func outboundNAT(_ backend: FirewallBackendKind) throws {
        let f = try Fixture(backend)
        let c = try f.controller()
        let outside = try addOutside(to: f)
        try c.createNetwork(NetworkOptions(name: "masq"))
        try c.createNetwork(NetworkOptions(name: "plain", masquerade: false))
        let a = try f.sandbox(), b = try f.sandbox()
        try c.attach(network: "masq", sandbox: .name(a))
        let eb = try c.attach(network: "plain", sandbox: .name(b))
        #expect(try sourceSeenOutside(from: a, outside: outside) == "10.200.0.1")
        #expect(try sourceSeenOutside(from: b, outside: outside) == eb.address.description)
    }
}

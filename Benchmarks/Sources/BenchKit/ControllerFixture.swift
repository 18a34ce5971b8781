// Fixtures for the public-API benchmarks (issue 6) and the firewall-layer benchmarks (issue 3):
// a throw-away "host" namespace, a state directory, a controller on it, and helpers that put a
// given number of networks / endpoints in place before the measured operation.
// Everything lives inside the sandbox's private /run/netns (see ../AttachKit, requireSandbox).
import AttachKit
import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
import Foundation
#if canImport(Glibc)
import Glibc
#endif

package enum Bench {
    /// Subnet of the network the endpoint benchmarks attach to (room for 65k endpoints).
    package static let mainSubnet = "10.77.0.0/16"

    /// Subnet of the k-th extra network: 10.(100 + k/256).(k%256).0/24 (k < 7000).
    package static func extraSubnet(_ k: Int) -> String { "10.\(100 + k / 256).\(k % 256).0/24" }

    /// "VmRSS" / "VmHWM" of this process in KiB.
    package static func memoryKiB(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    /// Which backends work here: iptables always; nftables when a backend can set up its base in
    /// a scratch namespace (the probe leaves nothing behind: the namespace is deleted).
    package static func workingBackends() -> [FirewallBackendKind] {
        if let only = ProcessInfo.processInfo.environment["BERTH_BENCH_BACKENDS"] {
            return only.split(separator: ",").compactMap { FirewallBackendKind(rawValue: String($0)) }
        }
        var kinds: [FirewallBackendKind] = [.iptables]
        let name = "probe-nft-\(getpid())"
        if let ns = try? NetworkNamespace.create(name: name) {
            if (try? NftablesBackend(host: ns).setUpBase()) != nil { kinds.append(.nftables) }
            try? NetworkNamespace.delete(name: name)
        }
        return kinds
    }
}

/// A host namespace `<tag>-host`, a state directory and a controller, with helpers to add networks,
/// sandboxes and endpoints. `tearDown()` drops the namespaces (the kernel frees their links and
/// rules asynchronously) and the state directory.
package final class ControllerFixture: @unchecked Sendable {
    package let tag: String
    package let backend: FirewallBackendKind
    package let hostPath: String
    package let stateDirectory: String
    package private(set) var controller: NetworkController
    package private(set) var sandboxes: [String] = []
    private var nextSandbox = 0
    package private(set) var extraNetworks = 0
    /// Endpoints added by `addEndpoints`, oldest first.
    package private(set) var endpointIDs: [String] = []
    package static let mainNetwork = "bench"

    package var configuration: ControllerConfiguration {
        ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: hostPath)
    }

    package init(tag: String, backend: FirewallBackendKind, mainNetwork: Bool = true) throws {
        requireSandbox(tag)
        self.tag = tag
        self.backend = backend
        let host = try NetworkNamespace.create(name: "\(tag)-host")
        try NetlinkSession.route(in: host).setLink(index: 1, LinkChange(up: true))
        hostPath = "\(NetworkNamespace.runDirectory)/\(tag)-host"
        stateDirectory = "/tmp/berth-bench-\(tag)-\(getpid())"
        try? FileManager.default.removeItem(atPath: stateDirectory)
        controller = try NetworkController(ControllerConfiguration(stateDirectory: stateDirectory, backend: backend, hostNamespacePath: hostPath))
        if mainNetwork {
            _ = try controller.createNetwork(NetworkOptions(name: Self.mainNetwork, subnet: Bench.mainSubnet))
        }
    }

    /// Opens a second controller on the same state (what `open` measures).
    package func reopen() throws -> NetworkController { try NetworkController(configuration) }

    /// Adds `count` networks `x<k>` on 10.1xx.y.0/24.
    package func addNetworks(_ count: Int) throws {
        for _ in 0..<count {
            _ = try controller.createNetwork(NetworkOptions(name: "x\(extraNetworks)", subnet: Bench.extraSubnet(extraNetworks)))
            extraNetworks += 1
        }
    }

    /// Pre-creates `count` sandbox namespaces `<tag>-sb<i>`.
    package func addSandboxes(_ count: Int) throws {
        for _ in 0..<count {
            let name = "\(tag)-sb\(sandboxes.count)"
            _ = try NetworkNamespace.create(name: name)
            sandboxes.append(name)
        }
    }

    /// The next unused sandbox name (a fresh netns for every attach).
    package func takeSandbox() throws -> String {
        if nextSandbox >= sandboxes.count { try addSandboxes(16) }
        defer { nextSandbox += 1 }
        return sandboxes[nextSandbox]
    }

    /// Attaches `count` fresh sandboxes to the main network (the background population).
    package func addEndpoints(_ count: Int) throws {
        for _ in 0..<count {
            let e = try controller.attach(network: Self.mainNetwork, sandbox: .name(try takeSandbox()))
            endpointIDs.append(e.id)
        }
    }

    package func tearDown() {
        for name in sandboxes { try? NetworkNamespace.delete(name: name) }
        sandboxes.removeAll()
        try? NetworkNamespace.delete(name: "\(tag)-host")
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

/// A host namespace and one firewall backend with `networks` networks' rules in place (issue 3).
package final class FirewallFixture: @unchecked Sendable {
    package let tag: String
    package let backend: any FirewallBackend
    package private(set) var networks: [NetworkRules] = []
    private var serial = 0

    package init(tag: String, kind: FirewallBackendKind, networks count: Int) throws {
        requireSandbox(tag)
        self.tag = tag
        let host = try NetworkNamespace.create(name: "\(tag)-host")
        switch kind {
        case .iptables: backend = try IptablesBackend(host: host)
        case .nftables: backend = NftablesBackend(host: host)
        }
        try backend.setUpBase()
        for _ in 0..<count {
            let n = makeNetwork()
            try backend.addNetwork(n)
            networks.append(n)
        }
    }

    /// A new network description (not yet added): bridge `bb<k>`, subnet 10.1xx.y.0/24.
    package func makeNetwork() -> NetworkRules {
        defer { serial += 1 }
        let id = String(repeating: "0", count: 56) + String(format: "%08x", serial)
        return NetworkRules(id: id, bridge: "bb\(serial)", subnet: IPv4Subnet(Bench.extraSubnet(serial))!)
    }

    /// One endpoint's port mapping on the first network: hostPort -> 80.
    package func makePorts(_ i: Int) -> EndpointPorts {
        let n = networks[0]
        let id = String(repeating: "e", count: 56) + String(format: "%08x", i)
        let address = IPv4Address(n.subnet.network.value + UInt32(2 + i % 250))
        return EndpointPorts(endpointID: id, networkID: n.id, bridge: n.bridge, address: address,
                             ports: [PortMapping(hostPort: UInt16(20000 + i % 40000), containerPort: 80)])
    }

    package func tearDown() {
        try? NetworkNamespace.delete(name: "\(tag)-host")
    }
}

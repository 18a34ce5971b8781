// The public API as a Swift user sees it: this file imports `Berth` only (no @_spi, no lower
// layer), so it compiling proves that the façade carries every type its API needs. The wire layer
// (RTNL, NetlinkSession, message builders, MnlSocket, NamespaceThread, IPAM internals) is not
// reachable from here: those are `package` or behind `@_spi(BerthInternal)`.
import Berth
import Testing

@Suite("Public API (import Berth only)")
struct PublicAPITests {
    @Test("the README's types are reachable with import Berth alone")
    func readmeTypes() throws {
        let configuration = ControllerConfiguration(stateDirectory: "/nonexistent", backend: .nftables, setUpHost: false)
        #expect(configuration.backend == FirewallBackendKind.nftables)
        let options = NetworkOptions(name: "test1")
        #expect(options.name == "test1")
        let subnet = try #require(IPv4Subnet("10.1.0.0/24"))
        #expect(subnet.description == "10.1.0.0/24")
        #expect(IPv4Address("10.1.0.1")?.description == "10.1.0.1")
        #expect(MACAddress("02:42:0a:01:00:02")?.description == "02:42:0a:01:00:02")
        let port = PortMapping(proto: .udp, hostPort: 5353, containerPort: 53)
        #expect(port.proto == .udp)
        let attach = AttachOptions(ports: [port])
        #expect(attach.ports == [port])
        let spec: SandboxSpec = .create(name: nil)
        if case .create(let name) = spec { #expect(name == nil) }
    }

    @Test("errors: BerthError with its code, operation, object and typed cause")
    func errors() {
        let error = BerthError(.invalidName, operation: .createNetwork, object: "'bad name'", detail: "invalid network name")
        #expect(error.code == .invalidName)
        #expect(error.description == "create network 'bad name': invalid network name")
        #expect(error.errno == nil)
        switch error.cause {
        case .netlink(let e)?: _ = e.code
        case .firewall(let e)?: _ = e.code
        case .namespace(let e)?: _ = e.code
        case nil: break
        }
    }
}

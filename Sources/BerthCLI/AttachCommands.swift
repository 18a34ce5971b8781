@_spi(BerthInternal) import BerthNamespace
import ArgumentParser
import Berth
@_spi(BerthInternal) import BerthFirewall
@_spi(BerthInternal) import BerthNetlink

/// SANDBOX argument: all digits → a pid; contains `/` → an nsfs path; else a name under /run/netns.
func sandboxSpec(_ text: String, create: Bool) -> SandboxSpec {
    if create { return .create(name: text) }
    if !text.isEmpty, text.allSatisfy(\.isNumber), let pid = Int32(text) { return .pid(pid) }
    if text.contains("/") { return .path(text) }
    return .name(text)
}

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Attach a sandbox (network namespace) to a network; prints the endpoint.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Static IPv4 address.") var ip: [String] = []
    @Option(help: "Static IPv6 address (IPv6 networks).") var ip6: [String] = []
    @Option(help: "MAC address.") var mac: [String] = []
    @Option(name: .customLong("ifname"), help: "Interface name inside the sandbox (default: the lowest free ethN).") var interfaceName: [String] = []
    @Option(name: [.customShort("p"), .customLong("publish")], help: "Publish [HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp], as docker run -p.") var publish: [String] = []
    @Flag(help: "Create SANDBOX as a new named network namespace (removed on detach).") var create = false
    @Option(help: "Attach a micro-VM TAP of this name (or template with %d) to NETWORK instead of a sandbox; prints the guest configuration.")
    var tap: [String] = []
    @Option(help: "TAP queues (1–256; more than 1 sets IFF_MULTI_QUEUE).") var queues: [Int] = []
    @Option(help: "TAP owner uid (TUNSETOWNER).") var owner: [UInt32] = []
    @Option(help: "TAP group gid (TUNSETGROUP).") var group: [UInt32] = []
    @Flag(name: .customLong("no-vnet-hdr"), help: "TAP without IFF_VNET_HDR.") var noVnetHeader = false
    @Argument(help: "Network name or ID.") var network: String
    @Argument(help: "Sandbox: a name under /run/netns, a path, or a pid (with --tap: the netns of tc-redirect mode).") var sandbox: String = ""

    func validate() throws {
        _ = try singleValue(ip, "--ip", why: "an endpoint has one IPv4 address")
        _ = try singleValue(ip6, "--ip6", why: "an endpoint has one IPv6 address")
        _ = try singleValue(mac, "--mac", why: "an endpoint has one MAC address")
        _ = try singleValue(interfaceName, "--ifname", why: "an endpoint has one interface")
        if !tap.isEmpty || !queues.isEmpty || !owner.isEmpty || !group.isEmpty || noVnetHeader {
            try validateTap()
            return
        }
        if sandbox.isEmpty { throw ValidationError("SANDBOX must not be empty") }
    }

    func run() throws {
        if !tap.isEmpty { return try runTap() }
        try Failure.guarded {
            let ports = try publish.map(PortSpec.init(parsing:))
            let spec = sandboxSpec(sandbox, create: create)
            var options = AttachOptions(interfaceName: interfaceName.first, address: ip.first, mac: mac.first, publish: ports)
            options.address6 = ip6.first
            try NetworkController.preflight(attach: network, sandbox: spec, options: options)  // before any host set-up
            let e = try global.controller().attach(network: network, sandbox: spec, options: options)
            print(global.json ? try JSONText.encode(e) : "\(e.id)\t\(e.cidr)\t\(e.mac)\t\(e.hostInterface)" + (e.cidr6.map { "\t\($0)" } ?? ""))
        }
    }
}

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach", abstract: "Detach an endpoint (by ID), or the sandbox SANDBOX from NETWORK.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "ENDPOINT, or NETWORK SANDBOX.") var targets: [String]
    @Flag(name: .customLong("wait"), help: "Wait until the kernel has deleted the veth (default: unplug now, delete later).")
    var wait = false

    func validate() throws {
        if targets.isEmpty || targets.count > 2 { throw ValidationError("give ENDPOINT or NETWORK SANDBOX") }
        if targets.contains(where: \.isEmpty) { throw ValidationError("ENDPOINT, NETWORK and SANDBOX must not be empty") }
    }

    func run() throws {
        try Failure.guarded {
            // Detach needs no host set-up or reconciliation (it only removes): skip both, so a
            // detach per process costs the veth delete and little else.
            let c = try global.controller(setUpHost: false, waitForKernel: wait)
            let released = targets.count == 1
                ? try c.detach(endpoint: targets[0])
                : try c.detach(network: targets[0], sandbox: sandboxSpec(targets[1], create: false))
            if !released { FileHandleOutput.stderr("berth: nothing attached for \(targets.joined(separator: " "))") }
            if global.json { print(#"{"released":\#(released)}"#) }
        }
    }
}

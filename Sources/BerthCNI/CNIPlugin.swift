import Berth

/// Berth as a CNI plugin (CNI spec 1.1): one exec = one verb, read from `CNI_COMMAND`, the network
/// configuration on stdin, the result or error JSON on stdout. Plugin type `berth`.
///
/// - ADD: creates the configuration's Berth network on first use (`createNetwork`), then attaches
///   the container's namespace (`CNI_NETNS`) as interface `CNI_IFNAME`, with the static address
///   and MAC of `CNI_ARGS` `IP=`/`MAC=` or `runtimeConfig.ips`/`mac`, and
///   `runtimeConfig.portMappings` published Docker's way. The endpoint's ID is derived from the
///   attachment (`CNIAttachment`). A failed ADD leaves nothing (the attach rolls back; a network
///   this ADD created is removed again).
/// - DEL: releases the attachment's endpoint; succeeds when it is unknown, twice, or with the
///   namespace gone or `CNI_NETNS` empty.
/// - CHECK (≥ 0.4.0): `NetworkController.check(endpoint:)`, and `prevResult` names its address.
/// - STATUS (1.1.0): code 50 when the network has no free address left.
/// - GC (1.1.0): releases every endpoint of the network not in `cni.dev/valid-attachments`.
/// - VERSION: the supported versions.
public enum CNIPlugin {
    /// What one exec prints and its exit status.
    public struct Outcome: Sendable, Equatable {
        public var stdout: String
        public var status: Int32
    }

    /// Runs one verb. Never throws: a failure is the spec's error JSON and status 1.
    public static func run(environment: [String: String], stdin: [UInt8]) -> Outcome {
        var version = CNIVersion.current.description
        do {
            let command = environment["CNI_COMMAND"] ?? ""
            if command == CNIEnvironment.Command.version.rawValue { return try versionReply(stdin) }
            let json = try CNIJSON.parse(stdin, what: "the network configuration on stdin")
            if case .string(let v)? = json["cniVersion"] { version = v }
            let env = try CNIEnvironment.read(environment)
            let config = try CNINetworkConfig(json)
            switch env.command {
            case .add: return Outcome(stdout: try add(config, env).text, status: 0)
            case .del: try del(config, env)
            case .check: try check(config, env)
            case .status: try status(config)
            case .gc: try gc(config)
            case .version: break
            }
            return Outcome(stdout: "", status: 0)
        } catch {
            return Outcome(stdout: error.json(cniVersion: version).text, status: 1)
        }
    }

    static func versionReply(_ stdin: [UInt8]) throws(CNIError) -> Outcome {
        var asked = CNIVersion.current.description
        if stdin.contains(where: { $0 > 0x20 }) {
            let json = try CNIJSON.parse(stdin, what: "the VERSION request on stdin")
            if case .string(let v)? = json["cniVersion"] { asked = v }
        }
        let reply: CNIJSON = .object(["cniVersion": .string(asked),
                                      "supportedVersions": .array(CNIVersion.supported.map { .string($0.description) })])
        return Outcome(stdout: reply.text, status: 0)
    }

    static func controller(_ config: CNINetworkConfig, setUpHost: Bool) throws(CNIError) -> NetworkController {
        do {
            return try NetworkController(ControllerConfiguration(stateDirectory: config.stateDirectory, backend: config.backend,
                                                                 setUpHost: setUpHost, waitForKernel: false, reclaimInBackground: false,
                                                                 userlandProxy: config.userlandProxy,
                                                                 userlandProxyPath: ControllerConfiguration.userlandProxyNextToExecutable,
                                                                 createsDefaultNetwork: false))
        } catch {
            throw CNIError(error)
        }
    }

    static func attachment(_ config: CNINetworkConfig, _ env: CNIEnvironment) -> CNIAttachment {
        CNIAttachment(network: config.name, containerID: env.containerID, interfaceName: env.interfaceName)
    }

    /// The one static address of the request (CNI_ARGS `IP` and `runtimeConfig.ips` must agree).
    static func staticValue(_ fromArgs: String?, _ fromConfig: String?, _ what: String) throws(CNIError) -> String? {
        if let a = fromArgs, let b = fromConfig, a != b {
            throw CNIError(.invalidConfig, "CNI_ARGS \(what)=\(a) and runtimeConfig give different values (\(b))")
        }
        return fromArgs ?? fromConfig
    }

    static func add(_ config: CNINetworkConfig, _ env: CNIEnvironment) throws(CNIError) -> CNIJSON {
        let ip = try staticValue(env.args.ip, config.staticIPs.first, "IP")
        let mac = try staticValue(env.args.mac, config.mac, "MAC")
        let options = AttachOptions(interfaceName: env.interfaceName, address: ip, mac: mac, ports: config.portMappings,
                                    endpointID: attachment(config, env).endpointID)
        do {
            // What can be refused without the kernel is refused before anything is opened.
            try NetworkController.preflight(attach: config.name, sandbox: .path(env.netns), options: options)
            if let options = config.networkOptions { try NetworkController.preflight(options) }
        } catch {
            throw CNIError(error)
        }
        // Every ADD opens as any Berth process does: the first change resolves what a killed
        // ADD or DEL left (the reconciliation: a veth of Berth's shape without a record, a
        // record without its veth) before attaching. Cheap on the per-exec path: a firewall
        // still as verified is not read again (`FirewallStamp`), so that part is one GETGEN.
        let c = try controller(config, setUpHost: true)
        do {
            let (network, created) = try ensureNetwork(config, c)
            let endpoint: Endpoint
            do {
                endpoint = try c.attach(network: network.id, sandbox: .path(env.netns), options: options)
            } catch {
                if created { try? c.deleteNetwork(network.id) }
                throw error
            }
            return CNIResult.add(endpoint: endpoint, network: network, netns: env.netns, version: config.cniVersion,
                                 previous: config.prevResult)
        } catch let error as CNIError {
            throw error
        } catch let error as BerthError {
            throw CNIError(error)
        } catch {
            throw CNIError(.system, "\(error)")
        }
    }

    /// The configuration's network: the recorded one (its subnet, gateway and bridge must be the
    /// configured ones), else created now. Two ADDs racing to create it: the loser uses the winner's.
    static func ensureNetwork(_ config: CNINetworkConfig, _ c: NetworkController) throws -> (Network, Bool) {
        if let existing = try c.networks().first(where: { $0.name == config.name }) {
            try config.requireMatches(existing)
            return (existing, false)
        }
        guard let options = config.networkOptions else { throw CNIError(.invalidConfig, "invalid network name '\(config.name)'") }
        try c.setUpHost()
        try c.reconcile()
        let failure: BerthError
        do {
            return (try c.createNetwork(options), true)
        } catch {
            failure = error
        }
        guard failure.code == .duplicateName, let existing = try c.networks().first(where: { $0.name == config.name }) else {
            throw failure
        }
        try config.requireMatches(existing)
        return (existing, false)
    }

    /// DEL is best effort and idempotent (CNI spec). Where the network is recorded, the DEL's
    /// change opens as every Berth process does: what a killed ADD left without a record (the
    /// veth, its port rules and proxies) is removed by that first change's reconciliation, so
    /// the runtime's DEL after a failed ADD leaves nothing. Where it is not, nothing of it
    /// exists and nothing is set up.
    static func del(_ config: CNINetworkConfig, _ env: CNIEnvironment) throws(CNIError) {
        let c = try controller(config, setUpHost: true)
        do {
            guard try c.networks().contains(where: { $0.name == config.name }) else { return }
            _ = try c.detach(endpoint: attachment(config, env).endpointID)
        } catch {
            throw CNIError(error)
        }
    }

    static func check(_ config: CNINetworkConfig, _ env: CNIEnvironment) throws(CNIError) {
        guard config.cniVersion >= CNIVersion.withCheck else {
            throw CNIError(.incompatibleVersion, "CHECK needs cniVersion 0.4.0 or later, not \(config.cniVersion)")
        }
        guard let prev = config.prevResult else { throw CNIError(.invalidConfig, "CHECK needs prevResult") }
        let c = try controller(config, setUpHost: false)
        let id = attachment(config, env).endpointID
        let problems: [EndpointProblem]
        let endpoint: Endpoint?
        do {
            problems = try c.check(endpoint: id)
            endpoint = try c.endpoints(network: config.name).first { $0.id == id }
        } catch {
            throw CNIError(error)
        }
        if !problems.isEmpty {
            throw CNIError(.checkFailed, "CHECK \(config.name) \(env.containerID) \(env.interfaceName): "
                           + problems.map(\.description).joined(separator: "; "))
        }
        if let endpoint, case .array(let ips)? = prev["ips"], !ips.isEmpty,
           !ips.contains(where: { $0["address"] == .string(endpoint.cidr) }) {
            throw CNIError(.checkFailed, "CHECK: prevResult does not list the endpoint's address \(endpoint.cidr)")
        }
    }

    static func status(_ config: CNINetworkConfig) throws(CNIError) {
        guard config.cniVersion >= CNIVersion.withStatusAndGC else {
            throw CNIError(.incompatibleVersion, "STATUS needs cniVersion 1.1.0, not \(config.cniVersion)")
        }
        let c = try controller(config, setUpHost: false)
        do {
            guard try c.networks().contains(where: { $0.name == config.name }) else { return }
            if try !c.hasFreeAddress(network: config.name) {
                throw CNIError(.notAvailable, "network \(config.name) has no free address left")
            }
        } catch let error as CNIError {
            throw error
        } catch let error as BerthError {
            throw CNIError(error)
        } catch {
            throw CNIError(.system, "\(error)")
        }
    }

    static func gc(_ config: CNINetworkConfig) throws(CNIError) {
        guard config.cniVersion >= CNIVersion.withStatusAndGC else {
            throw CNIError(.incompatibleVersion, "GC needs cniVersion 1.1.0, not \(config.cniVersion)")
        }
        guard let valid = config.validAttachments else { throw CNIError(.invalidConfig, "GC needs cni.dev/valid-attachments") }
        let ids = valid.map { CNIAttachment(network: config.name, containerID: $0.containerID, interfaceName: $0.ifname).endpointID }
        let c = try controller(config, setUpHost: false)
        do {
            // The network not recorded: nothing of it to release, but the rest is reconciled.
            let known = try c.networks().contains(where: { $0.name == config.name })
            _ = try c.gc(validEndpoints: known ? ids : nil, network: config.name)
        } catch {
            throw CNIError(error)
        }
    }
}

extension CNINetworkConfig {
    /// The `createNetwork` options of this configuration; nil when `name` is not a Berth network name.
    var networkOptions: NetworkOptions? {
        guard NetworkController.isValidNetworkName(name) else { return nil }
        return NetworkOptions(name: name, subnet: subnet, gateway: gateway, ipRange: ipRange, bridgeName: bridge, mtu: mtu,
                              isInternal: isInternal, icc: icc, masquerade: ipMasq, labels: ["cni.dev/network": name], hairpin: hairpin)
    }

    /// An existing network must be the configured one (a changed subnet, gateway or bridge in the
    /// configuration is refused rather than silently ignored: code 7).
    func requireMatches(_ n: Network) throws(CNIError) {
        var diffs: [String] = []
        if let s = subnet, IPv4Subnet(s).map({ $0.canonical }) != n.subnet.canonical { diffs.append("subnet \(n.subnet), not \(s)") }
        if let g = gateway, IPv4Address(g) != n.gateway { diffs.append("gateway \(n.gateway), not \(g)") }
        if let b = bridge, b != n.bridge { diffs.append("bridge \(n.bridge), not \(b)") }
        if !diffs.isEmpty {
            throw CNIError(.invalidConfig, "network \(name) exists with " + diffs.joined(separator: ", ")
                           + "; remove it (berth network rm) to change its configuration")
        }
    }
}

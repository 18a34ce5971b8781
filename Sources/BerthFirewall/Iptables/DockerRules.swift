@_spi(BerthInternal) import BerthNetlink

/// The chain names of Docker 20.10's iptables layout.
enum DockerChain {
    static let docker = "DOCKER"
    static let isolation1 = "DOCKER-ISOLATION-STAGE-1"
    static let isolation2 = "DOCKER-ISOLATION-STAGE-2"
    static let user = "DOCKER-USER"
}

/// Renders Docker 20.10's rules (libnetwork `setup_ip_tables.go`, `iptables.go`,
/// `firewall_linux.go`, `portmapper`) as canonical `iptables-save` lines. Pure: no I/O.
/// Inputs are assumed validated (`IptablesValidation`).
enum DockerRules {
    // MARK: Base (daemon start)

    /// `-A FORWARD -j DOCKER-USER`, first in FORWARD.
    static let forwardToUser = IptablesRule(.filter, "FORWARD", "-j \(DockerChain.user)")
    /// `-A FORWARD -j DOCKER-ISOLATION-STAGE-1`, second in FORWARD.
    static let forwardToIsolation1 = IptablesRule(.filter, "FORWARD", "-j \(DockerChain.isolation1)")
    static let isolation1Return = IptablesRule(.filter, DockerChain.isolation1, "-j RETURN")
    static let isolation2Return = IptablesRule(.filter, DockerChain.isolation2, "-j RETURN")
    static let userReturn = IptablesRule(.filter, DockerChain.user, "-j RETURN")
    /// nat `-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER`.
    static let preroutingToDocker = IptablesRule(.nat, "PREROUTING", "-m addrtype --dst-type LOCAL -j \(DockerChain.docker)")
    /// nat `-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER` (userland proxy on;
    /// IPv6: `! -d ::1/128`, libnetwork `LoopbackByVersion`).
    static func outputToDocker(_ family: IptablesFamily) -> IptablesRule {
        IptablesRule(.nat, "OUTPUT", "! -d \(family.loopback) -m addrtype --dst-type LOCAL -j \(DockerChain.docker)")
    }
    /// nat `-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER` (`--userland-proxy=false`: libnetwork
    /// drops the loopback exclusion in hairpin mode; Tests/Fixtures/docker-20.10/noproxy/).
    static let outputToDockerHairpin = IptablesRule(.nat, "OUTPUT", "-m addrtype --dst-type LOCAL -j \(DockerChain.docker)")

    /// The OUTPUT jump of the mode (`hairpinMode` = Docker's `--userland-proxy=false`) and family.
    static func outputJump(hairpinMode: Bool, family: IptablesFamily = .ipv4) -> IptablesRule {
        hairpinMode ? outputToDockerHairpin : outputToDocker(family)
    }

    /// A rule earlier Berth versions kept first in DOCKER-ISOLATION-STAGE-1 for hairpin networks
    /// (not Docker's: it opened published ports across networks). Deleted wherever it is found.
    static let isolationDNATReturn = IptablesRule(.filter, DockerChain.isolation1, "-m conntrack --ctstate DNAT -j RETURN")

    /// The FORWARD prefix Docker keeps on top: DOCKER-USER jump, then the isolation jump.
    static let forwardPrefix = [forwardToUser, forwardToIsolation1]

    /// Filter chains of the base layout, in creation order.
    static let filterChains = [DockerChain.docker, DockerChain.isolation1, DockerChain.isolation2, DockerChain.user]
    /// Nat chains of the base layout.
    static let natChains = [DockerChain.docker]

    // MARK: Networks

    /// One network's rules grouped by where they go. Every `…Top` list is a block inserted in
    /// that order above the older networks' blocks (Docker inserts with `-I`); `forwardAppend`
    /// goes to the end of FORWARD (Docker appends the icc=false DROP).
    struct NetworkRuleSet: Sendable, Equatable {
        var forwardTop: [IptablesRule] = []
        var forwardAppend: [IptablesRule] = []
        var isolation1Top: [IptablesRule] = []
        var isolation2Top: [IptablesRule] = []
        var postroutingTop: [IptablesRule] = []
        var natDockerTop: [IptablesRule] = []

        /// Every block that is inserted on top, with its table and chain.
        var topBlocks: [[IptablesRule]] {
            [forwardTop, isolation1Top, isolation2Top, postroutingTop, natDockerTop]
        }

        var all: [IptablesRule] {
            forwardTop + forwardAppend + isolation1Top + isolation2Top + postroutingTop + natDockerTop
        }
    }

    /// The rules of `network`, in `iptables -S` order.
    ///
    /// Non-internal network `br` on `S` (defaults):
    /// ```
    /// -A FORWARD -o br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    /// -A FORWARD -o br -j DOCKER
    /// -A FORWARD -i br ! -o br -j ACCEPT
    /// -A FORWARD -i br -o br -j ACCEPT            (icc=false: -A FORWARD -i br -o br -j DROP, at the end)
    /// -A DOCKER-ISOLATION-STAGE-1 -i br ! -o br -j DOCKER-ISOLATION-STAGE-2
    /// -A DOCKER-ISOLATION-STAGE-2 -o br -j DROP
    /// -t nat -A POSTROUTING -s S ! -o br -j MASQUERADE   (masquerade only)
    /// -t nat -A DOCKER -i br -j RETURN                   (masquerade only, as Docker)
    /// ```
    /// `hairpin` (Docker's `--userland-proxy=false`): `-t nat -A POSTROUTING -o br -m addrtype
    /// --src-type LOCAL -j MASQUERADE` above the masquerade rule (even with masquerade=false, as
    /// Docker), and no nat `DOCKER -i br -j RETURN`.
    /// Internal network: the icc rule and
    /// `-A DOCKER-ISOLATION-STAGE-1 ! -s S -o br -j DROP`, `-A DOCKER-ISOLATION-STAGE-1 ! -d S -i br -j DROP`.
    ///
    /// IPv6 (`family == .ipv6`, ip6tables): the same rules with `network.subnet6` in place of the
    /// IPv4 subnet, as dockerd 20.10 `--experimental --ip6tables` writes them
    /// (Tests/Fixtures/docker-20.10/ipv6/); none when the network has no IPv6 subnet.
    static func network(_ network: NetworkRules, family: IptablesFamily = .ipv4) -> NetworkRuleSet {
        let br = network.bridge
        var set = NetworkRuleSet()
        let subnetText: String? = family == .ipv4 ? network.subnet.canonical.description : network.subnet6?.canonical.description
        guard let subnet = subnetText else { return set }
        let iccAccept = IptablesRule(.filter, "FORWARD", "-i \(br) -o \(br) -j ACCEPT")
        let iccDrop = IptablesRule(.filter, "FORWARD", "-i \(br) -o \(br) -j DROP")
        if network.isInternal {
            if network.icc { set.forwardTop = [iccAccept] } else { set.forwardAppend = [iccDrop] }
            set.isolation1Top = [
                IptablesRule(.filter, DockerChain.isolation1, "! -s \(subnet) -o \(br) -j DROP"),
                IptablesRule(.filter, DockerChain.isolation1, "! -d \(subnet) -i \(br) -j DROP"),
            ]
            return set
        }
        set.forwardTop = [IptablesRule(.filter, "FORWARD", "-o \(br) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")]
        // Direct routing protection (Berth hardening, DirectRoutingProtection): trusted
        // interfaces keep Docker 20.10's path, others lose direct access.
        if network.directRouting != .off {
            for t in network.trustedInterfaces {
                set.forwardTop.append(IptablesRule(.filter, "FORWARD", "-i \(t) -o \(br) -j \(DockerChain.docker)"))
                set.forwardTop.append(IptablesRule(.filter, "FORWARD", "-i \(t) -o \(br) -j RETURN"))
            }
        }
        if network.directRouting == .strict {
            set.forwardTop.append(IptablesRule(.filter, "FORWARD", "! -i \(br) -o \(br) -m conntrack ! --ctstate DNAT -j DROP"))
        }
        set.forwardTop.append(IptablesRule(.filter, "FORWARD", "-o \(br) -j \(DockerChain.docker)"))
        if network.directRouting != .off {
            set.forwardTop.append(IptablesRule(.filter, "FORWARD", "! -i \(br) -o \(br) -j DROP"))
        }
        set.forwardTop.append(IptablesRule(.filter, "FORWARD", "-i \(br) ! -o \(br) -j ACCEPT"))
        if network.icc { set.forwardTop.append(iccAccept) } else { set.forwardAppend = [iccDrop] }
        set.isolation1Top = [IptablesRule(.filter, DockerChain.isolation1, "-i \(br) ! -o \(br) -j \(DockerChain.isolation2)")]
        set.isolation2Top = [IptablesRule(.filter, DockerChain.isolation2, "-o \(br) -j DROP")]
        // Docker inserts the masquerade rule, then (hairpin) the host-source rule above it.
        if network.hairpin {
            set.postroutingTop.append(IptablesRule(.nat, "POSTROUTING", "-o \(br) -m addrtype --src-type LOCAL -j MASQUERADE"))
        }
        if network.masquerade {
            set.postroutingTop.append(IptablesRule(.nat, "POSTROUTING", "-s \(subnet) ! -o \(br) -j MASQUERADE"))
            if !network.hairpin {
                set.natDockerTop = [IptablesRule(.nat, DockerChain.docker, "-i \(br) -j RETURN")]
            }
        }
        return set
    }

    /// Every rule any option combination of a network on (`bridge`, `subnet`) can have, trusted
    /// interfaces aside: what removal deletes (with the network's own rules), so a removal with
    /// different options still cleans up completely.
    static func allNetworkVariants(bridge: String, subnet: IPv4Subnet, subnet6: IPv6Subnet? = nil,
                                   family: IptablesFamily = .ipv4) -> [IptablesRule] {
        var seen = Set<IptablesRule>()
        var rules: [IptablesRule] = []
        for isInternal in [false, true] {
            for icc in [true, false] {
                for hairpin in [false, true] {
                    for directRouting in DirectRoutingProtection.allCases {
                        let n = NetworkRules(id: "", bridge: bridge, subnet: subnet, icc: icc, masquerade: true, isInternal: isInternal,
                                             hairpin: hairpin, directRouting: directRouting, subnet6: subnet6)
                        for rule in network(n, family: family).all where seen.insert(rule).inserted { rules.append(rule) }
                    }
                }
            }
        }
        return rules
    }

    // MARK: Ports

    /// An endpoint's port rules, all appended, in Docker's order per port:
    /// ```
    /// -t nat -A DOCKER [-d HIP/32] ! -i br -p tcp -m tcp --dport HPORT -j DNAT --to-destination CIP:CPORT
    /// -A DOCKER -d CIP/32 ! -i br -o br -p tcp -m tcp --dport CPORT -j ACCEPT
    /// -t nat -A POSTROUTING -s CIP/32 -d CIP/32 -p tcp -m tcp --dport CPORT -j MASQUERADE
    /// ```
    /// A run of ports (`count > 1`) is rendered as Docker 20.10 renders a range: one set of the
    /// three rules per port, highest port first (oracle: `-p 8000-8002:8000-8002`; SCTP is
    /// `-p sctp -m sctp`). Duplicates (two host ports on one container port) appear once. With `endpoint.hairpin`
    /// the DNAT rule has no `! -i br` (Docker's `--userland-proxy=false`).
    ///
    /// SCTP also gets libnetwork's checksum rule (`iptables.Forward`, for veths that leave the
    /// SCTP CRC to a NIC without it): mangle `-A POSTROUTING -p sctp -m sctp --sport CPORT -j
    /// CHECKSUM --checksum-fill`, after the three.
    ///
    /// IPv6 (`family == .ipv6`): the bindings with `bindsIPv6` of an endpoint with `address6`,
    /// as dockerd 20.10 `--ip6tables` writes them: `-d HIP6/128` for a host address other than
    /// `::`, `--to-destination [CIP6]:CPORT`, `/128` host prefixes; none without `address6`.
    /// The loopback-local drop has no IPv6 form: the kernel itself drops a packet to `::1` that
    /// arrives on another interface than `lo` (ip6_rcv_core), so `-p [::1]:…` stays local.
    static func ports(_ endpoint: EndpointPorts, family: IptablesFamily = .ipv4) -> [IptablesRule] {
        let br = endpoint.bridge
        let cip: String
        switch family {
        case .ipv4: cip = endpoint.address.description
        case .ipv6:
            guard let a6 = endpoint.address6 else { return [] }
            cip = a6.description
        }
        let host = family.hostPrefix
        var seen = Set<IptablesRule>()
        var rules: [IptablesRule] = []
        let bindings = endpoint.ports.filter { family == .ipv4 ? $0.bindsIPv4 : $0.bindsIPv6 }
        for port in bindings.flatMap(\.singles) {
            let p = port.proto.rawValue
            var dest = ""
            switch family {
            case .ipv4: if let hostIP = port.hostIP, hostIP.value != 0 { dest = "-d \(hostIP)\(host) " }
            case .ipv6: if let hostIP6 = port.hostIP6ForRules { dest = "-d \(hostIP6)\(host) " }
            }
            let notFromBridge = endpoint.hairpin ? "" : "! -i \(br) "
            var candidates = [
                IptablesRule(.nat, DockerChain.docker,
                             "\(dest)\(notFromBridge)-p \(p) -m \(p) --dport \(port.hostPort) -j DNAT --to-destination "
                                 + family.destination(cip, port: port.containerPort)),
                IptablesRule(.filter, DockerChain.docker,
                             "-d \(cip)\(host) ! -i \(br) -o \(br) -p \(p) -m \(p) --dport \(port.containerPort) -j ACCEPT"),
                IptablesRule(.nat, "POSTROUTING",
                             "-s \(cip)\(host) -d \(cip)\(host) -p \(p) -m \(p) --dport \(port.containerPort) -j MASQUERADE"),
            ]
            if port.proto == .sctp { candidates.append(sctpChecksum(containerPort: port.containerPort)) }
            for rule in candidates where seen.insert(rule).inserted { rules.append(rule) }
            // Loopback-local hardening (Berth hardening, Docker 28's raw rule); IPv4 only (above).
            if family == .ipv4, endpoint.loopbackLocal, port.isLoopback, let hostIP = port.hostIP {
                let rule = IptablesRule(.raw, "PREROUTING", "-d \(hostIP)/32 ! -i lo -p \(p) -m \(p) --dport \(port.hostPort) -j DROP")
                if seen.insert(rule).inserted { rules.append(rule) }
            }
        }
        return rules
    }

    /// libnetwork's SCTP checksum rule for container port `containerPort` (mangle POSTROUTING).
    static func sctpChecksum(containerPort: UInt16) -> IptablesRule {
        IptablesRule(.mangle, "POSTROUTING", "-p sctp -m sctp --sport \(containerPort) -j CHECKSUM --checksum-fill")
    }

    /// Whether `spec` in mangle POSTROUTING is an SCTP checksum rule (`sctpChecksum`).
    static func isSCTPChecksum(_ spec: String) -> Bool {
        let t = spec.split(separator: " ")
        return t.count == 10 && t[0] == "-p" && t[1] == "sctp" && t[2] == "-m" && t[3] == "sctp" && t[4] == "--sport"
            && spec.hasSuffix(" -j CHECKSUM --checksum-fill")
    }

    /// The filter DOCKER ACCEPT suffix of an SCTP container port: the checksum rule of that port
    /// is still needed while some endpoint's ACCEPT ends so.
    static func sctpAcceptSuffix(containerPort: String) -> String { "-p sctp -m sctp --dport \(containerPort) -j ACCEPT" }

    /// Whether `spec` in raw PREROUTING is a loopback-local drop (`-d 127.X.Y.Z/32 ! -i lo -p P -m P --dport N -j DROP`).
    static func isLoopbackDrop(_ spec: String) -> Bool {
        let t = spec.split(separator: " ")
        return t.count == 12 && t[0] == "-d" && t[1].hasPrefix("127.") && t[1].hasSuffix("/32") && t[2] == "!" && t[3] == "-i" && t[4] == "lo"
            && t[5] == "-p" && t[7] == "-m" && t[9] == "--dport" && spec.hasSuffix(" -j DROP")
    }

    /// The rules of `endpoint` in both the default and the hairpin variant: what removal deletes,
    /// so a removal with the other `hairpin` value still cleans up completely.
    static func allPortVariants(_ endpoint: EndpointPorts, family: IptablesFamily = .ipv4) -> [IptablesRule] {
        var variant = endpoint
        variant.hairpin = !endpoint.hairpin
        variant.loopbackLocal = true
        var seen = Set<IptablesRule>()
        return (ports(endpoint, family: family) + ports(variant, family: family)).filter { seen.insert($0).inserted }
    }
}

@_spi(BerthInternal) import BerthNamespace
import ArgumentParser
import Berth
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks.",
        subcommands: [Create.self, List.self, Inspect.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bridge network.")
        @OptionGroup var global: GlobalOptions
        // Arrays, so that a repeated option is refused rather than silently the last one kept.
        @Option(help: "Subnet in CIDR form (one IPv4, and one IPv6 with --ipv6).") var subnet: [String] = []
        @Option(help: "Gateway address (one per family).") var gateway: [String] = []
        @Option(name: .customLong("ip-range"), help: "Allocate addresses from this sub-range (one per family).") var ipRange: [String] = []
        @Flag(name: .customLong("ipv6"), help: "Enable IPv6 (needs an IPv6 --subnet).") var ipv6 = false
        @Flag(help: "Restrict external access to the network.") var `internal` = false
        @Option(name: [.customShort("o"), .customLong("opt")], help: "Driver option key=value.") var opts: [String] = []
        @Option(name: .customLong("label"), help: "Label key=value.") var labels: [String] = []
        @Argument(help: "Network name.") var name: String

        /// A bridge network has one IPv4 subnet (and, with --ipv6, one IPv6 subnet), so one gateway
        /// and one range per family: Docker 20.10's bridge driver refuses more ("bridge driver
        /// doesn't support multiple subnets"). A value with a `:` is IPv6.
        func validate() throws {
            for family in [false, true] {
                let f = family ? "IPv6" : "IPv4"
                _ = try singleValue(subnet.filter { $0.contains(":") == family }, "--subnet", why: "bridge driver doesn't support multiple subnets (one \(f) subnet)")
                _ = try singleValue(gateway.filter { $0.contains(":") == family }, "--gateway", why: "a bridge network has one \(f) subnet, so one \(f) gateway")
                _ = try singleValue(ipRange.filter { $0.contains(":") == family }, "--ip-range", why: "a bridge network has one \(f) subnet, so one \(f) ip-range")
            }
        }

        func run() throws {
            try Failure.guarded {
                func v4(_ values: [String]) -> String? { values.first { !$0.contains(":") } }
                func v6(_ values: [String]) -> String? { values.first { $0.contains(":") } }
                var options = NetworkOptions(name: name, subnet: v4(subnet), gateway: v4(gateway), ipRange: v4(ipRange),
                                             isInternal: `internal`)
                options.enableIPv6 = ipv6
                options.subnet6 = v6(subnet)
                options.gateway6 = v6(gateway)
                options.ipRange6 = v6(ipRange)
                for o in opts { let (k, v) = try pair(o, "-o"); try options.apply(option: k, value: v) }
                for l in labels { let (k, v) = try pair(l, "--label"); options.labels[k] = v }
                try NetworkController.preflight(options)   // bad input changes nothing, host set-up included
                let network = try global.controller().createNetwork(options)
                print(global.json ? try JSONText.encode(network) : network.id)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try Failure.guarded {
                let networks = try global.controller(setUpHost: false).networks()
                if global.json { print(try JSONText.encode(networks)); return }
                print(Table.render(header: ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                                   rows: networks.map { [String($0.id.prefix(12)), $0.name, "bridge", "local"] }), terminator: "")
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show networks as JSON, shaped like docker network inspect.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Network names or IDs.") var names: [String]

        func validate() throws {
            if names.isEmpty { throw ValidationError("give at least one network") }
        }

        func run() throws {
            try Failure.guarded {
                let c = try global.controller(setUpHost: false)
                // As docker: print what was found, then fail for what was not.
                var found: [NetworkDetails] = []
                var missing: (any Error)?
                for name in names {
                    do { found.append(try c.inspect(name)) } catch { missing = missing ?? error }
                }
                print(DockerNetworkInspect.render(found))
                if let missing { throw missing }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: [.short, .long], help: "Detach endpoints first.") var force = false
        @Flag(name: .customLong("wait"), help: "Wait until the kernel has deleted the bridge and veths (default: unplug now, delete later).")
        var wait = false
        @Argument(help: "Network names or IDs.") var names: [String]

        func validate() throws {
            if names.isEmpty { throw ValidationError("give at least one network") }
        }

        func run() throws {
            try Failure.guarded {
                let c = try global.controller(waitForKernel: wait)
                // As docker: remove every network that can be removed, then report the first failure.
                var failure: (any Error)?
                var removed: [String] = []
                defer { if global.json, let text = try? JSONText.encode(removed) { print(text) } }
                for name in names {
                    do {
                        try c.deleteNetwork(name, force: force)
                        if global.json { removed.append(name) } else { print(name) }
                    } catch {
                        FileHandleOutput.stderr("berth: \(error)")
                        failure = failure ?? error
                    }
                }
                if let failure { throw ExitCode((failure as? BerthError).map { Failure.exitCode(for: $0.code) } ?? 1) }
            }
        }
    }
}

/// Splits `key=value`.
func pair(_ text: String, _ flag: String) throws -> (String, String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
        throw BerthError(.invalidArgument, operation: .parse(flag), object: text, detail: "expected key=value, not '\(text)'")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
}

enum JSONText {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }
}

/// Columns separated by three spaces, as `docker network ls` prints them.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { i in i == row.count - 1 ? row[i] : row[i] + String(repeating: " ", count: widths[i] + 3 - row[i].count) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

import ArgumentParser
@testable import BerthCLI
import Berth
@_spi(BerthInternal) import BerthFirewall
import BerthTestSupport
import Foundation
import Testing

/// The global options of a parsed leaf command, whichever it is.
private func globals(_ command: any ParsableCommand) -> GlobalOptions? {
    switch command {
    case let c as NetworkCommand.Create: c.global
    case let c as NetworkCommand.List: c.global
    case let c as NetworkCommand.Inspect: c.global
    case let c as NetworkCommand.Remove: c.global
    case let c as AttachCommand: c.global
    case let c as DetachCommand: c.global
    case let c as RunCommand: c.global
    default: nil
    }
}

/// What `berth ARGS` parses to, as main parses it.
private func parse(_ arguments: [String]) throws -> any ParsableCommand {
    try BerthCommand.parseAsRoot(GlobalArguments.hoist(arguments))
}

/// The usage error of `berth ARGS` (first line of the message, exit code), nil when it parses.
private func usageError(_ arguments: [String]) -> (String, Int32)? {
    do {
        _ = try parse(arguments)
        return nil
    } catch {
        let line = BerthCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? ""
        return (line, BerthCommand.exitCode(for: error).rawValue)
    }
}

@Suite("CLI global options before the subcommand (no privileges)")
struct GlobalOptionsParsingTests {
    @Test func hoistMovesGlobalsAfterTheLeafSubcommand() {
        #expect(GlobalArguments.hoist(["--state-dir", "S", "network", "ls"]) == ["network", "ls", "--state-dir", "S"])
        #expect(GlobalArguments.hoist(["--json", "network", "--state-dir=S", "ls", "x"]) == ["network", "ls", "--json", "--state-dir=S", "x"])
        #expect(GlobalArguments.hoist(["--backend", "nftables", "run", "--network", "n", "--", "sh", "--json"])
            == ["run", "--backend", "nftables", "--network", "n", "--", "sh", "--json"])
        #expect(GlobalArguments.hoist(["--host-netns", "h", "attach", "n", "s"]) == ["attach", "--host-netns", "h", "n", "s"])
        #expect(GlobalArguments.hoist(["--backend", "nftables", "demo"]) == ["demo", "--backend", "nftables"])
    }

    @Test(arguments: [
        ["network", "ls", "--json"],          // already after
        ["--state-dir", "S"],                 // no subcommand
        ["--json", "network"],                // no leaf
        ["--state-dir"],                      // no value
        ["--state-dir", "--", "network", "ls"],
        ["--", "--json", "network", "ls"],
        ["-v", "network", "ls"],              // anything else first
    ])
    func hoistLeavesEverythingElseAlone(_ arguments: [String]) {
        #expect(GlobalArguments.hoist(arguments) == arguments)
    }

    /// New-user trial: `berth --json bogus` blamed `--json`; the unknown argument is reported
    /// (and `--help` after a global option still helps).
    @Test func unknownSubcommandIsReportedNotTheGlobalOption() throws {
        #expect(GlobalArguments.hoist(["--json", "nosuch", "ls"]) == ["nosuch", "ls"])
        #expect(GlobalArguments.hoist(["--state-dir", "S", "network", "bogus"]) == ["network", "bogus"])
        #expect(GlobalArguments.hoist(["--json", "--help"]) == ["--help"])
        let got = try #require(usageError(["--json", "nosuch"]))
        let plain = try #require(usageError(["nosuch"]))
        #expect(got == plain)
        #expect(got.0.contains("nosuch") && !got.0.contains("json"), "\(got.0)")
        #expect(got.1 == 64)
    }

    /// New-user trial: a repeated --subnet kept the last one, and an empty --state-dir got past the
    /// parser; both are usage errors (64) naming the option.
    @Test(arguments: [
        (["network", "create", "--subnet", "10.1.0.0/16", "--subnet", "10.2.0.0/16", "n"], "multiple subnets"),
        (["network", "create", "--subnet", "10.1.0.0/16", "--gateway", "10.1.0.1", "--gateway", "10.1.0.2", "n"], "--gateway given 2 times"),
        (["network", "create", "--subnet", "10.1.0.0/16", "--ip-range", "10.1.1.0/24", "--ip-range", "10.1.2.0/24", "n"], "--ip-range given 2 times"),
        (["network", "ls", "--state-dir", ""], "--state-dir must name a directory"),
        (["attach", "--ip", "10.0.0.7", "--ip", "10.0.0.8", "n", "s"], "--ip given 2 times"),
        (["attach", "--mac", "02:42:ac:11:00:09", "--mac", "02:42:ac:11:00:0a", "n", "s"], "--mac given 2 times"),
        (["run", "--ip", "10.0.0.7", "--ip", "10.0.0.8", "--", "true"], "--ip given 2 times"),
        (["detach", ""], "must not be empty"),
        (["detach", "n", ""], "must not be empty"),
        (["attach", "n", ""], "SANDBOX must not be empty"),
        (["--state-dir=", "network", "ls"], "Missing value for '--state-dir"),
        (["attach", "--host-netns", "", "n", "s"], "--host-netns must name a namespace"),
    ])
    func repeatedOrEmptyOptionsAreUsageErrors(_ arguments: [String], _ message: String) throws {
        let got = try #require(usageError(arguments), "\(arguments) parsed")
        #expect(got.0.contains(message), "\(got.0)")
        #expect(got.1 == 64)
    }

    /// Before, between or after the subcommands: the same command with the same options.
    @Test func anyPositionParsesTheSame() throws {
        let after = ["network", "ls", "--backend", "nftables", "--state-dir", "S", "--host-netns", "h", "--json"]
        let spellings = [
            ["--backend", "nftables", "--state-dir", "S", "--host-netns", "h", "--json", "network", "ls"],
            ["--json", "network", "--state-dir", "S", "ls", "--backend", "nftables", "--host-netns", "h"],
            ["--backend=nftables", "network", "--state-dir=S", "--host-netns=h", "ls", "--json"],
        ]
        let expected = try #require(globals(try parse(after)))
        #expect(expected.backend == .nftables && expected.stateDirectory == "S" && expected.hostNamespace == "h" && expected.json)
        for arguments in spellings {
            let command = try parse(arguments)
            #expect(command is NetworkCommand.List, "\(arguments)")
            let g = try #require(globals(command))
            #expect(g.backend == expected.backend && g.stateDirectory == expected.stateDirectory
                        && g.hostNamespace == expected.hostNamespace && g.json == expected.json, "\(arguments)")
        }
        let run = try #require(try parse(["--state-dir", "S", "run", "--network", "n", "--", "sh", "--json"]) as? RunCommand)
        #expect(run.global.stateDirectory == "S" && !run.global.json && run.command == ["sh", "--json"])
        let create = try #require(try parse(["--json", "network", "create", "-o", "a=b", "n1"]) as? NetworkCommand.Create)
        #expect(create.global.json && create.name == "n1" && create.opts == ["a=b"])
        let demo = try #require(try parse(["--backend", "nftables", "demo"]) as? DemoCommand)
        #expect(demo.backend == .nftables)
    }

    /// A bad global option before the subcommand fails as it does after it: same message, exit 64.
    @Test(arguments: [
        (["--backend", "bogus", "network", "ls"], ["network", "ls", "--backend", "bogus"]),
        (["--json=1", "network", "ls"], ["network", "ls", "--json=1"]),
        (["--state-dir", "S", "demo"], ["demo", "--state-dir", "S"]),
        (["--state-dir", "S", "network", "create"], ["network", "create", "--state-dir", "S"]),
    ])
    func errorsAreTheSameBeforeAndAfter(_ before: [String], _ after: [String]) throws {
        let expected = try #require(usageError(after))
        let got = try #require(usageError(before))
        #expect(got == expected)
        #expect(got.1 == 64)
    }
}

@Suite("CLI global options before the subcommand, end to end", .enabled(if: Sandbox.isActive))
struct GlobalOptionsEndToEndTests {
    @Test func globalsBeforeTheSubcommand() throws {
        let host = Sandbox.unique("bt-clig-")
        try Sandbox.addNamespace(host)
        defer { Sandbox.deleteNamespace(host) }
        let state = NSTemporaryDirectory() + Sandbox.unique("berth-clig-")
        defer { try? FileManager.default.removeItem(atPath: state) }
        func berth(_ args: String...) throws -> Sandbox.Output { try Sandbox.run([BerthBinary.path] + args) }

        let ls = try berth("--state-dir", state, "--host-netns", host, "network", "ls")
        #expect(ls.status == 0 && ls.stdout.hasPrefix("NETWORK ID "), "\(ls.stderr)")
        #expect(try Sandbox.linkNames(netns: host) == ["lo"])
        let created = try berth("--host-netns", "/run/netns/\(host)", "--state-dir", state, "network", "create", "test1")
        #expect(created.status == 0, "\(created.stderr)")
        let json = try berth("--json", "--host-netns", host, "network", "--state-dir", state, "ls")
        #expect(json.status == 0, "\(json.stderr)")
        let list = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(Set(list?.compactMap { $0["name"] as? String } ?? []) == ["bridge", "test1"])
        // The same validation and one-line errors as after the subcommand.
        let conflict = try berth("--backend", "nftables", "--state-dir", state, "--host-netns", host, "network", "ls")
        #expect(conflict.status == 4 && conflict.stderr.contains("uses the iptables backend"))
        let bogus = try berth("--backend", "bogus", "network", "ls")
        let bogusAfter = try berth("network", "ls", "--backend", "bogus")
        #expect(bogus.status == 64 && bogus.stderr == bogusAfter.stderr && bogus.stderr.split(separator: "\n").count == 1)
        let missing = try berth("--state-dir")
        #expect(missing.status == 64 && missing.stderr.hasPrefix("berth: ") && missing.stderr.split(separator: "\n").count == 1)
        #expect(try berth("--state-dir", state, "--host-netns", host, "network", "rm", "--wait", "test1").status == 0)
        #expect(try Sandbox.linkNames(netns: host).sorted() == ["docker0", "lo"])
    }
}

/// Regression: a bridge or sandbox interface name a firewall backend refuses is refused before
/// the host set-up, on both backends: exit 64, no docker0, no rules, no records.
@Suite("CLI interface names change nothing", .enabled(if: Sandbox.isActive))
struct InterfaceNameCLITests {
    @Test(arguments: FirewallBackendKind.allCases)
    func refusedBeforeHostSetUp(_ backend: FirewallBackendKind) throws {
        let host = Sandbox.unique("bt-clin-")
        try Sandbox.addNamespace(host)
        defer { Sandbox.deleteNamespace(host) }
        let state = NSTemporaryDirectory() + Sandbox.unique("berth-clin-")
        defer { try? FileManager.default.removeItem(atPath: state) }
        func ruleset() throws -> String {
            try Sandbox.exec(host, backend == .iptables ? ["iptables-save"] : ["nft", "list", "ruleset"]).stdout
        }
        let rules = try ruleset()
        func berth(_ args: String...) throws -> Sandbox.Output {
            try Sandbox.run([BerthBinary.path, "--backend", backend.rawValue, "--state-dir", state, "--host-netns", host] + args)
        }
        for name in ["br+x", "br+", "-br", "br@x", "br%d", "br*"] {
            let create = try berth("network", "create", "-o", "com.docker.network.bridge.name=\(name)", "x")
            #expect(create.status == 64, "\(name): \(create.stderr)")
            #expect(create.stderr.hasPrefix("berth: create network x: bridge name '\(name)' "), "\(create.stderr)")
            #expect(create.stderr.split(separator: "\n").count == 1)
            let attach = try berth("attach", "--create", "--ifname=\(name)", "bridge", Sandbox.unique("bt-clis-"))
            #expect(attach.status == 64, "\(name): \(attach.stderr)")
            #expect(attach.stderr.hasPrefix("berth: attach bridge: interface name '\(name)' "), "\(attach.stderr)")
        }
        #expect(try Sandbox.linkNames(netns: host) == ["lo"])
        #expect(try ruleset() == rules)
        let records = (try? FileManager.default.contentsOfDirectory(atPath: state + "/networks")) ?? []
        #expect(records.isEmpty)
        #expect(!Sandbox.namedNamespaces().contains { $0.hasPrefix("bt-clis-") })
    }
}

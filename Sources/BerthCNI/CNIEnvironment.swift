@_spi(BerthInternal) import BerthNetlink

/// The CNI_* environment of one exec (CNI spec 1.1, "Parameters").
public struct CNIEnvironment: Sendable, Equatable {
    public enum Command: String, Sendable, CaseIterable { case add = "ADD", del = "DEL", check = "CHECK", version = "VERSION",
                                                           status = "STATUS", gc = "GC" }
    public var command: Command
    public var containerID: String
    /// CNI_NETNS; empty when the runtime has none any more (DEL after the container exited).
    public var netns: String
    public var interfaceName: String
    /// CNI_ARGS, parsed (`IgnoreUnknown`, `IP`, `MAC` known; see `CNIArgs`).
    public var args: CNIArgs

    /// Reads and checks the variables `command` needs: CNI_CONTAINERID for ADD, DEL and CHECK
    /// (non-empty, alphanumerics plus `_.-`, spec "Parameters"), CNI_IFNAME for ADD, DEL and CHECK
    /// (a valid Linux interface name), CNI_NETNS for ADD and CHECK.
    /// - Throws: code 4 (invalid environment variables) naming the variable.
    public static func read(_ env: [String: String]) throws(CNIError) -> CNIEnvironment {
        guard let raw = env["CNI_COMMAND"], !raw.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_COMMAND is not set") }
        guard let command = Command(rawValue: raw) else {
            throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND \(raw) (ADD, DEL, CHECK, VERSION, STATUS, GC)")
        }
        let container = env["CNI_CONTAINERID"] ?? ""
        let ifname = env["CNI_IFNAME"] ?? ""
        let netns = env["CNI_NETNS"] ?? ""
        let perAttachment = [Command.add, .del, .check].contains(command)
        if perAttachment {
            guard !container.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is not set") }
            guard container.utf8.allSatisfy({ isIDByte($0) }), let first = container.utf8.first, isAlnum(first) else {
                throw CNIError(.invalidEnvironment, "CNI_CONTAINERID '\(container)' must be alphanumeric, with _ . - after the first character")
            }
            guard !ifname.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_IFNAME is not set") }
            if let problem = LinkName.problem(with: ifname) {
                throw CNIError(.invalidEnvironment, "CNI_IFNAME '\(ifname)' is not a valid interface name: it \(problem)")
            }
        }
        if command == .add || command == .check, netns.isEmpty {
            throw CNIError(.invalidEnvironment, "CNI_NETNS is not set")
        }
        let args = try CNIArgs.parse(env["CNI_ARGS"] ?? "")
        return CNIEnvironment(command: command, containerID: container, netns: netns, interfaceName: ifname, args: args)
    }

    private static func isAlnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    private static func isIDByte(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x5F || b == 0x2E || b == 0x2D }
}

/// CNI_ARGS: `KEY=VALUE` pairs separated by `;` (CNI conventions, "CNI_ARGS"). Berth reads `IP`
/// and `MAC` (a static address and MAC, as podman passes them); any other key is an error unless
/// `IgnoreUnknown` is `1` or `true`. A key given twice with the same value is tolerated.
public struct CNIArgs: Sendable, Equatable {
    public var ip: String?
    public var mac: String?

    /// - Throws: code 4 for a pair without `=`, an unknown key without IgnoreUnknown, or a key
    ///   given twice with different values.
    public static func parse(_ text: String) throws(CNIError) -> CNIArgs {
        var pairs: [(String, String)] = []
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS: '\(item)' is not KEY=VALUE")
            }
            pairs.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
        let ignoreUnknown = pairs.contains { $0.0 == "IgnoreUnknown" && ["1", "true", "True"].contains($0.1) }
        var out = CNIArgs()
        for (key, value) in pairs {
            switch key {
            case "IgnoreUnknown": continue
            case "IP":
                if let old = out.ip, old != value { throw CNIError(.invalidEnvironment, "CNI_ARGS: IP given twice (\(old), \(value))") }
                out.ip = value
            case "MAC":
                if let old = out.mac, old != value { throw CNIError(.invalidEnvironment, "CNI_ARGS: MAC given twice (\(old), \(value))") }
                out.mac = value
            default:
                if !ignoreUnknown { throw CNIError(.invalidEnvironment, "CNI_ARGS: unknown key \(key) (and no IgnoreUnknown=1)") }
            }
        }
        return out
    }
}

@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// Which iptables implementation programs the kernel.
@_spi(BerthInternal) public enum IptablesVariant: String, Sendable, Hashable, Codable, CaseIterable {
    /// Follow what the `iptables` command is (the Debian alternative): its link target's name,
    /// else the `(nf_tables)` / `(legacy)` tag of `iptables --version`.
    case auto
    /// iptables-nft (nf_tables kernel API): `iptables-nft-restore`, `iptables-nft-save`.
    case nft
    /// iptables-legacy (x_tables kernel API): `iptables-legacy-restore`, `iptables-legacy-save`.
    case legacy
}

/// The two programs of a resolved variant (absolute paths).
struct IptablesTools: Sendable, Equatable {
    var variant: IptablesVariant
    var restore: String
    var save: String
}

/// Finds the iptables programs. Detection reads symlinks and, only when they do not tell, runs
/// `iptables --version` once (in the caller's namespace: the variant is a property of the
/// installed programs, not of a namespace).
enum IptablesDetection {
    static let searchDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    /// `iptables v1.8.9 (nf_tables)` → .nft, `iptables v1.8.9 (legacy)` → .legacy; an untagged
    /// `iptables v1.6.1` is legacy (before 1.8 there was no nft variant); anything else nil.
    static func variant(fromVersionOutput text: String) -> IptablesVariant? {
        if text.contains("(nf_tables)") { return .nft }
        if text.contains("(legacy)") { return .legacy }
        if text.hasPrefix("iptables v") { return .legacy }
        return nil
    }

    /// The variant a resolved program path names (`xtables-nft-multi`, `iptables-legacy`…).
    static func variant(fromResolvedPath path: String) -> IptablesVariant? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.contains("nft") { return .nft }
        if name.contains("legacy") { return .legacy }
        return nil
    }

    /// The first executable `name` in the search directories.
    static func find(_ name: String) -> String? {
        for directory in searchDirectories {
            let path = directory + "/" + name
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// `realpath(3)` of a path, nil when it does not resolve.
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Resolves `.auto` and finds the restore/save programs of the variant.
    /// - Throws: `FirewallError(.toolMissing)` when no usable programs are installed.
    static func tools(for requested: IptablesVariant) throws(FirewallError) -> IptablesTools {
        let wanted = requested == .auto ? try detect() : requested
        let suffix = wanted == .nft ? "nft" : "legacy"
        if let restore = find("iptables-\(suffix)-restore"), let save = find("iptables-\(suffix)-save") {
            return IptablesTools(variant: wanted, restore: restore, save: save)
        }
        // Old installs have only the plain names; accept them when they are the same variant.
        if let restore = find("iptables-restore"), let save = find("iptables-save"),
           let resolved = resolve(restore), (variant(fromResolvedPath: resolved) ?? .legacy) == wanted {
            return IptablesTools(variant: wanted, restore: restore, save: save)
        }
        throw FirewallError(.toolMissing, operation: .findIptables, object: "iptables-\(suffix)-restore",
                            detail: "iptables-\(suffix)-restore / iptables-\(suffix)-save not found in \(searchDirectories.joined(separator: ":"))")
    }

    /// The ip6tables programs of a resolved variant (`ip6tables-nft-restore` …), or nil when they
    /// are not installed; plain `ip6tables-restore` / `ip6tables-save` count when they resolve to
    /// the same variant.
    static func tools6(for resolved: IptablesVariant) -> IptablesTools? {
        let suffix = resolved == .legacy ? "legacy" : "nft"
        if let restore = find("ip6tables-\(suffix)-restore"), let save = find("ip6tables-\(suffix)-save") {
            return IptablesTools(variant: resolved, restore: restore, save: save)
        }
        if let restore = find("ip6tables-restore"), let save = find("ip6tables-save"),
           let path = resolve(restore), (variant(fromResolvedPath: path) ?? .legacy) == resolved {
            return IptablesTools(variant: resolved, restore: restore, save: save)
        }
        return nil
    }

    private static func detect() throws(FirewallError) -> IptablesVariant {
        guard let iptables = find("iptables") else {
            throw FirewallError(.toolMissing, operation: .detectIptables, object: "iptables",
                                detail: "iptables not found in \(searchDirectories.joined(separator: ":"))")
        }
        if let resolved = resolve(iptables), let v = variant(fromResolvedPath: resolved) { return v }
        // A wrapper or a plain binary: ask it.
        let output: ProcessOutput
        do {
            output = try ProcessRunner.run([iptables, "--version"], stdin: nil, in: nil, timeoutMilliseconds: 10_000)
        } catch {
            throw FirewallError(.toolMissing, errno: error.errno, operation: .detectIptables, object: iptables,
                                detail: error.description, cause: .process(error))
        }
        if let v = variant(fromVersionOutput: output.stdout + output.stderr) { return v }
        throw FirewallError(.toolMissing, operation: .detectIptables, object: iptables,
                            detail: "unrecognised version output: \(output.stdout)\(output.stderr)")
    }
}

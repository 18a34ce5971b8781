@_spi(BerthInternal) import BerthNamespace
/// The one interface-name rule of Berth, used by every layer that takes a name: the façade's
/// preflight (bridge names, the sandbox-side name of an attach), both firewall backends and the
/// netlink requests. It is the intersection of what the three consumers of a name accept, so a
/// name that passes is created by the kernel and matched literally by either firewall:
///
/// - the kernel, `dev_valid_name()` (net/core/dev.c): 1 to IFNAMSIZ-1 = 15 bytes, not `.` or
///   `..`, no `/`, `:` or whitespace; and `dev_get_valid_name()` treats a `%` as a pattern
///   (`br%d` becomes `br0`), so the link would get another name; `all` and `default` are
///   refused with EINVAL as well (registering them would clash with the sysctl directories
///   `net.ipv4.conf.all` / `net.ipv4.conf.default`, net/ipv4/devinet.c);
/// - iptables: `xtables_parse_interface()` (libxtables/xtables.c) reads a trailing `+` as a
///   wildcard (`br+` matches every `br…`), and the backend writes `iptables-restore` lines, where
///   a leading `-` reads as an option and quotes, `!`, `#` or spaces change the line;
/// - nftables: a trailing `*` is a wildcard in `iifname` matches, and bridge names become parts of
///   chain names.
///
/// Hence: 1–15 bytes of ASCII letters, digits, `_`, `.` and `-`; not starting with `-`; not `.`,
/// `..`, `all` or `default`.
package enum LinkName {
    /// IFNAMSIZ - 1 (include/uapi/linux/if.h).
    package static let maximumLength = 15

    /// Why `name` is not a valid interface name, as a predicate to follow "interface name" or the
    /// quoted name (`"contains '+', the interface wildcard of iptables"`, `"is empty"`), or nil
    /// when it is valid. Pure: never touches the kernel.
    package static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "is empty" }
        if bytes.count > maximumLength { return "is \(bytes.count) bytes, longer than \(maximumLength) (IFNAMSIZ - 1)" }
        if name == "." || name == ".." { return "is '\(name)', which the kernel reserves" }
        if name == "all" || name == "default" {
            return "is '\(name)', which the kernel reserves for the sysctl directories net.ipv4.conf.\(name) (EINVAL)"
        }
        if first == UInt8(ascii: "-") { return "starts with '-', which iptables reads as an option" }
        guard let bad = bytes.first(where: { !isAllowed($0) }) else { return nil }
        return "contains \(describe(bad)); only letters, digits, '_', '.' and '-' are allowed"
    }

    /// Throws when `name` breaks the rule of ``problem(with:)``, before any request is sent.
    /// - Throws: `NetlinkError` `.invalidName` (no errno: the refusal is ours); `object` is the quoted name and
    ///   `detail` `"interface name <reason>"`.
    package static func validate(_ name: String, operation: OperationName) throws(NetlinkError) {
        if let reason = problem(with: name) {
            throw NetlinkError(.invalidName, operation: operation, object: "'\(name)'",
                               detail: "interface name \(reason)")
        }
    }

    private static func isAllowed(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
    }

    private static func describe(_ c: UInt8) -> String {
        switch c {
        case 0: "NUL"
        case 0x20, 0x09...0x0d: "whitespace, which the kernel refuses"
        case UInt8(ascii: "/"), UInt8(ascii: ":"): "'\(Character(UnicodeScalar(c)))', which the kernel refuses"
        case UInt8(ascii: "%"): "'%', which the kernel replaces by a number"
        case UInt8(ascii: "+"): "'+', the interface wildcard of iptables"
        case UInt8(ascii: "*"): "'*', the interface wildcard of nftables"
        case 0x80...: "a non-ASCII byte"
        default: "'\(Character(UnicodeScalar(c)))'"
        }
    }
}

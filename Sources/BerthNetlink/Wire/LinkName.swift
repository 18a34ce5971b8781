/// Link-name validation as the kernel's dev_valid_name() (net/core/dev.c) applies it, done before
/// any request is sent so a bad name changes nothing.
public enum LinkName {
    /// IFNAMSIZ - 1.
    public static let maximumLength = 15

    /// Throws `NetlinkError.Code.invalidName` for an empty name, one over 15 bytes, `.`/`..`, or a
    /// name containing `/`, `:`, whitespace or NUL.
    public static func validate(_ name: String, operation: String) throws(NetlinkError) {
        let bytes = Array(name.utf8)
        var reason: String?
        if bytes.isEmpty { reason = "link name is empty" }
        else if bytes.count > maximumLength { reason = "link name is \(bytes.count) bytes, longer than \(maximumLength)" }
        else if name == "." || name == ".." { reason = "link name is '.' or '..'" }
        else if let bad = bytes.first(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 == 0 || $0 == 0x20 || (0x09...0x0d).contains($0) }) {
            let shown = bad == 0x20 || (0x09...0x0d).contains(bad) ? "whitespace" : bad == 0 ? "NUL" : "'\(Character(UnicodeScalar(bad)))'"
            reason = "link name contains \(shown)"
        }
        if let reason {
            throw NetlinkError(.invalidName, errno: 22, operation: operation, object: "'\(name)'", detail: reason)
        }
    }
}

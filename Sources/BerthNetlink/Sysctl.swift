@_spi(BerthInternal) import BerthNamespace
#if canImport(Glibc)
import Glibc
#endif

/// Network sysctls of a namespace (`/proc/sys/net/...`). The files under /proc/sys/net belong to
/// the network namespace of the thread that opens them, so for another namespace the file is read
/// and written on the namespace thread (design.md §3).
package enum Sysctl {
    /// The /proc/sys path of a dotted key (`net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`).
    /// Only `net.` keys made of `[A-Za-z0-9_.-]` segments are accepted (interface names may hold
    /// dots, written as `/` in the dotted form like sysctl(8) does).
    package static func path(for key: String) throws(NetlinkError) -> String {
        let segments = key.split(separator: ".", omittingEmptySubsequences: false)
        let allowed = key.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "/")
        }
        guard segments.first == "net", segments.count >= 3, !segments.contains(where: \.isEmpty), allowed,
              !segments.contains(where: { $0 == ".." }) else {
            throw NetlinkError(.invalidArgument, operation: .sysctl, object: key,
                               detail: "only net.* keys are supported")
        }
        return "/proc/sys/" + segments.map { $0.replacingSlashesWithDots() }.joined(separator: "/")
    }

    /// The dotted key of a per-interface setting, `net.<family>.conf.<interface>.<setting>`, with
    /// the dots of the interface name written as `/` (sysctl(8)'s convention, which `path(for:)`
    /// turns back): `interfaceKey("ipv6", "br.x", "accept_ra")` → `net.ipv6.conf.br/x.accept_ra`.
    package static func interfaceKey(_ family: String, _ interface: String, _ setting: String) -> String {
        "net.\(family).conf.\(String(interface.map { $0 == "." ? "/" : $0 })).\(setting)"
    }

    /// Reads a sysctl of `namespace` (nil: the caller's), without the trailing newline.
    /// - Throws: `.invalidArgument` (key), `.notFound` (no such key), `.namespace`.
    package static func read(_ key: String, in namespace: NetworkNamespace? = nil) throws(NetlinkError) -> String {
        let path = try path(for: key)
        return try inNamespace(namespace, key: key) { () throws(NetlinkError) -> String in try readHere(path, key) }
    }

    /// Writes `value` to a sysctl of `namespace` only when it differs from the current value
    /// (read and write in one visit of the namespace).
    /// - Returns: true when the value was changed.
    /// - Throws: `.invalidArgument`, `.notFound`, `.permissionDenied`, `.namespace`.
    @discardableResult
    package static func write(_ key: String, _ value: String, in namespace: NetworkNamespace? = nil) throws(NetlinkError) -> Bool {
        let path = try path(for: key)
        return try inNamespace(namespace, key: key) { () throws(NetlinkError) -> Bool in try writeHere(path, key, value) }
    }

    /// Writes `value` to every key of `keys` that exists in `namespace` and differs, in one visit
    /// of the namespace; keys the kernel does not have (ENOENT: e.g. IPv6 disabled at boot) are
    /// skipped.
    /// - Returns: the keys that were changed.
    /// - Throws: `.invalidArgument`, `.permissionDenied`, `.namespace`.
    @discardableResult
    package static func writeWherePresent(_ keys: [String], _ value: String, in namespace: NetworkNamespace? = nil) throws(NetlinkError) -> [String] {
        let paths = try paths(for: keys)
        return try inNamespace(namespace, key: keys.joined(separator: ",")) { () throws(NetlinkError) -> [String] in
            try writeWherePresentHere(paths, value)
        }
    }

    /// The (key, /proc/sys path) pairs of `keys`, checked as `path(for:)` does.
    /// - Throws: `.invalidArgument` for a key that is not a `net.` key.
    package static func paths(for keys: [String]) throws(NetlinkError) -> [(key: String, path: String)] {
        try keys.map { (key) throws(NetlinkError) -> (key: String, path: String) in (key, try path(for: key)) }
    }

    /// `writeWherePresent` in the calling thread's namespace, for a caller already on the namespace
    /// thread inside the right namespace (`NetlinkSession.route(in:writingWherePresent:_:)`).
    package static func writeWherePresentHere(_ paths: [(key: String, path: String)], _ value: String) throws(NetlinkError) -> [String] {
        var changed: [String] = []
        for (key, path) in paths {
            do throws(NetlinkError) {
                if try writeHere(path, key, value) { changed.append(key) }
            } catch where error.code == .notFound {
            }
        }
        return changed
    }

    /// Reads `path` in the calling thread's namespace.
    private static func readHere(_ path: String, _ key: String) throws(NetlinkError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw NetlinkError.kernel(.current, operation: .readSysctl, object: key) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw NetlinkError.kernel(.current, operation: .readSysctl, object: key) }
        var text = String(decoding: buffer[0..<n], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// Writes `value` to `path` in the calling thread's namespace unless it holds it already.
    private static func writeHere(_ path: String, _ key: String, _ value: String) throws(NetlinkError) -> Bool {
        if try readHere(path, key) == value { return false }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw NetlinkError.kernel(.current, operation: .writeSysctl, object: key) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw NetlinkError.kernel(.current, operation: .writeSysctl, object: key) }
        return true
    }

    /// Checks that a sysctl of `namespace` can be written (opens it for writing, writes nothing),
    /// so a multi-step set-up can refuse before its first change (e.g. a read-only /proc/sys).
    /// - Throws: `.notFound`, `.permissionDenied` (EACCES, EPERM, EROFS: errno kept), `.namespace`.
    package static func checkWritable(_ key: String, in namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        let path = try path(for: key)
        try inNamespace(namespace, key: key) { () throws(NetlinkError) -> Void in
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 { throw NetlinkError.kernel(.current, operation: .writeSysctl, object: key) }
            close(fd)
        }
    }

    private static func inNamespace<T>(_ namespace: NetworkNamespace?, key: String,
                                       _ body: () throws(NetlinkError) -> T) throws(NetlinkError) -> T {
        guard let namespace else { return try body() }
        do {
            return try NamespaceThread.shared.run(in: namespace, body)
        } catch {
            throw error.unwrapped { NetlinkError.wrapping($0, operation: .sysctl, object: key) }
        }
    }
}

private extension Substring {
    func replacingSlashesWithDots() -> String {
        String(map { $0 == "/" ? "." : $0 })
    }
}

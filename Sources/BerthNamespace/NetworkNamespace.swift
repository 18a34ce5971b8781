internal import CBerthShims
#if canImport(Glibc)
import Glibc
#endif

/// A handle on a Linux network namespace, held open by a file descriptor (O_RDONLY|O_CLOEXEC on an
/// nsfs file). The descriptor is closed when the handle is released.
///
/// Named namespaces follow iproute2's convention (`ip netns add NAME` bind-mounts the namespace on
/// `/run/netns/NAME`), so `ip netns list` and `ip netns exec` see what Berth creates.
@_spi(BerthInternal) public final class NetworkNamespace: Sendable, CustomStringConvertible {
    /// Where named namespaces live (iproute2's NETNS_RUN_DIR).
    public static let runDirectory = "/run/netns"

    /// The open descriptor; valid for the lifetime of this object. Pass it to `setns(2)` or as
    /// `IFLA_NET_NS_FD`; never close it.
    public let fileDescriptor: Int32
    /// The path the namespace was opened from (`/run/netns/NAME`, `/proc/PID/ns/net`, ...).
    public let path: String
    /// The name under `/run/netns`, for named namespaces.
    public let name: String?
    /// Device and inode of the nsfs file: two handles refer to one namespace when both are equal.
    public let device: UInt64
    public let inode: UInt64

    private init(fileDescriptor: Int32, path: String, name: String?, device: UInt64, inode: UInt64) {
        self.fileDescriptor = fileDescriptor
        self.path = path
        self.name = name
        self.device = device
        self.inode = inode
    }

    deinit { close(fileDescriptor) }

    public var description: String { name.map { "netns \($0)" } ?? "netns \(path)" }

    /// True when both handles refer to the same namespace (same nsfs device and inode).
    public func isSame(as other: NetworkNamespace) -> Bool {
        device == other.device && inode == other.inode
    }

    // MARK: Opening

    /// Opens the network namespace at `path` (an nsfs file such as `/proc/PID/ns/net` or a bind
    /// mount under `/run/netns`).
    /// - Throws: `NamespaceError` `.notFound` when the path does not exist, `.notANetworkNamespace`
    ///   when it is not an nsfs file of type CLONE_NEWNET, `.permissionDenied`, `.system`.
    public static func open(path: String) throws(NamespaceError) -> NetworkNamespace {
        try open(path: path, name: nil)
    }

    /// Opens the named namespace `/run/netns/NAME`, as `ip netns exec NAME` does.
    /// - Throws: `.invalidName` for names `ip netns` refuses; otherwise as `open(path:)`.
    public static func open(name: String) throws(NamespaceError) -> NetworkNamespace {
        try validateName(name, operation: .openNetns)
        return try open(path: "\(runDirectory)/\(name)", name: name)
    }

    /// Opens the network namespace of process `pid` (`/proc/PID/ns/net`).
    /// - Throws: `.notFound` when there is no such process; otherwise as `open(path:)`.
    public static func open(pid: Int32) throws(NamespaceError) -> NetworkNamespace {
        guard pid > 0 else {
            throw NamespaceError(.notFound, operation: .openNetns, object: "pid \(pid)", detail: "No such process")
        }
        return try open(path: "/proc/\(pid)/ns/net", name: nil)
    }

    /// The calling thread's network namespace (`/proc/thread-self/ns/net`): the default "host".
    public static func current() throws(NamespaceError) -> NetworkNamespace {
        try open(path: "/proc/thread-self/ns/net", name: nil)
    }

    private static func open(path: String, name: String?,
                             displayPath: String? = nil) throws(NamespaceError) -> NetworkNamespace {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw NamespaceError.fromErrno(.current, operation: .openNetns, object: path)
        }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let err = Errno.current
            close(fd)
            throw NamespaceError.fromErrno(err, operation: .openNetns, object: path)
        }
        let onNsfs = berth_fd_is_nsfs(fd) == 1
        let type = onNsfs ? berth_ns_get_type(fd) : -1
        guard onNsfs, type == berth_clone_newnet() else {
            close(fd)
            throw NamespaceError(.notANetworkNamespace, operation: .openNetns, object: path,
                                 detail: "not a network namespace")
        }
        return NetworkNamespace(fileDescriptor: fd, path: displayPath ?? path, name: name,
                                device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    // MARK: Creating and deleting

    /// Checks a namespace name the way `ip netns add` does (not empty, no `/`, not `.` or `..`,
    /// at most NAME_MAX (255) bytes), and refuses what `ip netns` cannot then show or take as an
    /// argument: whitespace, control characters, a leading `-` (new-user trial).
    /// - Throws: `NamespaceError.Code.invalidName`.
    public static func validateName(_ name: String, operation: OperationName) throws(NamespaceError) {
        let bytes = name.utf8.count
        let reason: String?
        if bytes == 0 { reason = "name is empty" }
        else if bytes > 255 { reason = "name is longer than 255 bytes" }
        else if name.contains("/") { reason = "name contains '/'" }
        else if name == "." || name == ".." { reason = "name is '.' or '..'" }
        else if name.utf8.contains(0) { reason = "name contains NUL" }
        else if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            reason = "name contains whitespace or a control character (`ip netns list` cannot show it)"
        }
        else if name.hasPrefix("-") { reason = "name starts with '-' (`ip netns` would read it as an option)" }
        else { reason = nil }
        if let reason {
            throw NamespaceError(.invalidName, operation: operation, object: "'\(name)'", detail: reason)
        }
    }

    /// Creates a named network namespace exactly as `ip netns add NAME` does: `/run/netns` made a
    /// shared mount (bind-mounted onto itself first if needed), an empty file created with
    /// O_EXCL, a new namespace made with `unshare(CLONE_NEWNET)` on the namespace thread and
    /// bind-mounted onto the file.
    /// - Returns: an open handle on the new namespace.
    /// - Throws: `.invalidName`, `.alreadyExists`, `.missingCapability` (CAP_SYS_ADMIN is also
    ///   needed for the mount), `.permissionDenied`, `.system`. Nothing is left behind on failure.
    public static func create(name: String) throws(NamespaceError) -> NetworkNamespace {
        let op = OperationName.createNetns
        try validateName(name, operation: op)
        try Capabilities.requireNetAdmin(for: op)
        try prepareRunDirectory(operation: op)
        let path = "\(runDirectory)/\(name)"
        let fd = Glibc.open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        if fd < 0 { throw NamespaceError.fromErrno(.current, operation: op, object: name) }
        close(fd)
        do {
            try runUnshared(operation: op, object: name) { () throws(NamespaceError) in
                if berth_mount_bind("/proc/thread-self/ns/net", path) != 0 {
                    throw NamespaceError.fromErrno(.current, operation: op, object: name)
                }
            }
            return try open(path: path, name: name)
        } catch {
            _ = berth_umount_detach(path)
            unlink(path)
            throw error
        }
    }

    /// Deletes a named namespace like `ip netns del NAME`: lazy unmount, then unlink. The namespace
    /// itself lives on while any process or fd still holds it.
    /// - Throws: `.invalidName`, `.notFound` when there is no such name, `.permissionDenied`, `.system`.
    public static func delete(name: String) throws(NamespaceError) {
        let op = OperationName.deleteNetns
        try validateName(name, operation: op)
        let path = "\(runDirectory)/\(name)"
        _ = berth_umount_detach(path)  // EINVAL when not mounted: unlink still removes a stale file
        if unlink(path) != 0 {
            throw NamespaceError.fromErrno(.current, operation: op, object: name)
        }
    }

    /// Creates a new network namespace held only by the returned descriptor; it disappears when the
    /// handle is released (and nothing else holds it).
    /// - Throws: `.missingCapability`, `.permissionDenied`, `.system`.
    public static func createAnonymous() throws(NamespaceError) -> NetworkNamespace {
        let op = OperationName.createNetns
        try Capabilities.requireNetAdmin(for: op)
        var opened: NetworkNamespace?
        try runUnshared(operation: op, object: "anonymous") { () throws(NamespaceError) in
            opened = try open(path: "/proc/thread-self/ns/net", name: nil, displayPath: "anonymous netns")
        }
        guard let opened else {
            throw NamespaceError(.system, operation: op, object: "anonymous", detail: "namespace was not opened")
        }
        return opened
    }

    /// Runs `body` on the namespace thread inside this namespace (a convenience for tests and
    /// tools; the layers use `NamespaceThread.run`, typed).
    /// - Throws: the `NamespaceError` of entering the namespace, or what `body` threw, unchanged.
    public func run<T, E: Error>(_ body: () throws(E) -> T) throws -> T {
        do {
            return try NamespaceThread.shared.run(in: self, body)
        } catch {
            switch error {
            case .namespace(let e): throw e
            case .body(let e): throw e
            }
        }
    }

    private static func runUnshared(operation: OperationName, object: String,
                                    _ body: () throws(NamespaceError) -> Void) throws(NamespaceError) {
        do {
            try NamespaceThread.shared.run(in: nil, restoreAlways: true) { () throws(NamespaceError) in
                if berth_unshare_net() != 0 {
                    throw NamespaceError.fromErrno(.current, operation: operation, object: object)
                }
                try body()
            }
        } catch {
            throw error.namespaceError
        }
    }

    /// `/run/netns` exists and is a shared mount point (iproute2 ip/ipnetns.c, netns_add).
    private static func prepareRunDirectory(operation: OperationName) throws(NamespaceError) {
        if mkdir(runDirectory, 0o755) != 0 {
            let err = Errno.current
            if err.rawValue != EEXIST { throw NamespaceError.fromErrno(err, operation: operation, object: runDirectory) }
        }
        var madeMountPoint = false
        while berth_mount_make_shared_rec(runDirectory) != 0 {
            let err = Errno.current
            guard err.rawValue == EINVAL, !madeMountPoint else {
                throw NamespaceError.fromErrno(err, operation: operation, object: runDirectory)
            }
            if berth_mount_bind_self_rec(runDirectory) != 0 {
                throw NamespaceError.fromErrno(.current, operation: operation, object: runDirectory)
            }
            madeMountPoint = true
        }
    }
}

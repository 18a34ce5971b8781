internal import CBerthShims
#if canImport(Glibc)
import Glibc
#endif

/// The TUN/TAP ioctls (linux/if_tun.h, Documentation/networking/tuntap.rst, drivers/net/tun.c):
/// the one place that opens `/dev/net/tun`. `TUNSETIFF` creates (or attaches to) the device in
/// the *calling thread's* network namespace, so `open` runs it on the namespace thread inside the
/// target namespace. Every fd is opened O_CLOEXEC.
@_spi(BerthInternal) public enum TapDevice {
    /// MAX_TAP_QUEUES of drivers/net/tun.c (256): `tun_attach` refuses a queue beyond it (E2BIG).
    public static let maxQueues = 256

    /// The IFF_* flags a TAP queue is opened with.
    public struct Flags: Sendable, Equatable, CustomStringConvertible {
        /// IFF_VNET_HDR: each frame carries a `struct virtio_net_hdr` (what virtio-net VMMs use).
        public var vnetHeader: Bool
        /// IFF_MULTI_QUEUE: one fd per queue (needed for more than one queue).
        public var multiQueue: Bool

        public init(vnetHeader: Bool, multiQueue: Bool) {
            self.vnetHeader = vnetHeader
            self.multiQueue = multiQueue
        }

        /// IFF_TAP | IFF_NO_PI (| IFF_VNET_HDR) (| IFF_MULTI_QUEUE): the TUNSETIFF request.
        public var raw: Int32 {
            var f = berth_iff_tap() | berth_iff_no_pi()
            if vnetHeader { f |= berth_iff_vnet_hdr() }
            if multiQueue { f |= berth_iff_multi_queue() }
            return Int32(f)
        }

        /// Decodes TUNGETIFF's flags.
        public init(raw: Int32) {
            vnetHeader = raw & Int32(berth_iff_vnet_hdr()) != 0
            multiQueue = raw & Int32(berth_iff_multi_queue()) != 0
        }

        public var description: String {
            "IFF_TAP|IFF_NO_PI" + (vnetHeader ? "|IFF_VNET_HDR" : "") + (multiQueue ? "|IFF_MULTI_QUEUE" : "")
        }
    }

    /// Opens `queues` fds on the TAP `name` (a name, or a template with one `%d` the kernel fills
    /// in) in `namespace` (nil: the process's own), each with TUNSETIFF `flags`. With `exclusive`,
    /// the first queue also asks IFF_TUN_EXCL, so an existing device of that name is refused
    /// (EBUSY) instead of joined. On any failure every fd opened so far is closed (a device that
    /// is not persistent goes with them).
    /// - Parameters: queues 1…`maxQueues`; more than one needs `flags.multiQueue`.
    /// - Returns: the device's name (the template expanded) and the fds, one per queue, O_CLOEXEC.
    /// - Throws: `NamespaceError` `.tunUnavailable` (no /dev/net/tun), `.tapBusy` (EBUSY: the
    ///   name exists with `exclusive`, or a single-queue TAP already has its queue),
    ///   `.tapFlagMismatch` (EINVAL on an existing device: IFF_MULTI_QUEUE differs), `.invalidName`,
    ///   `.permissionDenied` (EPERM: not CAP_NET_ADMIN and not the TAP's owner), `.system`,
    ///   and the namespace thread's errors.
    public static func open(name: String, flags: Flags, queues: Int = 1, exclusive: Bool,
                            in namespace: NetworkNamespace?) throws(NamespaceError) -> (name: String, fds: [Int32]) {
        let op = OperationName.openTap
        let size = Int(berth_ifnamsiz())
        guard !name.isEmpty, name.utf8.count < size, !name.utf8.contains(0) else {
            throw NamespaceError(.invalidName, operation: op, object: "'\(name)'", detail: "a TAP name is 1–\(size - 1) bytes")
        }
        guard (1...maxQueues).contains(queues) else {
            throw NamespaceError(.system, errno: Errno(E2BIG), operation: op, object: name,
                                 detail: "queues must be 1–\(maxQueues) (MAX_TAP_QUEUES), not \(queues)")
        }
        guard queues == 1 || flags.multiQueue else {
            throw NamespaceError(.tapFlagMismatch, operation: op, object: name, detail: "\(queues) queues need IFF_MULTI_QUEUE")
        }
        let job = { () throws(NamespaceError) -> (String, [Int32]) in
            var fds: [Int32] = []
            var actual = name
            for q in 0..<queues {
                var buffer = [CChar](repeating: 0, count: size)
                for (i, b) in actual.utf8.enumerated() { buffer[i] = CChar(bitPattern: b) }
                var request = flags.raw
                if exclusive && q == 0 { request |= Int32(berth_iff_tun_excl()) }
                let fd = berth_tun_attach(&buffer, request, 0)
                if fd < 0 {
                    let err = Errno.current
                    for f in fds { Glibc.close(f) }
                    throw error(err, name: actual, flags: flags, queue: q, exclusive: exclusive && q == 0)
                }
                fds.append(fd)
                actual = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return (actual, fds)
        }
        do {
            let (n, fds) = try NamespaceThread.shared.run(in: namespace, job)
            return (n, fds)
        } catch {
            throw error.namespaceError
        }
    }

    /// `TUNSETPERSIST`: with `on`, the device outlives its last fd (`ip tuntap add` does this);
    /// off, it is unregistered when its last queue closes.
    /// - Throws: `NamespaceError` `.permissionDenied`, `.system`.
    public static func setPersistent(_ fd: Int32, _ on: Bool, name: String) throws(NamespaceError) {
        if berth_tun_set_persist(fd, on ? 1 : 0) != 0 {
            throw NamespaceError.fromErrno(.current, operation: .setTapPersist, object: name)
        }
    }

    /// `TUNSETOWNER` / `TUNSETGROUP`: only that uid (or members of that gid) may attach without
    /// CAP_NET_ADMIN. An ownerless persistent TAP may be attached by any user of the namespace
    /// (drivers/net/tun.c `tun_not_capable`).
    /// - Throws: `NamespaceError` `.permissionDenied`, `.system`.
    public static func setOwner(_ fd: Int32, uid: UInt32?, gid: UInt32?, name: String) throws(NamespaceError) {
        if let uid, berth_tun_set_owner(fd, uid_t(uid)) != 0 {
            throw NamespaceError.fromErrno(.current, operation: .setTapOwner, object: "\(name) uid \(uid)")
        }
        if let gid, berth_tun_set_group(fd, gid_t(gid)) != 0 {
            throw NamespaceError.fromErrno(.current, operation: .setTapOwner, object: "\(name) gid \(gid)")
        }
    }

    /// `TUNGETIFF`: the flags the device has for this fd.
    /// - Throws: `NamespaceError` `.system`.
    public static func flags(of fd: Int32, name: String) throws(NamespaceError) -> Flags {
        var raw: Int32 = 0
        if berth_tun_get_flags(fd, &raw) != 0 {
            throw NamespaceError.fromErrno(.current, operation: .openTap, object: name)
        }
        return Flags(raw: raw)
    }

    /// Closes every fd (ignoring EBADF): a non-persistent device goes with its last queue.
    public static func close(_ fds: [Int32]) {
        for fd in fds { _ = Glibc.close(fd) }
    }

    private static func error(_ err: Errno, name: String, flags: Flags, queue: Int, exclusive: Bool) -> NamespaceError {
        let op = OperationName.openTap
        switch err.rawValue {
        case ENOENT, ENODEV, ENXIO:
            return NamespaceError(.tunUnavailable, errno: err, operation: op, object: "/dev/net/tun",
                                  detail: "no TUN/TAP device node (tun module missing or /dev/net/tun absent)")
        case EBUSY:
            let detail = exclusive ? "a link named \(name) exists already"
                : "TAP \(name) is single-queue (IFF_MULTI_QUEUE off) and its one queue is attached"
            return NamespaceError(.tapBusy, errno: err, operation: op, object: name, detail: detail)
        case EINVAL:
            return NamespaceError(.tapFlagMismatch, errno: err, operation: op, object: name,
                                  detail: "the existing device's flags differ from \(flags) (IFF_MULTI_QUEUE \(flags.multiQueue ? "on" : "off") asked, or it is not a TAP)")
        case E2BIG:
            return NamespaceError(.system, errno: err, operation: op, object: name,
                                  detail: "queue \(queue + 1) exceeds the kernel's limit of \(maxQueues) queues")
        case EPERM, EACCES:
            return NamespaceError(.permissionDenied, errno: err, operation: op, object: name)
        default:
            return NamespaceError(.system, errno: err, operation: op, object: name)
        }
    }
}

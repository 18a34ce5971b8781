extension NamespaceError {
    /// What kind of failure this is; stable across releases (append only).
    public enum Code: String, Sendable, Equatable {
        /// The namespace path, name or pid does not exist (ENOENT, ESRCH).
        case notFound
        /// The path exists but is not a network namespace (not on nsfs, or another CLONE_NEW* type).
        case notANetworkNamespace
        /// A namespace name that `ip netns` would refuse (empty, `/`, `.` or `..`, over NAME_MAX).
        case invalidName
        /// A named namespace with that name exists already (EEXIST).
        case alreadyExists
        /// The kernel refused for lack of privilege (EPERM, EACCES).
        case permissionDenied
        /// The calling thread lacks a capability; `object` names it (e.g. `CAP_NET_ADMIN`).
        case missingCapability
        /// The namespace thread could not be started or restored.
        case threadFailure
        /// Any other system call failure; see `errno`.
        case system
        /// `/dev/net/tun` is missing or cannot be opened (no tun driver, a container without the
        /// device node): TUN/TAP devices cannot be made.
        case tunUnavailable
        /// TUNSETIFF refused with EBUSY: the TAP exists and is single-queue with a queue already
        /// attached (drivers/net/tun.c `tun_attach`), or it exists and IFF_TUN_EXCL was asked.
        case tapBusy
        /// TUNSETIFF refused with EINVAL on an existing TAP: its IFF_MULTI_QUEUE (or TUN/TAP type)
        /// differs from the flags asked (drivers/net/tun.c `tun_set_iff`); `detail` names the flag.
        case tapFlagMismatch
    }
}

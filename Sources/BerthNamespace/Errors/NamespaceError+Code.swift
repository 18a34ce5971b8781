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
    }
}

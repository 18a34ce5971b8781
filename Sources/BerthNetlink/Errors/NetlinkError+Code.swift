@_spi(BerthInternal) import BerthNamespace

extension NetlinkError {
    /// What kind of failure this is (append only).
    public enum Code: String, Sendable, Equatable {
        /// The object exists already (EEXIST).
        case exists
        /// The link, address or route does not exist (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL).
        case notFound
        /// The kernel refused for lack of privilege (EPERM, EACCES).
        case permissionDenied
        /// The caller lacks a capability, checked up front; `object` names the capability.
        case missingCapability
        /// A link name outside Berth's one interface-name rule (`LinkName`: what the kernel's
        /// dev_valid_name, iptables and nftables all take literally), refused before sending.
        case invalidName
        /// Any argument the kernel or Berth rejects (EINVAL, ERANGE, a bad value given by the caller).
        case invalidArgument
        /// The device or resource is busy (EBUSY).
        case busy
        /// No reply within the socket time-out (EAGAIN on receive).
        case timeout
        /// A reply that is shorter than its headers claim.
        case truncatedReply
        /// A reply that cannot be parsed, or that answers another request or comes from a non-kernel sender.
        case malformedReply
        /// The dump was interrupted (NLM_F_DUMP_INTR) on every retry.
        case dumpInterrupted
        /// The namespace to work in could not be entered; the namespace error is in `detail`.
        case namespace
        /// Socket-level failure (open, bind, send, receive).
        case socket
        /// Any other errno returned by the kernel.
        case kernel
    }
}

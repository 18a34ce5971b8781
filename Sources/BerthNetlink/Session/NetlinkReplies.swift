/// The answer to one message of a `NetlinkEngine.query`: what the kernel sent for it up to its
/// acknowledgement.
package struct NetlinkReply: Sendable, Equatable {
    /// The object messages that came before the acknowledgement, in order (empty for a change,
    /// or when the object does not exist).
    package var messages: [NetlinkMessage]
    /// nil when the kernel acknowledged (error 0); else its refusal (`isRefusal`), e.g. ENOENT
    /// for an absent object.
    package var error: NetlinkError?

    package init(messages: [NetlinkMessage] = [], error: NetlinkError? = nil) {
        self.messages = messages
        self.error = error
    }
}

/// The answer to a `NetlinkEngine.transaction` (an nfnetlink batch).
package struct NetlinkBatchReply: Sendable, Equatable {
    /// One entry per message between BATCH_BEGIN and BATCH_END, in order: nil when acknowledged
    /// (or, after a `refusal`, not answered), else the kernel's refusal of that message.
    package var errors: [NetlinkError?]
    /// The kernel's error on BATCH_BEGIN or BATCH_END: the whole batch was refused (no
    /// permission, no memory, a malformed batch), nothing was applied and no other reply follows.
    package var refusal: NetlinkError?

    package init(errors: [NetlinkError?], refusal: NetlinkError? = nil) {
        self.errors = errors
        self.refusal = refusal
    }

    /// The failed messages, in order: the index between BEGIN and END, and the kernel's error.
    package var failures: [(index: Int, error: NetlinkError)] {
        errors.enumerated().compactMap { i, e in e.map { (i, $0) } }
    }

    /// True when the kernel applied the batch: no refusal and no message failed.
    package var succeeded: Bool { refusal == nil && errors.allSatisfy { $0 == nil } }
}

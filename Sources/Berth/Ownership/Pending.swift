@_spi(BerthInternal) import BerthNamespace
@_spi(BerthInternal) import BerthNetlink
#if canImport(Glibc)
import Glibc
#endif

/// Unplug now, reclaim later (issue 11). A detached host end, a deleted network's bridge, are
/// first made harmless at once — off their bridge, down, in link group `Pending.group`, a bridge
/// renamed to `berthrm<8 hex>` so its name is free — and deleted later in one batch
/// (`RTM_DELLINK` by group: one RCU grace period for all of them). The group is the kernel-side
/// mark the reconciler sweeps (a pending link is never recorded, so it is never a conflict).
package enum Pending {
    /// IFLA_GROUP of links waiting for deletion ("bert").
    package static let group: UInt32 = 0x6265_7274
    /// Prefix of the names pending links are renamed to (bridges; sandbox ends of endpoints in a
    /// sandbox Berth did not create, so their `ethN` is free).
    package static let namePrefix = "berthrm"

    /// A pending bridge name: `berthrm` + 8 random hex (15 bytes).
    static func bridgeName() -> String { namePrefix + RandomID.hex(8) }
    /// The pending name of an endpoint's sandbox end: `berthrm` + the host end's 7 hex.
    static func sandboxName(hostInterface: String) -> String {
        namePrefix + String(hostInterface.suffix(7))
    }
}

/// The background reclaimer of one controller: a thread that deletes every pending link of the
/// host namespace by link group, whenever something was unplugged, so no caller waits for the
/// kernel's grace period. `drain()` waits until everything asked for so far is gone.
final class Reclaimer: @unchecked Sendable {
    private let host: NetworkNamespace
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false
    private var stopped = false
    private var lastError: NetlinkError?

    init(host: NetworkNamespace) {
        self.host = host
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Asks for a sweep; returns at once (starts the thread on first use).
    func schedule() {
        pthread_mutex_lock(mutex)
        requested += 1
        if !running && !stopped {
            running = true
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&thread, nil, { arg in
                guard let arg else { return nil }
                Unmanaged<Reclaimer>.fromOpaque(arg).takeRetainedValue().loop()
                return nil
            }, context)
            if rc == 0 { pthread_detach(thread) } else {
                running = false
                Unmanaged<Reclaimer>.fromOpaque(context).release()
            }
        }
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Sweeps and waits until that sweep is done.
    /// - Returns: false when the thread could not run (the caller sweeps itself).
    func drain() throws(NetlinkError) -> Bool {
        schedule()
        pthread_mutex_lock(mutex)
        let target = requested
        while completed < target && running && !stopped { pthread_cond_wait(cond, mutex) }
        let done = completed >= target
        let error = done ? lastError : nil
        pthread_mutex_unlock(mutex)
        if let error { throw error }
        return done
    }

    /// Ends the thread after its current sweep (the controller is going away; what is still
    /// pending is swept by the next open's reconciliation).
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    private func loop() {
        var session: NetlinkSession?
        pthread_mutex_lock(mutex)
        while true {
            while completed == requested && !stopped { pthread_cond_wait(cond, mutex) }
            if stopped { break }
            let target = requested
            pthread_mutex_unlock(mutex)
            var failure: NetlinkError?
            do {
                if session == nil { session = try NetlinkSession.route(in: host) }
                try session?.deleteLinks(group: Pending.group)
            } catch where error.code == .notFound {
            } catch {
                failure = error
            }
            pthread_mutex_lock(mutex)
            completed = target
            lastError = failure
            pthread_cond_broadcast(cond)
        }
        running = false
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }
}

internal import CBerthShims
#if canImport(Glibc)
import Glibc
#endif

/// Moves a non-Sendable value across the hand-off to the namespace thread. Safe because the
/// submitting thread blocks until the job has finished, so the value is never used concurrently.
private struct Transfer<Value>: @unchecked Sendable {
    var value: Value
}

/// The single library thread that is allowed to call `setns(2)` and `unshare(2)`.
///
/// A job runs on this thread with the thread switched into the requested network namespace; the
/// thread is switched back to the process's namespace afterwards. If switching back ever fails,
/// the thread is retired and a fresh one takes over, so no later job can run in a stale namespace.
/// The caller's own thread and Swift concurrency threads are never switched (design.md §3).
/// Jobs are serialized; a call blocks the caller until its job has finished.
@_spi(BerthInternal) public final class NamespaceThread: @unchecked Sendable {
    /// The process-wide instance.
    public static let shared = NamespaceThread()

    private final class Job {
        let work: () -> Bool
        var done = false
        init(work: @escaping () -> Bool) { self.work = work }
    }

    private var mutex = pthread_mutex_t()
    private var workAvailable = pthread_cond_t()
    private var jobDone = pthread_cond_t()
    private var queue: [Job] = []
    private var workerRunning = false
    private var workerThread: pthread_t?
    /// Number of workers retired because restoring the home namespace failed (for tests/diagnostics).
    private var retiredWorkers = 0
    /// An fd on the namespace the worker returns to after every job: the process's (thread group
    /// leader's) network namespace at the time the library was first used.
    private let homeFD: Int32

    private init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&workAvailable, nil)
        pthread_cond_init(&jobDone, nil)
        homeFD = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
    }

    /// How many times a worker was replaced because it could not return to the home namespace.
    public var replacements: Int {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return retiredWorkers
    }

    /// True when called on the namespace thread itself.
    public var isCurrentThread: Bool {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        guard let worker = workerThread else { return false }
        return pthread_equal(worker, pthread_self()) != 0
    }

    /// Why `run` failed: the thread could not enter the namespace (or run the job), or `body` threw.
    public enum Failure<BodyError: Error>: Error {
        /// Entering the namespace (or starting the thread) failed; `body` did not run.
        case namespace(NamespaceError)
        /// `body` ran and threw.
        case body(BodyError)
    }

    /// Runs `body` on the namespace thread while that thread is inside `namespace`
    /// (`nil`: the process's own namespace), then switches the thread back.
    ///
    /// - Parameters:
    ///   - namespace: the network namespace to enter with `setns(fd, CLONE_NEWNET)`.
    ///   - restoreAlways: switch back even when `namespace` is nil (for bodies that `unshare`).
    ///   - body: the work; it must not call `run` again (that would deadlock, and is refused).
    /// - Throws: `Failure.namespace` with a `NamespaceError` (code `.threadFailure`,
    ///   `.permissionDenied`, `.system`) when the thread cannot enter the namespace;
    ///   `Failure.body` with what `body` threw.
    public func run<T, E: Error>(in namespace: NetworkNamespace?, restoreAlways: Bool = false,
                                 _ body: () throws(E) -> T) throws(Failure<E>) -> T {
        if isCurrentThread {
            throw .namespace(NamespaceError(.threadFailure, operation: .enterNetns, object: namespace?.path ?? "host",
                                            detail: "nested use of the namespace thread"))
        }
        var outcome: Result<T, Failure<E>> = .failure(.namespace(
            NamespaceError(.threadFailure, operation: .enterNetns, object: namespace?.path ?? "host",
                           detail: "job did not run")))
        let home = homeFD
        let notSubmitted: NamespaceError? = withoutActuallyEscaping(body) { escapableBody -> NamespaceError? in
            let box = Transfer(value: (escapableBody, namespace))
            let resultBox = UnsafeMutablePointer<Result<T, Failure<E>>>.allocate(capacity: 1)
            resultBox.initialize(to: outcome)
            defer { resultBox.deinitialize(count: 1); resultBox.deallocate() }
            let resultTransfer = Transfer(value: resultBox)
            let job = Job {
                let (work, ns) = box.value
                if let ns, berth_setns_net(ns.fileDescriptor) != 0 {
                    let err = Errno.current
                    resultTransfer.value.pointee = .failure(.namespace(
                        NamespaceError.fromErrno(err, operation: .enterNetns, object: ns.path)))
                    return true
                }
                resultTransfer.value.pointee = Result { () throws(E) -> T in try work() }.mapError { .body($0) }
                if ns != nil || restoreAlways {
                    return berth_setns_net(home) == 0
                }
                return true
            }
            do throws(NamespaceError) { try submit(job, namespace: namespace) } catch { return error }
            outcome = resultBox.pointee
            return nil
        }
        if let notSubmitted { throw .namespace(notSubmitted) }
        return try outcome.get()
    }

    private func submit(_ job: Job, namespace: NetworkNamespace?) throws(NamespaceError) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if homeFD < 0 {
            throw NamespaceError(.threadFailure, operation: .startNamespaceThread,
                                 object: "/proc/self/ns/net", detail: "the home namespace could not be opened")
        }
        queue.append(job)
        if !workerRunning {
            try startWorkerLocked()
        }
        pthread_cond_signal(&workAvailable)
        while !job.done {
            pthread_cond_wait(&jobDone, &mutex)
        }
    }

    private func startWorkerLocked() throws(NamespaceError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let owner = Unmanaged<NamespaceThread>.fromOpaque(raw).takeRetainedValue()
            owner.workerLoop()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<NamespaceThread>.fromOpaque(context).release()
            throw NamespaceError(.threadFailure, errno: Errno(rc), operation: .startNamespaceThread, object: "pthread")
        }
        workerThread = thread
        workerRunning = true
    }

    private func workerLoop() {
        // A new worker may be spawned by a retiring one that sits in a foreign namespace.
        let startedHome = berth_setns_net(homeFD) == 0
        pthread_mutex_lock(&mutex)
        if !startedHome {
            retireLocked(respawn: false)
            pthread_mutex_unlock(&mutex)
            return
        }
        while true {
            while queue.isEmpty {
                pthread_cond_wait(&workAvailable, &mutex)
            }
            let job = queue.removeFirst()
            pthread_mutex_unlock(&mutex)
            let restored = job.work()
            pthread_mutex_lock(&mutex)
            job.done = true
            pthread_cond_broadcast(&jobDone)
            if !restored {
                retireLocked(respawn: true)
                pthread_mutex_unlock(&mutex)
                return  // this thread is in an unknown namespace: it must never run another job
            }
        }
    }

    /// Replaces the current worker; called with the mutex held, on the retiring worker.
    private func retireLocked(respawn: Bool) {
        retiredWorkers += 1
        workerRunning = false
        workerThread = nil
        if !queue.isEmpty {
            if !respawn || (try? startWorkerLocked()) == nil {
                // Fail every pending job rather than leave a caller waiting forever.
                for job in queue { job.done = true }
                queue.removeAll()
                pthread_cond_broadcast(&jobDone)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A background thread that runs one job whenever asked, coalescing the requests made while it
/// runs into the next run; `drain()` waits until a run that started after the call has finished.
/// The thread starts on the first request and ends after `stop()`. The pthread primitives stay in
/// this layer (the reclaimer of pending links, issue 11, is its user in `Berth`).
@_spi(BerthInternal) public final class CoalescingWorker: @unchecked Sendable {
    private let job: @Sendable () -> (any Error)?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false
    private var stopped = false
    private var lastError: (any Error)?

    /// - Parameter job: runs on the worker thread; returns the failure of that run, or nil.
    public init(_ job: @escaping @Sendable () -> (any Error)?) {
        self.job = job
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Asks for a run; returns at once (starts the thread when none runs).
    public func schedule() {
        pthread_mutex_lock(mutex)
        requested += 1
        if !running && !stopped {
            running = true
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&thread, nil, { arg in
                guard let arg else { return nil }
                Unmanaged<CoalescingWorker>.fromOpaque(arg).takeRetainedValue().loop()
                return nil
            }, context)
            if rc == 0 { pthread_detach(thread) } else {
                running = false
                Unmanaged<CoalescingWorker>.fromOpaque(context).release()
            }
        }
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Asks for a run and waits until it has finished.
    /// - Returns: `done` false when no thread could run it (the caller does the job itself);
    ///   `failure`, what that run returned.
    public func drain() -> (done: Bool, failure: (any Error)?) {
        schedule()
        pthread_mutex_lock(mutex)
        let target = requested
        while completed < target && running && !stopped { pthread_cond_wait(cond, mutex) }
        let done = completed >= target
        let error = done ? lastError : nil
        pthread_mutex_unlock(mutex)
        return (done, error)
    }

    /// Ends the thread after its current run; later requests start none.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            while completed == requested && !stopped { pthread_cond_wait(cond, mutex) }
            if stopped { break }
            let target = requested
            pthread_mutex_unlock(mutex)
            let failure = job()
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

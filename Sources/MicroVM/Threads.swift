#if canImport(Glibc)
import Glibc
#endif

// The POSIX thread and condition-variable code of MicroVM, gathered here: the vCPU runner,
// the pause gate and the machine use these two types and touch no pointer themselves.

/// A joinable POSIX thread running a closure: vCPUs need dedicated threads (a vCPU blocks
/// in `KVM_RUN` and is kicked with a signal aimed at its thread), not a task pool.
struct JoinableThread: ~Copyable {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    /// Starts `body` on a new thread; throws the `pthread_create` errno.
    init(_ body: @escaping @Sendable () -> Void) throws(MachineError) {
        var thread = pthread_t()
        // SAFETY: the retain taken here is handed to the new thread, which takes it back exactly
        // once (takeRetainedValue); if the thread is not created, the else branch releases it.
        let context = unsafe Unmanaged.passRetained(Body(body)).toOpaque()
        // SAFETY: `context` is the retained Body above, alive until the thread consumes it;
        // the C entry point captures nothing, and `thread` is written before pthread_create returns.
        let result = unsafe pthread_create(
            &thread, nil,
            { context in
                // SAFETY: `context` is the pointer passed to pthread_create, a +1 reference to a
                // Body, consumed here once.
                let body = unsafe Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            // SAFETY: no thread was created, so nothing else will consume the +1 reference.
            unsafe Unmanaged<Body>.fromOpaque(context).release()
            throw .thread(result)
        }
        self.thread = thread
    }

    /// Waits for the thread to end.
    consuming func join() {
        pthread_join(thread, nil)
        discard self
    }

    deinit { pthread_join(thread, nil) }
}

/// A POSIX mutex and condition variable guarding a value: the pause gate's state, waited on by
/// vCPU threads and a controller. POSIX rather than `Synchronization.Mutex` so that
/// ThreadSanitizer sees the synchronisation (as for `KVM.PthreadLock`), and because the
/// standard library has no condition variable.
@safe final class ConditionLock<Value>: @unchecked Sendable {
    // Sendable because `value` is read or written only with the mutex held (`withLock`).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        // SAFETY: one mutex and one condition, each in its own allocation, initialised here,
        // never moved, destroyed only in deinit.
        unsafe mutex = .allocate(capacity: 1)
        unsafe mutex.initialize(to: pthread_mutex_t())
        unsafe pthread_mutex_init(mutex, nil)
        unsafe condition = .allocate(capacity: 1)
        unsafe condition.initialize(to: pthread_cond_t())
        unsafe pthread_cond_init(condition, nil)
    }

    deinit {
        // SAFETY: no reference to the object is left, so no thread holds the mutex or waits on
        // the condition; both were initialised in init.
        unsafe pthread_cond_destroy(condition)
        unsafe condition.deinitialize(count: 1)
        unsafe condition.deallocate()
        unsafe pthread_mutex_destroy(mutex)
        unsafe mutex.deinitialize(count: 1)
        unsafe mutex.deallocate()
    }

    /// Runs `body` with the mutex held and exclusive access to the value.
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        // SAFETY: the mutex is initialised for the object's lifetime; lock and unlock pair on
        // this thread, and `value` is touched only between them.
        unsafe pthread_mutex_lock(mutex)
        defer { unsafe pthread_mutex_unlock(mutex) }
        return body(&value)
    }

    /// Wakes every thread in `wait`, to test its condition again; call it after changing the
    /// value in `withLock`.
    func broadcast() {
        // SAFETY: the condition is initialised for the object's lifetime.
        unsafe pthread_cond_broadcast(condition)
    }

    /// With the mutex held, waits (releasing it meanwhile) until `done(value)` is true, then
    /// runs `body` on the value, still holding the mutex. `done` and `body` see the value
    /// only with the mutex held.
    func wait<R>(until done: (Value) -> Bool, then body: (inout Value) -> R) -> R {
        // SAFETY: as in withLock; pthread_cond_wait releases and re-acquires this same mutex,
        // which this thread holds, and returns with it held.
        unsafe pthread_mutex_lock(mutex)
        defer { unsafe pthread_mutex_unlock(mutex) }
        // SAFETY: the mutex is held (locked above) and the condition is initialised.
        while !done(value) { unsafe pthread_cond_wait(condition, mutex) }
        return body(&value)
    }
}

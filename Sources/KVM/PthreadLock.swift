#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a POSIX mutex, for state that vCPU threads share with control threads.
///
/// GmemKit uses it instead of `Synchronization.Mutex` where ThreadSanitizer must see the
/// synchronization: on Linux the standard library's `Mutex` locks inside the uninstrumented
/// Synchronization runtime, so TSan reports every access it guards as a race (RELIABILITY.md),
/// while `pthread_mutex_lock` is intercepted and understood.
@safe package final class PthreadLock<Value>: @unchecked Sendable {
    // Sound because: the mutex lives in its own allocation, never moved, initialised here and
    // destroyed in deinit; `value` is read or written only between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        // SAFETY: one pthread_mutex_t, allocated and initialised here, never moved, destroyed only in deinit.
        unsafe mutex = .allocate(capacity: 1)
        unsafe mutex.initialize(to: pthread_mutex_t())
        unsafe pthread_mutex_init(mutex, nil)
    }

    deinit {
        // SAFETY: deinit: no thread can hold the lock (no reference to the object is left); the mutex was initialised in init.
        unsafe pthread_mutex_destroy(mutex)
        unsafe mutex.deinitialize(count: 1)
        unsafe mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        // SAFETY: the mutex is initialised for the object's lifetime; lock and unlock pair on this thread, and `value` is touched only between them.
        unsafe pthread_mutex_lock(mutex)
        defer { unsafe pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

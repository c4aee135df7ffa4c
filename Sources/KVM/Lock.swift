#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a POSIX mutex, for state that vCPU threads share with control threads.
///
/// GmemKit uses it instead of `Synchronization.Mutex` where ThreadSanitizer must see the
/// synchronization: on Linux the standard library's `Mutex` locks inside the uninstrumented
/// Synchronization runtime, so TSan reports every access it guards as a race (RELIABILITY.md),
/// while `pthread_mutex_lock` is intercepted and understood.
package final class Lock<Value>: @unchecked Sendable {
    // Sound because: the mutex lives in its own allocation, never moved, initialised here and
    // destroyed in deinit; `value` is read or written only between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

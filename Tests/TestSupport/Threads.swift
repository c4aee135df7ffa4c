import KVM

#if canImport(Glibc)
import Glibc
#endif

/// Starts a plain pthread running `body` (a vCPU thread the way an embedder makes one, not a
/// Swift concurrency task).
/// - Throws: ``KVMError`` (`kick`) with the errno of a failed `pthread_create`.
public func spawnThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ b: @escaping @Sendable () -> Void) { body = b }
    }
    var thread = pthread_t()
    // SAFETY: the box is retained once here and released exactly once: by the new thread, or below when it never starts.
    let box = unsafe Unmanaged.passRetained(Box(body)).toOpaque()
    // SAFETY: `thread` is a local the call fills; `box` stays retained until the thread takes it back.
    let result = unsafe pthread_create(
        &thread, nil,
        { raw in
            // SAFETY: `raw` is the `box` passed to pthread_create, retained once for this thread and taken back once here.
            let box = unsafe Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
            box.body()
            return nil
        }, box)
    guard result == 0 else {
        // SAFETY: the thread never started, so the retain made for it is released here, once.
        unsafe Unmanaged<AnyObject>.fromOpaque(box).release()
        throw KVMError(.kick, .init(rawValue: result))
    }
    return thread
}

/// Waits for a thread started by ``spawnThread(_:)``.
public func joinThread(_ thread: pthread_t) {
    pthread_join(thread, nil)
}

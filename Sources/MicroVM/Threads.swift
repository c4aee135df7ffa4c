#if canImport(Glibc)
import Glibc
#endif

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
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
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

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where the vCPU threads of a machine wait while it is paused, and how a controller learns
/// that every one of them has stopped.
///
/// A pause is *requested* (`request()`), then each vCPU thread is kicked: its `KVM_RUN`
/// returns `EINTR` at the next exit boundary, after KVM has completed the instruction of the
/// previous exit (KVM's documented way to make a vCPU's state consistent before it is
/// read), and the thread *parks* here. The machine is paused once every live vCPU is parked
/// (`waitUntilSettled()`); vCPUs that ended their loop (a guest `exit`) count as settled.
final class PauseGate: @unchecked Sendable {
    // SAFETY: the mutex and condition live in their own allocations, initialised here and
    // destroyed in deinit; every field below is read or written only with the mutex held,
    // but `isRequested`, an atomic read without it by the vCPU loop.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var requested = false
    private var stopped = false
    private var parked = 0
    private var live: Int
    private var requestedAt = ContinuousClock.now
    private var pausedTotal = Duration.zero
    private let requestFlag = Atomic<Bool>(false)

    init(live: Int) {
        self.live = live
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// True while a pause is requested (one atomic load: the vCPU loop asks at every kick).
    @inline(__always) var isRequested: Bool { requestFlag.load(ordering: .acquiring) }

    /// Requests a pause; false when one is requested already (or the machine is stopping).
    func request() -> Bool {
        locked {
            guard !requested, !stopped else { return false }
            requested = true
            requestedAt = .now
            requestFlag.store(true, ordering: .releasing)
            return true
        }
    }

    /// Called by a vCPU thread after a kick: waits while the pause lasts.
    func park() {
        locked {
            guard requested, !stopped else { return }
            parked += 1
            pthread_cond_broadcast(condition)
            while requested && !stopped { pthread_cond_wait(condition, mutex) }
            parked -= 1
        }
    }

    /// Ends the pause: parked vCPUs re-enter the guest.
    func release() {
        locked {
            guard requested else { return }
            requested = false
            requestFlag.store(false, ordering: .releasing)
            pausedTotal += ContinuousClock.now - requestedAt
            pthread_cond_broadcast(condition)
        }
    }

    /// The machine is stopping: no vCPU parks any more, parked ones wake up.
    func stopAll() {
        locked {
            stopped = true
            requested = false
            requestFlag.store(false, ordering: .releasing)
            pthread_cond_broadcast(condition)
        }
    }

    /// A vCPU's loop ended.
    func finished() {
        locked {
            live -= 1
            pthread_cond_broadcast(condition)
        }
    }

    /// Waits until a requested pause has stopped every live vCPU, or no vCPU is live any more.
    /// Returns true when the machine is paused with at least one live vCPU.
    func waitUntilSettled() -> Bool {
        locked {
            while live > 0 && !(requested && parked == live) && !stopped { pthread_cond_wait(condition, mutex) }
            return live > 0 && requested && parked == live
        }
    }

    /// Time spent paused so far (the run's timeout does not count it).
    var totalPaused: Duration { locked { pausedTotal } }
}

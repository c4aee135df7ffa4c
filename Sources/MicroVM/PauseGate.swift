import Synchronization

/// Where the vCPU threads of a machine wait while it is paused, and how a controller learns
/// that every one of them has stopped.
///
/// A pause is *requested* (`request()`), then each vCPU thread is kicked: its `KVM_RUN`
/// returns `EINTR` at the next exit boundary, after KVM has completed the instruction of the
/// previous exit (KVM's documented way to make a vCPU's state consistent before it is
/// read), and the thread *parks* here. The machine is paused once every live vCPU is parked
/// (`waitUntilSettled()`); vCPUs that ended their loop (a guest `exit`) count as settled.
final class PauseGate: Sendable {
    private struct State {
        var requested = false
        var stopped = false
        var parked = 0
        var live: Int
        var requestedAt = ContinuousClock.now
        var pausedTotal = Duration.zero

        /// Every live vCPU is parked in a requested pause.
        var isPaused: Bool { live > 0 && requested && parked == live }
    }

    private let state: ConditionLock<State>
    /// `State.requested`, readable without the lock by the vCPU loop.
    private let requestFlag = Atomic<Bool>(false)

    init(live: Int) {
        state = ConditionLock(State(live: live))
    }

    /// True while a pause is requested (one atomic load: the vCPU loop asks at every kick).
    @inline(__always) var isRequested: Bool { requestFlag.load(ordering: .acquiring) }

    /// Requests a pause; false when one is requested already (or the machine is stopping).
    func request() -> Bool {
        state.withLock { state in
            guard !state.requested, !state.stopped else { return false }
            state.requested = true
            state.requestedAt = .now
            requestFlag.store(true, ordering: .releasing)
            return true
        }
    }

    /// Called by a vCPU thread after a kick: waits while the pause lasts.
    func park() {
        let parks = state.withLock { state in
            guard state.requested, !state.stopped else { return false }
            state.parked += 1
            return true
        }
        guard parks else { return }
        state.broadcast()
        state.wait(until: { !($0.requested && !$0.stopped) }, then: { $0.parked -= 1 })
    }

    /// Ends the pause: parked vCPUs re-enter the guest.
    func release() {
        let released = state.withLock { state in
            guard state.requested else { return false }
            state.requested = false
            requestFlag.store(false, ordering: .releasing)
            state.pausedTotal += ContinuousClock.now - state.requestedAt
            return true
        }
        if released { state.broadcast() }
    }

    /// The machine is stopping: no vCPU parks any more, parked ones wake up.
    func stopAll() {
        state.withLock { state in
            state.stopped = true
            state.requested = false
            requestFlag.store(false, ordering: .releasing)
        }
        state.broadcast()
    }

    /// A vCPU's loop ended.
    func finished() {
        state.withLock { $0.live -= 1 }
        state.broadcast()
    }

    /// Waits until a requested pause has stopped every live vCPU, or no vCPU is live any more.
    /// Returns true when the machine is paused with at least one live vCPU.
    func waitUntilSettled() -> Bool {
        state.wait(until: { $0.live == 0 || $0.isPaused || $0.stopped }, then: { $0.isPaused })
    }

    /// Time spent paused so far (the run's timeout does not count it).
    var totalPaused: Duration { state.withLock { $0.pausedTotal } }
}

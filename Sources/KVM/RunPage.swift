import CKVM
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The `kvm_run` page of one vCPU, mapped from its fd, plus the thread registered to be
/// kicked. Shared by the `VCPU` and its `VCPUKicker`s, so the page stays mapped while any
/// kicker can still write `immediate_exit` into it.
@safe final class RunPage: @unchecked Sendable {
    // Sound because: `run` points at the start of a MAP_SHARED mapping of the vCPU fd of
    // `size` ≥ sizeof(struct ckvm_run) bytes (KVM_GET_VCPU_MMAP_SIZE is at least one page),
    // which stays mapped until deinit. Fields other than `immediate_exit` are read and written
    // only by the thread that calls KVM_RUN, between runs; `immediate_exit` is written with
    // an atomic store from any thread, as KVM documents.
    let run: UnsafeMutablePointer<ckvm_run>
    let size: Int
    /// The pthread registered to receive kick signals, 0 when none; guarded so that a kick
    /// never signals a thread after it unregistered (and possibly exited).
    let kickTarget = PthreadLock<UInt>(0)

    init(vcpuFD: Int32, size: Int) throws(KVMError) {
        guard size >= MemoryLayout<ckvm_run>.size else {
            throw KVMError(
                .mapRunPage, .invalidArgument, refusal: .invalidArgument("kvm_run mapping size \(size) is too small"))
        }
        var pointer: UnsafeMutableRawPointer?
        // SAFETY: the wrapper stores the mapping's start in the local `pointer`; `size` is at least sizeof(ckvm_run) (checked above), so binding the start to ckvm_run is in bounds.
        let result = unsafe ckvm_mmap(UInt64(size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpuFD, 0, &pointer)
        guard result == 0, let pointer = unsafe pointer else {
            throw KVMError(.mapRunPage, negated: result == 0 ? -ENOMEM : result)
        }
        // SAFETY: the mapping is at least sizeof(ckvm_run) bytes (checked above).
        unsafe self.run = pointer.assumingMemoryBound(to: ckvm_run.self)
        self.size = size
    }

    // SAFETY: deinit: the VCPU and every kicker are gone (they hold this object), so nothing reads the page.
    deinit { _ = unsafe ckvm_munmap(run, UInt64(size)) }

    /// The byte `offset` bytes into the mapping (for port-I/O data, which KVM places at
    /// `io.data_offset`, inside the mapping).
    @inline(__always)
    func bytes(at offset: Int) -> UnsafeMutableRawPointer? {
        // SAFETY: the returned pointer is to 8 bytes inside the mapping ([0, size - 8] checked here); callers read or write at most 4.
        unsafe offset >= 0 && offset <= size - 8 ? UnsafeMutableRawPointer(run) + offset : nil
    }

    func kick() throws(KVMError) {
        // SAFETY: `immediate_exit` is the one field written from any thread; the wrapper stores it atomically, as KVM documents.
        unsafe ckvm_set_immediate_exit(run, 1)
        // A vCPU thread kicking itself is not inside KVM_RUN: `immediate_exit` covers its next
        // entry, and a signal to itself would only cost two syscalls and a handler.
        let result = kickTarget.withLock { thread -> Int32 in
            thread == 0 || thread == ckvm_current_thread() ? 0 : ckvm_kick_thread(thread)
        }
        if result < 0 { throw KVMError(.kick, negated: result) }
    }
}

/// A handle that can stop a vCPU's `run()` from any thread: it sets `immediate_exit` and
/// signals the vCPU's registered thread, so `run()` returns `.interrupted` promptly whether
/// the vCPU is inside `KVM_RUN` or about to enter it.
public struct VCPUKicker: Sendable {
    let page: RunPage

    /// Kicks the vCPU; fails only when signalling its thread fails.
    /// - Throws: ``KVMError`` (`pthread_kill vCPU`) when the signal cannot be sent to the thread.
    public func kick() throws(KVMError) { try page.kick() }
}

/// A deadline for the calling thread's vCPU: a timer that sends the kick signal to the thread
/// that created it at `deadline`, then every `every` until it is dropped, so a thread running
/// a vCPU needs no second thread to enforce a timeout. `VCPU.run()` returns `.interrupted`
/// when it fires; the caller compares the clock with its deadline. Create it on a thread that
/// called `VCPU.registerCurrentThread()` (the kick signal must be handled there).
public struct KickTimer: ~Copyable, Sendable {
    private let timer: UInt

    /// Arms the timer; fails with the errno of `timer_create` or `timer_settime`.
    /// - Parameters:
    ///   - delay: When the first kick is sent.
    ///   - interval: The period of later kicks.
    /// - Throws: ``KVMError`` (`timer_create kick timer`) with the errno of `timer_create` or `timer_settime`.
    public init(after delay: Duration, every interval: Duration) throws(KVMError) {
        var timer: UInt = 0
        // SAFETY: the wrapper writes the timer id into the local `timer`.
        let result = unsafe ckvm_kick_timer_start(Self.nanoseconds(delay), Self.nanoseconds(interval), &timer)
        if result < 0 { throw KVMError(.kickTimer, negated: result) }
        self.timer = timer
    }

    deinit { _ = ckvm_kick_timer_stop(timer) }

    /// Whole nanoseconds, 0 for a negative duration, saturating for one beyond ≈ 584 years.
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max / 2 }
        let (sum, carry) = product.addingReportingOverflow(UInt64(max(attoseconds, 0) / 1_000_000_000))
        return carry ? .max / 2 : sum
    }
}

/// The signal GmemKit sends to a vCPU's thread to stop `KVM_RUN` (a kick, a `KickTimer`).
///
/// GmemKit installs a no-op, process-wide handler for it (without `SA_RESTART`, so
/// `KVM_RUN` returns `EINTR`) the first time a thread calls `VCPU.registerCurrentThread()`,
/// and unblocks it in each registered thread. The default is `SIGRTMIN + 3`. An embedder
/// that uses that signal itself chooses another real-time signal with `use(_:)` before it
/// runs vCPUs; GmemKit never replaces a handler it did not install.
public enum VCPUKickSignal {
    /// The signal kicks are sent with now.
    public static var current: Int32 { ckvm_kick_signal() }

    /// Makes `signal` (`SIGRTMIN` … `SIGRTMAX`) the kick signal and installs the handler for
    /// it. Fails with `EINVAL` for a signal outside that range and `EBUSY` when the signal
    /// already has a handler that is not GmemKit's. Threads registered before the change
    /// keep working if the new signal is not blocked in them (real-time signals are not by
    /// default); register them again otherwise.
    /// - Throws: ``KVMError`` (`set the vCPU kick signal`): `EINVAL` for a signal outside
    ///   `SIGRTMIN`…`SIGRTMAX`, `EBUSY` when it has a handler that is not GmemKit's.
    public static func use(_ signal: Int32) throws(KVMError) {
        let result = ckvm_set_kick_signal(signal)
        if result < 0 {
            throw KVMError(
                .setKickSignal, negated: result, context: "signal \(signal)",
                hint: result == -EBUSY
                    ? "the signal has a handler of its own: choose another real-time signal"
                    : "choose a signal between SIGRTMIN (\(ckvm_sigrtmin())) and SIGRTMAX (\(ckvm_sigrtmax()))")
        }
    }
}

import KVM
import Synchronization

/// Lets another thread stop a running machine: pass one to `Machine.run`, call `stop()`.
public final class RunControl: Sendable {
    let stopRequested = Atomic<Bool>(false)
    let kickers = PthreadLock<[VCPUKicker]>([])

    /// A control that has not asked for a stop.
    public init() {}

    /// Asks every vCPU to stop; the run ends with `.stopped` unless it ended already.
    public func stop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        for kicker in kickers.withLock({ $0 }) { try? kicker.kick() }
    }

    /// True once `stop()` was called or the run is ending.
    public var isStopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
}

/// The state vCPU threads share during one run.
final class RunState: Sendable {
    let control: RunControl
    let started: ContinuousClock.Instant
    let firstExit = PthreadLock<ContinuousClock.Instant?>(nil)
    let cause = PthreadLock<StopCause?>(nil)
    let statuses = PthreadLock<[Int: UInt32]>([:])
    let dumps = PthreadLock<[Int: Registers]>([:])
    let exitCounts = PthreadLock<[Int]>(Array(repeating: 0, count: ExitKind.allCases.count))
    let pings = Atomic<UInt64>(0)
    let passTimes = PthreadLock<[ContinuousClock.Instant]>([])
    let console = PthreadLock<[UInt8]>([])
    let running: Atomic<Int>
    /// Where vCPUs wait while a `MachineHandle` is paused.
    let gate: PauseGate
    /// Whether a guest's snapshot request (`GuestABI.Port.snapshot`) pauses the machine; when
    /// false (`Machine.run`) the request is counted and the guest goes on.
    let pausesOnRequest: Bool
    /// The guest's snapshot requests so far, with the value each wrote.
    let snapshotRequests = PthreadLock<[UInt32]>([])

    init(control: RunControl, started: ContinuousClock.Instant, vcpus: Int, pausesOnRequest: Bool = false) {
        self.control = control
        self.started = started
        self.running = Atomic(vcpus)
        self.gate = PauseGate(live: vcpus)
        self.pausesOnRequest = pausesOnRequest
    }

    /// Asks every vCPU to stop at its next exit boundary and park (see `PauseGate`).
    func requestPause() {
        guard gate.request() else { return }
        for kicker in control.kickers.withLock({ $0 }) { try? kicker.kick() }
    }

    /// Records why the run ends (the first cause wins) and stops every vCPU.
    func end(_ cause: StopCause) {
        let first = self.cause.withLock { current -> Bool in
            guard current == nil else { return false }
            current = cause
            return true
        }
        if first {
            control.stop()
            gate.stopAll()
        }
    }

    /// A vCPU has finished its loop.
    func vcpuFinished() {
        running.subtract(1, ordering: .sequentiallyConsistent)
        gate.finished()
    }
}

/// Kinds of exit counted in the run report.
enum ExitKind: Int, CaseIterable {
    case ioOut, ioIn, mmio, halt, shutdown, failEntry, internalError, memoryFault, systemEvent, interrupted, exception,
        unknown

    init(_ exit: VCPUExit) {
        switch exit {
        case .ioOut: self = .ioOut
        case .ioIn: self = .ioIn
        case .mmioRead, .mmioWrite: self = .mmio
        case .halt: self = .halt
        case .shutdown: self = .shutdown
        case .failEntry: self = .failEntry
        case .internalError: self = .internalError
        case .memoryFault: self = .memoryFault
        case .systemEvent: self = .systemEvent
        case .interrupted: self = .interrupted
        case .exception: self = .exception
        case .unknown: self = .unknown
        }
    }

    var name: String {
        switch self {
        case .ioOut: "io-out"
        case .ioIn: "io-in"
        case .mmio: "mmio"
        case .halt: "halt"
        case .shutdown: "shutdown"
        case .failEntry: "fail-entry"
        case .internalError: "internal-error"
        case .memoryFault: "memory-fault"
        case .systemEvent: "system-event"
        case .interrupted: "interrupted"
        case .exception: "exception"
        case .unknown: "unknown"
        }
    }
}

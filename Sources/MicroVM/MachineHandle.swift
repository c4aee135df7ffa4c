import GuestMemory
import KVM
import Logging

/// The thread `MachineHandle.run()` waits on.
private final class WaiterThread: @unchecked Sendable {
    // Sendable because `thread` is set once, before the continuation can resume, and read after.
    var thread: JoinableThreadBox?
}

/// A machine you can hold: built, then started, paused, resumed, snapshotted and stopped
/// from the thread that holds it, while its vCPUs run on threads of their own
/// (`gmem-vcpu-N`), each in the same allocation-free exit loop as `Machine.run`.
///
/// The model is Firecracker's `Vmm::start_threaded` and containerization's
/// `VirtualMachineInstance`: a value with a lifecycle whose every transition is checked.
///
///     built ──start──▶ running ──pause──▶ paused ──resume──▶ running
///       │                 │                  │
///       └──────stop───────┴──────stop────────┴──▶ ended ◀──wait── running (the guest ends)
///
/// A transition the current state does not allow throws `MachineError.invalidTransition`.
/// `pause()` requests a pause, kicks every vCPU and waits until each one stopped at an exit
/// boundary (`PauseGate`): only then are registers and devices consistent for a snapshot.
/// Everything the machine owns (VM, vCPUs, guest_memfds, mappings, threads) is released when
/// the last reference to the handle goes; `stop()` or `wait()` ends the threads earlier.
public final class MachineHandle: Sendable {
    /// Where the machine is in its lifecycle.
    public enum State: String, Sendable, CustomStringConvertible {
        /// `built`: created, no vCPU has run; `running`: started; `paused`: every vCPU stopped at an
        /// exit boundary; `ended`: the run is over.
        case built, running, paused, ended
        /// The state's name (`built`, `running`, `paused`, `ended`).
        public var description: String { rawValue }
    }

    struct Lifecycle {
        var state: State = .built
        var threads: [JoinableThreadBox] = []
        var report: RunReport?
    }

    /// What the machine was built from (for a restored machine: the snapshot's layout).
    public let config: MachineConfig
    let vm: VirtualMachine
    let memory: GuestMemoryMap
    /// Every vCPU, in index order; `live` lists those whose loop runs (a restored vCPU that
    /// had already exited stays, for its state, but does not run again).
    let runners: [VCPURunner]
    let live: [Int]
    let run: RunState
    let control: RunControl
    let logger: Logger
    /// The image a restored machine was first built from (its config holds no image bytes).
    let restoredImage: SnapshotImage?
    private let lifecycle = PthreadLock(Lifecycle())

    init(
        config: MachineConfig, vm: consuming VirtualMachine, memory: GuestMemoryMap, runners: [VCPURunner],
        live: [Int], run: RunState, control: RunControl, logger: Logger, restoredImage: SnapshotImage? = nil
    ) {
        self.restoredImage = restoredImage
        self.config = config
        self.vm = vm
        self.memory = memory
        self.runners = runners
        self.live = live
        self.run = run
        self.control = control
        self.logger = logger
    }

    deinit {
        // Never leave a vCPU thread behind: stop, wake parked ones, join (JoinableThread).
        control.stop()
        run.gate.stopAll()
        lifecycle.withLock { $0.threads.forEach { $0.join() } }
    }

    /// The regions of a machine built from `config`: RAM at 0, then each extra region.
    static func layout(of config: MachineConfig) -> [GuestMemoryMap.RegionSpec] {
        var layout: [GuestMemoryMap.RegionSpec] = [
            .init(name: "ram", start: GuestPhysicalAddress(0), size: config.memorySize)
        ]
        var next = config.memorySize
        for (index, size) in config.extraRegions.enumerated() {
            layout.append(
                .init(
                    name: "extra\(index + 1)", start: GuestPhysicalAddress(next), size: size,
                    flags: config.extraRegionFlags))
            next += size
        }
        return layout
    }

    /// Builds a machine from `config` (VM, guest_memfd regions, tables, image, vCPUs at their
    /// entry state) without running it. With `pauseAfterExits` N > 0, the machine pauses
    /// itself once vCPU 0 has handled N exits (wait for it with `waitUntilPaused()`); with
    /// `pausesOnGuestRequest`, a guest's write to `GuestABI.Port.snapshot` pauses it.
    /// `prepare` may write guest memory after the image is loaded, as in `Machine.run`.
    /// - Parameters:
    ///   - config: the guest, its memory and vCPUs.
    ///   - pauseAfterExits: pause once vCPU 0 has handled this many exits (0: never).
    ///   - pausesOnGuestRequest: whether a guest's snapshot request pauses the machine.
    ///   - console: called with each byte the guest writes to the console port.
    ///   - prepare: may write guest memory after the image is loaded and before any vCPU runs.
    ///   - logger: a swift-log `Logger` (`import Logging`, package
    ///     `https://github.com/apple/swift-log`) for debug messages of the build and run; the
    ///     default has label `gmemkit.microvm`.
    /// - Throws: `MachineError` when the configuration is invalid or a step fails.
    public static func build(
        _ config: MachineConfig,
        pauseAfterExits: Int = 0,
        pausesOnGuestRequest: Bool = false,
        console: @escaping @Sendable (UInt8) -> Void = { _ in },
        prepare: (GuestMemoryMap) throws(GuestMemoryError) -> Void = { _ in },
        logger: Logger = Logger(label: "gmemkit.microvm")
    ) throws(MachineError) -> MachineHandle {
        try build(
            config, control: RunControl(), pauseAfterExits: pauseAfterExits, pausesOnGuestRequest: pausesOnGuestRequest,
            console: console, prepare: prepare, logger: logger)
    }

    /// `build` with the caller's `RunControl` (`Machine.run`).
    static func build(
        _ config: MachineConfig,
        control: RunControl,
        pauseAfterExits: Int = 0,
        pausesOnGuestRequest: Bool = false,
        console: @escaping @Sendable (UInt8) -> Void,
        prepare: (GuestMemoryMap) throws(GuestMemoryError) -> Void,
        logger: Logger
    ) throws(MachineError) -> MachineHandle {
        try config.validate()
        guard pauseAfterExits >= 0 else {
            throw .invalidConfiguration("the exit count to pause at must not be negative")
        }
        let image: ELFImage
        do {
            image = try config.elfImage()
            try image.checkFits(memorySize: config.memorySize, vcpus: config.vcpus)
        } catch { throw .image(error) }

        let state = RunState(
            control: control, started: .now, vcpus: config.vcpus, pausesOnRequest: pausesOnGuestRequest)
        let vm: VirtualMachine
        do { vm = try KVMSystem(logger: logger).createVM() } catch { throw .kernel(error) }
        let memory: GuestMemoryMap
        do {
            memory = try GuestMemoryMap(vm: vm, layout: layout(of: config), logger: logger)
            try LongMode.writeTables(into: memory, memorySize: config.addressSpaceEnd)
            try image.copySegments(into: memory)
            try prepare(memory)
        } catch { throw .memory(error) }

        var runners: [VCPURunner] = []
        do {
            for index in 0..<config.vcpus {
                let vcpu = try vm.createVCPU(id: UInt32(index))
                try vcpu.setSpecialRegisters(LongMode.specialRegisters(from: try vcpu.specialRegisters()))
                var registers = LongMode.entryRegisters(
                    entry: image.entry, index: index, count: config.vcpus,
                    memorySize: config.memorySize)
                config.adjustEntryRegisters?(index, &registers)
                try vcpu.setRegisters(registers)
                control.kickers.withLock { $0.append(vcpu.kicker) }
                runners.append(
                    VCPURunner(
                        index: index, vcpu: vcpu, state: state, memory: memory,
                        parameter: config.parameter, consoleLimit: config.consoleLimit,
                        consoleSink: console, pauseAfterExits: index == 0 ? pauseAfterExits : 0))
            }
        } catch { throw .kernel(error) }
        logger.debug("built \(config.name): \(config.vcpus) vCPU(s), \(config.memorySize) bytes of guest_memfd")
        return MachineHandle(
            config: config, vm: vm, memory: memory, runners: runners, live: Array(0..<config.vcpus),
            run: state, control: control, logger: logger)
    }

    /// The current state.
    public var state: State { lifecycle.withLock { $0.state } }

    /// Starts every vCPU that has not exited on a thread of its own (`gmem-vcpu-N`); vCPU 0's
    /// thread also enforces `config.timeout` (time spent paused does not count).
    /// - Throws: ``MachineError`` `invalidTransition` unless the machine is `built`, `thread` when a
    ///   vCPU thread cannot start (the threads already started are stopped).
    public func start() throws(MachineError) {
        try start(threadsFor: live)
    }

    /// Starts the vCPUs in `indices` (a subset of `live`) on threads of their own; the first
    /// live vCPU, wherever it runs, enforces `config.timeout`.
    private func start(threadsFor indices: [Int]) throws(MachineError) {
        try lifecycle.withLock { (life: inout Lifecycle) throws(MachineError) in
            guard life.state == .built else { throw .invalidTransition(action: "start", state: life.state.rawValue) }
            for index in indices {
                let runner = runners[index]
                let timeout: Duration? = index == live.first ? config.timeout : nil
                do throws(MachineError) {
                    let thread = try JoinableThread { runner.run(onCallerThread: false, timeout: timeout) }
                    life.threads.append(JoinableThreadBox(thread))
                } catch {
                    run.end(.stopped)
                    life.threads.forEach { $0.join() }
                    life.threads = []
                    life.state = .ended
                    throw error
                }
            }
            life.state = .running
        }
    }

    /// `start()` then `wait()`, with the first live vCPU on the calling thread instead of a
    /// thread of its own (`Machine.run`).
    func runOnCallingThread() throws(MachineError) -> RunReport {
        guard let first = live.first else {
            try start()
            return try wait()
        }
        try start(threadsFor: Array(live.dropFirst()))
        runners[first].run(onCallerThread: true, timeout: config.timeout)
        if control.isStopping { run.end(.stopped) }  // no-op when a cause is set already
        control.stop()
        return finish()
    }

    /// Starts the machine and waits, without blocking the caller's thread, until the guest
    /// ends (or the timeout); returns the report. Cancelling the calling Task stops every
    /// vCPU at its next exit boundary and ends the run with `StopCause.cancelled` (unless it
    /// had ended already); the report is returned, not an error.
    /// - Throws: `MachineError.invalidTransition` when the machine is not built (it runs once),
    ///   `.thread` when a thread cannot be created.
    public func run() async throws(MachineError) -> RunReport {
        try start()
        let waiter = WaiterThread()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<RunReport, MachineError>, Never>) in
                do throws(MachineError) {
                    // finish() joins the vCPU threads: a blocking wait, kept off the Task's executor.
                    waiter.thread = JoinableThreadBox(
                        try JoinableThread { continuation.resume(returning: .success(self.finish())) })
                } catch {
                    _ = self.stop()
                    continuation.resume(returning: .failure(error))
                }
            }
        } onCancel: {
            run.end(.cancelled)
        }
        waiter.thread?.join()  // it has resumed the Task and is ending
        return try result.get()
    }

    /// Stops every vCPU at its next exit boundary and waits until all have stopped. Throws
    /// when the machine is not running, or when the guest ended before it could pause.
    /// - Throws: ``MachineError`` `invalidTransition` unless the machine is running, or when the guest
    ///   ended before it could pause.
    public func pause() throws(MachineError) {
        try lifecycle.withLock { (life: inout Lifecycle) throws(MachineError) in
            guard life.state == .running else { throw .invalidTransition(action: "pause", state: life.state.rawValue) }
        }
        run.requestPause()
        try settle(action: "pause")
    }

    /// Waits until the machine pauses itself (`pauseAfterExits`, a guest's snapshot request)
    /// or the guest ends: true when paused, false when it ended.
    /// - Throws: ``MachineError`` `invalidTransition` unless the machine is running.
    public func waitUntilPaused() throws(MachineError) -> Bool {
        try lifecycle.withLock { (life: inout Lifecycle) throws(MachineError) in
            guard life.state == .running else {
                throw .invalidTransition(action: "wait for a pause of", state: life.state.rawValue)
            }
        }
        do { try settle(action: nil) } catch { return false }
        return true
    }

    private func settle(action: String?) throws(MachineError) {
        let paused = run.gate.waitUntilSettled()
        lifecycle.withLock { $0.state = paused ? .paused : $0.state }
        if !paused {
            let cause = run.cause.withLock { $0 } ?? .stopped
            throw .invalidTransition(action: action ?? "pause", state: "ending (\(cause))")
        }
    }

    /// Lets the paused vCPUs run again.
    /// - Throws: ``MachineError`` `invalidTransition` unless the machine is paused.
    public func resume() throws(MachineError) {
        try lifecycle.withLock { (life: inout Lifecycle) throws(MachineError) in
            guard life.state == .paused else { throw .invalidTransition(action: "resume", state: life.state.rawValue) }
            life.state = .running
        }
        run.gate.release()
    }

    /// Ends the run (`StopCause.stopped` unless it ended already) and returns its report;
    /// a machine never started just ends.
    @discardableResult
    public func stop() -> RunReport {
        if lifecycle.withLock({ $0.state == .built }) {
            run.end(.stopped)
        }
        control.stop()
        run.end(.stopped)
        return finish()
    }

    /// Waits until the guest ends (or the timeout), joins every vCPU thread and returns the
    /// report. Throws when the machine was never started or is paused (it would never end).
    /// - Throws: ``MachineError`` `invalidTransition` when the machine was never started or is paused.
    public func wait() throws(MachineError) -> RunReport {
        try lifecycle.withLock { (life: inout Lifecycle) throws(MachineError) in
            guard life.state == .running || life.state == .ended else {
                throw .invalidTransition(action: "wait for", state: life.state.rawValue)
            }
        }
        return finish()
    }

    private func finish() -> RunReport {
        lifecycle.withLock { life in
            if let report = life.report { return report }
            life.threads.forEach { $0.join() }
            life.threads = []
            if run.running.load(ordering: .sequentiallyConsistent) == 0 || life.state == .built { run.end(.stopped) }
            control.kickers.withLock { $0.removeAll() }
            let report = makeReport()
            life.report = report
            life.state = .ended
            return report
        }
    }

    /// The console output so far (up to `config.consoleLimit`; a restored machine's includes
    /// what the guest wrote before the snapshot).
    public var consoleOutput: [UInt8] { run.console.withLock { $0 } }
    /// Pings so far (a restored machine's include those before the snapshot).
    public var pings: UInt64 { run.pings.load(ordering: .relaxed) }
    /// The guest's snapshot requests so far (`GuestABI.Port.snapshot`), with their values.
    public var snapshotRequests: [UInt32] { run.snapshotRequests.withLock { $0 } }
    /// The number of vCPUs whose loop still runs.
    public var liveVCPUs: Int { run.running.load(ordering: .sequentiallyConsistent) }

    func makeReport() -> RunReport {
        let ended = ContinuousClock.now
        let firstExit = run.firstExit.withLock { $0 }
        let passTimes = run.passTimes.withLock { $0 }
        var passes: [Duration] = []
        var previous = firstExit ?? run.started
        for time in passTimes {
            passes.append(time - previous)
            previous = time
        }
        let counts = run.exitCounts.withLock { $0 }
        var exits: [String: Int] = [:]
        for kind in ExitKind.allCases where counts[kind.rawValue] > 0 { exits[kind.name] = counts[kind.rawValue] }
        return RunReport(
            guest: config.name, vcpus: config.vcpus, memorySize: config.memorySize, parameter: config.parameter,
            cause: run.cause.withLock { $0 } ?? .stopped,
            vcpuStatuses: run.statuses.withLock { $0 },
            timeToFirstExit: firstExit.map { $0 - run.started },
            totalTime: ended - run.started,
            exits: exits,
            pings: run.pings.load(ordering: .relaxed),
            passes: passes,
            memory: memory.usage(measuringResidency: config.measuresResidency),
            console: run.console.withLock { $0 },
            registerDumps: run.dumps.withLock { $0 }
        )
    }
}

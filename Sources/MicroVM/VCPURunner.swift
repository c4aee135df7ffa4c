import GuestMemory
import KVM

/// One vCPU and the loop that runs it on its own thread: enter the guest, dispatch the exit
/// to a device, repeat until the guest exits, fails, or the run is stopped. The loop
/// allocates nothing per exit (console bytes go to a buffer that grows rarely).
final class VCPURunner: Sendable {
    let index: Int
    let vcpu: VCPU
    let state: RunState
    let memory: GuestMemoryMap
    let requests: MemoryRequestDevice
    let parameter: UInt32
    let consoleLimit: Int
    let consoleSink: @Sendable (UInt8) -> Void
    /// Requests a pause when this vCPU has handled this many exits (0: never).
    let pauseAfterExits: Int

    init(
        index: Int, vcpu: consuming VCPU, state: RunState, memory: GuestMemoryMap, parameter: UInt32,
        consoleLimit: Int, consoleSink: @escaping @Sendable (UInt8) -> Void, pauseAfterExits: Int = 0
    ) {
        self.index = index
        self.vcpu = vcpu
        self.state = state
        self.memory = memory
        self.requests = MemoryRequestDevice(memory: memory)
        self.parameter = parameter
        self.consoleLimit = consoleLimit
        self.consoleSink = consoleSink
        self.pauseAfterExits = pauseAfterExits
    }

    /// The loop, on a thread of its own or on the thread that called `Machine.run`
    /// (`onCallerThread`: that thread keeps its name). With a `timeout`, a kick timer on this
    /// thread ends the run with `.timeout` when it expires.
    func run(onCallerThread: Bool, timeout: Duration? = nil) {
        defer { state.vcpuFinished() }
        do {
            try vcpu.registerCurrentThread(renaming: !onCallerThread)
        } catch {
            state.end(.kernelError(vcpu: index, error: error))
            return
        }
        defer { vcpu.unregisterThread() }
        guard let timeout else { return loop(deadline: nil) }
        let timer: KickTimer
        do {
            // Fires at the deadline, then every millisecond: a signal that lands while this
            // thread is outside KVM_RUN is consumed by the no-op handler, the next one is not.
            timer = try KickTimer(after: timeout, every: .milliseconds(1))
        } catch {
            state.end(.kernelError(vcpu: index, error: error))
            return
        }
        loop(deadline: state.started + timeout)
        _ = consume timer  // disarmed only after the loop
    }

    /// Enter the guest, dispatch the exit, repeat.
    private func loop(deadline: ContinuousClock.Instant?) {
        var counts = [Int](repeating: 0, count: ExitKind.allCases.count)
        defer { state.exitCounts.withLock { total in for i in counts.indices { total[i] += counts[i] } } }
        var sawFirstExit = false
        var handled = 0

        while !state.control.isStopping {
            let exit: VCPUExit
            do {
                exit = try vcpu.run()
            } catch {
                fail(.kernelError(vcpu: index, error: error))
                return
            }
            if !sawFirstExit {
                sawFirstExit = true
                let now = ContinuousClock.now
                state.firstExit.withLock { if $0 == nil { $0 = now } }
            }
            counts[ExitKind(exit).rawValue] += 1
            handled &+= 1
            if handled == pauseAfterExits { state.requestPause() }
            switch exit {
            case .ioOut(let port, _, _, let value):
                switch port {
                case GuestABI.Port.console:
                    let byte = UInt8(truncatingIfNeeded: value)
                    state.console.withLock { if $0.count < consoleLimit { $0.append(byte) } }
                    consoleSink(byte)
                case GuestABI.Port.ping:
                    state.pings.add(1, ordering: .relaxed)
                case GuestABI.Port.passDone:
                    let now = ContinuousClock.now
                    state.passTimes.withLock { $0.append(now) }
                case GuestABI.Port.snapshot:
                    state.snapshotRequests.withLock { $0.append(value) }
                    // This vCPU's kick only sets immediate_exit: its next KVM_RUN completes
                    // the `out` and returns EINTR, where it parks like the others.
                    if state.pausesOnRequest { state.requestPause() }
                case GuestABI.Port.memoryRequest:
                    if let problem = requests.serve(blockAddress: UInt64(value)) {
                        fail(.badDeviceRequest(vcpu: index, detail: problem))
                        return
                    }
                case GuestABI.Port.exit:
                    state.statuses.withLock { $0[index] = value }
                    // This thread leaves KVM_RUN for good: stop being a kick target first, so
                    // ending the run does not signal a thread that is already on its way out.
                    vcpu.unregisterThread()
                    if index == 0 { state.end(.exited(status: value)) }
                    return
                default:
                    fail(.unhandledPort(vcpu: index, port: port, write: true))
                    return
                }
            case .ioIn(let port, _, _):
                guard port == GuestABI.Port.parameter else {
                    fail(.unhandledPort(vcpu: index, port: port, write: false))
                    return
                }
                vcpu.completeInput(UInt64(parameter))
            case .interrupted:
                // A kick at an exit boundary: KVM completed the previous exit's instruction
                // before returning EINTR, so the vCPU's state is consistent here (pause point).
                if state.gate.isRequested {
                    state.gate.park()
                    continue
                }
                if let deadline, ContinuousClock.now >= deadline + state.gate.totalPaused {
                    vcpu.unregisterThread()
                    state.end(.timeout)
                    return
                }
                continue
            case .mmioRead(let address, _):
                fail(.unhandledMMIO(vcpu: index, address: address.rawValue, write: false))
                return
            case .mmioWrite(let address, _, _):
                fail(.unhandledMMIO(vcpu: index, address: address.rawValue, write: true))
                return
            case .memoryFault(let flags, let gpa, let size):
                let region = try? memory.region(containing: gpa).name
                fail(
                    .memoryFault(
                        vcpu: index, guestPhysicalAddress: gpa.rawValue, size: size, flags: flags, region: region))
                return
            case .halt:
                fail(.halt(vcpu: index))
                return
            case .shutdown:
                fail(.shutdown(vcpu: index))
                return
            case .failEntry(let reason, _):
                fail(.failEntry(vcpu: index, reason: reason))
                return
            case .internalError(let suberror, _, _):
                fail(.internalError(vcpu: index, suberror: suberror))
                return
            case .systemEvent(let type, _):
                fail(.systemEvent(vcpu: index, type: type))
                return
            case .exception(let vector, _):
                fail(.exception(vcpu: index, vector: vector))
                return
            case .unknown(let reason):
                fail(.unknownExit(vcpu: index, reason: reason))
                return
            }
        }
    }

    /// Ends the run with `cause`, keeping this vCPU's registers for the report.
    private func fail(_ cause: StopCause) {
        if let registers = try? vcpu.registers() {
            state.dumps.withLock { $0[index] = registers }
        }
        vcpu.unregisterThread()
        state.end(cause)
    }
}

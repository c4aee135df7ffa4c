import GuestMemory
import KVM
import Logging

/// Boots a guest whose RAM is guest_memfd and runs it to the end: the micro-VM's builder
/// and run loop in one place.
///
/// `run` creates the VM, one guest_memfd for all of RAM, the long-mode tables and the image;
/// it runs vCPU 0 on the calling thread and every further vCPU on a thread of its own, until
/// vCPU 0 exits (or a failure, the timeout, or `RunControl.stop()`), joins every thread and
/// tears everything down before it returns. Nothing it creates outlives the call: no fd,
/// mapping, timer or thread. (The calling thread keeps GmemKit's kick signal unblocked.)
public enum Machine {
    /// Runs `config` and returns what happened. A guest that crashes, faults or times out
    /// is a report (see `RunReport.cause`); an error means the machine could not be built.
    /// `prepare` may write guest memory after the image is loaded and before any vCPU runs.
    public static func run(
        _ config: MachineConfig,
        control: RunControl = RunControl(),
        console: @escaping @Sendable (UInt8) -> Void = { _ in },
        prepare: (GuestMemoryMap) throws(GuestMemoryError) -> Void = { _ in },
        logger: Logger = Logger(label: "gmemkit.microvm")
    ) throws(MachineError) -> RunReport {
        try config.validate()
        let image: ELFImage
        do {
            image = try config.elfImage()
            try image.checkFits(memorySize: config.memorySize, vcpus: config.vcpus)
        } catch { throw .image(error) }

        let started = ContinuousClock.now
        let state = RunState(control: control, started: started, vcpus: config.vcpus)
        var memoryUsage: [GuestMemoryRegion.Usage] = []
        do {
            let kvm: KVMSystem
            do { kvm = try KVMSystem(logger: logger) } catch { throw MachineError.kernel(error) }
            let vm: VirtualMachine
            do { vm = try kvm.createVM() } catch { throw MachineError.kernel(error) }
            let memory: GuestMemoryMap
            do {
                var layout: [GuestMemoryMap.RegionSpec] = [.init(name: "ram", start: GuestPhysicalAddress(0), size: config.memorySize)]
                var next = config.memorySize
                for (index, size) in config.extraRegions.enumerated() {
                    layout.append(.init(name: "extra\(index + 1)", start: GuestPhysicalAddress(next), size: size,
                                        flags: config.extraRegionFlags))
                    next += size
                }
                memory = try GuestMemoryMap(vm: vm, layout: layout, logger: logger)
                try LongMode.writeTables(into: memory, memorySize: config.addressSpaceEnd)
                try image.copySegments(into: memory)
                try prepare(memory)
            } catch { throw MachineError.memory(error) }

            var runners: [VCPURunner] = []
            do {
                for index in 0..<config.vcpus {
                    let vcpu = try vm.createVCPU(id: UInt32(index))
                    try vcpu.setSpecialRegisters(LongMode.specialRegisters(from: try vcpu.specialRegisters()))
                    var registers = LongMode.entryRegisters(entry: image.entry, index: index, count: config.vcpus,
                                                            memorySize: config.memorySize)
                    config.adjustEntryRegisters?(index, &registers)
                    try vcpu.setRegisters(registers)
                    control.kickers.withLock { $0.append(vcpu.kicker) }
                    runners.append(VCPURunner(index: index, vcpu: vcpu, state: state, memory: memory,
                                              parameter: config.parameter, consoleLimit: config.consoleLimit,
                                              consoleSink: console))
                }
            } catch { throw MachineError.kernel(error) }
            logger.debug("booting \(config.name): \(config.vcpus) vCPU(s), \(config.memorySize) bytes of guest_memfd")

            // vCPUs 1… on threads of their own; vCPU 0 on this thread, which would otherwise
            // only wait: a thread per run costs a clone, a join and two cross-CPU wake-ups,
            // about a tenth of a cold start on the reference host (BENCHMARKS.md, cold-start).
            var threads: [JoinableThreadBox] = []
            for runner in runners.dropFirst() {
                do {
                    threads.append(JoinableThreadBox(try JoinableThread { runner.run(onCallerThread: false) }))
                } catch {
                    state.end(.stopped)
                    threads.forEach { $0.join() }
                    throw error
                }
            }
            runners[0].run(onCallerThread: true, timeout: config.timeout)
            if control.isStopping { state.end(.stopped) }  // no-op when a cause is set already
            control.stop()
            threads.forEach { $0.join() }
            if state.running.load(ordering: .sequentiallyConsistent) == 0 {
                state.end(.stopped)  // every vCPU ended without vCPU 0 writing a status
            }
            memoryUsage = memory.usage(measuringResidency: config.measuresResidency)
            control.kickers.withLock { $0.removeAll() }
            _ = consume runners
        }  // teardown: vCPUs, guest memory, VM and /dev/kvm close here

        let ended = ContinuousClock.now
        let firstExit = state.firstExit.withLock { $0 }
        let passTimes = state.passTimes.withLock { $0 }
        var passes: [Duration] = []
        var previous = firstExit ?? started
        for time in passTimes {
            passes.append(time - previous)
            previous = time
        }
        let counts = state.exitCounts.withLock { $0 }
        var exits: [String: Int] = [:]
        for kind in ExitKind.allCases where counts[kind.rawValue] > 0 { exits[kind.name] = counts[kind.rawValue] }
        return RunReport(
            guest: config.name, vcpus: config.vcpus, memorySize: config.memorySize, parameter: config.parameter,
            cause: state.cause.withLock { $0 } ?? .stopped,
            vcpuStatuses: state.statuses.withLock { $0 },
            timeToFirstExit: firstExit.map { $0 - started },
            totalTime: ended - started,
            exits: exits,
            pings: state.pings.load(ordering: .relaxed),
            passes: passes,
            memory: memoryUsage,
            console: state.console.withLock { $0 },
            registerDumps: state.dumps.withLock { $0 }
        )
    }
}

extension MachineConfig {
    /// The image to boot: `parsedImage`, or `image` parsed.
    func elfImage() throws(ELFError) -> ELFImage {
        if let parsedImage { return parsedImage }
        return try ELFImage(image)
    }
}

extension ELFImage {
    /// Copies every segment's file bytes to its guest-physical address and zero-fills the
    /// rest of its memory size (the image was checked to fit, `checkFits`).
    func copySegments(into memory: GuestMemoryMap) throws(GuestMemoryError) {
        for (index, segment) in segments.enumerated() {
            try memory.write(fileBytes(ofSegment: index), at: GuestPhysicalAddress(segment.physicalAddress))
            if segment.memorySize > segment.fileSize {
                try memory.fill(0, at: GuestPhysicalAddress(segment.physicalAddress + segment.fileSize),
                                count: segment.memorySize - segment.fileSize)
            }
        }
    }
}

/// A thread in an array (arrays hold copyable elements).
final class JoinableThreadBox {
    private var thread: JoinableThread?
    init(_ thread: consuming JoinableThread) { self.thread = consume thread }
    func join() { thread.take()?.join() }
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64.min`/`Int64.max` beyond ≈ 292 years.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, carry) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return carry ? (product < 0 ? .min : .max) : sum
    }
}

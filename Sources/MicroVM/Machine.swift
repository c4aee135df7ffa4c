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
    ///
    /// This is `MachineHandle.build` and a run to the end, with vCPU 0 on the calling thread
    /// (which would otherwise only wait: a thread per run costs a clone, a join and two
    /// cross-CPU wake-ups, about a tenth of a cold start on the reference host, BENCHMARKS.md).
    /// It blocks the calling thread; from Swift concurrency use the `async` overload, which
    /// honours Task cancellation.
    /// - Parameters:
    ///   - config: the guest, its memory and vCPUs.
    ///   - control: lets another thread stop the run (`RunControl.stop()`; cause `.stopped`).
    ///   - console: called with each byte the guest writes to the console port.
    ///   - prepare: may write guest memory after the image is loaded and before any vCPU runs.
    ///   - logger: a swift-log `Logger` (`import Logging`, package
    ///     `https://github.com/apple/swift-log`) for debug messages of the build and run; the
    ///     default has label `gmemkit.microvm`.
    /// - Throws: `MachineError` when the machine cannot be built.
    public static func run(
        _ config: MachineConfig,
        control: RunControl = RunControl(),
        console: @escaping @Sendable (UInt8) -> Void = { _ in },
        prepare: (GuestMemoryMap) throws(GuestMemoryError) -> Void = { _ in },
        logger: Logger = Logger(label: "gmemkit.microvm")
    ) throws(MachineError) -> RunReport {
        let machine = try MachineHandle.build(
            config, control: control, console: console, prepare: prepare, logger: logger)
        return try machine.runOnCallingThread()
        // `machine` is the only reference: VM, vCPUs, guest memory and /dev/kvm close here.
    }

    /// Runs `config` to its end without blocking the caller's thread (every vCPU runs on a
    /// thread of its own) and returns what happened.
    ///
    /// Cancelling the calling Task stops every vCPU at its next exit boundary (a kick), and
    /// the run ends with `StopCause.cancelled` (unless it had ended already): the call returns
    /// promptly with that report rather than throwing, so what the guest did is not lost.
    /// - Parameters: as `run(_:control:console:prepare:logger:)`, without `control`.
    /// - Throws: `MachineError` when the machine cannot be built or its threads not started.
    public static func run(
        _ config: MachineConfig,
        console: @escaping @Sendable (UInt8) -> Void = { _ in },
        prepare: (GuestMemoryMap) throws(GuestMemoryError) -> Void = { _ in },
        logger: Logger = Logger(label: "gmemkit.microvm")
    ) async throws(MachineError) -> RunReport {
        let machine = try MachineHandle.build(config, console: console, prepare: prepare, logger: logger)
        return try await machine.run()
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
                try memory.fill(
                    0, at: GuestPhysicalAddress(segment.physicalAddress + segment.fileSize),
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

/// A duration as whole nanoseconds, the unit of snapshot files and run reports.
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

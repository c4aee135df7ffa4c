/// Why `VCPU.run()` returned: the decoded `kvm_run` exit.
///
/// Payloads are plain values copied out of the `kvm_run` page, so decoding allocates
/// nothing. A port-I/O *in* or MMIO read is completed with `VCPU.completeInput(_:)` before the
/// next `run()`.
public enum VCPUExit: Hashable, Sendable {
    /// The guest wrote to an I/O port: `size` bytes (1, 2 or 4) × `count`; `value` is the first
    /// element, zero-extended (the whole datum for the usual `count == 1`).
    case ioOut(port: UInt16, size: UInt8, count: UInt32, value: UInt32)
    /// The guest read from an I/O port; answer with `completeInput(_:)`.
    case ioIn(port: UInt16, size: UInt8, count: UInt32)
    /// The guest wrote to an address that no memslot backs.
    case mmioWrite(address: UInt64, length: UInt32, value: UInt64)
    /// The guest read from an address that no memslot backs; answer with `completeInput(_:)`.
    case mmioRead(address: UInt64, length: UInt32)
    /// The guest executed `hlt` (never at CPL3).
    case halt
    /// The guest triple-faulted or otherwise shut down.
    case shutdown
    /// The CPU refused to enter the guest; `reason` is hardware-specific.
    case failEntry(reason: UInt64, cpu: UInt32)
    /// KVM could not handle an exit; `suberror` is `KVM_INTERNAL_ERROR_*`.
    case internalError(suberror: UInt32, dataCount: UInt32, firstData: UInt64)
    /// A guest access could not be served from memory (GMEM-SPEC G2, G3): `KVM_RUN` failed
    /// with `EFAULT` and exit reason `KVM_EXIT_MEMORY_FAULT`.
    case memoryFault(flags: UInt64, guestPhysicalAddress: UInt64, size: UInt64)
    /// A system event: `type` is `KVM_SYSTEM_EVENT_*` (shutdown 1, reset 2, crash 3 …).
    case systemEvent(type: UInt32, flags: UInt64)
    /// `run()` was interrupted by a kick (`immediate_exit` or a signal, `EINTR`).
    case interrupted
    /// An exception exit (`KVM_EXIT_EXCEPTION`).
    case exception(vector: UInt32, errorCode: UInt32)
    /// Any other exit reason, with the number the kernel reported.
    case unknown(reason: UInt32)

    /// True for memory faults the guest caused on private memory (`KVM_MEMORY_EXIT_FLAG_PRIVATE`).
    public var isPrivateMemoryFault: Bool {
        if case .memoryFault(let flags, _, _) = self { return flags & (1 << 3) != 0 }
        return false
    }
}

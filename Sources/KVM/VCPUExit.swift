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
    case mmioWrite(address: GuestPhysicalAddress, length: UInt32, value: UInt64)
    /// The guest read from an address that no memslot backs; answer with `completeInput(_:)`.
    case mmioRead(address: GuestPhysicalAddress, length: UInt32)
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
    case memoryFault(flags: UInt64, guestPhysicalAddress: GuestPhysicalAddress, size: UInt64)
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

extension VCPUExit: CustomStringConvertible {
    /// The exit in words, with the kernel's name for the reason and, where it is usually a
    /// setup mistake, what to check.
    public var description: String {
        switch self {
        case .ioOut(let port, let size, let count, let value):
            return
                "port I/O out: port 0x\(String(port, radix: 16)), \(size) byte(s) × \(count), first value 0x\(String(value, radix: 16))"
        case .ioIn(let port, let size, let count):
            return
                "port I/O in: port 0x\(String(port, radix: 16)), \(size) byte(s) × \(count) (answer with completeInput(_:))"
        case .mmioWrite(let address, let length, let value):
            return
                "MMIO write of \(length) byte(s), 0x\(String(value, radix: 16)), at \(address): no memslot backs that address"
        case .mmioRead(let address, let length):
            return
                "MMIO read of \(length) byte(s) at \(address): no memslot backs that address (answer with completeInput(_:))"
        case .halt:
            return "the guest executed hlt (KVM_EXIT_HLT)"
        case .shutdown:
            return
                "the guest shut down (KVM_EXIT_SHUTDOWN), usually a triple fault: an exception with no usable IDT, e.g. a page fault outside the identity map"
        case .failEntry(let reason, let cpu):
            return
                "the CPU refused to enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason 0x\(String(reason, radix: 16)), host CPU \(cpu)): the special registers are inconsistent"
        case .internalError(let suberror, let dataCount, let firstData):
            let what: String
            switch suberror {
            case 1:
                what =
                    "KVM could not emulate an instruction (KVM_INTERNAL_ERROR_EMULATION); a new vCPU starts in real mode at 0xFFFFFFF0: set its registers (VCPU.enterLongMode(at:stackPointer:tablesAt:)) and check the code lies in a memslot with a host mapping"
            case 2:
                what =
                    "an exception occurred while KVM delivered another (KVM_INTERNAL_ERROR_SIMUL_EX): check the descriptor tables and the stack"
            case 3:
                what = "an exit occurred while KVM delivered an event (KVM_INTERNAL_ERROR_DELIVERY_EV)"
            case 4:
                what = "KVM met an exit reason it does not handle (KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON)"
            default:
                what = "KVM internal error, suberror \(suberror)"
            }
            return dataCount > 0 ? "\(what); first datum 0x\(String(firstData, radix: 16)) of \(dataCount)" : what
        case .memoryFault(let flags, let gpa, let size):
            let kind = flags & (1 << 3) != 0 ? "private" : "shared"
            return
                "memory fault on \(kind) memory at \(gpa), \(size) bytes (KVM_EXIT_MEMORY_FAULT): the page is not in the state the guest accessed it as, or not backed"
        case .systemEvent(let type, let flags):
            let name =
                switch type {
                case 1: "shutdown"
                case 2: "reset"
                case 3: "crash"
                default: "type \(type)"
                }
            return "system event: \(name) (KVM_EXIT_SYSTEM_EVENT, flags 0x\(String(flags, radix: 16)))"
        case .interrupted:
            return "interrupted by a kick (EINTR or KVM_EXIT_INTR)"
        case .exception(let vector, let errorCode):
            return "exception vector \(vector), error code 0x\(String(errorCode, radix: 16)) (KVM_EXIT_EXCEPTION)"
        case .unknown(let reason):
            return "exit reason \(reason), which GmemKit does not decode"
        }
    }

    /// An exit a caller did not expect, as an error: `throw VCPUExit.Unexpected(exit)`.
    public struct Unexpected: Error, CustomStringConvertible, Hashable, Sendable {
        /// The exit.
        public let exit: VCPUExit
        /// Wraps `exit` as an error.
        public init(_ exit: VCPUExit) { self.exit = exit }
        /// `unexpected vCPU exit: ` and the exit in words.
        public var description: String { "unexpected vCPU exit: \(exit)" }
    }
}

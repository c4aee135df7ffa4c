import GuestMemory
import KVM

/// Why a run ended.
public enum StopCause: Hashable, Sendable, CustomStringConvertible {
    /// vCPU 0 wrote its status to the exit port (0 = success).
    case exited(status: UInt32)
    /// The wall-clock limit passed.
    case timeout
    /// `RunControl.stop()` or `MachineHandle.stop()` was called.
    case stopped
    /// The Task running `Machine.run(_:console:prepare:logger:) async` or
    /// `MachineHandle.run()` was cancelled.
    case cancelled
    /// The guest wrote to, or read from, a port no device serves.
    case unhandledPort(vcpu: Int, port: UInt16, write: Bool)
    /// The guest touched an address no memslot backs.
    case unhandledMMIO(vcpu: Int, address: UInt64, write: Bool)
    /// A guest access could not be served from guest_memfd (GMEM-SPEC G2/G3).
    case memoryFault(vcpu: Int, guestPhysicalAddress: UInt64, size: UInt64, flags: UInt64, region: String?)
    /// The guest triple-faulted (a trap with no IDT, a bad page table …).
    case shutdown(vcpu: Int)
    /// The vCPU executed `hlt` (never at CPL3: a guest bug).
    case halt(vcpu: Int)
    /// The CPU refused to enter the guest; `reason` is hardware-specific.
    case failEntry(vcpu: Int, reason: UInt64)
    /// KVM could not handle an exit (`KVM_INTERNAL_ERROR_*`, e.g. an emulation failure).
    case internalError(vcpu: Int, suberror: UInt32)
    /// A system event (`KVM_SYSTEM_EVENT_*`: shutdown 1, reset 2, crash 3 ...).
    case systemEvent(vcpu: Int, type: UInt32)
    /// An exception exit with this vector.
    case exception(vcpu: Int, vector: UInt32)
    /// An exit reason the VMM does not know, with its number.
    case unknownExit(vcpu: Int, reason: UInt32)
    /// A memory request block outside guest memory, or another malformed device request.
    case badDeviceRequest(vcpu: Int, detail: String)
    /// `KVM_RUN` or a register access failed.
    case kernelError(vcpu: Int, error: KVMError)

    /// A short stable name for the cause, used as the JSON `cause`.
    public var kind: String {
        switch self {
        case .exited: "exited"
        case .timeout: "timeout"
        case .stopped: "stopped"
        case .cancelled: "cancelled"
        case .unhandledPort: "unhandled-port"
        case .unhandledMMIO: "unhandled-mmio"
        case .memoryFault: "memory-fault"
        case .shutdown: "shutdown"
        case .halt: "halt"
        case .failEntry: "fail-entry"
        case .internalError: "internal-error"
        case .systemEvent: "system-event"
        case .exception: "exception"
        case .unknownExit: "unknown-exit"
        case .badDeviceRequest: "bad-device-request"
        case .kernelError: "kernel-error"
        }
    }

    /// The cause in words, naming the vCPU and what it did.
    public var description: String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        switch self {
        case .exited(let status): return "the guest exited with status \(status)"
        case .timeout: return "the guest did not finish before the timeout"
        case .stopped: return "the run was stopped"
        case .cancelled: return "the run's Task was cancelled"
        case .unhandledPort(let vcpu, let port, let write):
            return "vCPU \(vcpu) \(write ? "wrote to" : "read from") port \(hex(UInt64(port))), which no device serves"
        case .unhandledMMIO(let vcpu, let address, let write):
            return "vCPU \(vcpu) \(write ? "wrote" : "read") \(hex(address)), which no memory backs"
        case .memoryFault(let vcpu, let gpa, let size, let flags, let region):
            return "vCPU \(vcpu) memory fault at \(hex(gpa)) (size \(size), flags \(hex(flags)))"
                + (region.map { " in region \($0), whose guest_memfd is no longer usable" } ?? " outside every region")
        case .shutdown(let vcpu): return "vCPU \(vcpu) shut down (triple fault: the guest crashed)"
        case .halt(let vcpu): return "vCPU \(vcpu) halted"
        case .failEntry(let vcpu, let reason):
            return "vCPU \(vcpu) could not enter the guest (hardware reason \(hex(reason)))"
        case .internalError(let vcpu, let suberror): return "vCPU \(vcpu): KVM internal error, suberror \(suberror)"
        case .systemEvent(let vcpu, let type): return "vCPU \(vcpu): system event \(type)"
        case .exception(let vcpu, let vector): return "vCPU \(vcpu): exception \(vector)"
        case .unknownExit(let vcpu, let reason): return "vCPU \(vcpu): unexpected exit reason \(reason)"
        case .badDeviceRequest(let vcpu, let detail): return "vCPU \(vcpu): bad device request: \(detail)"
        case .kernelError(let vcpu, let error): return "vCPU \(vcpu): \(error)"
        }
    }
}

/// What happened in one run of a machine.
public struct RunReport: Sendable {
    /// The guest's name (``MachineConfig/name``).
    public let guest: String
    /// The number of vCPUs.
    public let vcpus: Int
    /// RAM in bytes.
    public let memorySize: UInt64
    /// The value the guest read as its parameter.
    public let parameter: UInt32
    /// Why the run ended.
    public let cause: StopCause
    /// Exit status per vCPU that wrote one (index → status).
    public let vcpuStatuses: [Int: UInt32]
    /// From `KVM_CREATE_VM` to the first guest exit of any vCPU.
    public let timeToFirstExit: Duration?
    /// From opening /dev/kvm to the end of teardown.
    public let totalTime: Duration
    /// Exits handled, by kind (`io-out`, `io-in`, `interrupted`, …).
    public let exits: [String: Int]
    /// Pings received (pingpong) and the duration of each pass (touch).
    public let pings: UInt64
    /// The duration of each pass the guest reported (the `touch` guest).
    public let passes: [Duration]
    /// Per-region guest_memfd accounting, taken just before teardown (which releases it all).
    public let memory: [GuestMemoryRegion.Usage]
    /// The console output (up to the configured limit).
    public let console: [UInt8]
    /// Register dumps of the vCPUs that ended the run abnormally.
    public let registerDumps: [Int: Registers]

    /// True when vCPU 0 exited with status 0.
    public var succeeded: Bool { cause == .exited(status: 0) }
    /// vCPU 0's exit status, if it wrote one.
    public var status: UInt32? { if case .exited(let status) = cause { status } else { nil } }
}

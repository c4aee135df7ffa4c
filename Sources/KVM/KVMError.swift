import SystemPackage

/// A failed KVM or guest_memfd operation: which operation, on what, the `Errno` it ended
/// with, and what to do about it.
///
/// Kernel refusals carry the kernel's errno, captured by the C wrapper that made the call
/// (never read from the global `errno` after other calls). Requests that GmemKit refuses
/// *before* the syscall (GMEM-SPEC P2, P3) carry the errno the kernel would have returned,
/// plus a `refusal` that says why the library did not even ask. `context` names the object
/// (a device path, a memslot and its ranges); `hint` says what to do, when GmemKit knows.
public struct KVMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation that failed, named after the system call or ioctl it makes: one case
    /// per call, so an error never names a call that was not made.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case openDevice = "open the KVM device"
        case getAPIVersion = "KVM_GET_API_VERSION"
        case checkExtension = "KVM_CHECK_EXTENSION"
        case getVCPUMmapSize = "KVM_GET_VCPU_MMAP_SIZE"
        case createVM = "KVM_CREATE_VM"
        case createVCPU = "KVM_CREATE_VCPU"
        case createGuestMemfd = "KVM_CREATE_GUEST_MEMFD"
        case setUserMemoryRegion = "KVM_SET_USER_MEMORY_REGION"
        case setUserMemoryRegion2 = "KVM_SET_USER_MEMORY_REGION2"
        case setMemoryAttributes = "KVM_SET_MEMORY_ATTRIBUTES"
        case createIRQChip = "KVM_CREATE_IRQCHIP"
        case setTSSAddress = "KVM_SET_TSS_ADDR"
        case getStatsFD = "KVM_GET_STATS_FD"
        case run = "KVM_RUN"
        case getRegisters = "KVM_GET_REGS"
        case setRegisters = "KVM_SET_REGS"
        case getSpecialRegisters = "KVM_GET_SREGS"
        case setSpecialRegisters = "KVM_SET_SREGS"
        case mapRunPage = "mmap kvm_run"
        case fallocate = "fallocate guest_memfd"
        case mapGuestMemfd = "mmap guest_memfd"
        case statGuestMemfd = "fstat guest_memfd"
        case installKickHandler = "sigaction kick signal"
        case kick = "pthread_kill vCPU"
        case kickTimer = "timer_create kick timer"
        /// `fcntl(F_DUPFD_CLOEXEC)`: `GuestMemfd.duplicate()`.
        case dup = "dup (F_DUPFD_CLOEXEC)"
        case memfdCreate = "memfd_create"
        case ftruncate = "ftruncate"
        /// `open("/proc/self/fd/N")`: a new open file description of a file.
        case reopen = "open /proc/self/fd"
        /// `mmap` of anonymous memory (`HostMapping.anonymous`) or of an arbitrary fd.
        case mapMemory = "mmap"
        /// Replacing a range of a mapping by an inaccessible reservation (munmap's effect).
        case unmapRange = "munmap (mmap MAP_FIXED PROT_NONE)"
        case mincore = "mincore"
        /// A bounds-checked load, store, copy or fill through a `HostMapping`: no syscall.
        case hostAccess = "host access to a mapping"
        /// Choosing the vCPU kick signal (`VCPUKickSignal.use(_:)`).
        case setKickSignal = "set the vCPU kick signal"
        case getMSRs = "KVM_GET_MSRS"
        case setMSRs = "KVM_SET_MSRS"
        case getVCPUEvents = "KVM_GET_VCPU_EVENTS"
        case setVCPUEvents = "KVM_SET_VCPU_EVENTS"
        case getFPU = "KVM_GET_FPU"
        case setFPU = "KVM_SET_FPU"
        case writeGuestMemfd = "pwrite guest_memfd"
        case userfaultfd = "userfaultfd on a guest_memfd mapping"
    }

    /// Why GmemKit refused a request without making the syscall.
    public enum Refusal: Hashable, Sendable, CustomStringConvertible {
        /// The guest_memfd was created by another VM (GMEM-SPEC B5: never allowed).
        case foreignGuestMemfd
        /// A host mapping of memory that is private to the guest (GMEM-SPEC M3).
        case privateMemory
        /// The host lacks a capability the operation needs.
        case unsupported(Capability)
        /// An argument the kernel would reject; the text names it.
        case invalidArgument(String)
        /// A request GmemModel's rules refuse (GMEM-SPEC P2): the kernel would answer the same.
        case rule(String)
        /// An access outside a mapping's bounds (GMEM-SPEC M4).
        case outOfBounds(offset: UInt64, length: UInt64, size: UInt64)

        public var description: String {
            switch self {
            case .foreignGuestMemfd:
                "the guest_memfd belongs to another VM; a file binds only to the VM that created it"
            case .privateMemory:
                "the guest_memfd's memory is private to the guest (created without MMAP|INIT_SHARED)"
            case .unsupported(let capability):
                "this host's KVM lacks \(capability.name)"
            case .invalidArgument(let what):
                what
            case .rule(let what):
                "\(what) (GmemModel's rules, GMEM-SPEC P2)"
            case .outOfBounds(let offset, let length, let size):
                "range [\(hex(offset)), \(hex(offset &+ length))) is outside the \(size)-byte mapping"
            }
        }
    }

    /// The operation that failed.
    public let operation: Operation
    /// The errno the kernel returned, or would have returned for a refused request.
    public let errno: Errno
    /// Set when GmemKit refused the request before the syscall.
    public let refusal: Refusal?
    /// What the operation was applied to ("/dev/kvm", "slot 2, guest-physical [0x0,
    /// 0x1000000) …"), or nil.
    public let context: String?
    /// What to do about the failure, when GmemKit knows, or nil.
    public let hint: String?

    /// An error returned by the kernel.
    public init(_ operation: Operation, _ errno: Errno, context: String? = nil, hint: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.refusal = nil
        self.context = context
        self.hint = hint
    }

    /// A request refused by GmemKit before the syscall, with the errno the kernel would give.
    public init(_ operation: Operation, _ errno: Errno, refusal: Refusal, context: String? = nil, hint: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.refusal = refusal
        self.context = context
        self.hint = hint
    }

    /// An error from a negative `-errno` return of a CKVM wrapper.
    init(_ operation: Operation, negated result: Int32, context: String? = nil, hint: String? = nil) {
        self.init(operation, Errno(rawValue: -result), context: context, hint: hint)
    }

    /// The same error with `context` and `hint` set (each kept when nil).
    public func with(context: String? = nil, hint: String? = nil) -> KVMError {
        KVMError(operation: operation, errno: errno, refusal: refusal, context: context ?? self.context, hint: hint ?? self.hint)
    }

    private init(operation: Operation, errno: Errno, refusal: Refusal?, context: String?, hint: String?) {
        self.operation = operation
        self.errno = errno
        self.refusal = refusal
        self.context = context
        self.hint = hint
    }

    public var description: String {
        let name = errnoName(errno)
        let subject = context.map { "\(operation.rawValue) (\($0))" } ?? operation.rawValue
        let advice = hint.map { "; \($0)" } ?? ""
        if let refusal {
            return "\(subject): \(name) (refused before the syscall: \(refusal))\(advice)"
        }
        return "\(subject) failed: \(name) (\(errno.description))\(advice)"
    }
}

/// The symbolic name of an errno value, e.g. "EINVAL" (package-wide; `KVMError.description`
/// shows it to users).
package func errnoName(_ errno: Errno) -> String {
    switch errno.rawValue {
    case 1: "EPERM"
    case 2: "ENOENT"
    case 3: "ESRCH"
    case 4: "EINTR"
    case 5: "EIO"
    case 6: "ENXIO"
    case 7: "E2BIG"
    case 9: "EBADF"
    case 11: "EAGAIN"
    case 12: "ENOMEM"
    case 13: "EACCES"
    case 14: "EFAULT"
    case 16: "EBUSY"
    case 17: "EEXIST"
    case 19: "ENODEV"
    case 20: "ENOTDIR"
    case 21: "EISDIR"
    case 22: "EINVAL"
    case 23: "ENFILE"
    case 24: "EMFILE"
    case 25: "ENOTTY"
    case 27: "EFBIG"
    case 28: "ENOSPC"
    case 29: "ESPIPE"
    case 30: "EROFS"
    case 32: "EPIPE"
    case 34: "ERANGE"
    case 38: "ENOSYS"
    case 75: "EOVERFLOW"
    case 95: "EOPNOTSUPP"
    default: "errno \(errno.rawValue)"
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Turns a CKVM wrapper's result into a value or a typed error.
@inline(__always)
func check(_ result: Int32, _ operation: KVMError.Operation) throws(KVMError) -> Int32 {
    if result < 0 { throw KVMError(operation, negated: result) }
    return result
}

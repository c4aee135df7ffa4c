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
        /// `open` of the KVM device (`KVMSystem.init(path:)`); `context` is the path.
        case openDevice = "open the KVM device"
        /// `KVM_GET_API_VERSION` on /dev/kvm.
        case getAPIVersion = "KVM_GET_API_VERSION"
        /// `KVM_CHECK_EXTENSION` on /dev/kvm or a VM.
        case checkExtension = "KVM_CHECK_EXTENSION"
        /// `KVM_GET_VCPU_MMAP_SIZE` on /dev/kvm: the size of a vCPU's `kvm_run` mapping.
        case getVCPUMmapSize = "KVM_GET_VCPU_MMAP_SIZE"
        /// `KVM_CREATE_VM` on /dev/kvm.
        case createVM = "KVM_CREATE_VM"
        /// `KVM_CREATE_VCPU` on a VM.
        case createVCPU = "KVM_CREATE_VCPU"
        /// `KVM_CREATE_GUEST_MEMFD` on a VM.
        case createGuestMemfd = "KVM_CREATE_GUEST_MEMFD"
        /// `KVM_SET_USER_MEMORY_REGION` on a VM (memslot without guest_memfd).
        case setUserMemoryRegion = "KVM_SET_USER_MEMORY_REGION"
        /// `KVM_SET_USER_MEMORY_REGION2` on a VM (binding a guest_memfd, deleting a memslot).
        case setUserMemoryRegion2 = "KVM_SET_USER_MEMORY_REGION2"
        /// `KVM_SET_MEMORY_ATTRIBUTES` on a VM (private or shared ranges).
        case setMemoryAttributes = "KVM_SET_MEMORY_ATTRIBUTES"
        /// `KVM_CREATE_IRQCHIP` on a VM.
        case createIRQChip = "KVM_CREATE_IRQCHIP"
        /// `KVM_SET_TSS_ADDR` on a VM.
        case setTSSAddress = "KVM_SET_TSS_ADDR"
        /// `KVM_GET_STATS_FD` on a VM or vCPU.
        case getStatsFD = "KVM_GET_STATS_FD"
        /// `KVM_RUN` on a vCPU (`VCPU.run()`).
        case run = "KVM_RUN"
        /// `KVM_GET_REGS` on a vCPU.
        case getRegisters = "KVM_GET_REGS"
        /// `KVM_SET_REGS` on a vCPU.
        case setRegisters = "KVM_SET_REGS"
        /// `KVM_GET_SREGS` on a vCPU.
        case getSpecialRegisters = "KVM_GET_SREGS"
        /// `KVM_SET_SREGS` on a vCPU.
        case setSpecialRegisters = "KVM_SET_SREGS"
        /// `mmap` of a vCPU's `kvm_run` page.
        case mapRunPage = "mmap kvm_run"
        /// `fallocate` on a guest_memfd (allocating or punching a range).
        case fallocate = "fallocate guest_memfd"
        /// `mmap` of a guest_memfd (`GuestMemfd.mapShared()`).
        case mapGuestMemfd = "mmap guest_memfd"
        /// `fstat` of a guest_memfd.
        case statGuestMemfd = "fstat guest_memfd"
        /// `sigaction` installing the handler of the vCPU kick signal.
        case installKickHandler = "sigaction kick signal"
        /// `pthread_kill` sending the kick signal to a vCPU's thread.
        case kick = "pthread_kill vCPU"
        /// `timer_create` or `timer_settime` of a ``KickTimer``.
        case kickTimer = "timer_create kick timer"
        /// `fcntl(F_DUPFD_CLOEXEC)`: `GuestMemfd.duplicate()`.
        case dup = "dup (F_DUPFD_CLOEXEC)"
        /// `memfd_create` (an ordinary memfd, not a guest_memfd).
        case memfdCreate = "memfd_create"
        /// `ftruncate` of a memfd.
        case ftruncate = "ftruncate"
        /// `open("/proc/self/fd/N")`: a new open file description of a file.
        case reopen = "open /proc/self/fd"
        /// `mmap` of anonymous memory (`HostMapping.anonymous`) or of an arbitrary fd.
        case mapMemory = "mmap"
        /// Replacing a range of a mapping by an inaccessible reservation (munmap's effect).
        case unmapRange = "munmap (mmap MAP_FIXED PROT_NONE)"
        /// `mincore` over a mapping (which pages are resident).
        case mincore = "mincore"
        /// A bounds-checked load, store, copy or fill through a `HostMapping`: no syscall.
        case hostAccess = "host access to a mapping"
        /// Choosing the vCPU kick signal (`VCPUKickSignal.use(_:)`).
        case setKickSignal = "set the vCPU kick signal"
        /// `KVM_GET_MSRS` on a vCPU.
        case getMSRs = "KVM_GET_MSRS"
        /// `KVM_SET_MSRS` on a vCPU.
        case setMSRs = "KVM_SET_MSRS"
        /// `KVM_GET_VCPU_EVENTS` on a vCPU.
        case getVCPUEvents = "KVM_GET_VCPU_EVENTS"
        /// `KVM_SET_VCPU_EVENTS` on a vCPU.
        case setVCPUEvents = "KVM_SET_VCPU_EVENTS"
        /// `KVM_GET_FPU` on a vCPU.
        case getFPU = "KVM_GET_FPU"
        /// `KVM_SET_FPU` on a vCPU.
        case setFPU = "KVM_SET_FPU"
        /// `pwrite` into a guest_memfd (filling a file that is not host-mappable).
        case writeGuestMemfd = "pwrite guest_memfd"
        /// `userfaultfd` registration or resolution on a guest_memfd mapping.
        case userfaultfd = "userfaultfd on a guest_memfd mapping"
        /// In-place conversion on a guest_memfd (profile `next`, GMEM-SPEC V).
        case setMemoryAttributes2 = "KVM_SET_MEMORY_ATTRIBUTES2"
        /// A new file for another VM on a guest_memfd's inode (RFC, GMEM-SPEC V10).
        case linkGuestMemfd = "KVM_LINK_GUEST_MEMFD"
        /// Populating guest page tables ahead of the guest (6.10).
        case preFaultMemory = "KVM_PRE_FAULT_MEMORY"
        /// A page pin through a pipe (`vmsplice`).
        case pinPages = "vmsplice (page pin)"
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

        /// Why, in words: whose file it is, which rule refused it, or which bounds were crossed.
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
        KVMError(
            operation: operation, errno: errno, refusal: refusal, context: context ?? self.context,
            hint: hint ?? self.hint)
    }

    private init(operation: Operation, errno: Errno, refusal: Refusal?, context: String?, hint: String?) {
        self.operation = operation
        self.errno = errno
        self.refusal = refusal
        self.context = context
        self.hint = hint
    }

    /// One line: the operation and its context, the errno's name, why it was refused before the
    /// syscall when it was, and the hint.
    public var description: String {
        let name = errno.symbolicName
        let subject = context.map { "\(operation.rawValue) (\($0))" } ?? operation.rawValue
        let advice = hint.map { "; \($0)" } ?? ""
        if let refusal {
            return "\(subject): \(name) (refused before the syscall: \(refusal))\(advice)"
        }
        return "\(subject) failed: \(name) (\(errno.description))\(advice)"
    }
}

extension Errno {
    /// The symbolic name of the errno value, e.g. "EINVAL" (package-wide; `KVMError.description`
    /// shows it to users), or "errno N" for one not listed.
    package var symbolicName: String {
        switch rawValue {
        case 1: "EPERM"
        case 2: "ENOENT"
        case 3: "ESRCH"
        case 4: "EINTR"
        case 5: "EIO"
        case 6: "ENXIO"
        case 7: "E2BIG"
        case 8: "ENOEXEC"
        case 9: "EBADF"
        case 10: "ECHILD"
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
        case 26: "ETXTBSY"
        case 27: "EFBIG"
        case 28: "ENOSPC"
        case 29: "ESPIPE"
        case 30: "EROFS"
        case 31: "EMLINK"
        case 32: "EPIPE"
        case 34: "ERANGE"
        case 36: "ENAMETOOLONG"
        case 38: "ENOSYS"
        case 39: "ENOTEMPTY"
        case 40: "ELOOP"
        case 61: "ENODATA"
        case 75: "EOVERFLOW"
        case 95: "EOPNOTSUPP"
        case 110: "ETIMEDOUT"
        default: "errno \(rawValue)"
        }
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Turns a CKVM wrapper's result into a value or a typed error.
@inline(__always)
func check(_ result: Int32, _ operation: KVMError.Operation) throws(KVMError) -> Int32 {
    if result < 0 { throw KVMError(operation, negated: result) }
    return result
}

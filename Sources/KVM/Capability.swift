import CKVM

/// A KVM capability, as queried with `KVM_CHECK_EXTENSION`.
///
/// The static members name the capabilities GmemKit uses or reports; any other number can be
/// queried with `Capability(rawValue:)`.
public struct Capability: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The capability number (`KVM_CAP_*`).
    public let rawValue: Int32
    /// Any capability number, named or not.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `KVM_CAP_IRQCHIP`: an in-kernel interrupt controller can be created.
    public static let irqchip = Capability(rawValue: CKVM_CAP_IRQCHIP)
    /// `KVM_CAP_HLT`: `HLT` exits to userspace as `KVM_EXIT_HLT`.
    public static let hlt = Capability(rawValue: CKVM_CAP_HLT)
    /// `KVM_CAP_USER_MEMORY`: `KVM_SET_USER_MEMORY_REGION` exists.
    public static let userMemory = Capability(rawValue: CKVM_CAP_USER_MEMORY)
    /// `KVM_CAP_SET_TSS_ADDR`: `KVM_SET_TSS_ADDR` exists (Intel VMX needs it before the first run).
    public static let setTSSAddress = Capability(rawValue: CKVM_CAP_SET_TSS_ADDR)
    /// `KVM_CAP_EXT_CPUID`: `KVM_SET_CPUID2` exists.
    public static let extendedCPUID = Capability(rawValue: CKVM_CAP_EXT_CPUID)
    /// `KVM_CAP_NR_VCPUS`: the recommended number of vCPUs per VM.
    public static let recommendedVCPUs = Capability(rawValue: CKVM_CAP_NR_VCPUS)
    /// `KVM_CAP_NR_MEMSLOTS`: how many memslots a VM may have per address space.
    public static let memorySlots = Capability(rawValue: CKVM_CAP_NR_MEMSLOTS)
    /// `KVM_CAP_SYNC_MMU`: host changes to a memslot's memory are seen by the guest.
    public static let syncMMU = Capability(rawValue: CKVM_CAP_SYNC_MMU)
    /// `KVM_CAP_IRQFD`: an eventfd can inject an interrupt.
    public static let irqfd = Capability(rawValue: CKVM_CAP_IRQFD)
    /// `KVM_CAP_PIT2`: an in-kernel PIT can be created.
    public static let pit2 = Capability(rawValue: CKVM_CAP_PIT2)
    /// `KVM_CAP_IOEVENTFD`: a guest I/O write can signal an eventfd.
    public static let ioeventfd = Capability(rawValue: CKVM_CAP_IOEVENTFD)
    /// `KVM_CAP_MAX_VCPUS`: the most vCPUs a VM may have.
    public static let maxVCPUs = Capability(rawValue: CKVM_CAP_MAX_VCPUS)
    /// `KVM_CAP_READONLY_MEM`: memslots can be read-only (`KVM_MEM_READONLY`).
    public static let readonlyMemory = Capability(rawValue: CKVM_CAP_READONLY_MEM)
    /// `KVM_CAP_MAX_VCPU_ID`: vCPU ids must be below this.
    public static let maxVCPUID = Capability(rawValue: CKVM_CAP_MAX_VCPU_ID)
    /// `KVM_CAP_IMMEDIATE_EXIT`: `kvm_run.immediate_exit` makes `KVM_RUN` return at once (kicks rely on it).
    public static let immediateExit = Capability(rawValue: CKVM_CAP_IMMEDIATE_EXIT)
    /// `KVM_CAP_BINARY_STATS_FD`: `KVM_GET_STATS_FD` exists.
    public static let binaryStatsFD = Capability(rawValue: CKVM_CAP_BINARY_STATS_FD)
    /// `KVM_CAP_USER_MEMORY2`: `KVM_SET_USER_MEMORY_REGION2` exists (needed to bind a guest_memfd).
    public static let userMemory2 = Capability(rawValue: CKVM_CAP_USER_MEMORY2)
    /// `KVM_CAP_MEMORY_FAULT_INFO`: a failed access to guest memory exits with `KVM_EXIT_MEMORY_FAULT`.
    public static let memoryFaultInfo = Capability(rawValue: CKVM_CAP_MEMORY_FAULT_INFO)
    /// `KVM_CAP_MEMORY_ATTRIBUTES`: the attributes `KVM_SET_MEMORY_ATTRIBUTES` accepts (0: none).
    public static let memoryAttributes = Capability(rawValue: CKVM_CAP_MEMORY_ATTRIBUTES)
    /// `KVM_CAP_GUEST_MEMFD`: `KVM_CREATE_GUEST_MEMFD` exists.
    public static let guestMemfd = Capability(rawValue: CKVM_CAP_GUEST_MEMFD)
    /// `KVM_CAP_VM_TYPES`: a bit mask of the VM types `KVM_CREATE_VM` accepts.
    public static let vmTypes = Capability(rawValue: CKVM_CAP_VM_TYPES)
    /// `KVM_CAP_PRE_FAULT_MEMORY`: `KVM_PRE_FAULT_MEMORY` exists.
    public static let preFaultMemory = Capability(rawValue: CKVM_CAP_PRE_FAULT_MEMORY)
    /// `KVM_CAP_GUEST_MEMFD_FLAGS`: the flags `KVM_CREATE_GUEST_MEMFD` accepts.
    public static let guestMemfdFlags = Capability(rawValue: CKVM_CAP_GUEST_MEMFD_FLAGS)
    /// `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` (in-place conversion v13: 250; provisional,
    /// earlier postings used 245, 247, 248 and 249): probe, never assume.
    public static let guestMemfdMemoryAttributes = Capability(rawValue: 250)

    /// Every capability `gmem info` reports, in a stable order.
    public static let reported: [Capability] = [
        .userMemory2, .memoryFaultInfo, .memoryAttributes, .guestMemfd, .vmTypes,
        .preFaultMemory, .guestMemfdFlags, .irqchip, .hlt, .userMemory, .setTSSAddress,
        .extendedCPUID, .recommendedVCPUs, .maxVCPUs, .maxVCPUID, .memorySlots, .syncMMU,
        .irqfd, .pit2, .ioeventfd, .readonlyMemory, .immediateExit, .binaryStatsFD,
    ]

    /// The kernel's name for the capability, e.g. "KVM_CAP_GUEST_MEMFD".
    public var name: String {
        switch self {
        case .irqchip: "KVM_CAP_IRQCHIP"
        case .hlt: "KVM_CAP_HLT"
        case .userMemory: "KVM_CAP_USER_MEMORY"
        case .setTSSAddress: "KVM_CAP_SET_TSS_ADDR"
        case .extendedCPUID: "KVM_CAP_EXT_CPUID"
        case .recommendedVCPUs: "KVM_CAP_NR_VCPUS"
        case .memorySlots: "KVM_CAP_NR_MEMSLOTS"
        case .syncMMU: "KVM_CAP_SYNC_MMU"
        case .irqfd: "KVM_CAP_IRQFD"
        case .pit2: "KVM_CAP_PIT2"
        case .ioeventfd: "KVM_CAP_IOEVENTFD"
        case .maxVCPUs: "KVM_CAP_MAX_VCPUS"
        case .readonlyMemory: "KVM_CAP_READONLY_MEM"
        case .maxVCPUID: "KVM_CAP_MAX_VCPU_ID"
        case .immediateExit: "KVM_CAP_IMMEDIATE_EXIT"
        case .binaryStatsFD: "KVM_CAP_BINARY_STATS_FD"
        case .userMemory2: "KVM_CAP_USER_MEMORY2"
        case .memoryFaultInfo: "KVM_CAP_MEMORY_FAULT_INFO"
        case .memoryAttributes: "KVM_CAP_MEMORY_ATTRIBUTES"
        case .guestMemfd: "KVM_CAP_GUEST_MEMFD"
        case .vmTypes: "KVM_CAP_VM_TYPES"
        case .preFaultMemory: "KVM_CAP_PRE_FAULT_MEMORY"
        case .guestMemfdFlags: "KVM_CAP_GUEST_MEMFD_FLAGS"
        case .guestMemfdMemoryAttributes: "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES"
        default: "KVM_CAP_\(rawValue)"
        }
    }

    /// The kernel's name, as ``name``.
    public var description: String { name }
}

/// A KVM VM type (x86), the argument of `KVM_CREATE_VM`.
public struct VMType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The type number (`KVM_X86_*_VM`).
    public let rawValue: UInt32
    /// Any type number, named or not; `KVM_CREATE_VM` refuses one the host lacks with `EINVAL`.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The ordinary VM (`KVM_X86_DEFAULT_VM`).
    public static let `default` = VMType(rawValue: UInt32(CKVM_X86_DEFAULT_VM))
    /// Software-protected VM with private memory (`KVM_X86_SW_PROTECTED_VM`).
    public static let softwareProtected = VMType(rawValue: UInt32(CKVM_X86_SW_PROTECTED_VM))

    /// The kernel's name (`KVM_X86_DEFAULT_VM`), or `VM type N`.
    public var description: String {
        switch self {
        case .default: "KVM_X86_DEFAULT_VM"
        case .softwareProtected: "KVM_X86_SW_PROTECTED_VM"
        default: "VM type \(rawValue)"
        }
    }
}

/// Flags of `KVM_CREATE_GUEST_MEMFD`.
public struct GuestMemfdFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The flag bits (`GUEST_MEMFD_FLAG_*`).
    public let rawValue: UInt64
    /// Any flag bits; `KVM_CREATE_GUEST_MEMFD` refuses unsupported ones with `EINVAL` (GMEM-C2).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The file can be mmapped by the host (`GUEST_MEMFD_FLAG_MMAP`).
    public static let mmap = GuestMemfdFlags(rawValue: CKVM_GUEST_MEMFD_FLAG_MMAP)
    /// The memory starts shared with the host, not private (`GUEST_MEMFD_FLAG_INIT_SHARED`).
    public static let initShared = GuestMemfdFlags(rawValue: CKVM_GUEST_MEMFD_FLAG_INIT_SHARED)
    /// Host-mappable shared memory: the flags a VMM on a non-confidential host wants.
    public static let hostShared: GuestMemfdFlags = [.mmap, .initShared]

    /// The flags' names joined with `
    /// ` (`MMAP
    /// INIT_SHARED`), unknown bits in hexadecimal, `0` for none.
    public var description: String {
        var names: [String] = []
        if contains(.mmap) { names.append("MMAP") }
        if contains(.initShared) { names.append("INIT_SHARED") }
        let rest = rawValue & ~GuestMemfdFlags.hostShared.rawValue
        if rest != 0 { names.append(hex(rest)) }
        return names.isEmpty ? "0" : names.joined(separator: "|")
    }
}

/// Memory attributes of `KVM_SET_MEMORY_ATTRIBUTES`.
public struct MemoryAttributes: OptionSet, Hashable, Sendable {
    /// The attribute bits (`KVM_MEMORY_ATTRIBUTE_*`).
    public let rawValue: UInt64
    /// Any attribute bits.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The range is private to the guest (`KVM_MEMORY_ATTRIBUTE_PRIVATE`).
    public static let `private` = MemoryAttributes(rawValue: CKVM_MEMORY_ATTRIBUTE_PRIVATE)
}

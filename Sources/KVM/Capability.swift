import CKVM

/// A KVM capability, as queried with `KVM_CHECK_EXTENSION`.
///
/// The static members name the capabilities GmemKit uses or reports; any other number can be
/// queried with `Capability(rawValue:)`.
public struct Capability: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let irqchip = Capability(rawValue: CKVM_CAP_IRQCHIP)
    public static let hlt = Capability(rawValue: CKVM_CAP_HLT)
    public static let userMemory = Capability(rawValue: CKVM_CAP_USER_MEMORY)
    public static let setTSSAddress = Capability(rawValue: CKVM_CAP_SET_TSS_ADDR)
    public static let extendedCPUID = Capability(rawValue: CKVM_CAP_EXT_CPUID)
    public static let recommendedVCPUs = Capability(rawValue: CKVM_CAP_NR_VCPUS)
    public static let memorySlots = Capability(rawValue: CKVM_CAP_NR_MEMSLOTS)
    public static let syncMMU = Capability(rawValue: CKVM_CAP_SYNC_MMU)
    public static let irqfd = Capability(rawValue: CKVM_CAP_IRQFD)
    public static let pit2 = Capability(rawValue: CKVM_CAP_PIT2)
    public static let ioeventfd = Capability(rawValue: CKVM_CAP_IOEVENTFD)
    public static let maxVCPUs = Capability(rawValue: CKVM_CAP_MAX_VCPUS)
    public static let readonlyMemory = Capability(rawValue: CKVM_CAP_READONLY_MEM)
    public static let maxVCPUID = Capability(rawValue: CKVM_CAP_MAX_VCPU_ID)
    public static let immediateExit = Capability(rawValue: CKVM_CAP_IMMEDIATE_EXIT)
    public static let binaryStatsFD = Capability(rawValue: CKVM_CAP_BINARY_STATS_FD)
    public static let userMemory2 = Capability(rawValue: CKVM_CAP_USER_MEMORY2)
    public static let memoryFaultInfo = Capability(rawValue: CKVM_CAP_MEMORY_FAULT_INFO)
    public static let memoryAttributes = Capability(rawValue: CKVM_CAP_MEMORY_ATTRIBUTES)
    public static let guestMemfd = Capability(rawValue: CKVM_CAP_GUEST_MEMFD)
    public static let vmTypes = Capability(rawValue: CKVM_CAP_VM_TYPES)
    public static let preFaultMemory = Capability(rawValue: CKVM_CAP_PRE_FAULT_MEMORY)
    public static let guestMemfdFlags = Capability(rawValue: CKVM_CAP_GUEST_MEMFD_FLAGS)

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
        default: "KVM_CAP_\(rawValue)"
        }
    }

    public var description: String { name }
}

/// A KVM VM type (x86), the argument of `KVM_CREATE_VM`.
public struct VMType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The ordinary VM (`KVM_X86_DEFAULT_VM`).
    public static let `default` = VMType(rawValue: UInt32(CKVM_X86_DEFAULT_VM))
    /// Software-protected VM with private memory (`KVM_X86_SW_PROTECTED_VM`).
    public static let softwareProtected = VMType(rawValue: UInt32(CKVM_X86_SW_PROTECTED_VM))

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
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The file can be mmapped by the host (`GUEST_MEMFD_FLAG_MMAP`).
    public static let mmap = GuestMemfdFlags(rawValue: CKVM_GUEST_MEMFD_FLAG_MMAP)
    /// The memory starts shared with the host, not private (`GUEST_MEMFD_FLAG_INIT_SHARED`).
    public static let initShared = GuestMemfdFlags(rawValue: CKVM_GUEST_MEMFD_FLAG_INIT_SHARED)
    /// Host-mappable shared memory: the flags a VMM on a non-confidential host wants.
    public static let hostShared: GuestMemfdFlags = [.mmap, .initShared]

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
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The range is private to the guest (`KVM_MEMORY_ATTRIBUTE_PRIVATE`).
    public static let `private` = MemoryAttributes(rawValue: CKVM_MEMORY_ATTRIBUTE_PRIVATE)
}

/// What the modelled kernel supports: the input that makes one model answer like the
/// reference host (no memory attributes, default VM only) or like upstream Linux 6.18.
///
/// Construction never fails; an unsupported request is refused later by the operation.
public struct ModelCapabilities: Hashable, Sendable {
    /// `KVM_CAP_VM_TYPES`: the VM types `KVM_CREATE_VM` accepts (sorted, small).
    public var vmTypes: [UInt64]
    /// `KVM_CAP_GUEST_MEMFD_FLAGS` for a VM without private memory; a VM with private memory
    /// gets the same mask without `INIT_SHARED` (`kvm_arch_supports_gmem_init_shared`).
    public var guestMemfdFlags: UInt64
    /// The memory attributes a VM with private memory supports; 0 means the kernel was built
    /// without memory attributes and `KVM_SET_MEMORY_ATTRIBUTES` answers `ENOTTY`.
    public var memoryAttributes: UInt64
    /// `KVM_CAP_GUEST_MEMFD`: without it `KVM_CREATE_GUEST_MEMFD` answers `ENOTTY`.
    public var guestMemfd: Bool
    /// `KVM_CAP_USER_MEMORY2`: without it `KVM_SET_USER_MEMORY_REGION2` answers `ENOTTY`.
    public var userMemory2: Bool
    /// The highest guest physical address bit + 1 a memslot may reach (`kvm_mmu_max_gfn`).
    public var physicalAddressBits: UInt64
    /// The end of the user address space (`TASK_SIZE_MAX`, 4-level paging): `access_ok` limit.
    public var userAddressLimit: UInt64
    /// How many fds the process may have open (`RLIMIT_NOFILE`, minus those its host
    /// program holds besides 0–2): installing one more fails with `EMFILE`.
    public var descriptorLimit: UInt64 = 1024
    /// `KVM_GET_VCPU_MMAP_SIZE`: the bytes of a vCPU fd a host mapping can reach.
    public var vcpuMappingSize: UInt64 = 3 * 4096
    /// `KVM_MAX_VCPU_IDS` (`KVM_CAP_MAX_VCPU_ID`): vCPU ids must be below it.
    public var maxVCPUIDs: UInt32 = GmemABI.maxVCPUIDs
    /// `kvm->max_vcpus` (`KVM_CAP_MAX_VCPUS`): the most vCPUs one VM creates; vCPUs live as
    /// long as their VM, so closing a vCPU fd does not make room.
    public var maxVCPUs: UInt32 = GmemABI.maxVCPUs
    /// Memslot address spaces of a VM without private memory (`KVM_CAP_MULTI_ADDRESS_SPACE`:
    /// 2 with SMM, 1 without).
    public var addressSpaces: UInt32 = 2
    /// Whether `PROT_EXEC` without `PROT_READ` maps execute-only memory (x86 protection
    /// keys), so reads through it raise `SIGSEGV`.
    public var executeOnlyMappings: Bool = true
    /// The permission bits of /dev/kvm (`fstat` of an opened /dev/kvm).
    public var kvmDeviceMode: UInt32 = 0o666
    /// `KVM_CHECK_EXTENSION` answers of this kernel, on /dev/kvm and on a default VM.
    public var extensions: ExtensionTable = ExtensionTable()
    /// `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` (in-place conversion, v13; profile `next` only):
    /// the attributes `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd accepts for a VM with
    /// private memory. Non-zero puts the kernel in guest_memfd-attribute mode: the file holds
    /// each page's shared/private state (GMEM-SPEC V1) and the VM-level
    /// `KVM_SET_MEMORY_ATTRIBUTES` is gone (`memoryAttributes` 0). 0: the ioctl does not exist
    /// on a guest_memfd (`ENOTTY`, the reference host).
    public var guestMemfdAttributes: UInt64 = 0
    /// Whether `KVM_LINK_GUEST_MEMFD` (RFC v2, unmerged) exists: without it the VM ioctl
    /// answers `ENOTTY` (GMEM-SPEC V10).
    public var guestMemfdLink: Bool = false

    /// Describes a kernel; every field is taken as given.
    public init(
        vmTypes: [UInt64], guestMemfdFlags: UInt64, memoryAttributes: UInt64,
        guestMemfd: Bool = true, userMemory2: Bool = true,
        physicalAddressBits: UInt64 = 52, userAddressLimit: UInt64 = 0x7FFF_FFFF_F000
    ) {
        self.vmTypes = vmTypes.sorted()
        self.guestMemfdFlags = guestMemfdFlags
        self.memoryAttributes = memoryAttributes
        self.guestMemfd = guestMemfd
        self.userMemory2 = userMemory2
        self.physicalAddressBits = physicalAddressBits
        self.userAddressLimit = userAddressLimit
    }

    /// The reference host (HOST-NOTES.md): Linux 6.18.44 with kvm_pvm, default VM type only,
    /// `GUEST_MEMFD_FLAGS = 3`, no memory attributes, a CPU without protection keys (no `pku`
    /// in /proc/cpuinfo: `PROT_EXEC` alone maps readable memory).
    public static let referenceHost: ModelCapabilities = {
        var capabilities = ModelCapabilities(
            vmTypes: [GmemABI.VMType.default],
            guestMemfdFlags: GmemABI.CreateFlag.mmap | GmemABI.CreateFlag.initShared,
            memoryAttributes: 0)
        capabilities.executeOnlyMappings = false
        return capabilities
    }()

    /// Upstream Linux 6.18 on x86 with `CONFIG_KVM_SW_PROTECTED_VM`: default and
    /// software-protected VMs, memory attributes with `PRIVATE`.
    public static let upstream = ModelCapabilities(
        vmTypes: [GmemABI.VMType.default, GmemABI.VMType.softwareProtected],
        guestMemfdFlags: GmemABI.CreateFlag.mmap | GmemABI.CreateFlag.initShared,
        memoryAttributes: GmemABI.MemoryAttribute.private)

    /// Whether `KVM_SET_MEMORY_ATTRIBUTES` exists at all (`CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES`).
    public var hasMemoryAttributesIoctl: Bool { memoryAttributes != 0 }

    /// The errno for binding a file range that overlaps a bound one (GMEM-B6): `EINVAL` on
    /// 6.18, `EEXIST` upstream; set from a `KernelProfile` (`KernelProfile.capabilities(_:)`).
    public var overlappingBindingErrno: ModelErrno = .EINVAL

    /// The `GUEST_MEMFD_FLAGS` mask a VM of `type` reports (`kvm_gmem_get_supported_flags`);
    /// in guest_memfd-attribute mode a VM with private memory keeps `INIT_SHARED` (the
    /// conversion selftest creates `MMAP|INIT_SHARED` files on a software-protected VM).
    public func guestMemfdFlags(forVMType type: UInt64) -> UInt64 {
        GmemABI.VMType.hasPrivateMemory(type) && guestMemfdAttributes == 0
            ? guestMemfdFlags & ~GmemABI.CreateFlag.initShared : guestMemfdFlags
    }

    /// The attributes `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd owned by a VM of `type`
    /// accepts (`kvm_supported_mem_attributes(f->kvm)`): `PRIVATE` for VMs with private memory.
    public func guestMemfdAttributes(forVMType type: UInt64) -> UInt64 {
        GmemABI.VMType.hasPrivateMemory(type) ? guestMemfdAttributes : 0
    }

    /// The content modes a conversion on a file of a VM of `type` may ask for
    /// (`kvm_arch_gmem_supported_content_modes`, x86): `ZERO|PRESERVE` for a software-protected
    /// VM, `ZERO` for SNP and TDX, none otherwise (GMEM-SPEC V3).
    public func conversionContentModes(forVMType type: UInt64) -> UInt64 {
        guard guestMemfdAttributes != 0 else { return 0 }
        switch type {
        case GmemABI.VMType.softwareProtected: return GmemABI.ConversionFlag.zero | GmemABI.ConversionFlag.preserve
        case GmemABI.VMType.snp, GmemABI.VMType.tdx: return GmemABI.ConversionFlag.zero
        default: return 0
        }
    }

    /// `capabilities` in guest_memfd-attribute mode (what `requires=gmem-attributes` asks of
    /// the model): the file holds shared/private state, `KVM_SET_MEMORY_ATTRIBUTES` on the VM
    /// is gone.
    public func withGuestMemfdAttributes() -> ModelCapabilities {
        var result = self
        result.guestMemfdAttributes = GmemABI.MemoryAttribute.private
        result.memoryAttributes = 0
        return result
    }

    /// The attributes a VM of `type` accepts (`kvm_supported_mem_attributes`): only VM types
    /// with private memory get `PRIVATE` (GMEM-SPEC A2).
    public func memoryAttributes(forVMType type: UInt64) -> UInt64 {
        GmemABI.VMType.hasPrivateMemory(type) ? memoryAttributes : 0
    }
}

/// What `KVM_CHECK_EXTENSION` answers for each capability number on /dev/kvm and on a
/// default VM (a capability absent from the table answers 0). The capabilities the model
/// itself describes (guest_memfd, flags, attributes, VM types, memory regions) are
/// answered from ``ModelCapabilities`` instead.
///
/// Equality compares the answers; hashing ignores them, so model states stay cheap to hash.
public struct ExtensionTable: Hashable, Sendable {
    /// Capability number → answer on /dev/kvm.
    public var system: [UInt64: Int32]
    /// Capability number → answer on a default VM's fd.
    public var vm: [UInt64: Int32]

    /// A table; every value is taken as given.
    public init(system: [UInt64: Int32] = [:], vm: [UInt64: Int32] = [:]) {
        self.system = system
        self.vm = vm
    }

    /// Feeds nothing: equal tables hash alike, and model states that differ only in their tables
    /// collide cheaply (equality still tells them apart).
    public func hash(into hasher: inout Hasher) {}
}

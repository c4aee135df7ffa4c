/// The Linux 6.18 x86-64 numbers of the guest_memfd contract (GMEM-SPEC "Numbers") that the
/// model and its rules use; raw values, so callers with their own option sets can pass them.
public enum GmemABI {
    /// The page size: every size, offset and address the contract checks is a multiple of it.
    public static let pageSize: UInt64 = 4096
    /// log2 of ``pageSize``.
    public static let pageShift: UInt64 = 12

    /// `KVM_CREATE_GUEST_MEMFD` flags.
    public enum CreateFlag {
        /// `GUEST_MEMFD_FLAG_MMAP`: the file may be mapped by the host.
        public static let mmap: UInt64 = 1
        /// `GUEST_MEMFD_FLAG_INIT_SHARED`: the memory starts shared (host-accessible).
        public static let initShared: UInt64 = 2
    }

    /// `kvm_userspace_memory_region(2).flags`.
    public enum MemslotFlag {
        /// `KVM_MEM_LOG_DIRTY_PAGES`.
        public static let logDirtyPages: UInt32 = 1
        /// `KVM_MEM_READONLY`.
        public static let readonly: UInt32 = 2
        /// `KVM_MEM_GUEST_MEMFD`.
        public static let guestMemfd: UInt32 = 4
        /// The flags the v1 ioctl accepts (`KVM_SET_USER_MEMORY_REGION_V1_FLAGS`).
        public static let v1Mask: UInt32 = logDirtyPages | readonly
    }

    /// `KVM_SET_MEMORY_ATTRIBUTES` attributes.
    public enum MemoryAttribute {
        /// `KVM_MEMORY_ATTRIBUTE_PRIVATE`.
        public static let `private`: UInt64 = 1 << 3
    }

    /// `kvm_memory_attributes2.flags` of `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd: the
    /// content mode of a conversion (in-place conversion v8–v13, provisional).
    public enum ConversionFlag {
        /// `KVM_SET_MEMORY_ATTRIBUTES2_ZERO`: every party reads zeros after the conversion
        /// (to shared only).
        public static let zero: UInt64 = 1 << 0
        /// `KVM_SET_MEMORY_ATTRIBUTES2_PRESERVE`: the contents survive the conversion.
        public static let preserve: UInt64 = 1 << 1
    }

    /// The UAPI numbers of the post-6.18 surfaces (profile `next`); the ones from unmerged or
    /// just-merged series are provisional: probe them, never take them as facts about a host.
    public enum Next {
        /// `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` (250 in v13 and the postings before it
        /// applied; 245, 247, 248, 249 in earlier ones).
        public static let guestMemfdMemoryAttributesCapability: UInt64 = 250
        /// `KVM_SET_MEMORY_ATTRIBUTES2`'s ioctl number (`_IOWR(KVMIO, 0xd2, 128 bytes)`).
        public static let setMemoryAttributes2Number: UInt64 = 0xd2
        /// `KVM_LINK_GUEST_MEMFD`'s ioctl number (`_IOWR(KVMIO, 0xd6, 64 bytes)`, RFC v2).
        public static let linkGuestMemfdNumber: UInt64 = 0xd6
        /// `KVM_CAP_PRE_FAULT_MEMORY` (6.10).
        public static let preFaultMemoryCapability: UInt64 = 236
        /// `KVM_PRE_FAULT_MEMORY`'s ioctl number (vCPU, `_IOWR(KVMIO, 0xd5, 64 bytes)`, 6.10).
        public static let preFaultMemoryNumber: UInt64 = 0xd5
        /// `GUEST_MEMFD_FLAG_NO_DIRECT_MAP` (direct-map removal v12, unmerged).
        public static let noDirectMapFlag: UInt64 = 1 << 2
        /// `GUEST_MEMFD_FLAG_WRITE` (write(2) population; Firecracker's branch value, upstream
        /// unsettled).
        public static let writeFlag: UInt64 = 1 << 3
    }

    /// `run->memory_fault.flags`.
    public enum MemoryFaultFlag {
        /// `KVM_MEMORY_EXIT_FLAG_PRIVATE`: the faulting access was private.
        public static let `private`: UInt64 = 1 << 3
    }

    /// `KVM_CREATE_VM` machine types (x86).
    public enum VMType {
        /// `KVM_X86_DEFAULT_VM`.
        public static let `default`: UInt64 = 0
        /// `KVM_X86_SW_PROTECTED_VM`: software-protected, supports private memory.
        public static let softwareProtected: UInt64 = 1
        /// `KVM_X86_SEV_VM`.
        public static let sev: UInt64 = 2
        /// `KVM_X86_SEV_ES_VM`.
        public static let sevES: UInt64 = 3
        /// `KVM_X86_SNP_VM`: supports private memory.
        public static let snp: UInt64 = 4
        /// `KVM_X86_TDX_VM`: supports private memory.
        public static let tdx: UInt64 = 5

        /// Whether a VM of this type has private memory (`kvm_arch_has_private_mem`).
        public static func hasPrivateMemory(_ type: UInt64) -> Bool {
            type == softwareProtected || type == snp || type == tdx
        }
    }

    /// `fallocate(2)` mode bits (include/uapi/linux/falloc.h, 6.18).
    public enum FallocateMode {
        /// `FALLOC_FL_ALLOCATE_RANGE` (no bit).
        public static let allocateRange: Int32 = 0
        /// `FALLOC_FL_KEEP_SIZE`.
        public static let keepSize: Int32 = 0x01
        /// `FALLOC_FL_PUNCH_HOLE`.
        public static let punchHole: Int32 = 0x02
        /// `FALLOC_FL_NO_HIDE_STALE` (unknown to vfs_fallocate).
        public static let noHideStale: Int32 = 0x04
        /// `FALLOC_FL_COLLAPSE_RANGE`.
        public static let collapseRange: Int32 = 0x08
        /// `FALLOC_FL_ZERO_RANGE`.
        public static let zeroRange: Int32 = 0x10
        /// `FALLOC_FL_INSERT_RANGE`.
        public static let insertRange: Int32 = 0x20
        /// `FALLOC_FL_UNSHARE_RANGE`.
        public static let unshareRange: Int32 = 0x40
        /// `FALLOC_FL_WRITE_ZEROES`.
        public static let writeZeroes: Int32 = 0x80
        /// `FALLOC_FL_MODE_MASK`: the mutually exclusive operation bits.
        public static let modeMask: Int32 =
            punchHole | collapseRange | zeroRange | insertRange | unshareRange | writeZeroes
    }

    /// `mmap(2)` protections.
    public enum Protection {
        /// `PROT_NONE`.
        public static let none: Int32 = 0
        /// `PROT_READ`.
        public static let read: Int32 = 1
        /// `PROT_WRITE`.
        public static let write: Int32 = 2
        /// `PROT_EXEC`.
        public static let exec: Int32 = 4
    }

    /// `mmap(2)` flags (the model looks at the mapping type only).
    public enum MapFlag {
        /// `MAP_SHARED`.
        public static let shared: Int32 = 0x01
        /// `MAP_PRIVATE`.
        public static let `private`: Int32 = 0x02
        /// `MAP_SHARED_VALIDATE`.
        public static let sharedValidate: Int32 = 0x03
        /// `MAP_TYPE`.
        public static let typeMask: Int32 = 0x0f
    }

    /// `KVM_USER_MEM_SLOTS` on x86 (`SHRT_MAX` minus 3 internal slots).
    public static let userMemorySlots: UInt32 = 32764
    /// `KVM_MEM_SLOTS_NUM` (`SHRT_MAX`).
    public static let memorySlotsNumber: UInt32 = 32767
    /// `KVM_MEM_MAX_NR_PAGES`: the most pages one user memslot may span.
    public static let maxPagesPerSlot: UInt64 = (1 << 31) - 1
    /// `KVM_MAX_VCPU_IDS` on x86 (4 × `KVM_MAX_VCPUS` of 4096).
    public static let maxVCPUIDs: UInt32 = 16384
    /// `KVM_MAX_VCPUS` on x86 (`CONFIG_KVM_MAX_NR_VCPUS`, 1024 unless `CONFIG_MAXSMP`; the
    /// reference host answers `KVM_CAP_MAX_VCPUS` = 1024): the most vCPUs one VM may create.
    public static let maxVCPUs: UInt32 = 1024
}

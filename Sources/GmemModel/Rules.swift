/// The pure validation rules of the guest_memfd contract, in the kernel's order of checks:
/// the single source of truth (GMEM-SPEC P2) shared by the model's operations and by the Swift
/// bindings, which call them before a syscall.
///
/// Each function returns the errno Linux 6.18 would return, or nil when the request passes;
/// none has side effects.
public enum GmemRules {
    /// Whether `value` is a multiple of the page size.
    @inline(__always)
    public static func isPageAligned(_ value: UInt64) -> Bool { value & (GmemABI.pageSize - 1) == 0 }

    // MARK: C — creation

    /// Checks a `KVM_CREATE_GUEST_MEMFD` request (`kvm_gmem_create`): flags first, then size.
    ///
    /// Fails with `EINVAL` for flags outside `supportedFlags` (C2) or a size that is zero,
    /// negative as `loff_t`, or not page-aligned (C1); the reserved words are not checked (C3).
    public static func validateCreate(size: UInt64, flags: UInt64, supportedFlags: UInt64) -> ModelErrno? {
        if flags & ~supportedFlags != 0 { return .EINVAL }
        if Int64(bitPattern: size) <= 0 || !isPageAligned(size) { return .EINVAL }
        return nil
    }

    // MARK: F — fallocate

    /// The `S_IFMT` bits `fstat` reports for KVM's anonymous inodes (VM, vCPU, stats fds).
    public static let anonymousInodeType: UInt32 = 0
    /// Whether KVM's anonymous inodes live on a noexec mount (`PROT_EXEC` mappings: `EPERM`).
    public static let anonymousInodesNoexec = true

    /// Whether `madvise_behavior_valid` accepts `advice` among those the model describes
    /// (the other valid ones are refused by the scenario language before any call).
    public static func madviseAdviceIsValid(_ advice: Int32) -> Bool {
        switch advice {
        case 0...4, 8...11: true
        default: false
        }
    }

    /// What `fchmod` answers on a guest_memfd or a KVM anonymous inode.
    public static let anonymousInodeChmod: ModelErrno = .EOPNOTSUPP

    /// Checks `fallocate(fd, mode, offset, length)` on a guest_memfd of `fileSize` bytes, in
    /// the order of `vfs_fallocate`, `kvm_gmem_fallocate` and `kvm_gmem_allocate`.
    ///
    /// Fails with `EINVAL` for a negative offset or non-positive length, `EOPNOTSUPP` for any
    /// mode but `KEEP_SIZE` and `PUNCH_HOLE|KEEP_SIZE` (F3), `EFBIG` when offset + length
    /// overflows, `EINVAL` for unaligned offset or length and for allocating past the end (F4).
    public static func validateFallocate(mode: Int32, offset: Int64, length: Int64, fileSize: UInt64) -> ModelErrno? {
        typealias Mode = GmemABI.FallocateMode
        if let error = validateGenericFallocate(mode: mode, offset: offset, length: length) { return error }
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow { return .EFBIG }
        // kvm_gmem_fallocate
        if mode & Mode.keepSize == 0 { return .EOPNOTSUPP }
        if mode & ~(Mode.keepSize | Mode.punchHole) != 0 { return .EOPNOTSUPP }
        if !isPageAligned(UInt64(offset)) || !isPageAligned(UInt64(length)) { return .EINVAL }
        // kvm_gmem_allocate: the size is fixed; punching past the end is accepted.
        if mode & Mode.punchHole == 0, UInt64(end) > fileSize { return .EINVAL }
        return nil
    }

    /// The checks `vfs_fallocate` makes on any file before it looks at the file's type.
    ///
    /// Fails with `EINVAL` for a negative offset or non-positive length and `EOPNOTSUPP` for
    /// an unknown mode bit or a combination of modes no filesystem accepts.
    public static func validateGenericFallocate(mode: Int32, offset: Int64, length: Int64) -> ModelErrno? {
        typealias Mode = GmemABI.FallocateMode
        if offset < 0 || length <= 0 { return .EINVAL }
        if mode & ~(Mode.modeMask | Mode.keepSize) != 0 { return .EOPNOTSUPP }
        switch mode & Mode.modeMask {
        case Mode.allocateRange, Mode.unshareRange, Mode.zeroRange:
            return nil
        case Mode.punchHole:
            return mode & Mode.keepSize == 0 ? .EOPNOTSUPP : nil
        case Mode.collapseRange, Mode.insertRange, Mode.writeZeroes:
            return mode & Mode.keepSize != 0 ? .EOPNOTSUPP : nil
        default:
            return .EOPNOTSUPP
        }
    }

    // MARK: M — host mappings

    /// Checks `mmap(NULL, length, prot, flags, fd, offset)` of a guest_memfd created with
    /// `fileFlags`, in the order of `sys_mmap`, `do_mmap` and `kvm_gmem_mmap`.
    ///
    /// Fails with `EINVAL` (unaligned offset, zero length, unknown mapping type), `ENOMEM`
    /// (length overflows when rounded), `EOVERFLOW` (page offset overflows), `EPERM` for
    /// `PROT_EXEC` (the gmem mount is noexec), `ENODEV` without `MMAP` (M1) and `EINVAL` for
    /// `MAP_PRIVATE` (M2).
    public static func validateMmap(fileFlags: UInt64, prot: Int32, flags: Int32, offset: UInt64, length: UInt64)
        -> ModelErrno?
    {
        if !isPageAligned(offset) { return .EINVAL }
        if length == 0 { return .EINVAL }
        if length > UInt64.max - (GmemABI.pageSize - 1) { return .ENOMEM }
        let pages = (length + (GmemABI.pageSize - 1)) >> GmemABI.pageShift
        if (offset >> GmemABI.pageShift).addingReportingOverflow(pages).overflow { return .EOVERFLOW }
        let type = flags & GmemABI.MapFlag.typeMask
        guard
            type == GmemABI.MapFlag.shared || type == GmemABI.MapFlag.sharedValidate
                || type == GmemABI.MapFlag.private
        else { return .EINVAL }
        if prot & GmemABI.Protection.exec != 0 { return .EPERM }
        if fileFlags & GmemABI.CreateFlag.mmap == 0 { return .ENODEV }
        if type == GmemABI.MapFlag.private { return .EINVAL }
        return nil
    }

    /// Whether a host access to page `filePage` of a guest_memfd of `fileSize` bytes created
    /// with `fileFlags` raises `SIGBUS` (`kvm_gmem_fault_user_mapping`).
    ///
    /// It does past the end of the file (M4) and everywhere without `INIT_SHARED` (M3).
    public static func hostAccessRaisesSIGBUS(fileFlags: UInt64, filePage: UInt64, fileSize: UInt64) -> Bool {
        if filePage >= fileSize >> GmemABI.pageShift { return true }
        return fileFlags & GmemABI.CreateFlag.initShared == 0
    }

    // MARK: B — memslots and binding

    /// Which `KVM_SET_USER_MEMORY_REGION` ioctl a request arrives through.
    public enum RegionIoctl: Hashable, Sendable {
        /// `KVM_SET_USER_MEMORY_REGION` (v1: no guest_memfd fields).
        case v1
        /// `KVM_SET_USER_MEMORY_REGION2`.
        case v2
    }

    /// One `kvm_userspace_memory_region2` request.
    public struct MemoryRegion: Hashable, Sendable {
        /// `slot`: the address space in bits 16–31, the slot id below.
        public var slot: UInt32
        /// `flags`: `KVM_MEM_LOG_DIRTY_PAGES`, `KVM_MEM_READONLY`, `KVM_MEM_GUEST_MEMFD`.
        public var flags: UInt32
        /// `guest_phys_addr`: where the slot starts in guest physical memory.
        public var guestPhysicalAddress: UInt64
        /// `memory_size`: the slot's length in bytes (0 deletes the slot).
        public var memorySize: UInt64
        /// `userspace_addr`: the host address that backs shared accesses.
        public var userspaceAddress: UInt64
        /// `guest_memfd_offset`: where the slot starts in the guest_memfd (v2 only).
        public var guestMemfdOffset: UInt64
        /// `guest_memfd`: the guest_memfd's descriptor (v2 with `KVM_MEM_GUEST_MEMFD` only).
        public var guestMemfd: UInt32

        /// A request; fields are taken as given (a v1 request leaves the gmem fields 0).
        public init(
            slot: UInt32, flags: UInt32, guestPhysicalAddress: UInt64, memorySize: UInt64,
            userspaceAddress: UInt64, guestMemfdOffset: UInt64 = 0, guestMemfd: UInt32 = 0
        ) {
            self.slot = slot
            self.flags = flags
            self.guestPhysicalAddress = guestPhysicalAddress
            self.memorySize = memorySize
            self.userspaceAddress = userspaceAddress
            self.guestMemfdOffset = guestMemfdOffset
            self.guestMemfd = guestMemfd
        }

        /// The address space (`slot >> 16`).
        public var addressSpace: UInt32 { slot >> 16 }
        /// The slot id within its address space (`(u16)slot`).
        public var slotID: UInt32 { slot & 0xFFFF }
        /// Whether the request carries `KVM_MEM_GUEST_MEMFD`.
        public var isGuestMemfd: Bool { flags & GmemABI.MemslotFlag.guestMemfd != 0 }
    }

    /// Checks the parts of a memory-region request that need no VM state, in the order of
    /// `kvm_vm_ioctl`, `kvm_vm_ioctl_set_memory_region` and `kvm_set_memory_region`.
    ///
    /// Fails with `EINVAL`: gmem flag through v1 (B1), slot id out of range, flags invalid
    /// (gmem with `LOG_DIRTY_PAGES` or `READONLY`, B2), unaligned size, GPA or userspace
    /// address, userspace range outside user space, unaligned or overflowing gmem offset
    /// (B3), address space out of range, GPA range wrapping, or a slot too large.
    public static func validateMemoryRegion(
        _ region: MemoryRegion, ioctl: RegionIoctl, vmType: UInt64, capabilities: ModelCapabilities
    ) -> ModelErrno? {
        typealias Flag = GmemABI.MemslotFlag
        if ioctl == .v1, region.flags & ~Flag.v1Mask != 0 { return .EINVAL }
        if region.slotID >= GmemABI.userMemorySlots { return .EINVAL }
        // check_memory_region_flags
        var valid = Flag.logDirtyPages
        if capabilities.guestMemfd { valid |= Flag.guestMemfd }
        if region.isGuestMemfd { valid &= ~Flag.logDirtyPages }
        if !region.isGuestMemfd { valid |= Flag.readonly }  // kvm_arch_has_readonly_mem: no protected state
        if region.flags & ~valid != 0 { return .EINVAL }
        // general sanity checks
        if !isPageAligned(region.memorySize) { return .EINVAL }
        if !isPageAligned(region.guestPhysicalAddress) { return .EINVAL }
        if !isPageAligned(region.userspaceAddress) { return .EINVAL }
        let (userEnd, userOverflow) = region.userspaceAddress.addingReportingOverflow(region.memorySize)
        if userOverflow || userEnd > capabilities.userAddressLimit { return .EINVAL }
        if region.isGuestMemfd {
            if !isPageAligned(region.guestMemfdOffset) { return .EINVAL }
            if region.guestMemfdOffset.addingReportingOverflow(region.memorySize).overflow { return .EINVAL }
        }
        let addressSpaces: UInt32 = GmemABI.VMType.hasPrivateMemory(vmType) ? 1 : max(1, capabilities.addressSpaces)
        if region.addressSpace >= addressSpaces || region.slotID >= GmemABI.memorySlotsNumber { return .EINVAL }
        if region.guestPhysicalAddress.addingReportingOverflow(region.memorySize).overflow { return .EINVAL }
        if region.memorySize >> GmemABI.pageShift > GmemABI.maxPagesPerSlot { return .EINVAL }
        return nil
    }

    /// What a request does to an existing memslot (`kvm_set_memory_region`, "modify").
    public enum SlotChange: Hashable, Sendable {
        /// `KVM_MR_MOVE`: a new guest physical address.
        case move
        /// `KVM_MR_FLAGS_ONLY`: only `LOG_DIRTY_PAGES` changes.
        case flagsOnly
        /// Identical request: success without change.
        case nothing
    }

    /// Classifies a non-delete request for a slot that already exists with `oldFlags`,
    /// `oldGuestPhysicalAddress`, `oldMemorySize` and `oldUserspaceAddress`.
    ///
    /// Fails with `EINVAL` when either side is a guest_memfd memslot (B7: they are immutable),
    /// or when the size, userspace address or `READONLY` flag would change.
    public static func classifySlotChange(
        oldFlags: UInt32, oldGuestPhysicalAddress: UInt64, oldMemorySize: UInt64,
        oldUserspaceAddress: UInt64, request: MemoryRegion
    ) -> Result<SlotChange, ModelErrno> {
        typealias Flag = GmemABI.MemslotFlag
        if request.isGuestMemfd { return .failure(.EINVAL) }
        if request.userspaceAddress != oldUserspaceAddress || request.memorySize != oldMemorySize
            || (request.flags ^ oldFlags) & (Flag.readonly | Flag.guestMemfd) != 0
        {
            return .failure(.EINVAL)
        }
        if request.guestPhysicalAddress != oldGuestPhysicalAddress { return .success(.move) }
        if request.flags != oldFlags { return .success(.flagsOnly) }
        return .success(.nothing)
    }

    /// Checks binding `size` bytes at `offset` of a guest_memfd (`kvm_gmem_bind`, after the fd
    /// lookup that fails with `EBADF`).
    ///
    /// Fails with `EINVAL` when the file is not a guest_memfd (B4), belongs to another VM
    /// (B5), or the range is unaligned or past the end (B3); with `overlapErrno` when it
    /// overlaps a bound range (B6: `EINVAL` on 6.18, `EEXIST` upstream).
    public static func validateBinding(
        isGuestMemfd: Bool, ownedByBindingVM: Bool, offset: UInt64, size: UInt64, fileSize: UInt64,
        rangeIsUnbound: Bool, overlapErrno: ModelErrno = .EINVAL
    ) -> ModelErrno? {
        if !isGuestMemfd { return .EINVAL }
        if !ownedByBindingVM { return .EINVAL }
        if Int64(bitPattern: offset) < 0 || !isPageAligned(offset) { return .EINVAL }
        let (end, overflow) = offset.addingReportingOverflow(size)
        if overflow || end > fileSize { return .EINVAL }
        if !rangeIsUnbound { return overlapErrno }
        return nil
    }

    /// Checks that a created or moved memslot of `pageCount` pages at `basePage` fits the
    /// guest physical address width (`kvm_arch_prepare_memory_region`, after binding).
    ///
    /// Fails with `EINVAL` when its last page is beyond the largest guest frame number.
    public static func validatePlacement(basePage: UInt64, pageCount: UInt64, physicalAddressBits: UInt64)
        -> ModelErrno?
    {
        let maxPage = (UInt64(1) << (physicalAddressBits - GmemABI.pageShift)) - 1
        return basePage + pageCount - 1 > maxPage ? .EINVAL : nil
    }

    // MARK: A — memory attributes

    /// Checks a `KVM_SET_MEMORY_ATTRIBUTES` request (`kvm_vm_ioctl_set_mem_attributes`).
    ///
    /// Fails with `ENOTTY` when the kernel has no memory attributes (reference host), then
    /// `EINVAL` for non-zero flags, attributes outside `supportedAttributes` (A2), zero or
    /// wrapping size, or unaligned address or size (A1).
    public static func validateMemoryAttributes(
        address: UInt64, size: UInt64, attributes: UInt64, flags: UInt64,
        supportedAttributes: UInt64, ioctlExists: Bool
    ) -> ModelErrno? {
        if !ioctlExists { return .ENOTTY }
        if flags != 0 { return .EINVAL }
        if attributes & ~supportedAttributes != 0 { return .EINVAL }
        if size == 0 || address.addingReportingOverflow(size).overflow { return .EINVAL }
        if !isPageAligned(address) || !isPageAligned(size) { return .EINVAL }
        return nil
    }

    // MARK: V — in-place conversion (profile `next`)

    /// Checks a `KVM_SET_MEMORY_ATTRIBUTES2` request on a guest_memfd of `fileSize` bytes
    /// (`kvm_gmem_set_attributes`, in-place conversion v13), before the file's range is
    /// looked at; the reserved words are zero in every request GmemKit makes.
    ///
    /// Fails with `EINVAL` for flags other than one content mode (`ZERO` or `PRESERVE`, not
    /// both), attributes outside `supportedAttributes`, a zero or wrapping size, an unaligned
    /// offset or size, or a range that does not lie inside the file (GMEM-SPEC V2).
    public static func validateConversion(
        offset: UInt64, size: UInt64, attributes: UInt64, flags: UInt64, supportedAttributes: UInt64, fileSize: UInt64
    ) -> ModelErrno? {
        typealias Flag = GmemABI.ConversionFlag
        if flags & ~(Flag.zero | Flag.preserve) != 0 { return .EINVAL }
        if flags == Flag.zero | Flag.preserve { return .EINVAL }
        if attributes & ~supportedAttributes != 0 { return .EINVAL }
        let (end, overflow) = offset.addingReportingOverflow(size)
        if size == 0 || overflow { return .EINVAL }
        if !isPageAligned(offset) || !isPageAligned(size) { return .EINVAL }
        if offset >= fileSize || end > fileSize { return .EINVAL }
        return nil
    }

    /// Whether a conversion may use content mode `flags` (`kvm_gmem_content_mode_is_supported`):
    /// the unspecified mode always; `ZERO` never to private (KVM cannot promise the guest
    /// zeros); otherwise what the VM type supports (`supportedModes`). A refusal is
    /// `EOPNOTSUPP` (GMEM-SPEC V3).
    public static func contentModeIsSupported(_ flags: UInt64, toPrivate: Bool, supportedModes: UInt64) -> Bool {
        if flags == 0 { return true }
        if flags == GmemABI.ConversionFlag.zero && toPrivate { return false }
        return supportedModes & flags != 0
    }

    /// Checks a `KVM_LINK_GUEST_MEMFD` request (`kvm_gmem_link`, RFC v2) after the VM fd
    /// lookup: flags must be 0; the source must be an open guest_memfd of another VM.
    ///
    /// Fails with `EINVAL` for any flag, a source that is not open or not a guest_memfd, or a
    /// source already owned by the linking VM (GMEM-SPEC V10).
    public static func validateLink(
        flags: UInt64, sourceIsOpen: Bool, sourceIsGuestMemfd: Bool, sourceOwnedByLinkingVM: Bool
    ) -> ModelErrno? {
        if flags != 0 { return .EINVAL }
        if !sourceIsOpen || !sourceIsGuestMemfd { return .EINVAL }
        if sourceOwnedByLinkingVM { return .EINVAL }
        return nil
    }
}

import CKVM
import GmemModel
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A KVM virtual machine: the owner of a VM fd, created by `KVMSystem.createVM(type:)`.
///
/// vCPUs and guest_memfd files are created from it, and each of them pins the kernel's VM
/// object for as long as it lives (GMEM-SPEC L1): dropping this value closes only the VM fd.
public struct VirtualMachine: ~Copyable, Sendable {
    /// This VM's identity; every guest_memfd it creates remembers it.
    public let identity: VMIdentity
    /// The type the VM was created with.
    public let type: VMType
    let fd: Int32
    let runMappingSize: Int
    let logger: Logger
    /// The memslots this value created, to name the slot a refused request clashes with.
    let slots = SlotTable()
    // The table (and the host memory of every slot in it) is shared with each vCPU: the
    // kernel's VM, and so its memslots, live while any vCPU fd does (GMEM-SPEC L1).

    init(fd: Int32, type: VMType, runMappingSize: Int, logger: Logger) {
        self.identity = .next()
        self.type = type
        self.fd = fd
        self.runMappingSize = runMappingSize
        self.logger = logger
    }

    deinit { close(fd) }

    /// `KVM_CHECK_EXTENSION` on the VM fd, which answers for this VM's type.
    /// - Throws: ``KVMError`` (`KVM_CHECK_EXTENSION`) with the kernel's errno.
    public func check(_ capability: Capability) throws(KVMError) -> Int32 {
        try KVM.check(ckvm_check_extension(fd, Int(capability.rawValue)), .checkExtension)
    }

    /// Creates vCPU `id` and maps its `kvm_run` page; fails with the kernel's errno (e.g.
    /// `EEXIST` for an id in use).
    /// - Throws: ``KVMError`` (`KVM_CREATE_VCPU` or `mmap kvm_run`) with the kernel's errno.
    public func createVCPU(id: UInt32) throws(KVMError) -> VCPU {
        let vcpuFD = try KVM.check(ckvm_create_vcpu(fd, UInt(id)), .createVCPU)
        do {
            let page = try RunPage(vcpuFD: vcpuFD, size: runMappingSize)
            logger.debug("created vCPU \(id) of \(identity) as fd \(vcpuFD)")
            return VCPU(id: id, fd: vcpuFD, page: page, slots: slots)
        } catch {
            close(vcpuFD)
            throw error
        }
    }

    /// Creates a guest_memfd of `size` bytes owned by this VM.
    ///
    /// Fails with `EINVAL` when `size` is zero or not a multiple of the page size (C1) or
    /// when `flags` are not supported (C2); both are checked before the syscall with
    /// GmemModel's rules (GMEM-SPEC P2).
    /// - Throws: ``KVMError`` (`KVM_CREATE_GUEST_MEMFD`): `EINVAL` before the syscall as above, or the
    ///   kernel's errno.
    public func createGuestMemfd(size: UInt64, flags: GuestMemfdFlags = .hostShared) throws(KVMError) -> GuestMemfd {
        let supported = (try? check(.guestMemfdFlags)).map { UInt64(max($0, 0)) } ?? ~0
        if let error = GmemRules.validateCreate(size: size, flags: flags.rawValue, supportedFlags: supported) {
            throw KVMError(
                .createGuestMemfd, Errno(rawValue: error.rawValue),
                refusal: .rule(
                    "size \(size) with flags \(flags): the size must be a positive multiple of 4096 and the flags within \(GuestMemfdFlags(rawValue: supported))"
                ))
        }
        var arg = ckvm_create_guest_memfd()
        arg.size = size
        arg.flags = flags.rawValue
        // SAFETY: `arg` is a local kvm_create_guest_memfd the ioctl reads for the call's duration.
        let fileFD = unsafe try KVM.check(ckvm_create_guest_memfd(fd, &arg), .createGuestMemfd)
        logger.debug("created guest_memfd fd \(fileFD) of \(size) bytes, flags \(flags), for \(identity)")
        return GuestMemfd(fd: fileFD, size: size, flags: flags, owner: identity)
    }

    /// `KVM_CREATE_GUEST_MEMFD` exactly as given, for conformance tests of the kernel's own
    /// checks (GMEM-SPEC C1–C3). The returned value records `size` and `flags` as passed.
    @_spi(Unchecked)
    public func createGuestMemfdUnchecked(size: UInt64, flags: UInt64, reserved: UInt64 = 0) throws(KVMError)
        -> GuestMemfd
    {
        var arg = ckvm_create_guest_memfd()
        arg.size = size
        arg.flags = flags
        arg.reserved = (reserved, reserved, reserved, reserved, reserved, reserved)
        // SAFETY: `arg` is a local kvm_create_guest_memfd the ioctl reads for the call's duration.
        let fileFD = unsafe try KVM.check(ckvm_create_guest_memfd(fd, &arg), .createGuestMemfd)
        return GuestMemfd(fd: fileFD, size: size, flags: GuestMemfdFlags(rawValue: flags), owner: identity)
    }

    /// Binds `size` bytes of `file`, from `fileOffset`, at guest-physical `guestPhysicalAddress`
    /// as memslot `slot` (`KVM_SET_USER_MEMORY_REGION2` with `KVM_MEM_GUEST_MEMFD`).
    ///
    /// `hostMemory` is the slot's host side, which KVM uses for the guest's shared accesses
    /// when the file is not host-mappable and for emulated accesses (GMEM-SPEC G4, B10): the
    /// file's own mapping (`file.mapShared()`; the slot then uses its range
    /// `[fileOffset, fileOffset + size)`) or an anonymous one (`HostMapping.anonymous`) of at
    /// least `size` bytes. The VM keeps it alive until the slot is deleted or the VM and all
    /// its vCPUs are gone, so the guest can never reach memory the process has unmapped.
    /// Without it the slot has no host side (`userspace_addr` 0): guest accesses are served
    /// by the guest_memfd alone (an `MMAP` file), and emulated ones fail.
    ///
    /// A file created by another VM (B5), a file range that is unaligned or past the end of
    /// the file (B3), a `hostMemory` of another file or too short, and a memslot the kernel's
    /// own checks refuse (a size or guest-physical address that is not page-aligned, a slot id
    /// of 32764 or more, a range that wraps) are refused before the syscall with `EINVAL`
    /// (GmemModel's rules, P2, P3); the kernel refuses overlaps (B6) and the rest, and the
    /// error then names the slot of this VM the request clashes with.
    /// - Parameters:
    ///   - file: The guest_memfd; it must have been created by this VM.
    ///   - slot: The memslot id (below 32764).
    ///   - guestPhysicalAddress: Where the slot starts in guest-physical memory (page-aligned).
    ///   - size: The slot's length in bytes (page-aligned, non-zero).
    ///   - fileOffset: Where the slot starts in the file (page-aligned).
    ///   - hostMemory: The slot's host side, kept alive by the VM; nil for none.
    /// - Throws: ``KVMError`` (`KVM_SET_USER_MEMORY_REGION2`): `EINVAL` before the syscall as above,
    ///   or the kernel's errno with the clashing slot named.
    public func bind(
        _ file: borrowing GuestMemfd, slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress,
        size: UInt64, fileOffset: UInt64 = 0, hostMemory: HostMapping? = nil
    ) throws(KVMError) {
        var address: UInt64 = 0
        if let hostMemory {
            let start: UInt64
            switch hostMemory.source {
            case .anonymous: start = 0
            case .guestMemfd(let id):
                guard id == file.fileID else {
                    throw KVMError(
                        .setUserMemoryRegion2, .invalidArgument,
                        refusal: .invalidArgument(
                            "hostMemory maps another guest_memfd: pass this file's own mapping or anonymous memory"))
                }
                start = fileOffset
            }
            guard start <= hostMemory.length, size <= hostMemory.length - start else {
                throw KVMError(
                    .setUserMemoryRegion2, .invalidArgument,
                    refusal: .invalidArgument(
                        "hostMemory of \(hostMemory.length) bytes does not cover [\(hex(start)), +\(hex(size))) of the slot"
                    ))
            }
            address = hostMemory.hostAddress + start
        }
        try bindRegion(
            file, slot: slot, guestPhysicalAddress: guestPhysicalAddress, size: size, fileOffset: fileOffset,
            userspaceAddress: address, keeping: hostMemory)
    }

    /// `bind` with a raw host address for the slot's host side.
    ///
    /// - Safety:
    ///   - `[userspaceAddress, userspaceAddress + size)` is memory this process keeps mapped,
    ///     readable and writable, for as long as the memslot exists (until
    ///     `deleteMemorySlot(slot)` returns, or the VM and all its vCPUs are closed): the guest
    ///     and KVM's instruction emulator read and write it.
    ///   - Nothing else in the process relies on the contents of that memory staying private
    ///     from the guest.
    @_spi(Unchecked)
    public func bindUnchecked(
        _ file: borrowing GuestMemfd, slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress,
        size: UInt64, fileOffset: UInt64 = 0, userspaceAddress: UInt64
    ) throws(KVMError) {
        try bindRegion(
            file, slot: slot, guestPhysicalAddress: guestPhysicalAddress, size: size, fileOffset: fileOffset,
            userspaceAddress: userspaceAddress, keeping: nil)
    }

    private func bindRegion(
        _ file: borrowing GuestMemfd, slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress,
        size: UInt64, fileOffset: UInt64, userspaceAddress: UInt64, keeping memory: HostMapping?
    ) throws(KVMError) {
        // GmemModel's binding rule (kvm_gmem_bind): ownership first, then the file range.
        if let error = GmemRules.validateBinding(
            isGuestMemfd: true, ownedByBindingVM: file.owner == identity, offset: fileOffset,
            size: size, fileSize: file.size, rangeIsUnbound: true)
        {
            throw KVMError(
                .setUserMemoryRegion2, Errno(rawValue: error.rawValue),
                refusal: file.owner == identity
                    ? .rule("file range [\(fileOffset), +\(size)) is unaligned or past the \(file.size)-byte file")
                    : .foreignGuestMemfd)
        }
        var region = MemoryRegion(
            slot: slot, guestPhysicalAddress: guestPhysicalAddress.rawValue, size: size,
            userspaceAddress: userspaceAddress)
        region.flags = .guestMemfd
        region.guestMemfd = file.fd
        region.guestMemfdOffset = fileOffset
        try validateRegion(region)
        try setRegion(region, file: file.fileID, keeping: memory)
    }

    /// GmemModel's memslot rules (`kvm_set_memory_region`'s sanity checks) before the call.
    private func validateRegion(_ region: MemoryRegion) throws(KVMError) {
        let model = GmemRules.MemoryRegion(
            slot: region.slot, flags: region.flags.rawValue,
            guestPhysicalAddress: region.guestPhysicalAddress, memorySize: region.size,
            userspaceAddress: region.userspaceAddress, guestMemfdOffset: region.guestMemfdOffset)
        if let error = GmemRules.validateMemoryRegion(
            model, ioctl: .v2, vmType: UInt64(type.rawValue), capabilities: .upstream)
        {
            throw KVMError(
                .setUserMemoryRegion2, Errno(rawValue: error.rawValue),
                refusal: .rule(
                    "memslot \(region.slot) of \(region.size) bytes at guest-physical \(hex(region.guestPhysicalAddress)), host address \(hex(region.userspaceAddress)): sizes and addresses must be multiples of 4096, the slot id below \(GmemABI.userMemorySlots), and no range may wrap"
                ),
                context: SlotTable.describe(region))
        }
    }

    /// `KVM_SET_USER_MEMORY_REGION2`, recording the slot on success and naming the clash on
    /// failure.
    private func setRegion(_ region: MemoryRegion, file: GuestMemfd.FileID?, keeping memory: HostMapping? = nil)
        throws(KVMError)
    {
        var arg = region.raw
        // SAFETY: `arg` is a local struct; its userspace_addr is a HostMapping the slot table keeps alive for as long as the slot exists (checked to cover the slot above).
        let result = unsafe ckvm_set_user_memory_region2(fd, &arg)
        if result < 0 {
            throw KVMError(
                .setUserMemoryRegion2, negated: result, context: SlotTable.describe(region),
                hint: slots.explain(Errno(rawValue: -result), region, file: file))
        }
        // Recorded (and any previous slot's memory dropped) only after the ioctl returned:
        // from then on no vCPU uses the old slot (KVM waits for SRCU readers).
        slots.record(region, file: file, memory: memory)
        logger.trace(
            "KVM_SET_USER_MEMORY_REGION2 slot \(region.slot) gpa \(hex(region.guestPhysicalAddress)) size \(region.size)"
        )
    }

    /// Maps the first `size` bytes of `memory` (anonymous, or any shared host mapping) as
    /// memslot `slot` of ordinary host memory (`KVM_SET_USER_MEMORY_REGION2` without a
    /// guest_memfd). The VM keeps `memory` alive until the slot is deleted or the VM and all
    /// its vCPUs are gone. Refused before the syscall when `memory` is shorter than `size` or
    /// the kernel's sanity checks would refuse the slot.
    /// - Throws: ``KVMError`` (`KVM_SET_USER_MEMORY_REGION2`): `EINVAL` before the syscall as above, or
    ///   the kernel's errno.
    public func setMemorySlot(
        _ slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress, size: UInt64, memory: HostMapping,
        flags: MemorySlotFlags = []
    ) throws(KVMError) {
        guard size <= memory.length else {
            throw KVMError(
                .setUserMemoryRegion2, .invalidArgument,
                refusal: .invalidArgument("memory of \(memory.length) bytes is shorter than the \(size)-byte slot"))
        }
        try setPlainRegion(
            slot, guestPhysicalAddress: guestPhysicalAddress, size: size, userspaceAddress: memory.hostAddress,
            flags: flags, keeping: memory)
    }

    /// `setMemorySlot` with a raw host address.
    ///
    /// - Safety:
    ///   - `[userspaceAddress, userspaceAddress + size)` is memory this process keeps mapped
    ///     for as long as the memslot exists (until `deleteMemorySlot(slot)` returns, or the
    ///     VM and all its vCPUs are closed), readable, and writable unless `flags` has
    ///     `.readonly`: the guest and KVM read and write it.
    @_spi(Unchecked)
    public func setMemorySlotUnchecked(
        _ slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress, size: UInt64, userspaceAddress: UInt64,
        flags: MemorySlotFlags = []
    ) throws(KVMError) {
        try setPlainRegion(
            slot, guestPhysicalAddress: guestPhysicalAddress, size: size, userspaceAddress: userspaceAddress,
            flags: flags, keeping: nil)
    }

    private func setPlainRegion(
        _ slot: UInt32, guestPhysicalAddress: GuestPhysicalAddress, size: UInt64, userspaceAddress: UInt64,
        flags: MemorySlotFlags, keeping memory: HostMapping?
    ) throws(KVMError) {
        if flags.contains(.guestMemfd) {
            throw KVMError(
                .setUserMemoryRegion2, .invalidArgument,
                refusal: .invalidArgument("use bind(_:slot:…) to bind a guest_memfd"))
        }
        var region = MemoryRegion(
            slot: slot, guestPhysicalAddress: guestPhysicalAddress.rawValue, size: size,
            userspaceAddress: userspaceAddress)
        region.flags = flags
        try validateRegion(region)
        try setRegion(region, file: nil, keeping: memory)
    }

    /// Deletes memslot `slot` (`memory_size = 0`). The data of a bound file is untouched
    /// and its range can be bound again (GMEM-SPEC B8).
    ///
    /// The host memory the slot kept alive is released once the kernel has removed the slot.
    /// - Throws: ``KVMError`` (`KVM_SET_USER_MEMORY_REGION2`) with the kernel's errno.
    public func deleteMemorySlot(_ slot: UInt32) throws(KVMError) {
        try setRegion(MemoryRegion(slot: slot, guestPhysicalAddress: 0, size: 0, userspaceAddress: 0), file: nil)
    }

    /// Sets memory attributes over a guest-physical range (`KVM_SET_MEMORY_ATTRIBUTES`).
    ///
    /// Refused with `ENOTTY` and `.unsupported(.memoryAttributes)` before the syscall when the
    /// VM reports no supported attributes (GMEM-SPEC A1, the reference host).
    /// - Throws: ``KVMError`` (`KVM_SET_MEMORY_ATTRIBUTES`): `ENOTTY` before the syscall as above, or
    ///   the kernel's errno.
    public func setMemoryAttributes(
        _ attributes: MemoryAttributes, guestPhysicalAddress: GuestPhysicalAddress, size: UInt64
    ) throws(KVMError) {
        guard try check(.memoryAttributes) != 0 else {
            throw KVMError(.setMemoryAttributes, .inappropriateIOCTLForDevice, refusal: .unsupported(.memoryAttributes))
        }
        var arg = ckvm_memory_attributes()
        arg.address = guestPhysicalAddress.rawValue
        arg.size = size
        arg.attributes = attributes.rawValue
        // SAFETY: `arg` is a local kvm_memory_attributes the ioctl reads for the call's duration.
        _ = unsafe try KVM.check(ckvm_set_memory_attributes(fd, &arg), .setMemoryAttributes)
    }

    /// Creates the in-kernel interrupt controller (`KVM_CREATE_IRQCHIP`).
    /// - Throws: ``KVMError`` (`KVM_CREATE_IRQCHIP`) with the kernel's errno.
    public func createIRQChip() throws(KVMError) {
        _ = try KVM.check(ckvm_create_irqchip(fd), .createIRQChip)
    }

    /// Sets the guest-physical address of the three-page TSS region Intel hosts need
    /// (`KVM_SET_TSS_ADDR`; the address is a guest-physical one, not a host pointer).
    /// - Throws: ``KVMError`` (`KVM_SET_TSS_ADDR`) with the kernel's errno.
    public func setTSSAddress(_ address: GuestPhysicalAddress) throws(KVMError) {
        guard let value = UInt(exactly: address.rawValue) else {
            throw KVMError(
                .setTSSAddress, .invalidArgument,
                refusal: .invalidArgument("TSS address \(address) does not fit the ioctl's argument"))
        }
        _ = try KVM.check(ckvm_set_tss_addr(fd, value), .setTSSAddress)
    }

    /// `KVM_SET_USER_MEMORY_REGION2` exactly as given: no ownership or argument checks.
    /// For conformance tests that must see the kernel's own refusals (GMEM-SPEC B5).
    ///
    /// - Safety:
    ///   - `region.userspaceAddress` obeys `bindUnchecked`'s obligations for `region.size` bytes.
    @_spi(Unchecked)
    public func setUserMemoryRegion2Unchecked(_ region: MemoryRegion) throws(KVMError) {
        try setRegion(region, file: nil)
    }

    /// The old `KVM_SET_USER_MEMORY_REGION` exactly as given (GMEM-SPEC B1).
    ///
    /// - Safety:
    ///   - as `setUserMemoryRegion2Unchecked`.
    @_spi(Unchecked)
    public func setUserMemoryRegionV1Unchecked(_ region: MemoryRegion) throws(KVMError) {
        try UncheckedKVM.setUserMemoryRegion(vmFD: fd, region)
    }

    /// The VM fd, for conformance tests that need to hand the kernel a raw descriptor.
    @_spi(Unchecked)
    public var rawDescriptor: Int32 { fd }
}

/// Memslot flags (`KVM_MEM_*`).
public struct MemorySlotFlags: OptionSet, Hashable, Sendable {
    /// The flag bits (`KVM_MEM_*`).
    public let rawValue: UInt32
    /// Any flag bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `KVM_MEM_LOG_DIRTY_PAGES`: track which pages the guest writes.
    public static let logDirtyPages = MemorySlotFlags(rawValue: CKVM_MEM_LOG_DIRTY_PAGES)
    /// `KVM_MEM_READONLY`: guest writes exit to userspace as MMIO.
    public static let readonly = MemorySlotFlags(rawValue: CKVM_MEM_READONLY)
    /// `KVM_MEM_GUEST_MEMFD`: the slot is backed by a guest_memfd (set by `VirtualMachine.bind`).
    public static let guestMemfd = MemorySlotFlags(rawValue: CKVM_MEM_GUEST_MEMFD)
}

/// The argument of `KVM_SET_USER_MEMORY_REGION2`, as a Swift value: a raw host address, so
/// only the unchecked calls take it.
@_spi(Unchecked)
public struct MemoryRegion: Hashable, Sendable {
    /// Memslot flags (`KVM_MEM_*`).
    public typealias Flags = MemorySlotFlags

    public var slot: UInt32
    public var flags: Flags = []
    public var guestPhysicalAddress: UInt64
    public var size: UInt64
    public var userspaceAddress: UInt64
    public var guestMemfdOffset: UInt64 = 0
    /// The guest_memfd descriptor (raw, as the kernel takes it).
    public var guestMemfd: Int32 = 0

    public init(slot: UInt32, guestPhysicalAddress: UInt64, size: UInt64, userspaceAddress: UInt64) {
        self.slot = slot
        self.guestPhysicalAddress = guestPhysicalAddress
        self.size = size
        self.userspaceAddress = userspaceAddress
    }

    var raw: ckvm_userspace_memory_region2 {
        var arg = ckvm_userspace_memory_region2()
        arg.slot = slot
        arg.flags = flags.rawValue
        arg.guest_phys_addr = guestPhysicalAddress
        arg.memory_size = size
        arg.userspace_addr = userspaceAddress
        arg.guest_memfd_offset = guestMemfdOffset
        arg.guest_memfd = UInt32(bitPattern: guestMemfd)
        return arg
    }
}

/// The memslots a `VirtualMachine` created (kept by the value, not asked of the kernel), so
/// that a refused `KVM_SET_USER_MEMORY_REGION2` can name the slot and range it clashes with.
final class SlotTable: Sendable {
    struct Slot: Sendable {
        let guestPhysicalAddress: UInt64
        let size: UInt64
        let file: GuestMemfd.FileID?
        let fileOffset: UInt64
        /// The host memory the slot's `userspace_addr` points into, kept alive with the slot.
        let memory: HostMapping?
    }
    private let slots = PthreadLock<[UInt32: Slot]>([:])

    func record(_ region: MemoryRegion, file: GuestMemfd.FileID?, memory: HostMapping?) {
        // The replaced slot's memory is released after the lock, outside it.
        let replaced: Slot? = slots.withLock { table in
            if region.size == 0 { return table.removeValue(forKey: region.slot) }
            if let existing = table[region.slot] {
                // A move or a flags change keeps the slot's memory (the kernel keeps the
                // userspace_addr it was created with).
                table[region.slot] = Slot(
                    guestPhysicalAddress: region.guestPhysicalAddress, size: existing.size,
                    file: existing.file, fileOffset: existing.fileOffset, memory: existing.memory)
                return nil
            }
            table[region.slot] = Slot(
                guestPhysicalAddress: region.guestPhysicalAddress, size: region.size,
                file: file, fileOffset: region.guestMemfdOffset, memory: memory)
            return nil
        }
        _ = replaced
    }

    /// The memory slot `slot` keeps alive, if any (tests).
    func memory(ofSlot slot: UInt32) -> HostMapping? { slots.withLock { $0[slot]?.memory } }

    /// "slot 3: guest-physical [0x0, 0x1000000), guest_memfd offset 0x0, host address 0x7f…".
    static func describe(_ region: MemoryRegion) -> String {
        let end = region.guestPhysicalAddress.addingReportingOverflow(region.size)
        var text =
            "slot \(region.slot): guest-physical [\(hex(region.guestPhysicalAddress)), \(end.overflow ? "2^64+" : hex(end.partialValue)))"
        if region.flags.contains(.guestMemfd) {
            text += ", guest_memfd fd \(region.guestMemfd) offset \(hex(region.guestMemfdOffset))"
        }
        return text + ", host address \(hex(region.userspaceAddress))"
    }

    /// What to do about the kernel's refusal of `region`: the clashing slot when there is one.
    func explain(_ errno: Errno, _ region: MemoryRegion, file: GuestMemfd.FileID?) -> String? {
        let table = slots.withLock { $0 }
        let start = region.guestPhysicalAddress
        let end = start &+ region.size
        for (id, slot) in table.sorted(by: { $0.key < $1.key }) where id != region.slot && region.size > 0 {
            let slotEnd = slot.guestPhysicalAddress &+ slot.size
            if start < slotEnd && slot.guestPhysicalAddress < end {
                return
                    "the range overlaps slot \(id) at guest-physical [\(hex(slot.guestPhysicalAddress)), \(hex(slotEnd))): choose a free range or delete slot \(id) first"
            }
            if let file, slot.file == file, region.guestMemfdOffset < slot.fileOffset &+ slot.size,
                slot.fileOffset < region.guestMemfdOffset &+ region.size
            {
                return
                    "the file range [\(hex(region.guestMemfdOffset)), \(hex(region.guestMemfdOffset &+ region.size))) is already bound as slot \(id) (GMEM-SPEC B6): bind another range of the file, or delete slot \(id) first"
            }
        }
        if let existing = table[region.slot], region.size > 0 {
            return
                "slot \(region.slot) exists at guest-physical [\(hex(existing.guestPhysicalAddress)), \(hex(existing.guestPhysicalAddress &+ existing.size))); only its flags or address may change: delete it first to rebind"
        }
        switch errno {
        case .noMemory: return "the host is out of memory for the memslot"
        case .invalidArgument where region.slot >= 32764: return "slot ids must be below 32764 (KVM_MEM_SLOTS_NUM)"
        default: return nil
        }
    }
}

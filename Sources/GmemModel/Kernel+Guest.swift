/// Guest accesses to guest physical memory and their exits (GMEM-SPEC G).
extension ModelKernel {
    /// One guest access: a read, or a write of a page-content token.
    public enum GuestAccess: Hashable, Sendable {
        /// Read the page's content token.
        case read
        /// Write this content token to the page.
        case write(UInt64)

        var isWrite: Bool { if case .write = self { true } else { false } }
    }

    /// `run->memory_fault` of a `KVM_EXIT_MEMORY_FAULT` exit (reason 39).
    public struct MemoryFault: Hashable, Sendable, CustomStringConvertible {
        /// `KVM_MEMORY_EXIT_FLAG_PRIVATE` for a private access, else 0.
        public let flags: UInt64
        /// The faulting page's guest physical address.
        public let guestPhysicalAddress: UInt64
        /// Always one page (4096).
        public let size: UInt64

        /// An exit as the kernel reports it; never fails.
        public init(flags: UInt64, guestPhysicalAddress: UInt64, size: UInt64) {
            self.flags = flags
            self.guestPhysicalAddress = guestPhysicalAddress
            self.size = size
        }

        /// The exit in one line: its flags, guest physical address and size.
        public var description: String {
            "memory fault flags=\(flags) gpa=\(guestPhysicalAddress) size=\(size)"
        }
    }

    /// What one guest access ends in.
    public enum GuestAccessOutcome: Hashable, Sendable {
        /// The read completed with this content token.
        case value(UInt64)
        /// The write completed.
        case written
        /// `KVM_RUN` returned -1 with `EFAULT` and `exit_reason = KVM_EXIT_MEMORY_FAULT` (G2, G3).
        case memoryFault(MemoryFault)
        /// `KVM_EXIT_MMIO`: no memslot (shared access), or a write to a read-only memslot.
        case mmio(guestPhysicalAddress: UInt64, isWrite: Bool)
        /// `KVM_RUN` returned -1 with `EFAULT` without memory-fault information: the memslot's
        /// `userspace_addr` is not backed by accessible host memory.
        case userspaceFault

        /// The errno `KVM_RUN` returns with this outcome, or nil when the guest goes on.
        public var errno: ModelErrno? {
            switch self {
            case .memoryFault, .userspaceFault: .EFAULT
            case .value, .written, .mmio: nil
            }
        }
    }

    /// Runs one guest access at `guestPhysicalAddress` from a vCPU of the VM behind `fd` (a
    /// vCPU fd, or for convenience the VM fd), as a private or shared access.
    ///
    /// The access is served from the bound guest_memfd (private, or gmem-only memslots, G1),
    /// from `userspace_addr` (shared side, B10), or exits: a memory fault when the kind
    /// disagrees with the page's attribute or the gmem binding is gone (G2, G3). Fails with
    /// `EBADF` (closed fd) or `ENOTTY` (not a VM or vCPU fd).
    public mutating func guestAccess(
        fd: Int32, guestPhysicalAddress: UInt64, _ access: GuestAccess, isPrivate: Bool = false
    ) -> Result<GuestAccessOutcome, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        if file.kind == .kvmDevice { return .failure(.EINVAL) }
        guard file.kind == .vcpu || file.kind == .machine else { return .failure(.ENOTTY) }
        return .success(
            runAccess(machine: file.machine, guestPhysicalAddress: guestPhysicalAddress, access, isPrivate: isPrivate))
    }

    mutating func runAccess(machine: Int, guestPhysicalAddress: UInt64, _ access: GuestAccess, isPrivate: Bool)
        -> GuestAccessOutcome
    {
        let page = guestPhysicalAddress >> GmemABI.pageShift
        let fault = GuestAccessOutcome.memoryFault(
            MemoryFault(
                flags: isPrivate ? GmemABI.MemoryFaultFlag.private : 0,
                guestPhysicalAddress: page << GmemABI.pageShift, size: GmemABI.pageSize))
        let vm = machines[machine]!
        let found = vm.slots.first(where: { $0.addressSpace == 0 && $0.contains(page: page) })
        var attributePrivate =
            capabilities.hasMemoryAttributesIoctl
            && (vm.attributes.value(at: page) ?? 0) & GmemABI.MemoryAttribute.private != 0
        // guest_memfd-attribute mode: the bound file's state of the page decides (V6).
        if capabilities.guestMemfdAttributes != 0, let slot = found, slot.isGuestMemfd,
            let fileIndex = slot.guestMemfd, let file = openFiles[fileIndex]
        {
            attributePrivate = pageIsPrivate(file.inode, slot.guestMemfdPageOffset + (page - slot.basePage))
        }
        // kvm_mmu_faultin_pfn: private/shared mismatch first (G3).
        if isPrivate != attributePrivate { return fault }
        guard let slot = found else {
            return isPrivate ? fault : .mmio(guestPhysicalAddress: guestPhysicalAddress, isWrite: access.isWrite)
        }
        if isPrivate || slot.guestMemfdOnly {
            // kvm_mmu_faultin_pfn_gmem / kvm_gmem_get_pfn.
            guard slot.isGuestMemfd, let fileIndex = slot.guestMemfd, let file = openFiles[fileIndex] else {
                return fault
            }
            let filePage = slot.guestMemfdPageOffset + (page - slot.basePage)
            switch access {
            case .read:
                inodes[file.inode]!.pages.fillGaps(filePage, filePage + 1, with: 0)
                var value: UInt64 = 0
                for byte in 0..<UInt64(8) {
                    value |= UInt64(readByte(file.inode, filePage << GmemABI.pageShift + byte)) << (byte * 8)
                }
                return .value(value)
            case .write(let value):
                inodes[file.inode]!.pages.set(filePage, filePage + 1, to: value)
                if !inodes[file.inode]!.bytes.isEmpty {
                    for byte in 0..<UInt64(8) { inodes[file.inode]!.bytes[filePage << GmemABI.pageShift + byte] = nil }
                }
                return .written
            }
        }
        // Shared access through userspace_addr (v1 memslots, B10).
        if access.isWrite, slot.flags & GmemABI.MemslotFlag.readonly != 0 {
            return .mmio(guestPhysicalAddress: guestPhysicalAddress, isWrite: true)
        }
        let hostAddress = slot.userspaceAddress + ((page - slot.basePage) << GmemABI.pageShift)
        // hva_to_pfn: gup-fast first (a present writable page-table entry serves a read as
        // well: x86 cannot express write-only; not for a read-only memslot, whose reads take
        // no writable mapping), then get_user_pages, which checks the VMA's own flags: a read
        // needs VM_READ and a write VM_WRITE.
        if let mapping = mapping(containing: hostAddress) {
            let needed = access.isWrite ? GmemABI.Protection.write : GmemABI.Protection.read
            if mapping.protection & needed == 0 {
                let readonlySlot = slot.flags & GmemABI.MemslotFlag.readonly != 0
                guard !access.isWrite, !readonlySlot, hasWritableEntry(mapping, at: hostAddress >> GmemABI.pageShift)
                else {
                    return .userspaceFault
                }
            }
        }
        switch access {
        case .read:
            guard case .success(let value) = hostRead(address: hostAddress) else { return .userspaceFault }
            return .value(value)
        case .write(let value):
            guard case .success = hostWrite(address: hostAddress, value: value) else { return .userspaceFault }
            return .written
        }
    }
}

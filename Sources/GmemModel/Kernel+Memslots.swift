/// Memslots and guest_memfd bindings (GMEM-SPEC B), in the order of `kvm_set_memory_region`
/// and `kvm_gmem_bind`.
extension ModelKernel {
    /// `KVM_SET_USER_MEMORY_REGION` (v1) on a VM fd: creates, moves, re-flags or (size 0)
    /// deletes a memslot backed by `userspaceAddress`.
    ///
    /// Fails with `EINVAL` for `KVM_MEM_GUEST_MEMFD` (B1) and the other v1 rules, `EEXIST`
    /// for an overlapping guest physical range; see ``setUserMemoryRegion2(vmFD:_:)``.
    public mutating func setUserMemoryRegion(
        vmFD: Int32, slot: UInt32, flags: UInt32, guestPhysicalAddress: UInt64, memorySize: UInt64,
        userspaceAddress: UInt64
    ) -> Result<Void, ModelErrno> {
        let region = GmemRules.MemoryRegion(
            slot: slot, flags: flags, guestPhysicalAddress: guestPhysicalAddress, memorySize: memorySize,
            userspaceAddress: userspaceAddress)
        return setMemoryRegion(vmFD: vmFD, region, ioctl: .v1)
    }

    /// `KVM_SET_USER_MEMORY_REGION2` on a VM fd: like v1, and with `KVM_MEM_GUEST_MEMFD` it
    /// binds `memorySize` bytes at `guestMemfdOffset` of the guest_memfd `guestMemfd`.
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd, `ENOTTY` without
    /// `KVM_CAP_USER_MEMORY2`, `EINVAL` for bad flags (B2), offsets (B3), a non-gmem fd (B4),
    /// another VM's file (B5), an overlapping file range (B6) or a change to a gmem memslot
    /// (B7); `EEXIST` for an overlapping guest physical range (B6); `EBADF` for a closed gmem fd.
    public mutating func setUserMemoryRegion2(
        vmFD: Int32, slot: UInt32, flags: UInt32, guestPhysicalAddress: UInt64, memorySize: UInt64,
        userspaceAddress: UInt64 = 0, guestMemfd: Int32 = -1, guestMemfdOffset: UInt64 = 0
    ) -> Result<Void, ModelErrno> {
        let region = GmemRules.MemoryRegion(
            slot: slot, flags: flags, guestPhysicalAddress: guestPhysicalAddress, memorySize: memorySize,
            userspaceAddress: userspaceAddress, guestMemfdOffset: guestMemfdOffset,
            guestMemfd: UInt32(bitPattern: guestMemfd))
        return setMemoryRegion(vmFD: vmFD, region, ioctl: .v2)
    }

    /// `KVM_SET_USER_MEMORY_REGION2` with a prepared request; see the labelled form.
    ///
    /// Fails as ``setUserMemoryRegion2(vmFD:slot:flags:guestPhysicalAddress:memorySize:userspaceAddress:guestMemfd:guestMemfdOffset:)``.
    public mutating func setUserMemoryRegion2(vmFD: Int32, _ region: GmemRules.MemoryRegion) -> Result<Void, ModelErrno>
    {
        setMemoryRegion(vmFD: vmFD, region, ioctl: .v2)
    }

    mutating func setMemoryRegion(vmFD: Int32, _ region: GmemRules.MemoryRegion, ioctl: GmemRules.RegionIoctl)
        -> Result<Void, ModelErrno>
    {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        if ioctl == .v2, !capabilities.userMemory2 { return .failure(.ENOTTY) }
        let vmType = machines[machine]!.type
        if let error = GmemRules.validateMemoryRegion(region, ioctl: ioctl, vmType: vmType, capabilities: capabilities)
        {
            return .failure(error)
        }
        let slots = machines[machine]!.slots
        let oldIndex = slots.firstIndex(where: { $0.slot == region.slot })

        // Delete.
        if region.memorySize == 0 {
            guard let oldIndex else { return .failure(.EINVAL) }
            let old = slots[oldIndex]
            machines[machine]!.slots.remove(at: oldIndex)
            unbind(old, of: machine)  // B8: frees the file range, leaves the data.
            return .success(())
        }

        let basePage = region.guestPhysicalAddress >> GmemABI.pageShift
        let pageCount = region.memorySize >> GmemABI.pageShift
        if let oldIndex {
            let old = slots[oldIndex]
            let change: GmemRules.SlotChange
            switch GmemRules.classifySlotChange(
                oldFlags: old.flags, oldGuestPhysicalAddress: old.guestPhysicalAddress,
                oldMemorySize: old.memorySize, oldUserspaceAddress: old.userspaceAddress, request: region)
            {
            case .success(let value): change = value
            case .failure(let error): return .failure(error)
            }
            switch change {
            case .nothing:
                return .success(())
            case .flagsOnly:
                machines[machine]!.slots[oldIndex].flags = region.flags
                return .success(())
            case .move:
                if overlaps(
                    slots, addressSpace: region.addressSpace, basePage: basePage, pageCount: pageCount,
                    except: region.slot)
                {
                    return .failure(.EEXIST)
                }
                if let error = GmemRules.validatePlacement(
                    basePage: basePage, pageCount: pageCount, physicalAddressBits: capabilities.physicalAddressBits)
                {
                    return .failure(error)
                }
                machines[machine]!.slots[oldIndex].basePage = basePage
                machines[machine]!.slots[oldIndex].flags = region.flags
                return .success(())
            }
        }

        // Create.
        if overlaps(
            slots, addressSpace: region.addressSpace, basePage: basePage, pageCount: pageCount, except: region.slot)
        {
            return .failure(.EEXIST)
        }
        var slot = MemorySlot(
            slot: region.slot, flags: region.flags, basePage: basePage, pageCount: pageCount,
            userspaceAddress: region.userspaceAddress, guestMemfd: nil, guestMemfdPageOffset: 0, guestMemfdOnly: false)
        var bindFile: Int?
        if region.isGuestMemfd {
            switch checkBinding(
                machine: machine, fd: Int32(bitPattern: region.guestMemfd), offset: region.guestMemfdOffset,
                size: region.memorySize)
            {
            case .success(let file): bindFile = file
            case .failure(let error): return .failure(error)
            }
        }
        // kvm_arch_prepare_memory_region runs after the bind; a failure unbinds again.
        if let error = GmemRules.validatePlacement(
            basePage: basePage, pageCount: pageCount, physicalAddressBits: capabilities.physicalAddressBits)
        {
            return .failure(error)
        }
        if let bindFile {
            slot.guestMemfd = bindFile
            slot.guestMemfdPageOffset = region.guestMemfdOffset >> GmemABI.pageShift
            slot.guestMemfdOnly = inodes[openFiles[bindFile]!.inode]!.flags & GmemABI.CreateFlag.mmap != 0
            bind(file: bindFile, slot: slot, machine: machine)
        }
        let position =
            machines[machine]!.slots.firstIndex(where: { $0.slot > region.slot }) ?? machines[machine]!.slots.count
        machines[machine]!.slots.insert(slot, at: position)
        return .success(())
    }

    /// `kvm_check_memslot_overlap`: whether another slot of the address space overlaps.
    func overlaps(_ slots: [MemorySlot], addressSpace: UInt32, basePage: UInt64, pageCount: UInt64, except slot: UInt32)
        -> Bool
    {
        let end = basePage + pageCount
        return slots.contains {
            $0.slot != slot && $0.addressSpace == addressSpace && $0.basePage < end
                && basePage < $0.basePage + $0.pageCount
        }
    }

    /// The checks of `kvm_gmem_bind`; returns the open file to bind.
    func checkBinding(machine: Int, fd: Int32, offset: UInt64, size: UInt64) -> Result<Int, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard let gmem = file.guestMemfd, let inode = inodes[file.inode] else {
            return .failure(
                GmemRules.validateBinding(
                    isGuestMemfd: false, ownedByBindingVM: false, offset: offset, size: size, fileSize: 0,
                    rangeIsUnbound: true)!)
        }
        let start = offset >> GmemABI.pageShift
        let unbound = gmem.bindings.firstExtent(overlapping: start, start + (size >> GmemABI.pageShift)) == nil
        if let error = GmemRules.validateBinding(
            isGuestMemfd: true, ownedByBindingVM: policy.mayBind(owner: gmem.owner, to: machine),
            offset: offset, size: size, fileSize: inode.size, rangeIsUnbound: unbound,
            overlapErrno: capabilities.overlappingBindingErrno)
        {
            return .failure(error)
        }
        return .success(index)
    }

    /// Records the binding in the file and applies the policy's bind decisions.
    mutating func bind(file: Int, slot: MemorySlot, machine: Int) {
        let start = slot.guestMemfdPageOffset
        if policy.zeroesOnRebindToAnotherVM, openFiles[file]!.guestMemfd!.dataOwner != .machine(machine) {
            let inode = openFiles[file]!.inode
            inodes[inode]!.pages = PageMap()
            inodes[inode]!.bytes = [:]
        }
        openFiles[file]!.guestMemfd!.dataOwner = .machine(machine)
        openFiles[file]!.guestMemfd!.owner = .machine(machine)
        openFiles[file]!.guestMemfd!.bindings.set(
            start, start + slot.pageCount, to: BindingTarget(machine: machine, slot: slot.slot))
        if policy.memslotHoldsFileReference { openFiles[file]!.references += 1 }
    }
}

import GmemModel
import Testing

@Suite("GMEM-B: binding")
struct BindingTests {
    @Test("the v1 ioctl refuses the guest_memfd flag")
    func v1RefusesGuestMemfd() throws {
        // GMEM-B1
        var f = try Fixture()
        #expect(
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 0, flags: gmemSlot, guestPhysicalAddress: 0, memorySize: page, userspaceAddress: 0
            ).failure == .EINVAL)
        let memory = try f.kernel.mapAnonymous(length: page).get()
        #expect(
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: page, userspaceAddress: memory)
                == .success(()))
    }

    @Test("guest_memfd memslots cannot log dirty pages or be read-only")
    func flagCombinations() throws {
        // GMEM-B2
        var f = try Fixture()
        let fd = try f.gmem()
        for extra in [GmemABI.MemslotFlag.logDirtyPages, GmemABI.MemslotFlag.readonly, 8] {
            #expect(
                f.kernel.setUserMemoryRegion2(
                    vmFD: f.vm, slot: 0, flags: gmemSlot | extra, guestPhysicalAddress: 0, memorySize: page,
                    guestMemfd: fd
                ).failure == .EINVAL)
        }
        #expect(f.kernel.liveVMs[0].memorySlots.isEmpty)
    }

    @Test("the file range must be page-aligned and inside the file")
    func fileRange() throws {
        // GMEM-B3
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: 0, flags: gmemSlot, guestPhysicalAddress: 0, memorySize: page, guestMemfd: fd,
                guestMemfdOffset: 1
            ).failure == .EINVAL)
        #expect(f.bind(fd, pages: 2, offsetPage: 3).failure == .EINVAL)
        #expect(f.bind(fd, pages: 5).failure == .EINVAL)
        #expect(
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: 0, flags: gmemSlot, guestPhysicalAddress: 0, memorySize: page, guestMemfd: fd,
                guestMemfdOffset: UInt64.max & ~4095
            ).failure == .EINVAL)
        #expect(f.bind(fd, pages: 1, offsetPage: 3) == .success(()))
    }

    @Test("the fd must be an open guest_memfd")
    func notAGuestMemfd() throws {
        // GMEM-B4
        var f = try Fixture()
        let memfd = f.kernel.createMemfd(size: 4 * page)
        #expect(f.bind(memfd).failure == .EINVAL)
        #expect(f.bind(f.vm).failure == .EINVAL)
        #expect(f.bind(60).failure == .EBADF)
        let fd = try f.gmem()
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.bind(fd).failure == .EBADF)
    }

    @Test("a guest_memfd created by another VM is refused")
    func anotherVMsFile() throws {
        // GMEM-B5
        var f = try Fixture()
        let other = try f.kernel.createVM().get()
        let foreign = try f.gmem(vm: other)
        #expect(f.bind(foreign).failure == .EINVAL)
        #expect(f.bind(foreign, vm: other) == .success(()))
        // Even with every binding gone and the creator's fd closed, the file stays its creator's.
        #expect(f.delete(vm: other) == .success(()))
        #expect(f.kernel.close(other) == .success(()))
        #expect(f.bind(foreign).failure == .EINVAL)
    }

    @Test("overlapping file ranges are EINVAL, overlapping guest ranges EEXIST")
    func overlaps() throws {
        // GMEM-B6
        var f = try Fixture()
        let fd = try f.gmem(pages: 8)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4, offsetPage: 0) == .success(()))
        #expect(f.bind(fd, slot: 1, gpaPage: 16, pages: 4, offsetPage: 3).failure == .EINVAL)
        #expect(f.bind(fd, slot: 1, gpaPage: 2, pages: 4, offsetPage: 4).failure == .EEXIST)
        #expect(f.bind(fd, slot: 1, gpaPage: 4, pages: 4, offsetPage: 4) == .success(()))
        #expect(f.kernel.liveVMs[0].memorySlots.count == 2)
    }

    @Test("the guest range overlap is checked before the fd is looked up")
    func overlapBeforeFD() throws {
        // GMEM-B6, GMEM-B4: kvm_set_memory_region checks overlap before kvm_gmem_bind
        var f = try Fixture()
        let fd = try f.gmem(pages: 8)
        #expect(f.bind(fd, slot: 0, pages: 4) == .success(()))
        #expect(f.bind(99, slot: 1, gpaPage: 1, pages: 1).failure == .EEXIST)
        #expect(f.bind(99, slot: 1, gpaPage: 8, pages: 1).failure == .EBADF)
    }

    @Test("a guest_memfd memslot cannot be modified or moved")
    func immutable() throws {
        // GMEM-B7
        var f = try Fixture()
        let fd = try f.gmem(pages: 8)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4) == .success(()))
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4).failure == .EINVAL)
        #expect(f.bind(fd, slot: 0, gpaPage: 16, pages: 4).failure == .EINVAL)
        #expect(
            f.kernel.setUserMemoryRegion2(vmFD: f.vm, slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: 4 * page)
                .failure == .EINVAL)
        #expect(
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: 0, flags: GmemABI.MemslotFlag.logDirtyPages, guestPhysicalAddress: 0,
                memorySize: 4 * page
            ).failure == .EINVAL)
        #expect(f.kernel.liveVMs[0].memorySlots[0].guestPhysicalAddress == 0)
        // Delete, then create again at the new place.
        #expect(f.delete(slot: 0) == .success(()))
        #expect(f.bind(fd, slot: 0, gpaPage: 16, pages: 4) == .success(()))
    }

    @Test("an ordinary memslot can move and change its dirty logging")
    func ordinaryMemslotChanges() throws {
        // GMEM-B7 (contrast: the ordinary rules)
        var f = try Fixture()
        let memory = try f.kernel.mapAnonymous(length: 2 * page).get()
        func set(_ flags: UInt32, _ gpa: UInt64, _ size: UInt64 = 2 * page, _ address: UInt64? = nil) -> Result<
            Void, ModelErrno
        > {
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 3, flags: flags, guestPhysicalAddress: gpa, memorySize: size,
                userspaceAddress: address ?? memory)
        }
        #expect(set(0, 0) == .success(()))
        #expect(set(0, 0) == .success(()))
        #expect(set(GmemABI.MemslotFlag.logDirtyPages, 0) == .success(()))
        #expect(set(GmemABI.MemslotFlag.logDirtyPages, 8 * page) == .success(()))
        #expect(f.kernel.liveVMs[0].memorySlots[0].guestPhysicalAddress == 8 * page)
        #expect(set(0, 8 * page, page).failure == .EINVAL)
        #expect(set(GmemABI.MemslotFlag.readonly, 8 * page).failure == .EINVAL)
        #expect(set(0, 8 * page, 2 * page, memory + page).failure == .EINVAL)
        #expect(
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 3, flags: 0, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: 0)
                == .success(()))
        #expect(
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 3, flags: 0, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: 0
            ).failure == .EINVAL)
    }

    @Test("deleting a memslot frees its file range for a new binding; the data is untouched")
    func deleteAndRebind() throws {
        // GMEM-B8
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4) == .success(()))
        #expect(try f.guestWrite(1, 0x51) == .written)
        #expect(f.delete(slot: 0) == .success(()))
        #expect(f.kernel.peek(fd: fd, page: 1) == .success(0x51))
        #expect(f.bind(fd, slot: 5, gpaPage: 32, pages: 4) == .success(()))
        #expect(try f.guestRead(33) == .value(0x51))
    }

    @Test("userspace_addr may be 0; with MMAP|INIT_SHARED the guest faults from the file")
    func userspaceAddressUnused() throws {
        // GMEM-B9
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd, pages: 4, userspaceAddress: 0) == .success(()))
        let address = try f.map(fd)
        #expect(f.kernel.hostWrite(address: address + 2 * page, value: 0xCAFE) == .success(()))
        #expect(try f.guestRead(2) == .value(0xCAFE))
    }

    @Test("without MMAP the shared side is backed by userspace_addr, the private side by the file")
    func sharedSideFromUserspace() throws {
        // GMEM-B10
        var f = try Fixture(.upstream, type: GmemABI.VMType.softwareProtected)
        let fd = try f.gmem(pages: 2, flags: 0)
        let shared = try f.kernel.mapAnonymous(length: 2 * page).get()
        #expect(f.bind(fd, pages: 2, userspaceAddress: shared) == .success(()))
        #expect(f.kernel.hostWrite(address: shared, value: 0x5A) == .success(()))
        #expect(try f.guestRead(0) == .value(0x5A))
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: privateAttribute)
                == .success(()))
        #expect(try f.guestWrite(0, 0x77, isPrivate: true) == .written)
        #expect(f.kernel.peek(fd: fd, page: 0) == .success(0x77))
        #expect(f.kernel.hostRead(address: shared) == .success(0x5A))
    }

    @Test("the generic region checks apply, in the kernel's order")
    func regionChecks() throws {
        // GMEM-B (kvm_set_memory_region sanity checks)
        var f = try Fixture()
        let fd = try f.gmem()
        func region(slot: UInt32 = 0, gpa: UInt64 = 0, size: UInt64 = page, address: UInt64 = 0) -> ModelErrno? {
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: slot, flags: gmemSlot, guestPhysicalAddress: gpa, memorySize: size,
                userspaceAddress: address, guestMemfd: fd
            ).failure
        }
        #expect(region(size: 100) == .EINVAL)
        #expect(region(gpa: 100) == .EINVAL)
        #expect(region(address: 100) == .EINVAL)
        #expect(region(address: 0x7FFF_FFFF_F000) == .EINVAL)
        #expect(region(slot: GmemABI.userMemorySlots) == .EINVAL)
        #expect(region(slot: 2 << 16) == .EINVAL)
        #expect(region(gpa: UInt64.max & ~4095) == .EINVAL)
        #expect(region(gpa: 1 << 52) == .EINVAL)
        #expect(region(slot: 1 << 16) == nil)  // SMM address space of a default VM
        #expect(
            f.kernel.setUserMemoryRegion2(vmFD: 77, slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: 0).failure
                == .EBADF)
        #expect(
            f.kernel.setUserMemoryRegion2(vmFD: fd, slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: 0).failure
                == .ENOTTY)
    }

    @Test("without KVM_CAP_USER_MEMORY2 the v2 ioctl is unknown")
    func noUserMemory2() throws {
        var capabilities = ModelCapabilities.referenceHost
        capabilities.userMemory2 = false
        var f = try Fixture(capabilities)
        #expect(
            f.kernel.setUserMemoryRegion2(vmFD: f.vm, slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: 0).failure
                == .ENOTTY)
    }
}

import GmemModel
import Testing

@Suite("GMEM-G: guest access")
struct GuestTests {
    @Test("a bound page is served from the file; host and guest see the same data")
    func servedFromFile() throws {
        // GMEM-G1
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd, gpaPage: 16, pages: 4) == .success(()))
        let address = try f.map(fd)
        #expect(f.kernel.hostWrite(address: address + page, value: 0x1111) == .success(()))
        #expect(try f.guestRead(17) == .value(0x1111))
        #expect(try f.guestWrite(18, 0x2222) == .written)
        #expect(f.kernel.hostRead(address: address + 2 * page) == .success(0x2222))
        #expect(try f.guestRead(19) == .value(0))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(3))
    }

    @Test("after the file is released, access exits with a memory fault; other memslots keep working")
    func releasedFileFaults() throws {
        // GMEM-G2
        var f = try Fixture()
        let vcpu = try f.kernel.createVCPU(vmFD: f.vm).get()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4) == .success(()))
        let other = try f.gmem(pages: 4)
        #expect(f.bind(other, slot: 1, gpaPage: 16, pages: 4) == .success(()))
        let memory = try f.kernel.mapAnonymous(length: page).get()
        #expect(
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: 2, flags: 0, guestPhysicalAddress: 64 * page, memorySize: page,
                userspaceAddress: memory) == .success(()))
        #expect(try f.guestWrite(2, 5, fd: vcpu) == .written)
        #expect(f.kernel.close(fd) == .success(()))
        let outcome = try f.kernel.guestAccess(fd: vcpu, guestPhysicalAddress: 2 * page + 123, .read).get()
        #expect(outcome == memoryFault(gpaPage: 2))
        #expect(outcome.errno == .EFAULT)
        #expect(try f.guestWrite(17, 6, fd: vcpu) == .written)
        #expect(try f.guestRead(17, fd: vcpu) == .value(6))
        #expect(try f.guestWrite(64, 7, fd: vcpu) == .written)
        #expect(f.kernel.hostRead(address: memory) == .success(7))
    }

    @Test("a private access where memory is shared exits with the PRIVATE flag (reference host)")
    func privateAccessOnHost() throws {
        // GMEM-G3
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.bind(fd) == .success(()))
        #expect(try f.guestRead(1, isPrivate: true) == memoryFault(gpaPage: 1, isPrivate: true))
    }

    @Test("a kind that disagrees with the attribute, or private memory without gmem, exits")
    func privateSharedMismatch() throws {
        // GMEM-G3
        var f = try Fixture(.upstream, type: GmemABI.VMType.softwareProtected)
        let fd = try f.gmem(pages: 4, flags: 0)
        let shared = try f.kernel.mapAnonymous(length: 8 * page).get()
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 4, userspaceAddress: shared) == .success(()))
        #expect(
            f.kernel.setUserMemoryRegion2(
                vmFD: f.vm, slot: 1, flags: 0, guestPhysicalAddress: 4 * page, memorySize: 4 * page,
                userspaceAddress: shared + 4 * page) == .success(()))
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: 8 * page, attributes: privateAttribute)
                == .success(()))
        #expect(try f.guestRead(1) == memoryFault(gpaPage: 1))
        #expect(try f.guestRead(1, isPrivate: true) == .value(0))
        #expect(try f.guestRead(5, isPrivate: true) == memoryFault(gpaPage: 5, isPrivate: true))
        #expect(try f.guestRead(6) == memoryFault(gpaPage: 6))
        #expect(try f.guestRead(100, isPrivate: true) == memoryFault(gpaPage: 100, isPrivate: true))
        #expect(f.kernel.close(fd) == .success(()))
        #expect(try f.guestRead(1, isPrivate: true) == memoryFault(gpaPage: 1, isPrivate: true))
    }

    @Test("unbacked addresses exit as MMIO; read-only memslots trap writes")
    func mmioExits() throws {
        // GMEM-G (ordinary exits the model reports)
        var f = try Fixture()
        #expect(try f.guestRead(3) == .mmio(guestPhysicalAddress: 3 * page, isWrite: false))
        let memory = try f.kernel.mapAnonymous(length: page).get()
        #expect(
            f.kernel.setUserMemoryRegion(
                vmFD: f.vm, slot: 0, flags: GmemABI.MemslotFlag.readonly, guestPhysicalAddress: 0, memorySize: page,
                userspaceAddress: memory) == .success(()))
        #expect(try f.guestWrite(0, 1) == .mmio(guestPhysicalAddress: 0, isWrite: true))
        #expect(try f.guestRead(0) == .value(0))
    }

    @Test("a shared access whose userspace_addr is not backed fails with EFAULT")
    func userspaceFault() throws {
        var f = try Fixture()
        let fd = try f.gmem(flags: initShared)
        #expect(f.bind(fd, userspaceAddress: 0x10_0000) == .success(()))
        let outcome = try f.guestRead(0)
        #expect(outcome == .userspaceFault)
        #expect(outcome.errno == .EFAULT)
    }

    @Test("KVM_RUN needs a vCPU (or VM) fd")
    func accessNeedsVCPU() throws {
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.guestAccess(fd: fd, guestPhysicalAddress: 0, .read).failure == .ENOTTY)
        #expect(f.kernel.guestAccess(fd: 40, guestPhysicalAddress: 0, .read).failure == .EBADF)
    }
}

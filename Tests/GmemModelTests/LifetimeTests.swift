import GmemModel
import Testing

@Suite("GMEM-L: lifetime")
struct LifetimeTests {
    @Test("an open gmem reference keeps the VM alive after the VM fd is closed")
    func fileKeepsVMAlive() throws {
        // GMEM-L1
        var f = try Fixture()
        let fd = try f.gmem()
        let copy = try f.kernel.dup(fd).get()
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(f.kernel.liveVMs.map(\.id) == [0])
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.liveVMs.map(\.id) == [0])
        #expect(f.kernel.close(copy) == .success(()))
        #expect(f.kernel.liveVMs.isEmpty)
    }

    @Test("a vCPU keeps running after the VM fd is closed")
    func vcpuKeepsRunning() throws {
        // GMEM-L2
        var f = try Fixture()
        let vcpu = try f.kernel.createVCPU(vmFD: f.vm, id: 0).get()
        let fd = try f.gmem()
        #expect(f.bind(fd) == .success(()))
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(try f.guestWrite(1, 42, fd: vcpu) == .written)
        #expect(try f.guestRead(1, fd: vcpu) == .value(42))
        #expect(f.kernel.createVCPU(vmFD: vcpu, id: 1).failure == .EINVAL)
    }

    @Test("with the VM fd closed the gmem fd still allocates, punches and maps")
    func fileWorksWithoutVMFD() throws {
        // GMEM-L3
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(4 * page)) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(3))
        let address = try f.map(fd)
        #expect(f.kernel.hostWrite(address: address, value: 1) == .success(()))
    }

    @Test("memslots hold no reference: deleting all of them leaves the file and its data")
    func memslotsDoNotPinFile() throws {
        // GMEM-L4
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd, slot: 0, gpaPage: 0, pages: 2, offsetPage: 0) == .success(()))
        #expect(f.bind(fd, slot: 1, gpaPage: 8, pages: 2, offsetPage: 2) == .success(()))
        #expect(try f.guestWrite(9, 3) == .written)
        #expect(f.kernel.liveGuestMemfds[0].references == 1)
        #expect(f.delete(slot: 0) == .success(()))
        #expect(f.delete(slot: 1) == .success(()))
        #expect(f.kernel.liveGuestMemfds.count == 1)
        #expect(f.kernel.liveGuestMemfds[0].bindings.isEmpty)
        #expect(f.kernel.peek(fd: fd, page: 3) == .success(3))
    }

    @Test("closing the last file reference invalidates bindings, drops the VM reference, frees memory")
    func lastFileReference() throws {
        // GMEM-L5
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        #expect(f.bind(fd) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(4 * page)) == .success(()))
        #expect(f.kernel.liveVMs[0].references == 2)
        #expect(f.kernel.close(fd) == .success(()))
        let vm = f.kernel.liveVMs[0]
        #expect(vm.references == 1)
        #expect(vm.memorySlots.count == 1)
        #expect(vm.memorySlots[0].isGuestMemfd)
        #expect(vm.memorySlots[0].guestMemfd == nil)
        #expect(f.kernel.allocatedGuestMemfdPages == 0)
        #expect(f.kernel.liveGuestMemfds.isEmpty)
    }

    @Test("the VM is destroyed when its last reference of any kind goes")
    func lastVMReference() throws {
        // GMEM-L6
        var f = try Fixture()
        let vcpu = try f.kernel.createVCPU(vmFD: f.vm).get()
        let stats = try f.kernel.createStatsFD(fd: vcpu).get()
        let fd = try f.gmem()
        let address = try f.map(fd)
        #expect(f.bind(fd) == .success(()))
        #expect(f.kernel.liveVMs[0].references == 4)  // VM fd, vCPU, stats, gmem file
        for closing in [f.vm, vcpu, fd, stats] {
            #expect(f.kernel.close(closing) == .success(()))
            #expect(f.kernel.liveVMs.count == 1)
        }
        #expect(f.kernel.munmap(address: address, length: 4 * page) == .success(()))
        #expect(f.kernel.liveVMs.isEmpty)
        #expect(f.kernel.liveGuestMemfds.isEmpty)
        // Nothing is left behind (only the placement cursor moved past the mapping).
        var fresh = ModelKernel()
        _ = fresh.mapAnonymous(length: 4 * page).map { fresh.munmap(address: $0, length: 4 * page) }
        #expect(f.kernel == fresh)
    }

    @Test("memory never outlives its VM under the upstream policy")
    func memoryNeverOutlivesVM() throws {
        // GMEM-L6
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(f.kernel.allocatedGuestMemfdPages == 1)
        #expect(!f.kernel.liveVMs.isEmpty)  // while memory exists, so does the VM
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.allocatedGuestMemfdPages == 0)
        #expect(f.kernel.liveVMs.isEmpty)
    }

    @Test("vCPU ids are unique and bounded")
    func vcpuIDs() throws {
        var f = try Fixture()
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 2) == .success(4))
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 2).failure == .EEXIST)
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: UInt64(GmemABI.maxVCPUIDs)).failure == .EINVAL)
        #expect(f.kernel.close(4) == .success(()))
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 2).failure == .EEXIST)
    }
}

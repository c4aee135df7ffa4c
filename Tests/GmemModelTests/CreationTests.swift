import GmemModel
import Testing

@Suite("GMEM-C: creation")
struct CreationTests {
    @Test("size must be positive and page-aligned")
    func sizeMustBePositiveAndAligned() throws {
        // GMEM-C1
        var f = try Fixture()
        for size: UInt64 in [0, 1, 4095, 4097, 1 << 63, UInt64.max & ~4095] {
            #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: size, flags: 0).failure == .EINVAL, "size \(size)")
        }
        #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: 4096, flags: 0) == .success(4))
    }

    @Test("flags must be a subset of GUEST_MEMFD_FLAGS")
    func flagsMustBeSupported() throws {
        // GMEM-C2
        var f = try Fixture()
        for flags: UInt64 in [4, 8, 1 << 63, 7] {
            #expect(
                f.kernel.createGuestMemfd(vmFD: f.vm, size: page, flags: flags).failure == .EINVAL, "flags \(flags)")
        }
        for flags: UInt64 in [0, 1, 2, 3] {
            #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: page, flags: flags).failure == nil, "flags \(flags)")
        }
    }

    @Test("a VM with private memory does not offer INIT_SHARED")
    func privateMemoryVMRefusesInitShared() throws {
        // GMEM-C2 (kvm_arch_supports_gmem_init_shared)
        var f = try Fixture(.upstream, type: GmemABI.VMType.softwareProtected)
        #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: page, flags: initShared).failure == .EINVAL)
        #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: page, flags: mmapFlag).failure == nil)
    }

    @Test("reserved words are not checked")
    func reservedIgnored() throws {
        // GMEM-C3
        var f = try Fixture()
        let fd = f.kernel.createGuestMemfd(vmFD: f.vm, size: page, flags: 0, reserved: [1, 2, 3, 4, 5, 6])
        #expect(fd == .success(4))
    }

    @Test("INIT_SHARED without MMAP is accepted but cannot be mapped")
    func initSharedWithoutMmap() throws {
        // GMEM-C4
        var f = try Fixture()
        let fd = try f.gmem(flags: initShared)
        #expect(f.kernel.mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 0, length: page).failure == .ENODEV)
    }

    @Test("the file is a regular 0600 file, not close-on-exec")
    func fileStatus() throws {
        // GMEM-C5
        var f = try Fixture()
        let fd = try f.gmem(pages: 16)
        let status = try f.kernel.fileStatus(fd: fd).get()
        #expect(status.isRegularFile)
        #expect(status.mode == 0o600)
        #expect(status.size == 16 * page)
        #expect(!status.closeOnExec)
        #expect(f.kernel.allocatedPages(fd: fd) == .success(0))
    }

    @Test("the file cannot be reopened through /proc/self/fd")
    func reopenRefused() throws {
        // GMEM-C6
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.reopen(fd: fd).failure == .ENXIO)
        #expect(f.kernel.reopen(fd: f.vm).failure == .ENXIO)
        #expect(f.kernel.reopen(fd: 99).failure == .ENOENT)
        let memfd = f.kernel.createMemfd(size: page)
        #expect(f.kernel.reopen(fd: memfd).failure == nil)
    }

    @Test("each creation makes a new inode owned by its VM for life")
    func newInodePerCreation() throws {
        // GMEM-C7
        var f = try Fixture()
        let a = try f.gmem()
        let b = try f.gmem()
        let mapA = try f.map(a)
        let mapB = try f.map(b)
        #expect(f.kernel.hostWrite(address: mapA, value: 7) == .success(()))
        #expect(f.kernel.hostRead(address: mapB) == .success(0))
        let files = f.kernel.liveGuestMemfds
        #expect(files.count == 2)
        #expect(files.allSatisfy { $0.owner == .machine(0) })
        #expect(Set(files.map(\.id)).count == 2)
    }

    @Test("creation needs a VM fd")
    func creationNeedsVMFD() throws {
        // GMEM-C (ioctl dispatch): closed fd, vCPU fd, guest_memfd fd
        var f = try Fixture()
        let vcpu = try f.kernel.createVCPU(vmFD: f.vm).get()
        let gmem = try f.gmem()
        #expect(f.kernel.createGuestMemfd(vmFD: 42, size: page).failure == .EBADF)
        #expect(f.kernel.createGuestMemfd(vmFD: vcpu, size: page).failure == .EINVAL)
        #expect(f.kernel.createGuestMemfd(vmFD: gmem, size: page).failure == .ENOTTY)
    }

    @Test(
        "a VM creates at most KVM_CAP_MAX_VCPUS vCPUs: then EINVAL, before the id is looked up, and closing one makes no room"
    )
    func vcpuCountLimit() throws {
        var capabilities = ModelCapabilities.referenceHost
        capabilities.maxVCPUs = 3
        var f = try Fixture(capabilities)
        var fds: [Int32] = []
        for id: UInt64 in [0, 7, 4095] { fds.append(try f.kernel.createVCPU(vmFD: f.vm, id: id).get()) }
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 1).failure == .EINVAL)
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 0).failure == .EINVAL)  // not EEXIST: the count comes first
        #expect(f.kernel.close(fds[0]).failure == nil)
        #expect(f.kernel.createVCPU(vmFD: f.vm, id: 1).failure == .EINVAL)  // a vCPU lives as long as its VM
        // Another VM counts its own.
        let other = try f.kernel.createVM().get()
        #expect(f.kernel.createVCPU(vmFD: other, id: 0).failure == nil)
        // A refused creation (EEXIST) does not count.
        var g = try Fixture(capabilities)
        _ = try g.kernel.createVCPU(vmFD: g.vm, id: 0).get()
        #expect(g.kernel.createVCPU(vmFD: g.vm, id: 0).failure == .EEXIST)
        #expect(g.kernel.createVCPU(vmFD: g.vm, id: 1).failure == nil)
        #expect(g.kernel.createVCPU(vmFD: g.vm, id: 2).failure == nil)
        #expect(g.kernel.createVCPU(vmFD: g.vm, id: 3).failure == .EINVAL)
    }

    @Test("fds are allocated lowest-free from 3")
    func descriptorNumbering() throws {
        var k = ModelKernel()
        #expect(k.createVM() == .success(3))
        #expect(k.createGuestMemfd(vmFD: 3, size: page) == .success(4))
        #expect(k.createGuestMemfd(vmFD: 3, size: page) == .success(5))
        #expect(k.close(4) == .success(()))
        #expect(k.dup(5) == .success(4))
        #expect(k.openDescriptors == [3, 4, 5])
        #expect(k.close(4) == .success(()))
        #expect(k.close(4).failure == .EBADF)
    }

    @Test("unsupported VM types are refused")
    func vmTypes() {
        var host = ModelKernel(capabilities: .referenceHost)
        #expect(host.createVM(type: GmemABI.VMType.softwareProtected).failure == .EINVAL)
        var upstream = ModelKernel(capabilities: .upstream)
        #expect(upstream.createVM(type: GmemABI.VMType.softwareProtected) == .success(3))
    }

    @Test("without KVM_CAP_GUEST_MEMFD the ioctl is unknown")
    func noGuestMemfdCapability() throws {
        var capabilities = ModelCapabilities.referenceHost
        capabilities.guestMemfd = false
        var f = try Fixture(capabilities)
        #expect(f.kernel.createGuestMemfd(vmFD: f.vm, size: page).failure == .ENOTTY)
    }
}

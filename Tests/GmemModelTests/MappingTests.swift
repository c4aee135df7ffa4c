import GmemModel
import Testing

@Suite("GMEM-M: host mappings")
struct MappingTests {
    @Test("a file without MMAP cannot be mapped")
    func withoutMmapFlag() throws {
        // GMEM-M1
        var f = try Fixture()
        for flags: UInt64 in [0, initShared] {
            let fd = try f.gmem(flags: flags)
            #expect(
                f.kernel.mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 0, length: page).failure == .ENODEV)
        }
    }

    @Test("only MAP_SHARED without PROT_EXEC is accepted")
    func sharedOnly() throws {
        // GMEM-M2
        var f = try Fixture()
        let fd = try f.gmem()
        let exec = GmemABI.Protection.exec
        #expect(
            f.kernel.mmap(fd: fd, prot: readWrite, flags: GmemABI.MapFlag.private, offset: 0, length: page).failure
                == .EINVAL)
        #expect(
            f.kernel.mmap(fd: fd, prot: readWrite | exec, flags: mapShared, offset: 0, length: page).failure == .EPERM)
        #expect(f.kernel.mmap(fd: fd, prot: readWrite, flags: 0, offset: 0, length: page).failure == .EINVAL)
        #expect(f.kernel.mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 0, length: page).failure == nil)
        #expect(
            f.kernel.mmap(fd: fd, prot: readWrite, flags: GmemABI.MapFlag.sharedValidate, offset: 0, length: page)
                .failure == nil)
    }

    @Test("check order: noexec before the file's own checks")
    func mmapCheckOrder() throws {
        // GMEM-M1, GMEM-M2 (do_mmap before kvm_gmem_mmap)
        var f = try Fixture()
        let plain = try f.gmem(flags: 0)
        let mappable = try f.gmem()
        let exec = GmemABI.Protection.exec
        #expect(
            f.kernel.mmap(fd: mappable, prot: exec, flags: GmemABI.MapFlag.private, offset: 0, length: page).failure
                == .EPERM)
        #expect(f.kernel.mmap(fd: plain, prot: exec, flags: mapShared, offset: 0, length: page).failure == .EPERM)
        #expect(
            f.kernel.mmap(fd: plain, prot: readWrite, flags: GmemABI.MapFlag.private, offset: 0, length: page).failure
                == .ENODEV)
        #expect(
            f.kernel.mmap(fd: mappable, prot: readWrite, flags: mapShared, offset: 1, length: page).failure == .EINVAL)
        #expect(f.kernel.mmap(fd: 50, prot: readWrite, flags: mapShared, offset: 1, length: page).failure == .EINVAL)
        #expect(f.kernel.mmap(fd: 50, prot: readWrite, flags: mapShared, offset: 0, length: page).failure == .EBADF)
        #expect(f.kernel.mmap(fd: mappable, prot: readWrite, flags: mapShared, offset: 0, length: 0).failure == .EINVAL)
    }

    @Test("MMAP without INIT_SHARED maps, but every host access raises SIGBUS")
    func privateMemorySIGBUS() throws {
        // GMEM-M3
        var f = try Fixture()
        let fd = try f.gmem(flags: mmapFlag)
        let address = try f.map(fd)
        for index in 0..<UInt64(4) {
            #expect(f.kernel.hostRead(address: address + index * page) == .failure(.sigbus))
            #expect(f.kernel.hostWrite(address: address + index * page, value: 1) == .failure(.sigbus))
        }
        #expect(f.kernel.allocatedPages(fd: fd) == .success(0))
    }

    @Test("an access past the end of the file raises SIGBUS")
    func pastEndSIGBUS() throws {
        // GMEM-M4
        var f = try Fixture()
        let fd = try f.gmem(pages: 2)
        let address = try f.kernel.mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 0, length: 4 * page).get()
        #expect(f.kernel.hostWrite(address: address + page, value: 5) == .success(()))
        #expect(f.kernel.hostRead(address: address + 2 * page) == .failure(.sigbus))
        #expect(f.kernel.hostWrite(address: address + 3 * page, value: 5) == .failure(.sigbus))
        // A mapping at an offset beyond the end is accepted; every access faults.
        let beyond = try f.kernel.mmap(fd: fd, prot: readWrite, flags: mapShared, offset: 8 * page, length: page).get()
        #expect(f.kernel.hostRead(address: beyond) == .failure(.sigbus))
    }

    @Test("a mapping keeps the file, and so the VM, alive after the fds are closed")
    func mappingPinsFile() throws {
        // GMEM-M5, GMEM-L1
        var f = try Fixture()
        let fd = try f.gmem()
        let address = try f.map(fd)
        #expect(f.kernel.hostWrite(address: address, value: 11) == .success(()))
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.close(f.vm) == .success(()))
        #expect(f.kernel.openDescriptors.isEmpty)
        #expect(f.kernel.liveVMs.count == 1)
        #expect(f.kernel.liveGuestMemfds.count == 1)
        #expect(f.kernel.hostRead(address: address) == .success(11))
        #expect(f.kernel.munmap(address: address, length: 4 * page) == .success(()))
        #expect(f.kernel.liveGuestMemfds.isEmpty)
        #expect(f.kernel.liveVMs.isEmpty)
        #expect(f.kernel.allocatedGuestMemfdPages == 0)
    }

    @Test("munmap splits a mapping; each piece pins the file")
    func partialUnmap() throws {
        // GMEM-M5
        var f = try Fixture()
        let fd = try f.gmem()
        let address = try f.map(fd)
        for index in 0..<UInt64(4) {
            #expect(f.kernel.hostWrite(address: address + index * page, value: 100 + index) == .success(()))
        }
        #expect(f.kernel.munmap(address: address + page, length: 2 * page) == .success(()))
        #expect(f.kernel.hostMappings.count == 2)
        #expect(f.kernel.hostRead(address: address + page) == .failure(.sigsegv))
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.hostRead(address: address + 3 * page) == .success(103))
        #expect(f.kernel.munmap(address: address, length: page) == .success(()))
        #expect(f.kernel.liveGuestMemfds.count == 1)
        #expect(f.kernel.munmap(address: address + 3 * page, length: page) == .success(()))
        #expect(f.kernel.liveGuestMemfds.isEmpty)
        #expect(f.kernel.munmap(address: address, length: page) == .success(()))
        #expect(f.kernel.munmap(address: address + 1, length: page).failure == .EINVAL)
    }

    @Test("protections are enforced and unmapped addresses fault")
    func protections() throws {
        var f = try Fixture()
        let fd = try f.gmem()
        let readOnly = try f.kernel.mmap(
            fd: fd, prot: GmemABI.Protection.read, flags: mapShared, offset: 0, length: page
        ).get()
        #expect(f.kernel.hostWrite(address: readOnly, value: 1) == .failure(.sigsegv))
        #expect(f.kernel.hostRead(address: readOnly) == .success(0))
        #expect(f.kernel.hostRead(address: 0x1000) == .failure(.sigsegv))
        let anonymous = try f.kernel.mapAnonymous(length: 2 * page).get()
        #expect(f.kernel.hostWrite(address: anonymous + page, value: 3) == .success(()))
        #expect(f.kernel.hostRead(address: anonymous + page) == .success(3))
        // Addresses are never reused: each mapping starts past the previous one and its guard.
        #expect(anonymous == readOnly + page + ModelKernel.mappingGuard)
    }
}

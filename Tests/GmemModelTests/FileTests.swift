import GmemModel
import Testing

@Suite("GMEM-F: file operations")
struct FileTests {
    @Test("read and write are invalid, positioned I/O and seeking are ESPIPE")
    func readWriteRefused() throws {
        // GMEM-F1
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.fileOperation(.read, fd: fd).failure == .EINVAL)
        #expect(f.kernel.fileOperation(.write, fd: fd).failure == .EINVAL)
        #expect(f.kernel.fileOperation(.pread, fd: fd).failure == .ESPIPE)
        #expect(f.kernel.fileOperation(.pwrite, fd: fd).failure == .ESPIPE)
        #expect(f.kernel.fileOperation(.lseek, fd: fd).failure == .ESPIPE)
        #expect(f.kernel.fileOperation(.read, fd: 77).failure == .EBADF)
    }

    @Test("the size is fixed: ftruncate, fsync and fchmod are invalid")
    func sizeFixed() throws {
        // GMEM-F2
        var f = try Fixture()
        let fd = try f.gmem(pages: 2)
        for operation: ModelKernel.FileOperation in [.ftruncate, .fsync, .fchmod] {
            #expect(f.kernel.fileOperation(operation, fd: fd).failure == .EINVAL)
        }
        #expect(try f.kernel.fileStatus(fd: fd).get().size == 2 * page)
    }

    @Test("fallocate accepts exactly KEEP_SIZE and PUNCH_HOLE|KEEP_SIZE")
    func fallocateModes() throws {
        // GMEM-F3
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        typealias Mode = GmemABI.FallocateMode
        let refused: [Int32] = [
            Mode.allocateRange, Mode.punchHole, Mode.noHideStale, Mode.zeroRange, Mode.zeroRange | Mode.keepSize,
            Mode.collapseRange, Mode.insertRange, Mode.unshareRange, Mode.unshareRange | Mode.keepSize,
            Mode.writeZeroes, Mode.punchHole | Mode.zeroRange | Mode.keepSize, 0x100 | Mode.keepSize,
        ]
        for mode in refused {
            #expect(
                f.kernel.fallocate(fd: fd, mode: mode, offset: 0, length: Int64(page)).failure == .EOPNOTSUPP,
                "mode \(mode)")
        }
    }

    @Test("offsets and lengths are page-aligned; allocation stays inside the file; punching may pass the end")
    func fallocateRanges() throws {
        // GMEM-F4
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        let p = Int64(page)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 1, length: p).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: p + 1).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: p / 2, length: p).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 3 * p, length: 2 * p).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: 4 * p) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 2 * p, length: 100 * p) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 50 * p, length: p) == .success(()))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(2))
    }

    @Test("the generic checks come first: zero length is EINVAL even with a bad mode, overflow is EFBIG")
    func fallocateCheckOrder() throws {
        // GMEM-F3, GMEM-F4 (vfs_fallocate before kvm_gmem_fallocate)
        var f = try Fixture()
        let fd = try f.gmem()
        #expect(f.kernel.fallocate(fd: fd, mode: 0, offset: 0, length: 0).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: -4096, length: 4096).failure == .EINVAL)
        #expect(f.kernel.fallocate(fd: fd, mode: 0, offset: 1, length: 4096).failure == .EOPNOTSUPP)
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: Int64.max - 4095, length: 8192).failure == .EFBIG)
        #expect(f.kernel.fallocate(fd: 99, mode: keepSize, offset: 0, length: 4096).failure == .EBADF)
        #expect(f.kernel.fallocate(fd: f.vm, mode: keepSize, offset: 0, length: 4096).failure == .ENODEV)
    }

    @Test("allocating pins memory; punching or releasing the file returns it")
    func allocationAccounting() throws {
        // GMEM-F5
        var f = try Fixture()
        let pages: UInt64 = 64 * 1024 * 1024 / 4096
        let fd = try f.gmem(pages: pages)
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(pages * page)) == .success(()))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(pages))
        #expect(f.kernel.allocatedGuestMemfdPages == pages)
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 0, length: Int64(pages * page / 2)) == .success(()))
        #expect(f.kernel.allocatedGuestMemfdPages == pages / 2)
        #expect(f.kernel.close(fd) == .success(()))
        #expect(f.kernel.allocatedGuestMemfdPages == 0)
    }

    @Test("punched pages read back zero and are allocated again on the next touch")
    func punchedPagesReadZero() throws {
        // GMEM-F6
        var f = try Fixture()
        let fd = try f.gmem(pages: 2)
        let address = try f.map(fd, pages: 2)
        #expect(f.kernel.hostWrite(address: address, value: 0xAB) == .success(()))
        #expect(f.kernel.peek(fd: fd, page: 0) == .success(0xAB))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(0))
        #expect(f.kernel.hostRead(address: address) == .success(0))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(1))
    }

    @Test("allocating keeps existing data")
    func allocateKeepsData() throws {
        // GMEM-F3, GMEM-F6
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        let address = try f.map(fd)
        #expect(f.kernel.hostWrite(address: address + page, value: 9) == .success(()))
        #expect(f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(4 * page)) == .success(()))
        #expect(f.kernel.hostRead(address: address + page) == .success(9))
        #expect(f.kernel.allocatedPages(fd: fd) == .success(4))
    }

    @Test("a refused operation changes nothing")
    func refusalsLeaveStateUntouched() throws {
        // GMEM-P1
        var f = try Fixture()
        let fd = try f.gmem()
        let before = f.kernel
        _ = f.kernel.fallocate(fd: fd, mode: keepSize, offset: 0, length: Int64(page * 8))
        _ = f.kernel.createGuestMemfd(vmFD: f.vm, size: 3, flags: 0)
        _ = f.bind(fd, pages: 8)
        _ = f.kernel.mmap(fd: fd, prot: GmemABI.Protection.exec, flags: mapShared, offset: 0, length: page)
        _ = f.kernel.close(40)
        #expect(f.kernel == before)
    }
}

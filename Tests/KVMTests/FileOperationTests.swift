@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("GMEM-F: file operations")
    struct FileOperationTests {
        @Test("read and write fail with EINVAL; pread, pwrite and lseek with ESPIPE")
        func readWriteSeek() throws {
            // GMEM-F1
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096)
            let fd = file.rawDescriptor
            var buffer = [UInt8](repeating: 0, count: 16)
            // Each closure's buffer covers `buffer`'s 16 bytes for the call; the syscall reads or
            // writes at most 16 bytes there and keeps no pointer. libcErrno reads errno, so each
            // result is checked before the next call.
            // SAFETY: see above (read into `buffer`).
            let readResult = unsafe buffer.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, 16) }
            #expect(libcErrno(readResult) == .invalidArgument)
            // SAFETY: see above (write from `buffer`).
            let writeResult = unsafe buffer.withUnsafeBytes { unsafe write(fd, $0.baseAddress, 16) }
            #expect(libcErrno(writeResult) == .invalidArgument)
            // SAFETY: see above (pread into `buffer`).
            let preadResult = unsafe buffer.withUnsafeMutableBytes { unsafe pread(fd, $0.baseAddress, 16, 0) }
            #expect(libcErrno(preadResult) == .illegalSeek)
            // SAFETY: see above (pwrite from `buffer`).
            let pwriteResult = unsafe buffer.withUnsafeBytes { unsafe pwrite(fd, $0.baseAddress, 16, 0) }
            #expect(libcErrno(pwriteResult) == .illegalSeek)
            #expect(libcErrno(Int(lseek(fd, 0, SEEK_SET))) == .illegalSeek)
        }

        @Test("ftruncate, fsync and fchmod fail with EINVAL: the size is fixed")
        func sizeIsFixed() throws {
            // GMEM-F2
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8192)
            let fd = file.rawDescriptor
            #expect(libcErrno(Int(ftruncate(fd, 4096))) == .invalidArgument)
            #expect(libcErrno(Int(ftruncate(fd, 16384))) == .invalidArgument)
            #expect(libcErrno(Int(fsync(fd))) == .invalidArgument)
            #expect(libcErrno(Int(fchmod(fd, 0o644))) == .invalidArgument)
            #expect(descriptorStatus(fd)?.st_size == 8192)
        }

        @Test("fallocate accepts exactly KEEP_SIZE and PUNCH_HOLE|KEEP_SIZE")
        func fallocateModes() throws {
            // GMEM-F3
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 16384)
            try file.fallocate(mode: FallocateMode.keepSize, offset: 0, length: 4096)
            try file.fallocate(mode: FallocateMode.punchHoleKeepSize, offset: 0, length: 4096)
            // 0 (plain allocate that may grow), PUNCH_HOLE alone, COLLAPSE_RANGE, ZERO_RANGE,
            // ZERO_RANGE|KEEP_SIZE, INSERT_RANGE, UNSHARE_RANGE.
            for mode: Int32 in [0x00, 0x02, 0x08, 0x10, 0x11, 0x20, 0x40] {
                // The kernel's answer, asked directly …
                expectErrno(.notSupported) {
                    try file.fallocateUnchecked(mode: FallocateMode(rawValue: mode), offset: 0, length: 4096)
                }
                // … and the same errno from GmemKit, which refuses before the syscall (P2).
                let refused = expectErrno(.notSupported) {
                    try file.fallocate(mode: FallocateMode(rawValue: mode), offset: 0, length: 4096)
                }
                #expect(refused?.refusal != nil)
            }
        }

        @Test("offsets and lengths must be page-aligned; allocating past the end fails, punching past it does not")
        func alignmentAndBounds() throws {
            // GMEM-F4
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 16384)
            let refusedByKernel: [(mode: FallocateMode, offset: UInt64, length: UInt64)] = [
                (FallocateMode.keepSize, 1, 4096), (FallocateMode.keepSize, 0, 100),
                (FallocateMode.punchHoleKeepSize, 512, 4096), (FallocateMode.punchHoleKeepSize, 0, 4095),
                (FallocateMode.keepSize, 12288, 8192), (FallocateMode.keepSize, 16384, 4096),
            ]
            for request in refusedByKernel {
                expectErrno(.invalidArgument) {
                    try file.fallocateUnchecked(mode: request.mode, offset: request.offset, length: request.length)
                }
                let refused = expectErrno(.invalidArgument) {
                    try file.fallocate(mode: request.mode, offset: request.offset, length: request.length)
                }
                #expect(refused?.refusal != nil, "GmemKit must refuse \(request) before the syscall (P2)")
            }
            try file.fallocateUnchecked(mode: FallocateMode.punchHoleKeepSize, offset: 12288, length: 8192)
            try file.punchHole(offset: 12288, length: 8192)
            try file.punchHole(offset: 1 << 30, length: 4096)
            try file.allocate(offset: 0, length: 16384)
        }

        @Test("allocating pins memory as Unevictable; punching and releasing return it")
        func allocationPinsMemory() throws {
            // GMEM-F5. Unevictable is the only accounting the kernel shows of a guest_memfd's
            // allocation (st_blocks stays 0 on 6.18), and it is host-wide: other processes move
            // it (sampled every 2 ms while another `swift test` ran: 13 to 29 MiB, steps of up
            // to 16 MiB as its guests came and went). So the file's own pages are checked
            // exactly (mincore through its mapping), and the Unevictable figures come from one
            // attempt on a fresh file: every step must land within 8 MiB of the file's own
            // change (+64, +64 after touching, +32 after punching half, 0 after release). An
            // attempt the host's noise spoils is repeated, at most 5 in all; a kernel that does
            // not pin, or does not give back, fails every attempt.
            let size = 64 * MiB
            let tolerance = Int64(8 * MiB)
            var attempts: [[Int64]] = []
            var clean = false
            for _ in 0..<5 where !clean {
                let vm = try makeVM()
                let before = Int64(unevictableBytes())
                var rises: [Int64] = []
                clean = true
                func expectRise(_ expected: UInt64) {
                    let settled = eventually { abs(Int64(unevictableBytes()) - before - Int64(expected)) <= tolerance }
                    rises.append(Int64(unevictableBytes()) - before)
                    clean = clean && settled
                }
                do {
                    let file = try vm.createGuestMemfd(size: size)
                    try file.allocate(offset: 0, length: size)
                    expectRise(size)
                    let map = try file.mapShared()
                    try map.fill(0x5a, at: 0, count: size)
                    #expect(try map.residentBytes() == size)
                    expectRise(size)  // touching allocated pages pins nothing more
                    try file.punchHole(offset: 0, length: size / 2)
                    #expect(try map.residentBytes(offset: 0, count: size / 2) == 0)
                    #expect(try map.residentBytes() == size / 2)
                    expectRise(size / 2)
                }  // the mapping and the file are released here
                expectRise(0)
                attempts.append(rises)
            }
            let text = attempts.map { $0.map { String($0 >> 20) }.joined(separator: ", ") }
            #expect(clean, "Unevictable rise in MiB at allocate, touch, punch, release, per attempt: \(text)")
        }

        @Test("punched pages read back as zero and are allocated again on the next touch")
        func punchedPagesReadZero() throws {
            // GMEM-F6
            let vm = try makeVM()
            let size = 32 * MiB
            let file = try vm.createGuestMemfd(size: size)
            let map = try file.mapShared()
            try map.fill(0xab, at: 0, count: size)
            // The file's own pages (mincore over its mapping), not the host-wide Unevictable
            // counter, which other processes move. st_blocks stays 0 on a guest_memfd (6.18).
            #expect(try map.residentBytes() == size)
            try file.punchHole(offset: 4 * MiB, length: 16 * MiB)
            #expect(try map.residentBytes() == size - 16 * MiB)
            #expect(try map.residentBytes(offset: 4 * MiB, count: 16 * MiB) == 0)
            // Reading the punched range faults its pages in again, as zero pages.
            #expect(try map.read(at: 4 * MiB, count: Int(16 * MiB)).allSatisfy { $0 == 0 })
            #expect(try map.residentBytes() == size)
            #expect(try map.read(at: 4 * MiB - 4096, count: 4096).allSatisfy { $0 == 0xab })
            #expect(try map.read(at: 20 * MiB, count: 4096).allSatisfy { $0 == 0xab })
            try map.fill(0xcd, at: 4 * MiB, count: 16 * MiB)
            #expect(try map.load(UInt8.self, at: 20 * MiB - 1) == 0xcd)
        }
    }
}

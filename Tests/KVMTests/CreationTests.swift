@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("GMEM-C: creation")
    struct CreationTests {
        @Test("size must be a positive multiple of the page size")
        func sizeMustBePageMultiple() throws {
            // GMEM-C1
            let vm = try makeVM()
            for size: UInt64 in [0, 1, 4095, 4097] {
                expectErrno(.invalidArgument) { _ = try vm.createGuestMemfdUnchecked(size: size, flags: 0) }
                // P2: the safe API refuses the same request before the syscall, with the same errno.
                let refused = expectErrno(.invalidArgument) { _ = try vm.createGuestMemfd(size: size) }
                #expect(refused?.refusal != nil)
            }
            let file = try vm.createGuestMemfd(size: 4096)
            #expect(file.size == 4096)
        }

        @Test("flags must be a subset of KVM_CAP_GUEST_MEMFD_FLAGS")
        func flagsMustBeSupported() throws {
            // GMEM-C2
            let system = try KVMSystem()
            let vm = try system.createVM()
            let supported = try system.supportedGuestMemfdFlags()
            for bit in 0..<64 where supported.rawValue & (1 << UInt64(bit)) == 0 {
                expectErrno(.invalidArgument) {
                    _ = try vm.createGuestMemfdUnchecked(size: 4096, flags: 1 << UInt64(bit))
                }
            }
            _ = try vm.createGuestMemfdUnchecked(size: 4096, flags: supported.rawValue)
        }

        @Test("reserved words are not checked")
        func reservedIsNotChecked() throws {
            // GMEM-C3
            let vm = try makeVM()
            let file = try vm.createGuestMemfdUnchecked(size: 4096, flags: 0, reserved: 0xdead_beef)
            #expect(file.rawDescriptor >= 0)
        }

        @Test("INIT_SHARED without MMAP is accepted and the file still cannot be mapped")
        func initSharedWithoutMmap() throws {
            // GMEM-C4
            let system = try KVMSystem()
            let vm = try system.createVM()
            try #require(try system.supportedGuestMemfdFlags().contains(.initShared), "host lacks INIT_SHARED")
            let file = try vm.createGuestMemfd(size: 4096, flags: .initShared)
            expectErrno(.operationNotSupportedByDevice) {
                _ = try file.mapUnchecked(length: 4096, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            }
        }

        @Test("the fd is not close-on-exec and fstat shows a 0600 regular file with no blocks")
        func descriptorShape() throws {
            // GMEM-C5
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 64 * 1024)
            let fdFlags = fcntl(file.rawDescriptor, F_GETFD)
            #expect(fdFlags >= 0)
            #expect(fdFlags & FD_CLOEXEC == 0)
            let status = try #require(descriptorStatus(file.rawDescriptor))
            #expect(status.st_mode & S_IFMT == S_IFREG)
            #expect(status.st_mode & 0o7777 == 0o600)
            #expect(status.st_blocks == 0)
            #expect(status.st_size == 64 * 1024)
        }

        @Test("the file cannot be reopened through /proc/self/fd")
        func cannotReopen() throws {
            // GMEM-C6
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096)
            let fd = openFile("/proc/self/fd/\(file.rawDescriptor)", O_RDWR)
            let error = errno
            if fd >= 0 { close(fd) }
            #expect(fd == -1)
            #expect(error == ENXIO)
        }

        @Test("each creation makes a new inode")
        func newInodeEachTime() throws {
            // GMEM-C7 (upstream semantics, observable on this host too)
            let vm = try makeVM()
            let a = try vm.createGuestMemfd(size: 4096)
            let b = try vm.createGuestMemfd(size: 4096)
            let sa = try #require(descriptorStatus(a.rawDescriptor))
            let sb = try #require(descriptorStatus(b.rawDescriptor))
            #expect(sa.st_ino != sb.st_ino)
            #expect(a.owner == vm.identity && b.owner == vm.identity)
        }
    }
}

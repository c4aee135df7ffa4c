import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A memslot that binds `size` bytes of `file` (raw descriptor) at `gpa`.
func gmemRegion(slot: UInt32, gpa: UInt64, size: UInt64, fd: Int32, offset: UInt64 = 0) -> MemoryRegion {
    var region = MemoryRegion(slot: slot, guestPhysicalAddress: gpa, size: size, userspaceAddress: 0)
    region.flags = .guestMemfd
    region.guestMemfd = fd
    region.guestMemfdOffset = offset
    return region
}

extension KernelTests {
    @Suite("GMEM-B: binding")
    struct BindingTests {
        @Test("the old KVM_SET_USER_MEMORY_REGION refuses the guest_memfd flag")
        func v1RefusesGmem() throws {
            // GMEM-B1
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * 4096)
            expectErrno(.invalidArgument) {
                try vm.setUserMemoryRegionV1Unchecked(
                    gmemRegion(slot: 0, gpa: 0, size: 4 * 4096, fd: file.rawDescriptor))
            }
        }

        @Test("guest_memfd with LOG_DIRTY_PAGES or READONLY is EINVAL")
        func incompatibleFlags() throws {
            // GMEM-B2
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * 4096)
            for extra: MemoryRegion.Flags in [.logDirtyPages, .readonly] {
                var region = gmemRegion(slot: 0, gpa: 0, size: 4 * 4096, fd: file.rawDescriptor)
                region.flags.insert(extra)
                expectErrno(.invalidArgument) { try vm.setUserMemoryRegion2Unchecked(region) }
            }
        }

        @Test("an unaligned file offset, or a range past the end of the file, is EINVAL")
        func offsetAndRange() throws {
            // GMEM-B3
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * 4096)
            for (offset, size): (UInt64, UInt64) in [(512, 4096), (4096, 4 * 4096), (0, 8 * 4096)] {
                expectErrno(.invalidArgument) {
                    try vm.setUserMemoryRegion2Unchecked(
                        gmemRegion(slot: 0, gpa: 0, size: size, fd: file.rawDescriptor, offset: offset))
                }
                let refused = expectErrno(.invalidArgument) {
                    try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: size, fileOffset: offset)
                }
                #expect(refused?.refusal != nil, "P2: refused before the syscall")
            }
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4096, fileOffset: 3 * 4096)
        }

        @Test("a descriptor that is not a guest_memfd is EINVAL; a closed one is EBADF")
        func notAGuestMemfd() throws {
            // GMEM-B4
            let vm = try makeVM()
            let other = openFile("/dev/zero", O_RDWR | O_CLOEXEC)
            try #require(other >= 0)
            expectErrno(.invalidArgument) {
                try vm.setUserMemoryRegion2Unchecked(gmemRegion(slot: 0, gpa: 0, size: 4096, fd: other))
            }
            // A KVM file that is not a guest_memfd: the VM's own fd.
            expectErrno(.invalidArgument) {
                try vm.setUserMemoryRegion2Unchecked(gmemRegion(slot: 0, gpa: 0, size: 4096, fd: vm.rawDescriptor))
            }
            close(other)
            expectErrno(.badFileDescriptor) {
                try vm.setUserMemoryRegion2Unchecked(gmemRegion(slot: 0, gpa: 0, size: 4096, fd: other))
            }
        }

        @Test("a guest_memfd created by another VM is refused: by GmemKit before the syscall, and by the kernel")
        func foreignFileRefused() throws {
            // GMEM-B5, P3
            let owner = try makeVM()
            let attacker = try makeVM()
            let file = try owner.createGuestMemfd(size: 4 * 4096)
            let map = try file.mapShared()
            try map.store(UInt64(0x5ec2_e7da_7a00_0001), at: 0)
            let refused = expectErrno(.invalidArgument) {
                try attacker.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096)
            }
            #expect(refused?.refusal == .foreignGuestMemfd)
            // The kernel's own rule, asked directly.
            expectErrno(.invalidArgument) {
                try attacker.setUserMemoryRegion2Unchecked(
                    gmemRegion(slot: 0, gpa: 0, size: 4 * 4096, fd: file.rawDescriptor))
            }
            // Still refused after the owner's fd is gone and the file is unbound everywhere.
            _ = consume owner
            expectErrno(.invalidArgument) {
                try attacker.setUserMemoryRegion2Unchecked(
                    gmemRegion(slot: 1, gpa: 0x10_0000, size: 4096, fd: file.rawDescriptor))
            }
            #expect(try map.load(UInt64.self, at: 0) == 0x5ec2_e7da_7a00_0001)
        }

        @Test("overlapping file ranges are EINVAL; overlapping guest-physical ranges are EEXIST")
        func overlaps() throws {
            // GMEM-B6
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8 * 4096)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096, fileOffset: 0)
            expectErrno(.invalidArgument) {
                try vm.bind(file, slot: 1, guestPhysicalAddress: 0x10_0000, size: 4 * 4096, fileOffset: 3 * 4096)
            }
            expectErrno(.fileExists) {
                try vm.bind(file, slot: 1, guestPhysicalAddress: 0x3000, size: 4 * 4096, fileOffset: 4 * 4096)
            }
            try vm.bind(file, slot: 1, guestPhysicalAddress: 0x10_0000, size: 4 * 4096, fileOffset: 4 * 4096)
        }

        @Test("a guest_memfd memslot cannot be moved or have its flags changed")
        func cannotModify() throws {
            // GMEM-B7
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * 4096)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096)
            expectErrno(.invalidArgument) {
                try vm.bind(file, slot: 0, guestPhysicalAddress: 0x10_0000, size: 4 * 4096)
            }
            var dirty = gmemRegion(slot: 0, gpa: 0, size: 4 * 4096, fd: file.rawDescriptor)
            dirty.flags.insert(.logDirtyPages)
            expectErrno(.invalidArgument) { try vm.setUserMemoryRegion2Unchecked(dirty) }
            // Re-issuing the identical region is a modification too.
            expectErrno(.invalidArgument) { try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096) }
            try vm.deleteMemorySlot(0)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0x10_0000, size: 4 * 4096)
        }

        @Test("deleting a memslot frees its file range for a new binding and leaves the data untouched")
        func deleteFreesRange() throws {
            // GMEM-B8
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * 4096)
            let map = try file.mapShared()
            try map.fill(0x77, at: 0, count: 4 * 4096)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096)
            try vm.deleteMemorySlot(0)
            #expect(try map.read(at: 0, count: 4 * 4096).allSatisfy { $0 == 0x77 })
            try vm.bind(file, slot: 5, guestPhysicalAddress: 0x20_0000, size: 4 * 4096)
            #expect(try map.read(at: 0, count: 4 * 4096).allSatisfy { $0 == 0x77 })
        }

        @Test("userspace_addr may be 0 and is not validated for guest_memfd memslots")
        func userspaceAddressNotValidated() throws {
            // GMEM-B9
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8 * 4096)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096)
            // An unmapped, page-aligned address is accepted as well (only the unchecked call can
            // pass one; nothing runs in this VM).
            try vm.bindUnchecked(
                file, slot: 1, guestPhysicalAddress: 0x10_0000, size: 4 * 4096, fileOffset: 4 * 4096,
                userspaceAddress: 0x7000_dead_0000)
        }
    }
}

import CKVM
@_spi(Unchecked) import KVM
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    /// The facts that the kernel profiles state about host mappings beyond 6.18's first
    /// release (MADV_COLLAPSE refused, NUMA policy accepted), measured on this host's kernel.
    @Suite("GMEM-M6, GMEM-M7: madvise(MADV_COLLAPSE) and mbind on a guest_memfd mapping")
    struct ProfileFactsTests {
        /// MADV_COLLAPSE (include/uapi/asm-generic/mman-common.h).
        static let collapse: Int32 = 25

        /// A 2 MiB-aligned 2 MiB window of a 4 MiB shared mapping of a host-shared guest_memfd.
        static func alignedWindow(_ mapping: borrowing RawMapping) -> UnsafeMutableRawPointer {
            let aligned = (mapping.hostAddress + (2 << 20) - 1) & ~UInt64((2 << 20) - 1)
            // SAFETY: inside the 4 MiB mapping, which stays mapped while the test uses it.
            return unsafe UnsafeMutableRawPointer(bitPattern: UInt(aligned))!
        }

        @Test("MADV_COLLAPSE on a guest_memfd mapping is EINVAL, on an aligned huge-page range too")
        func collapseRefused() throws {
            // GMEM-M6
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 << 20, flags: .hostShared)
            let mapping = try file.mapUnchecked(length: 4 << 20, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            // SAFETY: the file is host-shared (MMAP|INIT_SHARED) and 4 MiB long, so byte 0 is mapped, shared memory.
            unsafe mapping.storeUnchecked(1, at: 0)
            // SAFETY: the window lies inside `mapping`, which stays mapped until the end of this test.
            let window = unsafe Self.alignedWindow(mapping)
            errno = 0
            // SAFETY: madvise only advises on the 2 MiB window inside the live mapping; it keeps no pointer.
            #expect(unsafe madvise(window, 2 << 20, Self.collapse) == -1)
            #expect(errno == EINVAL)
            // An ordinary advice is accepted on the same range: the refusal is MADV_COLLAPSE's.
            // SAFETY: as above: advice on the window inside the live mapping.
            #expect(unsafe madvise(window, 2 << 20, MADV_WILLNEED) == 0)
        }

        @Test("mbind (MPOL_BIND to node 0, then MPOL_DEFAULT) on a guest_memfd mapping is accepted")
        func mbindAccepted() throws {
            // GMEM-M7
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 << 20, flags: .hostShared)
            let mapping = try file.mapUnchecked(length: 4 << 20, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            #expect(ckvm_mbind(mapping.hostAddress, 4096, 2, 1) == 0)
            #expect(ckvm_mbind(mapping.hostAddress, 4096, 0, 0) == 0)
            // A node this machine cannot have is refused, so the call is really checked.
            #expect(ckvm_mbind(mapping.hostAddress, 4096, 2, 1 << 63) == -EINVAL)
            // SAFETY: the file is host-shared and 4 MiB long, so byte 0 is mapped, shared memory.
            unsafe mapping.storeUnchecked(7, at: 0)
            // SAFETY: as above: byte 0 of the live, host-shared mapping.
            #expect(unsafe mapping.loadUnchecked(at: 0) == 7)
        }
    }
}

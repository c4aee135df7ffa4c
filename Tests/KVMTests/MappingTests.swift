import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("GMEM-M: host mappings")
    struct MappingTests {
        @Test("a file created without MMAP cannot be mapped: ENODEV")
        func withoutMmapFlag() throws {
            // GMEM-M1
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096, flags: [])
            expectErrno(.operationNotSupportedByDevice) {
                _ = try file.mapUnchecked(length: 4096, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            }
            let refused = expectErrno(.operationNotSupportedByDevice) { _ = try file.mapShared() }
            #expect(refused?.refusal != nil)
        }

        @Test("only MAP_SHARED read/write mappings: MAP_PRIVATE is EINVAL, PROT_EXEC is EPERM")
        func onlySharedReadWrite() throws {
            // GMEM-M2
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096, flags: .hostShared)
            expectErrno(.invalidArgument) {
                _ = try file.mapUnchecked(length: 4096, protection: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE)
            }
            expectErrno(.notPermitted) {
                _ = try file.mapUnchecked(length: 4096, protection: PROT_READ | PROT_EXEC, flags: MAP_SHARED)
            }
            _ = try file.mapUnchecked(length: 4096, protection: PROT_READ, flags: MAP_SHARED)
            _ = try file.mapUnchecked(length: 4096, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
        }

        @Test("MMAP without INIT_SHARED maps, but every host access raises SIGBUS; the safe API refuses it")
        func privateMemoryRaisesSIGBUS() throws {
            // GMEM-M3, P3
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8192, flags: .mmap)
            let raw = try file.mapUnchecked(length: 8192, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            // SAFETY: the probe touches the page in a forked child; the SIGBUS it expects kills only that child.
            #expect(unsafe raw.probeInChild(offset: 0, write: false) == SIGBUS)
            // SAFETY: as above, in a forked child.
            #expect(unsafe raw.probeInChild(offset: 4096, write: true) == SIGBUS)
            let refused = expectErrno(.permissionDenied) { _ = try file.mapShared() }
            #expect(refused?.refusal == .privateMemory)
            let hostAccessible = file.isHostAccessible
            #expect(!hostAccessible)
        }

        @Test("an access past the end of the file raises SIGBUS; the safe API bounds-checks it")
        func pastEndRaisesSIGBUS() throws {
            // GMEM-M4
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096, flags: .hostShared)
            let raw = try file.mapUnchecked(length: 8192, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            // SAFETY: the probes touch the pages in a forked child; a SIGBUS kills only that child.
            #expect(unsafe raw.probeInChild(offset: 0, write: true) == 0)
            // SAFETY: as above, in a forked child.
            #expect(unsafe raw.probeInChild(offset: 4096, write: false) == SIGBUS)
            let map = try file.mapShared()
            #expect(map.length == 4096)
            let refused = expectErrno(.invalidArgument) { _ = try map.read(at: 4000, count: 200) }
            if case .outOfBounds = refused?.refusal {} else { Issue.record("expected an out-of-bounds refusal") }
            expectErrno(.invalidArgument) { try map.store(UInt64(1), at: 4092) }
            expectErrno(.invalidArgument) { _ = try map.load(UInt8.self, at: UInt64.max) }
        }

        @Test("a mapping keeps the file and its VM alive after every fd is closed")
        func mappingKeepsFileAlive() throws {
            // GMEM-M5, GMEM-L1
            let vm = try makeVM()
            let vmFD = vm.rawDescriptor
            let creator = ckvm_current_tid()
            let trackable = VMLiveness.isAvailable && VMLiveness.isAlive(vmFD: vmFD, thread: creator)
            let file = try vm.createGuestMemfd(size: 8192)
            let map = try file.mapShared()
            try map.store(UInt64(0x1122_3344_5566_7788), at: 4096)
            _ = consume file
            _ = consume vm
            #expect(try map.load(UInt64.self, at: 4096) == 0x1122_3344_5566_7788)
            try map.store(UInt32(7), at: 0)
            #expect(try map.load(UInt32.self, at: 0) == 7)
            if trackable {
                #expect(VMLiveness.isAlive(vmFD: vmFD, thread: creator), "the mapping must pin the VM")
                _ = consume map
                #expect(
                    eventually { !VMLiveness.isAlive(vmFD: vmFD, thread: creator) }, "unmapping must release the VM")
            }
        }
    }
}

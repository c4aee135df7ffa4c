import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A VM whose liveness the debugfs oracle can follow (nil oracle when debugfs is missing).
struct TrackedVM: ~Copyable {
    let vm: VirtualMachine
    let fd: Int32
    let creator: Int32
    let trackable: Bool

    init() throws {
        let vm = try makeVM()
        fd = vm.rawDescriptor
        creator = ckvm_current_tid()
        trackable = VMLiveness.isAvailable && VMLiveness.isAlive(vmFD: fd, thread: creator)
        self.vm = vm
    }
}

/// A liveness query on a VM whose fd may be closed already.
struct VMProbe: Sendable {
    let fd: Int32
    let creator: Int32
    var isAlive: Bool { VMLiveness.isAlive(vmFD: fd, thread: creator) }
}

let debugfsReason: Comment = "needs KVM's debugfs (/sys/kernel/debug/kvm) to see VM lifetime"

extension KernelTests {
    @Suite("GMEM-L: lifetime")
    struct LifetimeTests {
        @Test(
            "a guest_memfd fd, or a dup of it, keeps the VM alive after the VM fd is closed",
            .enabled(if: VMLiveness.isAvailable, debugfsReason))
        func fileKeepsVMAlive() throws {
            // GMEM-L1
            let tracked = try TrackedVM()
            let trackable = tracked.trackable
            try #require(trackable, "debugfs shows no folder for this VM")
            let probe = VMProbe(fd: tracked.fd, creator: tracked.creator)
            let file = try tracked.vm.createGuestMemfd(size: 4096)
            _ = consume tracked
            #expect(probe.isAlive, "the guest_memfd must pin the VM")
            let copy = try file.duplicate()
            _ = consume file
            #expect(probe.isAlive, "a dup of the guest_memfd must pin the VM")
            _ = consume copy
            #expect(eventually { !probe.isAlive }, "the VM must die with the last reference")
        }

        @Test("a vCPU keeps running after the VM fd is closed")
        func vcpuRunsAfterVMClosed() throws {
            // GMEM-L2
            let vm = try makeVM()
            let guest = try TinyGuest(in: vm)
            _ = consume vm
            for _ in 0..<3 {
                #expect(try guest.vcpu.run() == .ioOut(port: TinyGuest.port, size: 1, count: 1, value: TinyGuest.value))
            }
        }

        @Test("with the VM fd closed, the guest_memfd still allocates, punches and maps")
        func fileWorksAfterVMClosed() throws {
            // GMEM-L3
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 16 * 4096)
            _ = consume vm
            try file.allocate(offset: 0, length: 16 * 4096)
            let map = try file.mapShared()
            try map.fill(0x3c, at: 0, count: 16 * 4096)
            try file.punchHole(offset: 0, length: 8 * 4096)
            #expect(try map.load(UInt64.self, at: 0) == 0)
            #expect(try map.load(UInt8.self, at: 8 * 4096) == 0x3c)
        }

        @Test("memslots hold no reference on the file: deleting them all leaves file and data intact")
        func memslotsDoNotPinFile() throws {
            // GMEM-L4
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 8 * 4096)
            let map = try file.mapShared()
            try map.fill(0x99, at: 0, count: 8 * 4096)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 4 * 4096)
            try vm.bind(file, slot: 1, guestPhysicalAddress: 0x10_0000, size: 4 * 4096, fileOffset: 4 * 4096)
            try vm.deleteMemorySlot(0)
            try vm.deleteMemorySlot(1)
            #expect(try map.read(at: 0, count: 8 * 4096).allSatisfy { $0 == 0x99 })
            try file.punchHole(offset: 0, length: 4096)
            try vm.bind(file, slot: 2, guestPhysicalAddress: 0, size: 8 * 4096)
        }

        @Test(
            "closing the last file reference keeps its memslots, frees its memory and releases the VM",
            .enabled(if: VMLiveness.isAvailable, debugfsReason))
        func lastFileReferenceInvalidatesBindings() throws {
            // GMEM-L5
            let tracked = try TrackedVM()
            let trackable = tracked.trackable
            try #require(trackable, "debugfs shows no folder for this VM")
            let probe = VMProbe(fd: tracked.fd, creator: tracked.creator)
            let size = 32 * MiB
            let file = try tracked.vm.createGuestMemfd(size: size)
            let before = unevictableBytes()
            try file.allocate(offset: 0, length: size)
            try tracked.vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: size)
            #expect(unevictableBytes() >= before + 28 * MiB)
            _ = consume file
            #expect(eventually { unevictableBytes() <= before + 4 * MiB }, "the file's memory must be freed")
            // The memslot remains: its guest-physical range is still taken.
            let scratch = try HostMapping.anonymous(length: 4096)
            expectErrno(.fileExists) {
                try tracked.vm.setMemorySlot(1, guestPhysicalAddress: 0, size: 4096, memory: scratch)
            }
            // The file no longer pins the VM: closing the VM fd destroys it.
            #expect(probe.isAlive)
            _ = consume tracked
            #expect(eventually { !probe.isAlive })
        }

        @Test(
            "the VM is destroyed when its last reference goes, whichever it is",
            .enabled(if: VMLiveness.isAvailable, debugfsReason))
        func lastReferenceDestroysVM() throws {
            // GMEM-L6 (upstream rule; observable here through the vCPU fd)
            let tracked = try TrackedVM()
            let trackable = tracked.trackable
            try #require(trackable, "debugfs shows no folder for this VM")
            let probe = VMProbe(fd: tracked.fd, creator: tracked.creator)
            let vcpu = try tracked.vm.createVCPU(id: 0)
            let file = try tracked.vm.createGuestMemfd(size: 4096)
            _ = consume tracked
            #expect(probe.isAlive)
            _ = consume vcpu
            #expect(probe.isAlive, "the guest_memfd still pins the VM")
            _ = consume file
            #expect(eventually { !probe.isAlive })
        }
    }
}

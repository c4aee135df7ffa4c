import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Errors name the real operation, object and fix")
struct ErrorNamingTests {
    @Test("KVMSystem(path:) names the path it opened and what to do")
    func devicePath() {
        do {
            _ = try KVMSystem(path: "/dev/nope")
            Issue.record("opened /dev/nope")
        } catch {
            #expect(error.operation == .openDevice && error.errno == .noSuchFileOrDirectory)
            #expect(error.context == "/dev/nope")
            #expect(error.description.contains("/dev/nope does not exist"), "\(error)")
            #expect(!error.description.contains("/dev/kvm"), "\(error)")
        }
    }

    @Test("host mapping calls name themselves: an access past the end, mincore, anonymous mmap, dup, reopen, memfd")
    func mappingOperations() throws {
        let mapping = try HostMapping.anonymous(length: 4096)
        do { try mapping.write([1, 2, 3], at: 4095) } catch {
            #expect(error.operation == .hostAccess && error.refusal != nil)
            #expect(!error.description.contains("mmap"), "\(error)")
        }
        do { _ = try mapping.residentBytes(offset: 1, count: 1) } catch { #expect(error.operation == .mincore) }
        do { _ = try HostMapping.anonymous(length: 1000) } catch { #expect(error.operation == .mapMemory) }
        do {
            _ = try UncheckedKVM.map(fd: -1, length: 1 << 63, protection: PROT_READ, flags: MAP_SHARED | MAP_ANONYMOUS)
        } catch { #expect(error.operation == .mapMemory && error.errno == .noMemory) }
        do { _ = try UncheckedKVM.duplicate(fd: -1) } catch {
            #expect(error.operation == .dup && error.errno == .badFileDescriptor)
        }
        do { _ = try UncheckedKVM.reopen(fd: -1) } catch {
            #expect(error.operation == .reopen && error.errno == .noSuchFileOrDirectory)
        }
        // memfd_create succeeds; the ftruncate to 2^64-1 bytes (a negative off_t) is what fails.
        do { _ = try UncheckedKVM.createMemfd(size: .max) } catch {
            #expect(error.operation == .ftruncate && error.errno == .invalidArgument)
        }
        let fd = try UncheckedKVM.createMemfd(size: 4096)
        close(fd)
    }

    @Test(
        "the kick signal is SIGRTMIN+3 by default; use(_:) refuses non-real-time signals and another handler's signal")
    func kickSignalChoices() throws {
        #expect(VCPUKickSignal.current >= ckvm_sigrtmin() && VCPUKickSignal.current <= ckvm_sigrtmax())
        do { try VCPUKickSignal.use(SIGUSR1) } catch {
            #expect(error.errno == .invalidArgument && error.operation == .setKickSignal)
        }
        let foreign = ckvm_sigrtmin() + 7
        var action = sigaction()
        // SAFETY: a local sigaction; its handler union is set to a plain handler, which is all the call reads.
        unsafe action.__sigaction_handler.sa_handler = { _ in }
        // SAFETY: `action` is a local, fully set up; sigaction copies it and keeps no pointer.
        #expect(unsafe sigaction(foreign, &action, nil) == 0)
        defer {
            var reset = sigaction()
            // SAFETY: as above: a local sigaction whose handler union is set to SIG_DFL, copied by the call.
            unsafe reset.__sigaction_handler.sa_handler = SIG_DFL
            // SAFETY: `reset` is a local, fully set up; sigaction copies it and keeps no pointer.
            unsafe sigaction(foreign, &reset, nil)
        }
        do { try VCPUKickSignal.use(foreign) } catch { #expect(error.errno == .resourceBusy, "\(error)") }
        #expect(VCPUKickSignal.current != foreign)
    }
}

extension KernelTests {
    @Suite("Errors of memslots and kicks on a real VM")
    struct KernelErrorTests {
        @Test("a memslot clash names the slot and range it overlaps; a second binding of a file range names its slot")
        func memslotClash() throws {
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4 * MiB)
            let mapping = try file.mapShared()
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 2 * MiB, hostMemory: mapping)
            do {
                try vm.bind(
                    file, slot: 1, guestPhysicalAddress: GuestPhysicalAddress(MiB), size: 2 * MiB, fileOffset: 2 * MiB,
                    hostMemory: mapping)
                Issue.record("an overlapping memslot was accepted")
            } catch {
                #expect(error.refusal == nil, "the kernel, not GmemKit, refuses an overlap")
                #expect(error.context?.contains("slot 1: guest-physical [0x100000, 0x300000)") == true, "\(error)")
                #expect(error.hint?.contains("overlaps slot 0 at guest-physical [0x0, 0x200000)") == true, "\(error)")
            }
            do {
                try vm.bind(
                    file, slot: 2, guestPhysicalAddress: GuestPhysicalAddress(16 * MiB), size: 2 * MiB,
                    hostMemory: mapping)
                Issue.record("a file range bound twice was accepted")
            } catch {
                #expect(error.errno == .invalidArgument)
                #expect(error.hint?.contains("already bound as slot 0") == true, "\(error)")
            }
            try vm.deleteMemorySlot(0)
            try vm.bind(
                file, slot: 2, guestPhysicalAddress: GuestPhysicalAddress(16 * MiB), size: 2 * MiB, hostMemory: mapping)
        }

        @Test("a 1000-byte bind is refused before the syscall, as documented")
        func unalignedBind() throws {
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 2 * MiB)
            let mapping = try file.mapShared()
            for (size, gpa, offset) in [(UInt64(1000), UInt64(0), UInt64(0)), (4096, 1000, 0), (4096, 0, 1000)] {
                do {
                    try vm.bind(
                        file, slot: 0, guestPhysicalAddress: GuestPhysicalAddress(gpa), size: size, fileOffset: offset,
                        hostMemory: mapping)
                    Issue.record("size \(size) gpa \(gpa) offset \(offset) was bound")
                } catch {
                    #expect(error.errno == .invalidArgument && error.refusal != nil, "\(error)")
                }
            }
            let anonymous = try HostMapping.anonymous(length: 4096)
            do { try vm.setMemorySlot(40_000, guestPhysicalAddress: 0, size: 4096, memory: anonymous) } catch {
                #expect(error.refusal != nil && error.errno == .invalidArgument)
            }
        }

        @Test("a kick signal chosen by the embedder interrupts KVM_RUN (a kick timer sends nothing else)")
        func configuredKickSignal() throws {
            let original = VCPUKickSignal.current
            let chosen = ckvm_sigrtmin() + 5
            try VCPUKickSignal.use(chosen)
            defer { try? VCPUKickSignal.use(original) }
            #expect(VCPUKickSignal.current == chosen)
            var installed = sigaction()
            // SAFETY: `installed` is a local the call fills; sigaction keeps no pointer.
            #expect(unsafe sigaction(chosen, nil, &installed) == 0)
            #expect(installed.sa_flags & Int32(SA_RESTART) == 0)
            let vm = try makeVM()
            let guest = try TinyGuest(in: vm, spin: true)
            try guest.vcpu.registerCurrentThread(renaming: false)
            defer { guest.vcpu.unregisterThread() }
            let timer = try KickTimer(after: .milliseconds(5), every: .milliseconds(1))
            #expect(try guest.vcpu.run() == .interrupted)
            _ = consume timer
        }
    }
}

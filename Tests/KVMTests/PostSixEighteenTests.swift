import CKVM
@_spi(Unchecked) import KVM
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    /// The post-6.18 wrappers (`UncheckedKVM.setMemoryAttributes2`, `linkGuestMemfd`,
    /// `preFaultMemory`, `pinPages`) against this kernel: each makes its syscall and reports the
    /// kernel's answer as a typed error naming the ioctl. Where the kernel offers the feature the
    /// test checks it works; where it does not, the test checks the refusal and says so.
    @Suite("GMEM-V9, V10, N1–N4: the surfaces after 6.18 on this kernel")
    struct PostSixEighteenTests {
        /// Whether this kernel reports in-place conversion (GMEM-V9).
        static let hasConversion: Bool = {
            guard let kvm = try? KVMSystem() else { return false }
            return (try? kvm.check(.guestMemfdMemoryAttributes)).map { $0 & 8 != 0 } ?? false
        }()

        @Test(
            "KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd: ENOTTY without KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES, a conversion with it"
        )
        func conversionIoctl() throws {
            // GMEM-V9
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096, flags: .hostShared)
            let fd = file.rawDescriptor
            if Self.hasConversion {
                // To shared on a shared page: nothing to convert, success.
                try UncheckedKVM.setMemoryAttributes2(gmemFD: fd, offset: 0, size: 4096, attributes: 0, flags: 0)
            } else {
                do {
                    try UncheckedKVM.setMemoryAttributes2(gmemFD: fd, offset: 0, size: 4096, attributes: 8, flags: 0)
                    Issue.record(
                        "KVM_SET_MEMORY_ATTRIBUTES2 succeeded on a kernel without KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES"
                    )
                } catch {
                    #expect(error.error.operation == .setMemoryAttributes2)
                    #expect(error.error.errno == .inappropriateIOCTLForDevice, "\(error)")
                    #expect(error.errorOffset == nil, "the kernel wrote error_offset without the ioctl: \(error)")
                    #expect(error.description.contains("KVM_SET_MEMORY_ATTRIBUTES2"))
                }
            }
            // On the VM fd the 128-byte _IOWR(0xd2) is not KVM_SET_MEMORY_ATTRIBUTES (32 bytes, _IOW).
            do {
                try UncheckedKVM.setMemoryAttributes2(
                    gmemFD: vm.rawDescriptor, offset: 0, size: 4096, attributes: 0, flags: 0)
                Issue.record("KVM_SET_MEMORY_ATTRIBUTES2 succeeded on a VM fd")
            } catch {
                #expect(error.error.errno == .inappropriateIOCTLForDevice, "\(error)")
            }
        }

        @Test("KVM_LINK_GUEST_MEMFD: ENOTTY on this kernel (RFC v2, unmerged); EINVAL for a bad source where it exists")
        func linkIoctl() throws {
            // GMEM-V10
            let a = try makeVM()
            let b = try makeVM()
            let file = try a.createGuestMemfd(size: 4096, flags: .hostShared)
            do {
                let fd = try UncheckedKVM.linkGuestMemfd(vmFD: b.rawDescriptor, fd: file.rawDescriptor)
                // The RFC: a new file on the same inode.
                let first = descriptorStatus(file.rawDescriptor)
                let second = descriptorStatus(fd)
                #expect(first != nil && first?.st_ino == second?.st_ino)
                close(fd)
            } catch {
                #expect(error.operation == .linkGuestMemfd)
                #expect(error.errno == .inappropriateIOCTLForDevice, "\(error)")
                #expect(error.description.contains("KVM_LINK_GUEST_MEMFD"))
            }
            // A source that is not open: EINVAL where the ioctl exists, ENOTTY where it does not.
            expectErrno(KernelBackendLink.available ? .invalidArgument : .inappropriateIOCTLForDevice) {
                _ = try UncheckedKVM.linkGuestMemfd(vmFD: b.rawDescriptor, fd: -1)
            }
        }

        @Test("KVM_PRE_FAULT_MEMORY: works where KVM_CAP_PRE_FAULT_MEMORY is reported; refused on this host otherwise")
        func preFault() throws {
            // GMEM-N1
            let kvm = try KVMSystem()
            let cap = try kvm.check(.preFaultMemory)
            let vm = try kvm.createVM()
            let file = try vm.createGuestMemfd(size: 1 << 20, flags: .hostShared)
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: 1 << 20)
            let vcpu = try vm.createVCPU(id: 0)
            if cap > 0 {
                #expect(try UncheckedKVM.preFaultMemory(vcpuFD: vcpu.rawDescriptor, gpa: 0, size: 4096) == 0)
            } else {
                do {
                    _ = try UncheckedKVM.preFaultMemory(vcpuFD: vcpu.rawDescriptor, gpa: 0, size: 4096)
                    Issue.record("KVM_PRE_FAULT_MEMORY succeeded without KVM_CAP_PRE_FAULT_MEMORY")
                } catch {
                    #expect(error.operation == .preFaultMemory)
                    // kvm_arch_vcpu_pre_fault_memory without the capability (no TDP: PVM here):
                    // EOPNOTSUPP, measured on the reference host (6.18.44, kvm_pvm).
                    #expect(error.errno == .notSupported, "\(error)")
                }
            }
            // Flags are checked before anything else: EINVAL wherever the ioctl exists.
            expectErrno(.invalidArgument) {
                _ = try UncheckedKVM.preFaultMemory(vcpuFD: vcpu.rawDescriptor, gpa: 0, size: 4096, flags: 1)
            }
        }

        @Test(
            "GUEST_MEMFD_FLAG_WRITE and NO_DIRECT_MAP: refused at creation where KVM_CAP_GUEST_MEMFD_FLAGS lacks them; pwrite stays ESPIPE"
        )
        func provisionalFlags() throws {
            // GMEM-N2, GMEM-N3
            let kvm = try KVMSystem()
            let vm = try kvm.createVM()
            let supported = try kvm.supportedGuestMemfdFlags().rawValue
            for (flag, name) in [(UInt64(1) << 3, "WRITE"), (UInt64(1) << 2, "NO_DIRECT_MAP")] {
                if supported & flag != 0 {
                    _ = try vm.createGuestMemfdUnchecked(size: 4096, flags: 3 | flag)
                } else {
                    let error = expectErrno(.invalidArgument) {
                        _ = try vm.createGuestMemfdUnchecked(size: 4096, flags: 3 | flag)
                    }
                    #expect(error != nil, "GUEST_MEMFD_FLAG_\(name)")
                }
            }
            if supported & (1 << 3) == 0 {
                let file = try vm.createGuestMemfd(size: 4096, flags: .hostShared)
                var page = [UInt8](repeating: 1, count: 4096)
                // SAFETY: the wrapper reads 4096 bytes from `page`, which holds exactly that many.
                let written = unsafe page.withUnsafeMutableBytes {
                    unsafe ckvm_pwrite(file.rawDescriptor, $0.baseAddress, 4096, 0)
                }
                #expect(written == -Int64(ESPIPE))
            }
        }

        @Test("userfaultfd cannot register a guest_memfd mapping here: MISSING and MINOR are EINVAL")
        func userfaultfd() throws {
            // GMEM-N4
            let vm = try makeVM()
            let file = try vm.createGuestMemfd(size: 4096, flags: .hostShared)
            let mapping = try file.mapShared()
            for minor: Int32 in [0, 1] {
                var stage: Int32 = 0
                // SAFETY: the range is the live mapping's only page; the probe registers and unregisters it.
                let result = unsafe ckvm_probe_userfaultfd(
                    UnsafeMutableRawPointer(bitPattern: UInt(mapping.hostAddress)), 4096, minor, &stage)
                // userfaultfd(2) itself refused (stage 0: unprivileged userfaultfd off) says nothing
                // about guest_memfd; anything past the handshake must be UFFDIO_REGISTER's EINVAL.
                if stage == 0, result == -EPERM || result == -ENOSYS { continue }
                #expect(
                    result == -EINVAL && stage == 2,
                    "mode \(minor == 1 ? "MINOR" : "MISSING"): \(result) at stage \(stage)")
            }
        }

        @Test(
            "a vmsplice pin holds the page of a guest_memfd mapping until the pipe is closed; a private page is EFAULT")
        func pins() throws {
            // GMEM-V4 (the pin the conversion refuses against)
            let vm = try makeVM()
            let shared = try vm.createGuestMemfd(size: 8192, flags: .hostShared)
            let mapping = try shared.mapShared()
            var ends: [Int32] = [-1, -1]
            // SAFETY: `ends` holds the two ints pipe writes.
            #expect(unsafe ends.withUnsafeMutableBufferPointer { unsafe pipe($0.baseAddress!) } == 0)
            defer {
                close(ends[0])
                close(ends[1])
            }
            #expect(try UncheckedKVM.pinPages(pipeFD: ends[1], address: mapping.hostAddress, length: 8192) == 8192)
            // Private memory (MMAP without INIT_SHARED): GUP fails, no signal reaches the process.
            let privateFile = try vm.createGuestMemfdUnchecked(size: 4096, flags: 1)
            let privateMapping = try privateFile.mapUnchecked(
                length: 4096, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            let error = expectErrno(.badAddress) {
                _ = try UncheckedKVM.pinPages(pipeFD: ends[1], address: privateMapping.hostAddress, length: 4096)
            }
            #expect(error?.operation == .pinPages)
        }
    }
}

/// Whether `KVM_LINK_GUEST_MEMFD` exists here, probed as the kernel backend probes it.
enum KernelBackendLink {
    static let available: Bool = {
        guard let vm = try? makeVM() else { return false }
        return ckvm_link_guest_memfd(vm.rawDescriptor, -1, 0) != -ENOTTY
    }()
}

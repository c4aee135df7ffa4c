import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension KVMSystem {
    /// The guest_memfd surfaces after 6.18 (GMEM-SPEC V and N, UPSTREAM.md), each probed on this
    /// kernel with a throwaway VM and a one-page file: whether the kernel has it, what it
    /// answered, and what it needs otherwise. A probe that cannot even set up (no VM, no file)
    /// reports the feature unavailable with that error: never a guess.
    ///
    /// The numbers of unmerged series are provisional; an ioctl the kernel does not know
    /// answers `ENOTTY`, which is the measurement.
    public func upstreamFeatures() -> [HostReport.Feature] {
        var features: [HostReport.Feature] = []
        func add(_ name: String, _ available: Bool, _ detail: String) {
            features.append(.init(name: name, available: available, detail: detail))
        }
        func errnoText(_ result: Int64) -> String {
            result < 0 ? Errno(rawValue: Int32(-result)).symbolicName : "success"
        }
        let flags = (try? supportedGuestMemfdFlags().rawValue) ?? 0

        // In-place conversion (GMEM-V9): the capability, and the ioctl on a guest_memfd.
        let conversionCap = (try? check(.guestMemfdMemoryAttributes)) ?? 0
        var conversionIoctl = "not probed"
        var linkIoctl = "not probed"
        var mbindResult = "not probed"
        var collapseResult = "not probed"
        var mbindAccepted = false
        var collapseRefused = false
        var preFaultResult = "not probed"
        var preFaultWorks = false
        var pwriteResult = "not probed"
        var noDirectMapResult = "not probed"
        var uffd: [String] = []
        do {
            let vm = try createVM()
            let file = try vm.createGuestMemfd(size: HostMapping.pageSize, flags: .hostShared)
            var errorOffset = UncheckedKVM.unwrittenErrorOffset
            // To shared on a shared page: a no-op where the ioctl exists.
            // SAFETY: `errorOffset` is a local the wrapper reads and writes for the call's duration.
            let converted = unsafe ckvm_set_memory_attributes2(file.fd, 0, HostMapping.pageSize, 0, 0, &errorOffset)
            conversionIoctl = errnoText(Int64(converted))
            linkIoctl = errnoText(Int64(ckvm_link_guest_memfd(vm.rawDescriptor, -1, 0)))
            var page = [UInt8](repeating: 0, count: Int(HostMapping.pageSize))
            // SAFETY: the wrapper reads pageSize bytes from `page`, which holds exactly that many.
            let written = unsafe page.withUnsafeMutableBytes {
                unsafe ckvm_pwrite(file.fd, $0.baseAddress, HostMapping.pageSize, 0)
            }
            pwriteResult = errnoText(written)
            do {
                _ = try vm.createGuestMemfdUnchecked(
                    size: HostMapping.pageSize, flags: GuestMemfdFlags.hostShared.rawValue | (1 << 2))
                noDirectMapResult = "creation with it accepted"
            } catch {
                noDirectMapResult = "creation with it: \(error.errno.symbolicName)"
            }
            let big = try vm.createGuestMemfd(size: 4 << 20, flags: .hostShared)
            let mapping = try big.mapUnchecked(length: 4 << 20, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
            let bound = ckvm_mbind(mapping.hostAddress, HostMapping.pageSize, 2, 1)
            mbindAccepted = bound == 0
            mbindResult = errnoText(Int64(bound))
            _ = ckvm_mbind(mapping.hostAddress, HostMapping.pageSize, 0, 0)
            let aligned = (mapping.hostAddress + (2 << 20) - 1) & ~UInt64((2 << 20) - 1)
            // SAFETY: a 2 MiB window inside the 4 MiB mapping, which stays mapped for the call.
            let collapse = unsafe madvise(UnsafeMutableRawPointer(bitPattern: UInt(aligned)), 2 << 20, 25)
            collapseRefused = collapse != 0 && errno == EINVAL
            collapseResult = collapse == 0 ? "success" : Errno(rawValue: errno).symbolicName
            for minor in [false, true] {
                var stage: Int32 = 0
                // SAFETY: the range is the live mapping's first page; the probe registers and unregisters it.
                let result = unsafe ckvm_probe_userfaultfd(
                    UnsafeMutableRawPointer(bitPattern: UInt(mapping.hostAddress)),
                    HostMapping.pageSize, minor ? 1 : 0, &stage)
                uffd.append("\(minor ? "MINOR" : "MISSING") " + (result < 0 ? errnoText(Int64(result)) : "registered"))
            }
            // Pre-fault the file's page through a memslot (without one the answer is about the
            // missing memslot, not about pre-faulting).
            try vm.bind(file, slot: 0, guestPhysicalAddress: 0, size: HostMapping.pageSize)
            let vcpu = try vm.createVCPU(id: 0)
            var remaining: UInt64 = 0
            // SAFETY: `remaining` is a local the wrapper writes for the call's duration.
            let faulted = unsafe ckvm_pre_fault_memory(vcpu.rawDescriptor, 0, HostMapping.pageSize, 0, &remaining)
            preFaultResult = errnoText(Int64(faulted))
            preFaultWorks = faulted == 0
        } catch {
            conversionIoctl = "probe failed: \(error)"
        }
        let conversion = conversionCap & Int32(MemoryAttributes.private.rawValue) != 0 && conversionIoctl == "success"
        add(
            "in-place conversion", conversion,
            conversion
                ? "KVM_SET_MEMORY_ATTRIBUTES2 converts guest_memfd pages between shared and private (GMEM-SPEC V)"
                : "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (250, provisional) = \(conversionCap); KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd: \(conversionIoctl); needs the in-place conversion series (v13, applied for 7.4): modelled under profile next, kernel-skipped here"
        )
        let link = linkIoctl == "EINVAL"
        add(
            "guest_memfd linking", link,
            link
                ? "KVM_LINK_GUEST_MEMFD gives another VM a file on a guest_memfd's inode (GMEM-SPEC V10)"
                : "KVM_LINK_GUEST_MEMFD (0xd6, RFC v2) answers \(linkIoctl); needs the unmerged linking RFC: modelled under profile next (provisional)"
        )
        add(
            "NUMA policy on guest_memfd", mbindAccepted,
            "mbind(MPOL_BIND) on a guest_memfd mapping: \(mbindResult) (GMEM-SPEC M7; from 6.19 the file keeps a shared policy)"
        )
        add(
            "MADV_COLLAPSE refused", collapseRefused,
            "madvise(MADV_COLLAPSE) on an aligned 2 MiB range of a guest_memfd mapping: \(collapseResult) (GMEM-SPEC M6: guest_memfd stays 4 KiB pages)"
        )
        let preFaultCap = (try? check(.preFaultMemory)) ?? 0
        add(
            "KVM_PRE_FAULT_MEMORY", preFaultCap > 0 && preFaultWorks,
            "KVM_CAP_PRE_FAULT_MEMORY = \(preFaultCap); KVM_PRE_FAULT_MEMORY on a vCPU: \(preFaultResult) (GMEM-SPEC N1; needs 6.10 and a KVM that implements it, PVM does not)"
        )
        let write = flags & (1 << 3) != 0 && pwriteResult == "success"
        add(
            "GUEST_MEMFD_FLAG_WRITE", write,
            "KVM_CAP_GUEST_MEMFD_FLAGS = 0x\(String(flags, radix: 16)) (bit 1<<3 provisional: Firecracker's branch); pwrite on a guest_memfd: \(pwriteResult) (GMEM-SPEC N2; needs the unmerged write(2) series)"
        )
        let noDirectMap = flags & (1 << 2) != 0
        add(
            "GUEST_MEMFD_FLAG_NO_DIRECT_MAP", noDirectMap,
            "bit 1<<2 (provisional) \(noDirectMap ? "is" : "is not") in KVM_CAP_GUEST_MEMFD_FLAGS; \(noDirectMapResult) (GMEM-SPEC N3; needs the unmerged direct-map removal series, v12)"
        )
        let userfault = uffd.contains { $0.hasSuffix("registered") }
        add(
            "userfaultfd on guest_memfd", userfault,
            "UFFDIO_REGISTER on a guest_memfd mapping: \(uffd.isEmpty ? "not probed" : uffd.joined(separator: ", ")) (GMEM-SPEC N4; needs the guest_memfd userfaultfd series: lazy restore waits on it)"
        )
        return features
    }
}

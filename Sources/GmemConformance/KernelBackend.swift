@_spi(Unchecked) import KVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The host kernel as a backend: each action becomes the real syscall on real descriptors
/// and mappings, bound to the scenario's names. Host accesses that could raise a signal run
/// in a forked child first (GMEM-SPEC M3, M4), so the checker survives them; guest accesses
/// run a real vCPU at CPL3 (`GuestProbe`).
public final class KernelBackend: ConformanceBackend {
    public let name = "kernel"
    private let kvmFD: Int32
    private let runMappingSize: Int
    private let attributesSupported: Bool
    private let protectedVMSupported: Bool

    /// What a scenario name refers to.
    private final class Descriptor {
        enum Kind { case vm, vcpu, stats, guestMemfd, memfd, other }
        var fd: Int32
        let kind: Kind
        /// guest_memfd size and flags, for the host-access safety check.
        let size: UInt64
        let flags: UInt64
        var vcpu: VCPU?
        let vcpuID: UInt32
        init(fd: Int32, kind: Kind, size: UInt64 = 0, flags: UInt64 = 0, vcpuID: UInt32 = 0) {
            self.fd = fd; self.kind = kind; self.size = size; self.flags = flags; self.vcpuID = vcpuID
        }
        func close() {
            if vcpu != nil { vcpu = nil } else if fd >= 0 { _ = Glibc.close(fd) }
            fd = KernelBackend.invalidDescriptor
        }
    }

    /// A host mapping and what it maps, for the signal-safety check.
    private final class MappingState {
        let mapping: HostMapping?
        let protection: Int32
        /// Bytes of the mapped object that lie inside the file (nil for anonymous memory).
        let fileBytesMapped: UInt64?
        let sharedMemory: Bool
        var unmappedPages: Set<UInt64> = []
        init(mapping: HostMapping?, protection: Int32, fileBytesMapped: UInt64?, sharedMemory: Bool) {
            self.mapping = mapping; self.protection = protection
            self.fileBytesMapped = fileBytesMapped; self.sharedMemory = sharedMemory
        }
    }

    /// Per VM created: its probe memory, and the next vCPU id for a probe vCPU.
    private final class ProbeState {
        let probe: GuestProbe
        var nextVCPUID = GuestProbe.vcpuID
        init(probe: GuestProbe) { self.probe = probe }
    }

    private var descriptors: [String: Descriptor] = [:]
    private var mappings: [String: MappingState] = [:]
    /// Probes by VM name; a dup of a VM fd shares its VM's probe.
    private var probes: [String: ProbeState] = [:]
    private var probeOf: [String: String] = [:]
    /// KVM's debugfs folder of each VM name ("<tid>-<fd>" at creation), for `alive`.
    private var debugfsNames: [String: String] = [:]

    static let invalidDescriptor: Int32 = 1_000_000

    /// Whether KVM's debugfs can be read; mounts it once when missing and permitted (root).
    static let debugfsAvailable: Bool = {
        if access("/sys/kernel/debug/kvm", F_OK) == 0 { return true }
        _ = mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nil)
        return access("/sys/kernel/debug/kvm", F_OK) == 0
    }()

    /// Opens /dev/kvm; fails when KVM is not usable here.
    public init() throws(KVMError) {
        kvmFD = try UncheckedKVM.openDevice()
        do {
            runMappingSize = try UncheckedKVM.vcpuMmapSize(kvmFD: kvmFD)
        } catch {
            Glibc.close(kvmFD)
            throw error
        }
        attributesSupported = ckvmCheck(kvmFD, .memoryAttributes) & 8 != 0
        protectedVMSupported = ckvmCheck(kvmFD, .vmTypes) & 2 != 0
    }

    deinit {
        // vCPUs and descriptors first, then probe memory, then /dev/kvm.
        for descriptor in descriptors.values { descriptor.close() }
        probes.removeAll()
        mappings.removeAll()
        Glibc.close(kvmFD)
    }

    public func unavailableReason(for requirement: Scenario.Requirement) -> String? {
        switch requirement {
        case .memoryAttributes:
            attributesSupported ? nil : "this kernel has no KVM_MEMORY_ATTRIBUTE_PRIVATE (KVM_CAP_MEMORY_ATTRIBUTES = 0)"
        case .protectedVM:
            protectedVMSupported ? nil : "this kernel offers no KVM_X86_SW_PROTECTED_VM (KVM_CAP_VM_TYPES)"
        }
    }

    private func fd(_ name: String) -> Int32 { descriptors[name]?.fd ?? Self.invalidDescriptor }

    private func outcome(_ body: () throws(KVMError) -> Void) -> Outcome {
        do {
            try body()
            return .ok
        } catch {
            return .errno(error.errno.rawValue)
        }
    }

    private func create(_ name: String, kind: Descriptor.Kind, size: UInt64 = 0, flags: UInt64 = 0, vcpuID: UInt32 = 0,
                        _ body: () throws(KVMError) -> Int32) -> Outcome {
        descriptors[name]?.close()
        do {
            let fd = try body()
            descriptors[name] = Descriptor(fd: fd, kind: kind, size: size, flags: flags, vcpuID: vcpuID)
            return .ok
        } catch {
            descriptors[name] = Descriptor(fd: Self.invalidDescriptor, kind: kind)
            return .errno(error.errno.rawValue)
        }
    }

    public func perform(_ action: Action) -> Outcome {
        switch action {
        case .createVM(let name, let type):
            let result = create(name, kind: .vm) { () throws(KVMError) in try UncheckedKVM.createVM(kvmFD: kvmFD, type: type) }
            if result == .ok {
                debugfsNames[name] = "\(UncheckedKVM.currentThreadID())-\(fd(name))"
                do {
                    probes[name] = ProbeState(probe: try GuestProbe(vmFD: fd(name)))
                    probeOf[name] = name
                } catch {
                    return .unsupported("cannot set up the guest probe: \(error)")
                }
            }
            return result
        case .stat(let name):
            var status = Glibc.stat()
            let fd = fd(name)
            guard fstat(fd, &status) == 0 else { return .errno(errno) }
            guard status.st_mode & S_IFMT == S_IFREG else { return .errno(EINVAL) }
            let flags = fcntl(fd, F_GETFD)
            return .status(mode: UInt32(status.st_mode & 0o7777), size: UInt64(status.st_size), closeOnExec: flags & FD_CLOEXEC != 0)
        case .alive(let name):
            guard let folder = debugfsNames[name] else { return .value(0) }
            guard KernelBackend.debugfsAvailable else {
                return .unsupported("KVM's debugfs (/sys/kernel/debug/kvm) is not mounted: VM lifetime is not observable")
            }
            // VM destruction can trail the last close by a moment (deferred fput): give it a
            // few milliseconds before answering "alive".
            for _ in 0..<25 {
                if access("/sys/kernel/debug/kvm/\(folder)", F_OK) != 0 { return .value(0) }
                usleep(2_000)
            }
            return .value(1)
        case .createVCPU(let name, let vm, let id):
            if id > GuestProbe.lowestVCPUID { return .unsupported("vCPU ids above \(GuestProbe.lowestVCPUID) are reserved for the guest probe") }
            let result = create(name, kind: .vcpu, vcpuID: id) { () throws(KVMError) in try UncheckedKVM.createVCPU(vmFD: fd(vm), id: id) }
            if result == .ok { probeOf[name] = probeOf[vm] }
            return result
        case .createStats(let name, let of):
            let result = create(name, kind: .stats) { () throws(KVMError) in try UncheckedKVM.statsFD(of: fd(of)) }
            return result
        case .createGuestMemfd(let name, let vm, let size, let flags, let reserved):
            return create(name, kind: .guestMemfd, size: size, flags: flags) { () throws(KVMError) in
                try UncheckedKVM.createGuestMemfd(vmFD: fd(vm), size: size, flags: flags, reserved: reserved)
            }
        case .createMemfd(let name, let size):
            return create(name, kind: .memfd, size: size) { () throws(KVMError) in try UncheckedKVM.createMemfd(size: size) }
        case .dup(let name, let of):
            let source = descriptors[of]
            let result = create(name, kind: source?.kind ?? .other, size: source?.size ?? 0, flags: source?.flags ?? 0,
                                vcpuID: source?.vcpuID ?? 0) { () throws(KVMError) in
                let fd = fcntl(self.fd(of), F_DUPFD_CLOEXEC, 0)
                guard fd >= 0 else { throw KVMError(.createGuestMemfd, Errno(rawValue: errno)) }
                return fd
            }
            if result == .ok { probeOf[name] = probeOf[of] }
            return result
        case .close(let name):
            let fd = fd(name)
            if let descriptor = descriptors[name], descriptor.fd != Self.invalidDescriptor {
                descriptor.close()
                return .ok
            }
            return Glibc.close(fd) == 0 ? .ok : .errno(errno)
        case .setRegion(let vm, let version, let slot, let flags, let gpa, let size, let userspace, let file, let offset):
            if slot == GuestProbe.slot { return .unsupported("memslot \(slot) is reserved for the guest probe") }
            var region = MemoryRegion(slot: slot, guestPhysicalAddress: gpa, size: size, userspaceAddress: address(userspace))
            region.flags = MemoryRegion.Flags(rawValue: flags)
            region.guestMemfd = file.map { self.fd($0) } ?? 0
            region.guestMemfdOffset = offset
            return outcome { () throws(KVMError) in
                if version == 1 {
                    try UncheckedKVM.setUserMemoryRegion(vmFD: fd(vm), region)
                } else {
                    try UncheckedKVM.setUserMemoryRegion2(vmFD: fd(vm), region)
                }
            }
        case .fallocate(let file, let mode, let offset, let length):
            return outcome { () throws(KVMError) in try UncheckedKVM.fallocate(fd: fd(file), mode: mode, offset: offset, length: length) }
        case .fileOperation(let file, let operation):
            return fileOperation(fd(file), operation)
        case .reopen(let name, let of):
            return create(name, kind: descriptors[of]?.kind ?? .other) { () throws(KVMError) in
                let fd = open("/proc/self/fd/\(self.fd(of))", O_RDWR | O_CLOEXEC)
                guard fd >= 0 else { throw KVMError(.createGuestMemfd, Errno(rawValue: errno)) }
                return fd
            }
        case .mmap(let name, let file, let protection, let flags, let offset, let length):
            let descriptor = descriptors[file]
            do {
                let mapping = try UncheckedKVM.map(fd: fd(file), length: length, protection: protection, flags: flags, offset: offset)
                var inside: UInt64? = nil
                var shared = false
                if let descriptor, descriptor.kind == .guestMemfd || descriptor.kind == .memfd {
                    inside = descriptor.size > offset ? descriptor.size - offset : 0
                    shared = descriptor.kind == .memfd || descriptor.flags & 3 == 3
                }
                mappings[name] = MappingState(mapping: mapping, protection: protection, fileBytesMapped: inside, sharedMemory: shared)
                return .ok
            } catch {
                mappings[name] = MappingState(mapping: nil, protection: 0, fileBytesMapped: 0, sharedMemory: false)
                return .errno(error.errno.rawValue)
            }
        case .mapAnonymous(let name, let length, let protection):
            do {
                let mapping = try UncheckedKVM.map(fd: -1, length: length, protection: protection, flags: MAP_SHARED | MAP_ANONYMOUS)
                mappings[name] = MappingState(mapping: mapping, protection: protection, fileBytesMapped: nil, sharedMemory: true)
                return .ok
            } catch {
                mappings[name] = MappingState(mapping: nil, protection: 0, fileBytesMapped: 0, sharedMemory: false)
                return .errno(error.errno.rawValue)
            }
        case .munmap(let name, let offset, let length):
            guard let state = mappings[name], let mapping = state.mapping else {
                // A name with no mapping stands for address 0, as in the model. Nothing can be
                // mapped that low (vm.mmap_min_addr), so asking the kernel is safe.
                guard offset < 1 << 16, length < 1 << 16 else { return .unsupported("munmap of an unmapped name far from 0") }
                // Sound because: below vm.mmap_min_addr nothing of this process is mapped.
                return munmap(UnsafeMutableRawPointer(bitPattern: UInt(offset)), Int(length)) == 0 ? .ok : .errno(errno)
            }
            guard offset % 4096 == 0, length > 0, offset < mapping.length else { return .errno(EINVAL) }
            let count = min(length + 4095 & ~4095, mapping.length - offset)
            do { try mapping.unmapUnchecked(offset: offset, count: count) } catch { return .errno(error.errno.rawValue) }
            for page in stride(from: offset, to: offset + count, by: 4096) { state.unmappedPages.insert(page) }
            return .ok
        case .hostRead(let name, let offset):
            return hostAccess(name, offset: offset, write: nil)
        case .hostWrite(let name, let offset, let value):
            return hostAccess(name, offset: offset, write: value)
        case .setAttributes(let vm, let gpa, let size, let attributes, let flags):
            return outcome { () throws(KVMError) in
                try UncheckedKVM.setMemoryAttributes(vmFD: fd(vm), address: gpa, size: size, attributes: attributes, flags: flags)
            }
        case .guestAccess(let via, let gpa, let write, let isPrivate):
            if isPrivate { return .unsupported("a guest cannot choose a private access on this VM type") }
            guard let descriptor = descriptors[via], descriptor.fd != Self.invalidDescriptor else { return .errno(EBADF) }
            switch descriptor.kind {
            case .vcpu:
                if descriptor.vcpu == nil {
                    do {
                        descriptor.vcpu = try UncheckedKVM.adoptVCPU(fd: descriptor.fd, id: descriptor.vcpuID, runMappingSize: runMappingSize)
                    } catch { return .unsupported("cannot map the vCPU's kvm_run: \(error)") }
                }
                return GuestProbe.access(on: descriptor.vcpu!, gpa: gpa, write: write)
            case .vm:
                // A fresh vCPU for this access alone, released right after it, so that it
                // does not pin the VM beyond what the scenario itself holds (GMEM-SPEC L6).
                guard let probeName = probeOf[via], let state = probes[probeName] else { return .unsupported("no guest probe for \(via)") }
                guard state.nextVCPUID > GuestProbe.lowestVCPUID else { return .unsupported("the guest probe ran out of vCPU ids") }
                let id = state.nextVCPUID
                state.nextVCPUID -= 1
                let vcpu: VCPU
                do {
                    let fd = try UncheckedKVM.createVCPU(vmFD: descriptor.fd, id: id)
                    vcpu = try UncheckedKVM.adoptVCPU(fd: fd, id: id, runMappingSize: runMappingSize)
                } catch { return .unsupported("cannot create a probe vCPU: \(error)") }
                return GuestProbe.access(on: vcpu, gpa: gpa, write: write)
            default:
                return .errno(ENOTTY)
            }
        }
    }

    private func address(_ expression: AddressExpression) -> UInt64 {
        switch expression {
        case .literal(let value): value
        case .mapping(let name, let offset): (mappings[name]?.mapping?.hostAddress ?? 0) &+ offset
        }
    }

    private func fileOperation(_ fd: Int32, _ operation: ModelFileOperation) -> Outcome {
        var buffer = [UInt8](repeating: 0, count: 8)
        // Sound because: each call reads or writes at most 8 bytes, the size of `buffer`.
        let result: Int = buffer.withUnsafeMutableBytes { raw in
            switch operation {
            case .read: read(fd, raw.baseAddress, 8)
            case .write: write(fd, raw.baseAddress, 8)
            case .pread: pread(fd, raw.baseAddress, 8, 0)
            case .pwrite: pwrite(fd, raw.baseAddress, 8, 0)
            case .lseek: Int(lseek(fd, 0, SEEK_SET))
            case .ftruncate: Int(ftruncate(fd, 0))
            case .fsync: Int(fsync(fd))
            case .fchmod: Int(fchmod(fd, 0o600))
            }
        }
        return result < 0 ? .errno(errno) : .ok
    }

    /// A host access at `offset` of a mapping: in this process when it cannot fault, else
    /// first in a forked child, which dies of the signal instead of this process.
    private func hostAccess(_ name: String, offset: UInt64, write: UInt64?) -> Outcome {
        guard let state = mappings[name], let mapping = state.mapping else { return .signal(SIGSEGV) }
        let needed: Int32 = write == nil ? PROT_READ : PROT_WRITE
        let safe = offset + 8 <= mapping.length
            && !state.unmappedPages.contains(offset & ~4095)
            && state.protection & needed != 0
            && state.sharedMemory
            && (state.fileBytesMapped.map { offset < $0 } ?? true)
        if !safe {
            guard offset < mapping.length else { return .signal(SIGSEGV) }
            let signal = mapping.probeInChild(offset: offset, write: write != nil)
            if signal != 0 { return .signal(signal) }
            if signal < 0 { return .unsupported("cannot fork a probe: errno \(-signal)") }
        }
        if let write {
            mapping.storeUnchecked(write, at: offset)
            return .ok
        }
        return .value(mapping.loadUnchecked(at: offset))
    }
}

typealias ModelFileOperation = GmemModel.ModelKernel.FileOperation

import GmemModel

/// `KVM_CHECK_EXTENSION` on a raw fd, 0 on failure.
private func ckvmCheck(_ fd: Int32, _ capability: Capability) -> Int32 {
    (try? UncheckedKVM.checkExtension(fd: fd, capability)) ?? 0
}

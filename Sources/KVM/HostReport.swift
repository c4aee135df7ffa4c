/// What this host's KVM offers, and what GmemKit can do with it: the content of `gmem info`.
public struct HostReport: Codable, Hashable, Sendable {
    /// The version of this encoding (`gmem info --json`); raised when a key changes meaning or goes away.
    public var schemaVersion = 1
    /// One capability as `KVM_CHECK_EXTENSION` answered it on /dev/kvm.
    public struct CapabilityValue: Codable, Hashable, Sendable {
        /// The kernel's name (`KVM_CAP_GUEST_MEMFD`).
        public let name: String
        /// The capability number.
        public let number: Int32
        /// What `KVM_CHECK_EXTENSION` returned (0: absent).
        public let value: Int32
    }

    /// One thing GmemKit can or cannot do here, and why.
    public struct Feature: Codable, Hashable, Sendable {
        /// The feature (`guest_memfd`, `memslots v2`, `vCPU kicks` ...).
        public let name: String
        /// Whether it can, on this host.
        public let available: Bool
        /// Why, or what is missing, in words.
        public let detail: String
    }

    /// The kernel release (`uname -r`).
    public let kernelRelease: String
    /// The module providing KVM ("kvm_pvm", "kvm_intel", "kvm_amd"), if known.
    public let kvmModule: String?
    /// Whether KVM is provided by PVM (`kvm_pvm`), which runs guests without hardware virtualization.
    public let isPVM: Bool
    /// `KVM_GET_API_VERSION` (12 on every kernel since 2.6.22).
    public let apiVersion: Int32
    /// `KVM_GET_VCPU_MMAP_SIZE`: the bytes of a vCPU's `kvm_run` mapping.
    public let vcpuMmapSize: Int
    /// Every capability of ``Capability/reported``, in that order.
    public let capabilities: [CapabilityValue]
    /// The raw `KVM_CAP_GUEST_MEMFD_FLAGS` mask and its flag names.
    public let guestMemfdFlags: UInt64
    /// The names of the flags in ``guestMemfdFlags`` (`MMAP`, `INIT_SHARED` ...).
    public let guestMemfdFlagNames: [String]
    /// The memory attributes a default VM supports (`KVM_CAP_MEMORY_ATTRIBUTES`).
    public let memoryAttributes: UInt64
    /// The names of the VM types `KVM_CAP_VM_TYPES` lists.
    public let vmTypes: [String]
    /// What GmemKit can and cannot do here, and why.
    public let features: [Feature]
    /// The surfaces after 6.18 (GMEM-SPEC V, N), each probed here: `KVMSystem.upstreamFeatures()`.
    public let upstreamFeatures: [Feature]
}

extension KVMSystem {
    /// Queries every reported capability and derives what GmemKit can do on this host.
    /// - Throws: ``KVMError`` (`KVM_CHECK_EXTENSION`) when a capability query fails.
    public func report() throws(KVMError) -> HostReport {
        var values: [Capability: Int32] = [:]
        for capability in Capability.reported {
            values[capability] = try check(capability)
        }
        let value = { (capability: Capability) in values[capability] ?? 0 }
        let flags = try supportedGuestMemfdFlags()
        let types = try supportedVMTypes()
        let attributes = UInt64(max(value(.memoryAttributes), 0))
        let hasGmem = value(.guestMemfd) > 0
        let pvm = KVMHost.isPVM

        var features: [HostReport.Feature] = []
        func feature(_ name: String, _ available: Bool, _ yes: String, _ no: String) {
            features.append(.init(name: name, available: available, detail: available ? yes : no))
        }
        feature(
            "guest_memfd", hasGmem,
            "KVM_CREATE_GUEST_MEMFD works: VM memory can live in guest_memfd",
            "no KVM_CAP_GUEST_MEMFD: needs Linux 6.8 or later; GmemKit can only run its model here")
        feature(
            "memslots v2", value(.userMemory2) > 0,
            "KVM_SET_USER_MEMORY_REGION2 binds guest_memfd ranges to guest-physical memory",
            "no KVM_CAP_USER_MEMORY2: guest_memfd cannot be bound")
        feature(
            "host-mapped guest memory", flags.isSuperset(of: .hostShared),
            "MMAP|INIT_SHARED: the VMM loads and inspects guest memory through a shared mapping; `gmem run` works",
            "no MMAP|INIT_SHARED flags: the host cannot map guest_memfd; `gmem run` cannot load a guest")
        feature(
            "memory-fault exits", value(.memoryFaultInfo) > 0,
            "a guest access to released guest_memfd memory exits with KVM_EXIT_MEMORY_FAULT (gpa, size)",
            "no KVM_CAP_MEMORY_FAULT_INFO: faults surface as a bare EFAULT")
        feature(
            "private memory and conversions", attributes & MemoryAttributes.private.rawValue != 0,
            "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) works: private/shared conversions run on the kernel",
            "KVM_CAP_MEMORY_ATTRIBUTES reports no PRIVATE attribute: conversions (GMEM-SPEC A*, G3) are modelled, not run"
        )
        feature(
            "software-protected VMs", types.contains(.softwareProtected),
            "KVM_X86_SW_PROTECTED_VM can be created",
            "only the default VM type: no VM type with private memory")
        feature(
            "pre-fault memory", value(.preFaultMemory) > 0,
            "KVM_PRE_FAULT_MEMORY can map guest memory before the guest runs",
            "no KVM_CAP_PRE_FAULT_MEMORY: pages are mapped on the guest's first touch")
        feature(
            "vCPU kicks", value(.immediateExit) > 0,
            "immediate_exit lets another thread stop a running vCPU promptly",
            "no KVM_CAP_IMMEDIATE_EXIT: stopping a vCPU relies on signals alone")
        feature(
            "native guest kernel mode", !pvm,
            "guest code at CPL0 runs natively",
            "PVM: guest CPL0 code is emulated (slow, reads memory through userspace_addr); GmemKit runs guest payloads at CPL3"
        )

        return HostReport(
            kernelRelease: KVMHost.kernelRelease,
            kvmModule: KVMHost.module,
            isPVM: pvm,
            apiVersion: try apiVersion(),
            vcpuMmapSize: try vcpuMmapSize(),
            capabilities: Capability.reported.map { .init(name: $0.name, number: $0.rawValue, value: value($0)) },
            guestMemfdFlags: flags.rawValue,
            guestMemfdFlagNames: flags.description == "0"
                ? [] : flags.description.split(separator: "|").map(String.init),
            memoryAttributes: attributes,
            vmTypes: types.map(\.description),
            features: features,
            upstreamFeatures: upstreamFeatures()
        )
    }
}

import CKVM
import SystemPackage

/// Everything of a vCPU that a snapshot keeps, as the kernel's own structures (little-endian
/// bytes of the Linux 6.18 x86 UAPI): `kvm_regs`, `kvm_sregs`, `kvm_fpu`, `kvm_vcpu_events`,
/// and the MSRs that matter to a CPL3 long-mode guest (`VCPUState.longModeMSRs`).
///
/// Read it from a vCPU that is not running (`VCPU.captureState()`), write it into a new
/// vCPU before its first run (`VCPU.applyState(_:)`). The kernel validates what is written:
/// bytes that come from a file may be refused (a typed `KVMError`), never trusted blindly.
public struct VCPUState: Hashable, Sendable {
    /// One model-specific register.
    public struct MSR: Hashable, Sendable {
        /// The MSR's index (`0xC000_0080` is EFER).
        public var index: UInt32
        /// Its value.
        public var value: UInt64
        /// An MSR and its value.
        public init(index: UInt32, value: UInt64) {
            self.index = index
            self.value = value
        }
    }

    /// The size of `kvm_regs` in bytes (144).
    public static let registersSize = MemoryLayout<ckvm_regs>.size  // 144
    /// The size of `kvm_sregs` in bytes (312).
    public static let specialRegistersSize = MemoryLayout<ckvm_sregs>.size  // 312
    /// The size of `kvm_fpu` in bytes (416).
    public static let fpuSize = MemoryLayout<ckvm_fpu>.size  // 416
    /// The size of `kvm_vcpu_events` in bytes (64).
    public static let eventsSize = MemoryLayout<ckvm_vcpu_events>.size  // 64
    /// The most MSRs one state holds.
    public static let maximumMSRs = Int(CKVM_MAX_MSRS)

    /// The MSRs a CPL3 long-mode guest can depend on: TSC, SYSENTER_CS/ESP/EIP, MISC_ENABLE,
    /// PAT, STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX. (EFER is
    /// part of `kvm_sregs`.) Those this host cannot read are left out of a capture.
    public static let longModeMSRs: [UInt32] = [
        0x10, 0x174, 0x175, 0x176, 0x1A0, 0x277,
        0xC000_0081, 0xC000_0082, 0xC000_0083, 0xC000_0084,
        0xC000_0100, 0xC000_0101, 0xC000_0102, 0xC000_0103,
    ]

    /// `kvm_regs`, ``registersSize`` bytes.
    public var registers: [UInt8]
    /// `kvm_sregs`, ``specialRegistersSize`` bytes.
    public var specialRegisters: [UInt8]
    /// `kvm_fpu`, ``fpuSize`` bytes.
    public var fpu: [UInt8]
    /// `kvm_vcpu_events`, ``eventsSize`` bytes.
    public var events: [UInt8]
    /// The MSRs, at most ``maximumMSRs``.
    public var msrs: [MSR]

    /// A state from its parts; nil when a part has the wrong size or there are too many MSRs.
    public init?(registers: [UInt8], specialRegisters: [UInt8], fpu: [UInt8], events: [UInt8], msrs: [MSR]) {
        guard registers.count == Self.registersSize, specialRegisters.count == Self.specialRegistersSize,
            fpu.count == Self.fpuSize, events.count == Self.eventsSize, msrs.count <= Self.maximumMSRs
        else { return nil }
        self.registers = registers
        self.specialRegisters = specialRegisters
        self.fpu = fpu
        self.events = events
        self.msrs = msrs
    }

    /// The general-purpose registers, decoded.
    public var decodedRegisters: Registers { Registers(raw: Self.load(registers, as: ckvm_regs())) }
    /// The special registers, decoded.
    public var decodedSpecialRegisters: SpecialRegisters {
        SpecialRegisters(Self.load(specialRegisters, as: ckvm_sregs()))
    }

    /// The pending-event fields of `kvm_vcpu_events` a report shows: an exception injected or
    /// pending, an interrupt injected, an NMI injected or pending (all false in a guest that
    /// runs with interrupts off and no IDT, as GmemKit's do).
    public var pendingEvents: (exception: Bool, interrupt: Bool, nmi: Bool) {
        (events[0] != 0 || events[3] != 0, events[8] != 0, events[12] != 0 || events[13] != 0)
    }

    static func bytes<T>(of value: T) -> [UInt8] {
        // SAFETY: a plain C struct; its bytes are copied out inside the closure.
        unsafe withUnsafeBytes(of: value) { unsafe Array($0) }
    }

    static func load<T>(_ bytes: [UInt8], as initial: T) -> T {
        var value = initial
        // SAFETY: the caller passes exactly MemoryLayout<T>.size bytes (checked by init?), and T
        // is a C struct of integers, for which every bit pattern is a value.
        unsafe withUnsafeMutableBytes(of: &value) { destination in
            unsafe bytes.withUnsafeBytes { source in
                unsafe destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<destination.count]))
            }
        }
        return value
    }
}

extension VCPU {
    /// Reads the vCPU's whole state. Call it only while no thread is inside `run()` for this
    /// vCPU and the last exit was completed (a paused `MachineHandle` guarantees both).
    /// - Parameter wanted: The MSR indexes to read; those the host cannot read are left out.
    /// - Throws: ``KVMError`` naming the `KVM_GET_*` ioctl that failed, with the kernel's errno.
    public func captureState(msrs wanted: [UInt32] = VCPUState.longModeMSRs) throws(KVMError) -> VCPUState {
        var regs = ckvm_regs()
        // SAFETY: each argument is a local fixed-size C struct the ioctl fills (sizes checked by CKVM at compile time).
        _ = unsafe try check(ckvm_get_regs(fd, &regs), .getRegisters)
        var sregs = ckvm_sregs()
        // SAFETY: a local kvm_sregs the ioctl fills.
        _ = unsafe try check(ckvm_get_sregs(fd, &sregs), .getSpecialRegisters)
        var fpu = ckvm_fpu()
        // SAFETY: a local kvm_fpu the ioctl fills.
        _ = unsafe try check(ckvm_get_fpu(fd, &fpu), .getFPU)
        var events = ckvm_vcpu_events()
        // SAFETY: a local kvm_vcpu_events the ioctl fills.
        _ = unsafe try check(ckvm_get_vcpu_events(fd, &events), .getVCPUEvents)
        let msrs = try readMSRs(Array(wanted.prefix(VCPUState.maximumMSRs)))
        // Sizes match by construction.
        return VCPUState(
            registers: VCPUState.bytes(of: regs), specialRegisters: VCPUState.bytes(of: sregs),
            fpu: VCPUState.bytes(of: fpu), events: VCPUState.bytes(of: events), msrs: msrs)!
    }

    /// Reads the MSRs in `indices` that this host lets a VMM read: KVM_GET_MSRS stops at the
    /// first one it refuses, which is left out, and reading goes on after it.
    func readMSRs(_ indices: [UInt32]) throws(KVMError) -> [VCPUState.MSR] {
        var result: [VCPUState.MSR] = []
        var rest = indices[...]
        while !rest.isEmpty {
            let batch = Array(rest)
            var values = [UInt64](repeating: 0, count: batch.count)
            // SAFETY: `batch` holds batch.count indices and `values` as many slots; the wrapper builds its kvm_msrs from them.
            let read = unsafe try check(ckvm_get_msrs(fd, UInt32(batch.count), batch, &values), .getMSRs)
            let count = min(Int(read), batch.count)
            for i in 0..<count { result.append(.init(index: batch[i], value: values[i])) }
            rest = rest.dropFirst(count + 1)  // skip the refused one
        }
        return result
    }

    /// Writes a whole state into this vCPU (before its first `run()`): registers, special
    /// registers, FPU, pending events, then the MSRs. The kernel's refusal of any part is a
    /// typed error; an MSR the kernel will not take fails with `EINVAL` naming its index.
    /// - Throws: ``KVMError`` naming the `KVM_SET_*` ioctl the kernel refused, with its errno.
    public func applyState(_ state: VCPUState) throws(KVMError) {
        var sregs = VCPUState.load(state.specialRegisters, as: ckvm_sregs())
        // SAFETY: each argument is a local fixed-size C struct the ioctl reads.
        _ = unsafe try check(ckvm_set_sregs(fd, &sregs), .setSpecialRegisters)
        var regs = VCPUState.load(state.registers, as: ckvm_regs())
        // SAFETY: a local kvm_regs the ioctl reads.
        _ = unsafe try check(ckvm_set_regs(fd, &regs), .setRegisters)
        var fpu = VCPUState.load(state.fpu, as: ckvm_fpu())
        // SAFETY: a local kvm_fpu the ioctl reads.
        _ = unsafe try check(ckvm_set_fpu(fd, &fpu), .setFPU)
        var events = VCPUState.load(state.events, as: ckvm_vcpu_events())
        // SAFETY: a local kvm_vcpu_events the ioctl reads.
        _ = unsafe try check(ckvm_set_vcpu_events(fd, &events), .setVCPUEvents)
        guard !state.msrs.isEmpty else { return }
        let indices = state.msrs.map(\.index)
        let values = state.msrs.map(\.value)
        // SAFETY: `indices` and `values` have the same count (checked above); the wrapper reads that many of each.
        let written = unsafe try check(ckvm_set_msrs(fd, UInt32(indices.count), indices, values), .setMSRs)
        if Int(written) < indices.count {
            // KVM_SET_MSRS reports only how many it took: the next one was refused.
            throw KVMError(.setMSRs, .invalidArgument)
        }
    }
}

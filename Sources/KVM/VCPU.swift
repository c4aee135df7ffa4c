import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A virtual CPU: the owner of a vCPU fd and its `kvm_run` page, created by
/// `VirtualMachine.createVCPU(id:)`.
///
/// `run()` enters the guest and returns the decoded exit; it allocates nothing. A vCPU is
/// driven by one thread at a time; other threads stop it through a `VCPUKicker`.
public struct VCPU: ~Copyable, Sendable {
    /// The vCPU id given at creation.
    public let id: UInt32
    let fd: Int32
    let page: RunPage
    /// The VM's memslots and the host memory they use: alive while this vCPU can run, since
    /// the kernel's VM (and its memslots) outlives the VM fd while a vCPU fd is open.
    let slots: SlotTable?

    init(id: UInt32, fd: Int32, page: RunPage, slots: SlotTable? = nil) {
        self.id = id
        self.fd = fd
        self.page = page
        self.slots = slots
    }

    deinit {
        // Never leave a registered thread behind: a kicker may outlive this value.
        page.kickTarget.withLock { $0 = 0 }
        close(fd)
    }

    /// Reads the general-purpose registers.
    /// - Throws: ``KVMError`` (`KVM_GET_REGS`) with the kernel's errno.
    public func registers() throws(KVMError) -> Registers {
        var raw = ckvm_regs()
        // SAFETY: `raw` is a local kvm_regs the ioctl fills (fixed size, checked by CKVM at compile time).
        _ = unsafe try check(ckvm_get_regs(fd, &raw), .getRegisters)
        return Registers(raw: raw)
    }

    /// Writes the general-purpose registers.
    /// - Throws: ``KVMError`` (`KVM_SET_REGS`) with the kernel's errno.
    public func setRegisters(_ registers: Registers) throws(KVMError) {
        var raw = registers.raw
        // SAFETY: `raw` is a local kvm_regs the ioctl reads.
        _ = unsafe try check(ckvm_set_regs(fd, &raw), .setRegisters)
    }

    /// Reads the special registers (segments, control registers, EFER).
    /// - Throws: ``KVMError`` (`KVM_GET_SREGS`) with the kernel's errno.
    public func specialRegisters() throws(KVMError) -> SpecialRegisters {
        var raw = ckvm_sregs()
        // SAFETY: `raw` is a local kvm_sregs the ioctl fills.
        _ = unsafe try check(ckvm_get_sregs(fd, &raw), .getSpecialRegisters)
        return SpecialRegisters(raw)
    }

    /// Writes the special registers; fails with `EINVAL` for an inconsistent state.
    /// - Throws: ``KVMError`` (`KVM_SET_SREGS`) with the kernel's errno.
    public func setSpecialRegisters(_ registers: SpecialRegisters) throws(KVMError) {
        var raw = registers.raw
        // SAFETY: `raw` is a local kvm_sregs the ioctl reads.
        _ = unsafe try check(ckvm_set_sregs(fd, &raw), .setSpecialRegisters)
    }

    /// A kicker for this vCPU, usable from any thread.
    public var kicker: VCPUKicker { VCPUKicker(page: page) }

    /// Registers the calling thread as the one that runs this vCPU: installs the kick
    /// signal's handler (`VCPUKickSignal`: `SIGRTMIN + 3` unless the embedder chose another;
    /// process-wide, once) and unblocks it here, so a kick interrupts
    /// `KVM_RUN` on this thread, and names the thread `gmem-vcpu-<id>` when `renaming` (pass
    /// false for a thread the caller lent, to keep its name). Call `unregisterThread()` before
    /// the thread ends or goes back to other work.
    /// - Throws: ``KVMError`` (`sigaction kick signal`) when the handler cannot be installed.
    public func registerCurrentThread(renaming: Bool = true) throws(KVMError) {
        _ = try check(ckvm_install_kick_handler(), .installKickHandler)
        _ = try check(ckvm_unblock_kick_signal(), .installKickHandler)
        let me = ckvm_current_thread()
        page.kickTarget.withLock { $0 = me }
        // SAFETY: the name is bridged to a NUL-terminated C string alive for the call (truncated to 15 bytes by the wrapper).
        if renaming { unsafe ckvm_name_current_thread("gmem-vcpu-\(id)") }
    }

    /// Stops kicks from signalling the registered thread (they still set `immediate_exit`).
    public func unregisterThread() {
        page.kickTarget.withLock { $0 = 0 }
    }

    /// Enters the guest until the next exit and returns it decoded.
    ///
    /// A memory fault (`EFAULT` with `KVM_EXIT_MEMORY_FAULT`, GMEM-SPEC G2) and a kick
    /// (`EINTR`) are exits, not errors; any other failure throws `KVMError(.run, errno)`.
    /// - Throws: ``KVMError`` (`KVM_RUN`) for any failure other than a memory fault or a kick.
    public func run() throws(KVMError) -> VCPUExit {
        let result = ckvm_run(fd)
        // Sound because: see RunPage; only this thread reads the exit fields, after KVM_RUN.
        // SAFETY: `page.run` points at this vCPU's kvm_run mapping (RunPage), alive while `self` is; only this thread reads the exit fields, after KVM_RUN returned.
        let run = unsafe page.run
        if result < 0 {
            switch -result {
            case EINTR:
                // SAFETY: `run` is the live kvm_run page (above).
                unsafe ckvm_set_immediate_exit(run, 0)
                return .interrupted
            // SAFETY: `run` is the live kvm_run page; the memory_fault member is read only when exit_reason names it.
            case EFAULT where unsafe run.pointee.exit_reason == UInt32(CKVM_EXIT_MEMORY_FAULT):
                let fault = unsafe run.pointee.exit.memory_fault
                return .memoryFault(
                    flags: fault.flags, guestPhysicalAddress: GuestPhysicalAddress(fault.gpa), size: fault.size)
            default:
                throw KVMError(.run, negated: result)
            }
        }
        // SAFETY: `run` is the live kvm_run page (above).
        return unsafe decodeExit(run)
    }

    // Sound because: `run` is the RunPage mapping (see RunPage); only the union member named
    // by `exit_reason` is read, and port data only through `RunPage.bytes(at:)`, which
    // bounds-checks `data_offset` against the mapping.
    @inline(__always)
    private func decodeExit(_ run: UnsafeMutablePointer<ckvm_run>) -> VCPUExit {
        // SAFETY: `run` is the live kvm_run page; each case reads only the union member its exit_reason names.
        let reason = unsafe run.pointee.exit_reason
        switch Int32(bitPattern: reason) {
        case CKVM_EXIT_IO:
            // SAFETY: exit_reason is KVM_EXIT_IO, so `io` is the live member.
            let io = unsafe run.pointee.exit.io
            if io.direction == UInt8(CKVM_EXIT_IO_OUT) {
                var value: UInt32 = 0
                // SAFETY: `page.bytes(at:)` returns a pointer to 8 bytes inside the mapping (bounds-checked there) or nil; at most 4 are read.
                if let data = unsafe page.bytes(at: Int(exactly: io.data_offset) ?? -1) {
                    switch io.size {
                    // SAFETY: `data` points at 8 bytes inside the run page (page.bytes(at:)); 1 byte is read.
                    case 1: value = unsafe UInt32(data.load(as: UInt8.self))
                    // SAFETY: as above; 2 bytes are read.
                    case 2: value = unsafe UInt32(data.loadUnaligned(as: UInt16.self))
                    // SAFETY: as above; 4 bytes are read.
                    default: value = unsafe data.loadUnaligned(as: UInt32.self)
                    }
                }
                return .ioOut(port: io.port, size: io.size, count: io.count, value: value)
            }
            return .ioIn(port: io.port, size: io.size, count: io.count)
        case CKVM_EXIT_MMIO:
            // SAFETY: exit_reason is KVM_EXIT_MMIO, so `mmio` is the live member.
            let mmio = unsafe run.pointee.exit.mmio
            if mmio.is_write != 0 {
                // SAFETY: `mmio.data` is a local copy of 8 bytes, read within the closure.
                let value = unsafe withUnsafeBytes(of: mmio.data) { unsafe $0.loadUnaligned(as: UInt64.self) }
                let length = min(mmio.len, 8)
                let mask: UInt64 = length >= 8 ? .max : (1 << (UInt64(length) * 8)) - 1
                return .mmioWrite(address: GuestPhysicalAddress(mmio.phys_addr), length: mmio.len, value: value & mask)
            }
            return .mmioRead(address: GuestPhysicalAddress(mmio.phys_addr), length: mmio.len)
        case CKVM_EXIT_HLT:
            return .halt
        case CKVM_EXIT_SHUTDOWN:
            return .shutdown
        case CKVM_EXIT_FAIL_ENTRY:
            // SAFETY: exit_reason names the member read in each case below (fail_entry, internal, system_event, memory_fault, ex).
            let fail = unsafe run.pointee.exit.fail_entry
            return .failEntry(reason: fail.hardware_entry_failure_reason, cpu: fail.cpu)
        case CKVM_EXIT_INTERNAL_ERROR:
            // SAFETY: exit_reason is KVM_EXIT_INTERNAL_ERROR, so `internal` is the live member.
            let info = unsafe run.pointee.exit.`internal`
            return .internalError(
                suberror: info.suberror, dataCount: info.ndata,
                firstData: info.ndata > 0 ? info.data.0 : 0)
        case CKVM_EXIT_SYSTEM_EVENT:
            // SAFETY: exit_reason is KVM_EXIT_SYSTEM_EVENT, so `system_event` is the live member.
            let event = unsafe run.pointee.exit.system_event
            return .systemEvent(type: event.type, flags: event.flags)
        case CKVM_EXIT_MEMORY_FAULT:
            // SAFETY: exit_reason is KVM_EXIT_MEMORY_FAULT, so `memory_fault` is the live member.
            let fault = unsafe run.pointee.exit.memory_fault
            return .memoryFault(
                flags: fault.flags, guestPhysicalAddress: GuestPhysicalAddress(fault.gpa), size: fault.size)
        case CKVM_EXIT_INTR:
            return .interrupted
        case CKVM_EXIT_EXCEPTION:
            // SAFETY: exit_reason is KVM_EXIT_EXCEPTION, so `ex` is the live member.
            let ex = unsafe run.pointee.exit.ex
            return .exception(vector: ex.exception, errorCode: ex.error_code)
        default:
            return .unknown(reason: reason)
        }
    }

    /// Supplies the value of the pending port-I/O *in* (first element) or MMIO read; call
    /// after `run()` returned `.ioIn` or `.mmioRead` and before the next `run()`.
    public func completeInput(_ value: UInt64) {
        // SAFETY: `page.run` is this vCPU's live kvm_run page; the member written is the one exit_reason names.
        let run = unsafe page.run
        switch unsafe Int32(bitPattern: run.pointee.exit_reason) {
        case CKVM_EXIT_IO:
            // SAFETY: exit_reason is KVM_EXIT_IO, so `io` is the live member.
            let io = unsafe run.pointee.exit.io
            guard io.direction == UInt8(CKVM_EXIT_IO_IN),
                // SAFETY: `page.bytes(at:)` bounds-checks the data offset against the mapping (8 bytes available).
                let data = unsafe page.bytes(at: Int(exactly: io.data_offset) ?? -1)
            else { return }
            switch io.size {
            // SAFETY: `data` points at 8 bytes inside the mapping (checked above); at most 4 are written.
            case 1: unsafe data.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: unsafe data.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
            default: unsafe data.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
            }
        case CKVM_EXIT_MMIO:
            // SAFETY: exit_reason is KVM_EXIT_MMIO; `mmio.data` is 8 bytes inside the live page.
            unsafe withUnsafeMutableBytes(of: &run.pointee.exit.mmio.data) {
                unsafe $0.storeBytes(of: value.littleEndian, as: UInt64.self)
            }
        default:
            return
        }
    }

    /// The vCPU fd, for conformance tests that probe the kernel directly.
    @_spi(Unchecked)
    public var rawDescriptor: Int32 { fd }
}

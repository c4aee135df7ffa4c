import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Raw KVM and guest_memfd calls on plain descriptors, with no ownership and no checks.
///
/// For the conformance suite only (`@_spi(Unchecked) import KVM`): a kernel checker must be
/// able to hand the kernel what the safe API never would (a closed fd, a VM fd where a
/// guest_memfd is expected, a file of another VM) and see the kernel's own answer. Every
/// call returns the kernel's result or throws its errno; the caller owns what it creates.
@_spi(Unchecked)
public enum UncheckedKVM {
    public static func openDevice() throws(KVMError) -> Int32 {
        // SAFETY: a string literal, NUL-terminated, alive for the call.
        unsafe try check(ckvm_open("/dev/kvm"), .openDevice)
    }
    public static func checkExtension(fd: Int32, _ capability: Capability) throws(KVMError) -> Int32 {
        try check(ckvm_check_extension(fd, Int(capability.rawValue)), .checkExtension)
    }
    public static func vcpuMmapSize(kvmFD: Int32) throws(KVMError) -> Int {
        Int(try check(ckvm_get_vcpu_mmap_size(kvmFD), .getVCPUMmapSize))
    }
    public static func createVM(kvmFD: Int32, type: UInt64) throws(KVMError) -> Int32 {
        try check(ckvm_create_vm(kvmFD, UInt(type)), .createVM)
    }
    public static func createVCPU(vmFD: Int32, id: UInt32) throws(KVMError) -> Int32 {
        try check(ckvm_create_vcpu(vmFD, UInt(id)), .createVCPU)
    }
    public static func createGuestMemfd(vmFD: Int32, size: UInt64, flags: UInt64, reserved: UInt64 = 0) throws(KVMError)
        -> Int32
    {
        var arg = ckvm_create_guest_memfd()
        arg.size = size
        arg.flags = flags
        arg.reserved = (reserved, reserved, reserved, reserved, reserved, reserved)
        // SAFETY: `arg` is a local kvm_create_guest_memfd the ioctl reads for the call's duration.
        return unsafe try check(ckvm_create_guest_memfd(vmFD, &arg), .createGuestMemfd)
    }
    public static func setUserMemoryRegion2(vmFD: Int32, _ region: MemoryRegion) throws(KVMError) {
        var arg = region.raw
        // SAFETY: `arg` is a local struct the ioctl reads; the memslot obligations are the caller's (see the doc comment).
        _ = unsafe try check(ckvm_set_user_memory_region2(vmFD, &arg), .setUserMemoryRegion2)
    }
    public static func setUserMemoryRegion(vmFD: Int32, _ region: MemoryRegion) throws(KVMError) {
        var arg = ckvm_userspace_memory_region()
        arg.slot = region.slot
        arg.flags = region.flags.rawValue
        arg.guest_phys_addr = region.guestPhysicalAddress
        arg.memory_size = region.size
        arg.userspace_addr = region.userspaceAddress
        // SAFETY: `arg` is a local struct the ioctl reads; the memslot obligations are the caller's (see the doc comment).
        _ = unsafe try check(ckvm_set_user_memory_region(vmFD, &arg), .setUserMemoryRegion)
    }
    public static func setMemoryAttributes(
        vmFD: Int32, address: UInt64, size: UInt64, attributes: UInt64, flags: UInt64
    ) throws(KVMError) {
        var arg = ckvm_memory_attributes()
        arg.address = address
        arg.size = size
        arg.attributes = attributes
        arg.flags = flags
        // SAFETY: `arg` is a local kvm_memory_attributes the ioctl reads for the call's duration.
        _ = unsafe try check(ckvm_set_memory_attributes(vmFD, &arg), .setMemoryAttributes)
    }
    public static func statsFD(of fd: Int32) throws(KVMError) -> Int32 {
        try check(ckvm_get_stats_fd(fd), .getStatsFD)
    }
    public static func fallocate(fd: Int32, mode: Int32, offset: Int64, length: Int64) throws(KVMError) {
        _ = try check(ckvm_fallocate(fd, mode, UInt64(bitPattern: offset), UInt64(bitPattern: length)), .fallocate)
    }

    /// A memfd of `size` bytes: a descriptor that is not a guest_memfd (GMEM-SPEC B4).
    /// Fails as `.memfdCreate` or `.ftruncate`, whichever call failed.
    public static func createMemfd(size: UInt64) throws(KVMError) -> Int32 {
        let fd = try check(ckvm_memfd_create(), .memfdCreate)
        let result = ckvm_ftruncate(fd, size)
        if result < 0 {
            close(fd)
            throw KVMError(.ftruncate, negated: result, context: "memfd of \(size) bytes")
        }
        return fd
    }

    /// `fcntl(fd, F_DUPFD_CLOEXEC)`: another descriptor of the same open file.
    public static func duplicate(fd: Int32) throws(KVMError) -> Int32 {
        try check(ckvm_dup_cloexec(fd), .dup)
    }

    /// `open("/proc/self/fd/<fd>", flags)`: a new open file description of the same file.
    public static func reopen(fd: Int32, flags: Int32 = O_RDWR) throws(KVMError) -> Int32 {
        // SAFETY: the path is bridged to a NUL-terminated C string alive for the call.
        unsafe try check(ckvm_open_flags("/proc/self/fd/\(fd)", flags), .reopen)
    }

    /// The kernel's id of the calling thread, which names KVM's debugfs folder of each VM it
    /// creates ("<tid>-<fd>").
    public static func currentThreadID() -> Int32 { ckvm_current_tid() }

    /// A vCPU value for a raw vCPU fd, mapping its `kvm_run` page; the value owns the fd.
    public static func adoptVCPU(fd: Int32, id: UInt32, runMappingSize: Int) throws(KVMError) -> VCPU {
        let page = try RunPage(vcpuFD: fd, size: runMappingSize)
        return VCPU(id: id, fd: fd, page: page)
    }

    /// The `struct kvm_sregs` bytes of `registers`, for a C VMM (the benchmark baseline) to
    /// pass to `KVM_SET_SREGS` as is.
    public static func rawBytes(of registers: SpecialRegisters) -> [UInt8] {
        // SAFETY: the registers are a plain C struct; its bytes are copied out inside the closure.
        unsafe withUnsafeBytes(of: registers.raw) { unsafe Array($0) }
    }

    /// The `struct kvm_regs` bytes of `registers`, for `KVM_SET_REGS` from C.
    public static func rawBytes(of registers: Registers) -> [UInt8] {
        // SAFETY: the registers are a plain C struct; its bytes are copied out inside the closure.
        unsafe withUnsafeBytes(of: registers.raw) { unsafe Array($0) }
    }

    /// `mmap` of `fd` (or anonymous memory for fd -1) with any protection and flags.
    public static func map(fd: Int32, length: UInt64, protection: Int32, flags: Int32, offset: UInt64 = 0)
        throws(KVMError) -> RawMapping
    {
        try RawMapping(
            fd: fd, length: length, protection: protection, flags: flags, offset: offset, operation: .mapMemory)
    }
}

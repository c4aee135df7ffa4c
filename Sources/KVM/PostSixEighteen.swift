import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The ioctls after 6.18 (GMEM-SPEC V, profile `next`), as raw calls on plain descriptors:
/// each makes exactly one syscall through its CKVM wrapper and throws a `KVMError` naming the
/// ioctl and the errno. Their numbers come from postings, not released kernels: a kernel
/// without one answers `ENOTTY` (or `EINVAL` on a vCPU fd), which is how `gmem info` finds out.
extension UncheckedKVM {
    /// A refused `KVM_SET_MEMORY_ATTRIBUTES2`: the typed error, and the `error_offset` the
    /// kernel wrote back (nil when it left the field alone).
    public struct ConversionError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The typed error: the operation (`setMemoryAttributes2`) and the errno.
        public let error: KVMError
        /// The `error_offset` the kernel wrote back, or nil when it left the field alone.
        public let errorOffset: UInt64?

        public var description: String {
            errorOffset.map { "\(error) at error_offset 0x\(String($0, radix: 16))" } ?? error.description
        }
    }

    /// The value `error_offset` is primed with, so that a field the kernel did not write can be
    /// told from one it did (the conversion selftest primes it the same way).
    public static let unwrittenErrorOffset: UInt64 = .max

    /// `KVM_SET_MEMORY_ATTRIBUTES2` on the guest_memfd `gmemFD`: `attributes` `PRIVATE` (8)
    /// converts `[offset, offset + size)` to private, 0 to shared; `flags` is the content mode
    /// (`ZERO` 1, `PRESERVE` 2).
    /// - Throws: `ConversionError` with the kernel's errno and the `error_offset` it wrote.
    public static func setMemoryAttributes2(
        gmemFD: Int32, offset: UInt64, size: UInt64, attributes: UInt64, flags: UInt64
    ) throws(ConversionError) {
        var errorOffset = unwrittenErrorOffset
        // SAFETY: `errorOffset` is a local the wrapper reads and writes for the call's duration.
        let result = unsafe ckvm_set_memory_attributes2(gmemFD, offset, size, attributes, flags, &errorOffset)
        if result < 0 {
            let written = errorOffset == unwrittenErrorOffset ? nil : errorOffset
            throw ConversionError(
                error: KVMError(
                    .setMemoryAttributes2, negated: result,
                    context: "offset 0x\(String(offset, radix: 16)), size 0x\(String(size, radix: 16))"),
                errorOffset: written)
        }
    }

    /// `KVM_LINK_GUEST_MEMFD({fd, flags})` on `vmFD` (RFC v2): the new guest_memfd descriptor,
    /// owned by the caller.
    /// - Throws: `KVMError` (`.linkGuestMemfd`) with the kernel's errno (`ENOTTY` where it is missing).
    public static func linkGuestMemfd(vmFD: Int32, fd: Int32, flags: UInt64 = 0) throws(KVMError) -> Int32 {
        try check(ckvm_link_guest_memfd(vmFD, fd, flags), .linkGuestMemfd)
    }

    /// `KVM_PRE_FAULT_MEMORY({gpa, size, flags})` on `vcpuFD` (6.10): the bytes the kernel left
    /// unprocessed (0 when it mapped the whole range).
    /// - Throws: `KVMError` (`.preFaultMemory`) with the kernel's errno.
    public static func preFaultMemory(vcpuFD: Int32, gpa: UInt64, size: UInt64, flags: UInt64 = 0) throws(KVMError)
        -> UInt64
    {
        var remaining = size
        // SAFETY: `remaining` is a local the wrapper writes for the call's duration.
        _ = unsafe try check(ckvm_pre_fault_memory(vcpuFD, gpa, size, flags, &remaining), .preFaultMemory)
        return remaining
    }

    /// Pins `length` bytes of host memory at `address` by `vmsplice`-ing them into the pipe
    /// `pipeFD` (non-blocking): the pipe holds a reference on each page until it is closed.
    /// Returns the bytes taken (fewer when a later page cannot be reached).
    ///
    /// The caller guarantees nothing about the memory: an unmapped or private page is the
    /// kernel's `EFAULT`, never a signal.
    /// - Throws: `KVMError` (`.pinPages`) with the kernel's errno.
    public static func pinPages(pipeFD: Int32, address: UInt64, length: UInt64) throws(KVMError) -> UInt64 {
        // The kernel only reads the iovec and takes page references through GUP: a bad address
        // is an EFAULT return, never an access by this process.
        let result = ckvm_vmsplice_pages(pipeFD, address, length)
        if result < 0 { throw KVMError(.pinPages, negated: Int32(result)) }
        return UInt64(result)
    }
}

import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A host mapping made with any protection and flags (`GuestMemfd.mapUnchecked`,
/// `UncheckedKVM.map`): it may cover memory private to the guest, past the end of its file
/// or without write permission, so any access may raise SIGBUS or SIGSEGV. It has no safe
/// accessors; only the forked-child probe (`probeInChild`) may touch memory whose state is
/// not known, and the unchecked load and store are for callers that established it.
///
/// For the conformance suite and kernel fact tests only (`@_spi(Unchecked) import KVM`).
@_spi(Unchecked) @safe
public final class RawMapping: @unchecked Sendable {
    /// The length passed to `mmap`.
    public let length: UInt64
    // The start of the mapping, unmapped in deinit; nothing is known about its pages.
    let base: UnsafeMutableRawPointer

    init(fd: Int32, length: UInt64, protection: Int32, flags: Int32, offset: UInt64, operation: KVMError.Operation)
        throws(KVMError)
    {
        // SAFETY: `mapRegion` returns the start of a new mapping of exactly `length` bytes or throws.
        let pointer = unsafe try mapRegion(
            fd: fd, length: length, protection: protection, flags: flags, offset: offset, operation: operation)
        // SAFETY: `pointer` starts the mapping of `length` bytes made above.
        unsafe self.base = pointer
        self.length = length
    }

    // SAFETY: deinit: the mapping is this object's own and nothing can access it through the object any more.
    deinit { _ = unsafe ckvm_munmap(base, length) }

    /// The host virtual address of the mapping.
    public var hostAddress: UInt64 {
        // SAFETY: only the address's bit pattern is read.
        unsafe UInt64(UInt(bitPattern: base))
    }

    /// Reads the 8 bytes at `offset` without bounds or safety checks.
    ///
    /// - Safety:
    ///   - `[offset, offset + 8)` lies inside the mapping, is mapped readable and its pages
    ///     are shared with the host (not private guest memory, not past the end of the file).
    @unsafe public func loadUnchecked(at offset: UInt64) -> UInt64 {
        // SAFETY: the caller's obligation (see the doc comment).
        unsafe base.loadUnaligned(fromByteOffset: Int(bitPattern: UInt(offset)), as: UInt64.self)
    }

    /// Writes 8 bytes at `offset` without bounds or safety checks.
    ///
    /// - Safety:
    ///   - `[offset, offset + 8)` lies inside the mapping, is mapped writable and its pages
    ///     are shared with the host.
    @unsafe public func storeUnchecked(_ value: UInt64, at offset: UInt64) {
        // SAFETY: the caller's obligation (see the doc comment).
        unsafe base.storeBytes(of: value, toByteOffset: Int(bitPattern: UInt(offset)), as: UInt64.self)
    }

    /// Probes one byte in a forked child and returns the signal that ended it (0 if none).
    /// Bounds are *not* checked: this exists to show the kernel's SIGBUS rules (GMEM-SPEC
    /// M3, M4) from a process that survives them.
    @unsafe public func probeInChild(offset: UInt64, write: Bool) -> Int32 {
        // SAFETY: the access happens only in the forked child, which dies of any fault.
        unsafe ckvm_probe_access(
            (base + Int(bitPattern: UInt(offset))).assumingMemoryBound(to: UInt8.self), write ? 1 : 0)
    }

    /// Takes `[offset, offset + count)` (page-aligned, inside the mapping) away from what the
    /// mapping maps, as `munmap` would: the pages are replaced by an inaccessible reservation,
    /// so the file reference of those pages is dropped, while no other mapping can land in the
    /// range before this object unmaps it whole in `deinit`. `EINVAL` before the call for a
    /// range outside the mapping or unaligned.
    @unsafe public func unmapUnchecked(offset: UInt64, count: UInt64) throws(KVMError) {
        guard offset <= length, count <= length - offset, offset % HostMapping.pageSize == 0,
            count % HostMapping.pageSize == 0, count > 0
        else {
            throw KVMError(
                .unmapRange, .invalidArgument,
                refusal: .invalidArgument(
                    "munmap range [\(hex(offset)), +\(hex(count))) is not a page-aligned, non-empty range of the \(length)-byte mapping"
                ))
        }
        // SAFETY: the range lies inside this mapping (checked above), which this object owns.
        let result = unsafe ckvm_mmap_fixed_none(base + Int(offset), count)
        guard result == 0 else { throw KVMError(.unmapRange, negated: result) }
    }
}

/// `mmap(NULL, length, protection, flags, fd, offset)`, returning the new mapping's start. `length`
/// and `offset` go to the kernel as the size_t and off_t they are, so a huge length is the
/// kernel's ENOMEM or EINVAL, as from C (the wrapper captures errno). A mapping never exceeds
/// the address space, so on return `length` fits in `Int`.
/// - Throws: ``KVMError`` naming `operation`, the length, offset and fd.
@unsafe
func mapRegion(
    fd: Int32, length: UInt64, protection: Int32, flags: Int32, offset: UInt64, operation: KVMError.Operation
) throws(KVMError) -> UnsafeMutableRawPointer {
    var pointer: UnsafeMutableRawPointer?
    // SAFETY: the wrapper writes the new mapping's start (or nothing) into the local `pointer` and captures errno; no memory is touched.
    let result = unsafe ckvm_mmap(length, protection, flags, fd, offset, &pointer)
    guard result == 0, let pointer = unsafe pointer else {
        throw KVMError(
            operation, negated: result == 0 ? -ENOMEM : result,
            context: "\(length) bytes at offset \(offset) of fd \(fd)")
    }
    guard length <= UInt64(Int.max) else {
        // SAFETY: `pointer` is the mapping just made, of `length` bytes, not yet shared with anything.
        _ = unsafe ckvm_munmap(pointer, length)
        throw KVMError(operation, .noMemory)
    }
    // SAFETY: hands the caller the start of the mapping of `length` bytes just made, which it now owns.
    return unsafe pointer
}

import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A shared host mapping of a whole guest_memfd, created by `GuestMemfd.mapShared()` (or of
/// anonymous memory, `HostMapping.anonymous(length:)`).
///
/// Every access is bounds-checked against the file's size, and a mapping exists only for
/// files whose memory is shared with the host, so no safe access can raise SIGBUS
/// (GMEM-SPEC M3, M4). The mapping holds a reference on the file, so it keeps the file and
/// its VM alive (M5, L1) until it is released; it unmaps in `deinit`.
///
/// It is a class so that device models on several vCPU threads can share it. Concurrent
/// accesses to the same bytes are data races on guest memory, as with any shared RAM, but
/// never on Swift state: the object's own fields are immutable.
public final class HostMapping: @unchecked Sendable {
    /// The mapped length: the file's size.
    public let length: UInt64
    // Sound because: `base` is the start of a MAP_SHARED mapping of exactly `length` bytes of
    // a file created with MMAP|INIT_SHARED (checked by the only initializer's caller); every
    // access below is checked to lie inside [base, base + length) before it is made, and the
    // mapping is unmapped only in deinit, when no access can be in flight through this object.
    @usableFromInline let base: UnsafeMutableRawPointer

    init(fd: Int32, length: UInt64, protection: Int32 = PROT_READ | PROT_WRITE, flags: Int32 = MAP_SHARED,
         offset: UInt64 = 0, operation: KVMError.Operation) throws(KVMError) {
        // `length` and `offset` go to the kernel as the size_t and off_t they are, so a huge
        // length is the kernel's ENOMEM or EINVAL, as from C; the wrapper captures errno.
        var pointer: UnsafeMutableRawPointer?
        let result = ckvm_mmap(length, protection, flags, fd, offset, &pointer)
        guard result == 0, let pointer else {
            throw KVMError(operation, negated: result == 0 ? -ENOMEM : result,
                           context: "\(length) bytes at offset \(offset) of fd \(fd)")
        }
        // A mapping never exceeds the address space, so the length fits in Int from here on.
        guard length <= UInt64(Int.max) else {
            _ = ckvm_munmap(pointer, length)
            throw KVMError(operation, .noMemory)
        }
        self.base = pointer
        self.length = length
    }

    deinit { _ = ckvm_munmap(base, length) }

    /// A new shared anonymous mapping of `length` bytes (zero-filled): ordinary host memory
    /// for the shared side of a memslot whose guest_memfd is not host-mappable (GMEM-SPEC B10).
    public static func anonymous(length: UInt64) throws(KVMError) -> HostMapping {
        guard length > 0, length % pageSize == 0 else {
            throw KVMError(.mapMemory, .invalidArgument, refusal: .invalidArgument("anonymous mapping length \(length) is not a positive multiple of the page size"))
        }
        return try HostMapping(fd: -1, length: length, flags: MAP_SHARED | MAP_ANONYMOUS, operation: .mapMemory)
    }

    /// The host virtual address of the mapping, for a memslot's `userspace_addr`.
    public var hostAddress: UInt64 { UInt64(UInt(bitPattern: base)) }

    @inlinable @inline(__always)
    func checkRange(_ offset: UInt64, _ count: UInt64) throws(KVMError) {
        guard offset <= length, count <= length - offset else {
            throw KVMError(.hostAccess, .invalidArgument,
                           refusal: .outOfBounds(offset: offset, length: count, size: length))
        }
    }

    /// `checkRange` for a count given as `Int`: a negative count is refused, never converted.
    @inlinable @inline(__always)
    func checkRange(_ offset: UInt64, count: Int) throws(KVMError) {
        guard count >= 0 else {
            throw KVMError(.hostAccess, .invalidArgument, refusal: .invalidArgument("a byte count of \(count) is negative"))
        }
        try checkRange(offset, UInt64(count))
    }

    /// Copies `buffer.count` bytes at `offset` into `buffer`; fails when out of bounds.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(KVMError) {
        try checkRange(offset, UInt64(buffer.count))
        guard let destination = buffer.baseAddress else { return }
        destination.copyMemory(from: base + Int(offset), byteCount: buffer.count)
    }

    /// Returns `count` bytes at `offset`; fails when out of bounds or `count` is negative.
    public func read(at offset: UInt64, count: Int) throws(KVMError) -> [UInt8] {
        try checkRange(offset, count: count)
        return Array(UnsafeRawBufferPointer(start: base + Int(offset), count: count))
    }

    /// Writes `bytes` at `offset`; fails when out of bounds.
    public func write(_ bytes: some Collection<UInt8>, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(bytes.count))
        // Contiguous bytes (arrays, array slices) are one memcpy; the range is checked above.
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            guard let from = source.baseAddress else { return }
            (base + Int(offset)).copyMemory(from: from, byteCount: source.count)
        }
        if copied != nil { return }
        var index = Int(offset)
        for byte in bytes {
            base.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
            index += 1
        }
    }

    /// Writes the bytes of a raw buffer at `offset`; fails when out of bounds.
    public func write(contentsOf buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(buffer.count))
        guard let source = buffer.baseAddress else { return }
        (base + Int(offset)).copyMemory(from: source, byteCount: buffer.count)
    }

    /// Loads a little-endian integer at `offset`; fails when out of bounds.
    public func load<T: FixedWidthInteger>(_ type: T.Type = T.self, at offset: UInt64) throws(KVMError) -> T {
        try checkRange(offset, UInt64(MemoryLayout<T>.size))
        return T(littleEndian: base.loadUnaligned(fromByteOffset: Int(offset), as: T.self))
    }

    /// Stores a little-endian integer at `offset`; fails when out of bounds.
    public func store<T: FixedWidthInteger>(_ value: T, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }

    // Concrete, inlinable overloads: a caller in another module cannot specialise the generic
    // `store` (unspecialised `storeBytes` is a call to libc's memmove per store), and even a
    // specialised call per store left a page-touch loop at 0.8 x the same loop in C on the
    // reference host (`gmem bench --filter populate-touch`); inlined, the caller's loop is one
    // bounds check and one move per store, as in C.

    /// Stores a byte at `offset`; fails when out of bounds.
    @inlinable public func store(_ value: UInt8, at offset: UInt64) throws(KVMError) { try storeInteger(value, at: offset) }
    /// Stores a little-endian `UInt16` at `offset`; fails when out of bounds.
    @inlinable public func store(_ value: UInt16, at offset: UInt64) throws(KVMError) { try storeInteger(value, at: offset) }
    /// Stores a little-endian `UInt32` at `offset`; fails when out of bounds.
    @inlinable public func store(_ value: UInt32, at offset: UInt64) throws(KVMError) { try storeInteger(value, at: offset) }
    /// Stores a little-endian `UInt64` at `offset`; fails when out of bounds.
    @inlinable public func store(_ value: UInt64, at offset: UInt64) throws(KVMError) { try storeInteger(value, at: offset) }

    @inlinable @inline(__always)
    func storeInteger<T: FixedWidthInteger>(_ value: T, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(MemoryLayout<T>.size))
        base.storeBytes(of: value.littleEndian, toByteOffset: Int(offset), as: T.self)
    }

    /// Sets `count` bytes at `offset` to `value`; fails when out of bounds.
    public func fill(_ value: UInt8, at offset: UInt64, count: UInt64) throws(KVMError) {
        try checkRange(offset, count)
        (base + Int(offset)).initializeMemory(as: UInt8.self, repeating: value, count: Int(count))
    }

    /// Calls `body` with the range `[offset, offset + count)` of the mapping as a raw buffer,
    /// after checking the bounds. The buffer must not escape `body`.
    public func withUnsafeMutableBytes<R>(
        offset: UInt64, count: UInt64, _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) throws -> R {
        try checkRange(offset, count)
        return try body(UnsafeMutableRawBufferPointer(start: base + Int(offset), count: Int(count)))
    }

    /// The bytes of `[offset, offset + count)` whose pages are resident and initialised in the
    /// file (`mincore`): pages the host or the guest has touched, and not punched since.
    /// Pages only preallocated with `fallocate` are not counted until first touched.
    public func residentBytes(offset: UInt64 = 0, count: UInt64? = nil) throws(KVMError) -> UInt64 {
        let count = count ?? length - min(offset, length)
        try checkRange(offset, count)
        guard offset % pageSize == 0 else {
            throw KVMError(.mincore, .invalidArgument, refusal: .invalidArgument("mincore offset must be page-aligned"))
        }
        let pages = Int((count + pageSize - 1) / pageSize)
        if pages == 0 { return 0 }
        var vector = [UInt8](repeating: 0, count: pages)
        let result = vector.withUnsafeMutableBufferPointer { buffer in
            // SAFETY: [offset, offset + count) is inside the mapping (checked above) and the
            // vector has one byte per page of it.
            ckvm_mincore(base + Int(offset), count, buffer.baseAddress)
        }
        guard result == 0 else { throw KVMError(.mincore, negated: result) }
        var resident: UInt64 = 0
        for entry in vector where entry & 1 != 0 { resident += pageSize }
        return resident
    }

    /// Takes `[offset, offset + count)` (page-aligned) away from what the mapping maps, as
    /// `munmap` would: the pages are replaced by an inaccessible reservation, so the file
    /// reference of those pages is dropped and an access raises SIGSEGV (only
    /// `probeInChild` may touch them), while no other mapping can land in the range before
    /// this object unmaps it whole in `deinit`. For conformance tests of munmap.
    @_spi(Unchecked)
    /// The range must lie inside the mapping and be page-aligned (the `MAP_FIXED` replacement
    /// must never reach memory this object does not own); otherwise `EINVAL` before the call.
    public func unmapUnchecked(offset: UInt64, count: UInt64) throws(KVMError) {
        try checkRange(offset, count)
        guard offset % pageSize == 0, count % pageSize == 0, count > 0 else {
            throw KVMError(.unmapRange, .invalidArgument,
                           refusal: .invalidArgument("munmap range [\(hex(offset)), +\(hex(count))) is not page-aligned and non-empty"))
        }
        // SAFETY: the range lies inside this mapping (checked above), which this object owns.
        let result = ckvm_mmap_fixed_none(base + Int(offset), count)
        guard result == 0 else { throw KVMError(.unmapRange, negated: result) }
    }

    /// Reads the 8 bytes at `offset` without bounds or safety checks (conformance only:
    /// the caller has established that the page is mapped, readable and shared).
    @_spi(Unchecked)
    public func loadUnchecked(at offset: UInt64) -> UInt64 {
        base.loadUnaligned(fromByteOffset: Int(bitPattern: UInt(offset)), as: UInt64.self)
    }

    /// Writes 8 bytes at `offset` without bounds or safety checks (conformance only).
    @_spi(Unchecked)
    public func storeUnchecked(_ value: UInt64, at offset: UInt64) {
        base.storeBytes(of: value, toByteOffset: Int(bitPattern: UInt(offset)), as: UInt64.self)
    }

    /// Probes one byte in a forked child and returns the signal that ended it (0 if none).
    /// Bounds are *not* checked: this exists to show the kernel's SIGBUS rules (GMEM-SPEC
    /// M3, M4) from a process that survives them.
    @_spi(Unchecked)
    public func probeInChild(offset: UInt64, write: Bool) -> Int32 {
        // Sound because: the access happens only in the forked child, which dies of any fault.
        // A wild offset is the child's own fault; the conversion never traps this process.
        ckvm_probe_access((base + Int(bitPattern: UInt(offset))).assumingMemoryBound(to: UInt8.self), write ? 1 : 0)
    }
}

import CKVM
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A shared host mapping of a whole guest_memfd, created by `GuestMemfd.mapShared()` (or of
/// anonymous memory, `HostMapping.anonymous(length:)`): the only two ways to make one.
///
/// Every access is bounds-checked against the file's size, and a mapping exists only for
/// files whose memory is shared with the host, so no safe access can raise SIGBUS
/// (GMEM-SPEC M3, M4). The mapping holds a reference on the file, so it keeps the file and
/// its VM alive (M5, L1) until it is released; it unmaps in `deinit`. A memslot that uses it
/// (`VirtualMachine.bind(_:…hostMemory:)`, `setMemorySlot(_:…memory:)`) keeps it alive too,
/// until the slot is deleted or the VM and its vCPUs are gone. Mappings with any other
/// protection or flags, which may cover private memory, are `RawMapping`s, without safe
/// accessors.
///
/// It is a class so that device models on several vCPU threads can share it. Concurrent
/// accesses to the same bytes are data races on guest memory, as with any shared RAM, but
/// never on Swift state: the object's own fields are immutable.
@safe public final class HostMapping: @unchecked Sendable {
    /// The mapped length: the file's size.
    public let length: UInt64
    /// The page size lengths and offsets are counted in (x86-64 base pages, 4096 bytes).
    public static let pageSize: UInt64 = 4096
    /// What is mapped: anonymous memory, or the whole of one guest_memfd from offset 0.
    let source: Source
    // Sound because: `base` is the start of a read-write MAP_SHARED mapping of exactly
    // `length` bytes of anonymous memory or of a guest_memfd created with MMAP|INIT_SHARED
    // (the only two initializers, `anonymous(length:)` and `GuestMemfd.mapShared()`); every
    // access below is checked to lie inside [base, base + length) before it is made, and the
    // mapping is unmapped only in deinit, when no access can be in flight through this object
    // (the one exception, `revokeUnchecked`, is SPI with its own obligations).
    @usableFromInline let base: UnsafeMutableRawPointer

    enum Source: Hashable, Sendable {
        case anonymous
        case guestMemfd(GuestMemfd.FileID)
    }

    init(fd: Int32, length: UInt64, source: Source, operation: KVMError.Operation) throws(KVMError) {
        let protection = PROT_READ | PROT_WRITE
        let flags = source == .anonymous ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED
        // SAFETY: `mapRegion` returns the start of a new mapping of exactly `length` bytes or throws.
        let pointer = unsafe try mapRegion(
            fd: fd, length: length, protection: protection, flags: flags, offset: 0, operation: operation)
        // SAFETY: `pointer` starts the read-write shared mapping of `length` bytes made above (the class invariant).
        unsafe self.base = pointer
        self.length = length
        self.source = source
    }

    // SAFETY: deinit: no access through this object can be in flight, and the mapping is this object's own.
    deinit { _ = unsafe ckvm_munmap(base, length) }

    /// A new shared anonymous mapping of `length` bytes (zero-filled): ordinary host memory
    /// for the shared side of a memslot whose guest_memfd is not host-mappable (GMEM-SPEC B10).
    /// - Throws: ``KVMError`` (`mmap`): `EINVAL` before the syscall for a length that is not a positive multiple of
    ///   the page size, the kernel's errno (`ENOMEM`) otherwise.
    public static func anonymous(length: UInt64) throws(KVMError) -> HostMapping {
        guard length > 0, length % pageSize == 0 else {
            throw KVMError(
                .mapMemory, .invalidArgument,
                refusal: .invalidArgument(
                    "anonymous mapping length \(length) is not a positive multiple of the page size"))
        }
        return try HostMapping(fd: -1, length: length, source: .anonymous, operation: .mapMemory)
    }

    /// The host virtual address of the mapping, for the unchecked memslot calls: the safe
    /// ones take the mapping itself.
    @_spi(Unchecked)
    public var hostAddress: UInt64 {
        // SAFETY: only the address's bit pattern is read; SPI callers take on the memslot obligations.
        unsafe UInt64(UInt(bitPattern: base))
    }

    @inlinable @inline(__always)
    func checkRange(_ offset: UInt64, _ count: UInt64) throws(KVMError) {
        guard offset <= length, count <= length - offset else {
            throw KVMError(
                .hostAccess, .invalidArgument,
                refusal: .outOfBounds(offset: offset, length: count, size: length))
        }
    }

    /// `checkRange` for a count given as `Int`: a negative count is refused, never converted.
    @inlinable @inline(__always)
    func checkRange(_ offset: UInt64, count: Int) throws(KVMError) {
        guard count >= 0 else {
            throw KVMError(
                .hostAccess, .invalidArgument, refusal: .invalidArgument("a byte count of \(count) is negative"))
        }
        try checkRange(offset, UInt64(count))
    }

    /// Copies `buffer.byteCount` bytes at `offset` into `buffer`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func read(at offset: UInt64, into buffer: inout MutableRawSpan) throws(KVMError) {
        try checkRange(offset, UInt64(buffer.byteCount))
        // SAFETY: [offset, offset + byteCount) lies inside the mapping (checkRange); the span's
        // bytes are valid and exclusively borrowed for the closure, which writes only them.
        unsafe buffer.withUnsafeMutableBytes { destination in
            guard let start = destination.baseAddress else { return }
            // SAFETY: as above: `start` holds destination.count == byteCount bytes.
            unsafe start.copyMemory(from: base + Int(offset), byteCount: destination.count)
        }
    }

    /// Returns `count` bytes at `offset`; fails when out of bounds or `count` is negative.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds,
    ///   or `count` is negative.
    public func read(at offset: UInt64, count: Int) throws(KVMError) -> [UInt8] {
        try checkRange(offset, count: count)
        // SAFETY: [offset, offset + count) lies inside the mapping (checkRange); the bytes are copied into a new array.
        return unsafe Array(UnsafeRawBufferPointer(start: base + Int(offset), count: count))
    }

    /// Writes `bytes` at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func write(_ bytes: some Collection<UInt8>, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(bytes.count))
        // Contiguous bytes (arrays, array slices) are one memcpy; the range is checked above.
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            guard let from = source.baseAddress else { return }
            // SAFETY: the range is checked above and `from` holds source.count == bytes.count bytes.
            unsafe (base + Int(offset)).copyMemory(from: from, byteCount: source.count)
        }
        if copied != nil { return }
        var index = Int(offset)
        for byte in bytes {
            // SAFETY: index runs over [offset, offset + bytes.count), checked above.
            unsafe base.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
            index += 1
        }
    }

    /// Writes the bytes of `span` at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func write(contentsOf span: RawSpan, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(span.byteCount))
        // SAFETY: [offset, offset + byteCount) is inside the mapping (checkRange); the span's
        // bytes are valid for the closure, which only reads them.
        unsafe span.withUnsafeBytes { source in
            guard let from = source.baseAddress else { return }
            // SAFETY: as above: `from` holds source.count == byteCount bytes.
            unsafe (base + Int(offset)).copyMemory(from: from, byteCount: source.count)
        }
    }

    /// Loads a little-endian integer at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func load<T: FixedWidthInteger>(_ type: T.Type = T.self, at offset: UInt64) throws(KVMError) -> T {
        try checkRange(offset, UInt64(MemoryLayout<T>.size))
        // SAFETY: [offset, offset + size of T) is inside the mapping (checkRange); the load is unaligned-safe.
        return unsafe T(littleEndian: base.loadUnaligned(fromByteOffset: Int(offset), as: T.self))
    }

    /// Stores a little-endian integer at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func store<T: FixedWidthInteger>(_ value: T, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }

    // Concrete, inlinable overloads: a caller in another module cannot specialise the generic
    // `store` (unspecialised `storeBytes` is a call to libc's memmove per store), and even a
    // specialised call per store left a page-touch loop at 0.8 x the same loop in C on the
    // reference host (`gmem bench --filter populate-touch`); inlined, the caller's loop is one
    // bounds check and one move per store, as in C.

    /// Stores a byte at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when out of bounds.
    @inlinable public func store(_ value: UInt8, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }
    /// Stores a little-endian `UInt16` at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when out of bounds.
    @inlinable public func store(_ value: UInt16, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }
    /// Stores a little-endian `UInt32` at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when out of bounds.
    @inlinable public func store(_ value: UInt32, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }
    /// Stores a little-endian `UInt64` at `offset`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when out of bounds.
    @inlinable public func store(_ value: UInt64, at offset: UInt64) throws(KVMError) {
        try storeInteger(value, at: offset)
    }

    @inlinable @inline(__always)
    func storeInteger<T: FixedWidthInteger>(_ value: T, at offset: UInt64) throws(KVMError) {
        try checkRange(offset, UInt64(MemoryLayout<T>.size))
        // SAFETY: [offset, offset + size of T) is inside the mapping (checkRange); trivial integer store.
        unsafe base.storeBytes(of: value.littleEndian, toByteOffset: Int(offset), as: T.self)
    }

    /// Sets `count` bytes at `offset` to `value`; fails when out of bounds.
    /// - Throws: ``KVMError`` (`host access to a mapping`, `EINVAL`) when the range is out of bounds.
    public func fill(_ value: UInt8, at offset: UInt64, count: UInt64) throws(KVMError) {
        try checkRange(offset, count)
        // SAFETY: [offset, offset + count) is inside the mapping (checkRange); bytes are a trivial type.
        unsafe (base + Int(offset)).initializeMemory(as: UInt8.self, repeating: value, count: Int(count))
    }

    /// Calls `body` with the range `[offset, offset + count)` of the mapping as a raw buffer,
    /// after checking the bounds. The buffer must not escape `body`.
    /// - Throws: ``KVMError`` (`host access to a mapping`) when the range is out of bounds, before
    ///   `body` runs; otherwise whatever `body` throws.
    public func withUnsafeMutableBytes<R>(
        offset: UInt64, count: UInt64, _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) throws -> R {
        try checkRange(offset, count)
        // SAFETY: [offset, offset + count) is inside the mapping (checkRange); the documented contract is that the buffer does not escape `body`.
        return unsafe try body(UnsafeMutableRawBufferPointer(start: base + Int(offset), count: Int(count)))
    }

    /// The bytes of `[offset, offset + count)` whose pages are resident and initialised in the
    /// file (`mincore`): pages the host or the guest has touched, and not punched since.
    /// Pages only preallocated with `fallocate` are not counted until first touched.
    /// - Throws: ``KVMError``: `host access to a mapping` when the range is out of bounds, `mincore`
    ///   with the kernel's errno.
    public func residentBytes(offset: UInt64 = 0, count: UInt64? = nil) throws(KVMError) -> UInt64 {
        let pages = try residentPages(offset: offset, count: count)
        return UInt64(pages.lazy.filter { $0 }.count) * Self.pageSize
    }

    /// One entry per page of `[offset, offset + count)`, true when the page is resident
    /// (`mincore`, as for ``residentBytes(offset:count:)``). `offset` must be page-aligned.
    /// - Throws: ``KVMError`` (`mincore`): `EINVAL` before the call for a range outside the
    ///   mapping or an unaligned `offset`, otherwise the kernel's errno.
    public func residentPages(offset: UInt64 = 0, count: UInt64? = nil) throws(KVMError) -> [Bool] {
        let count = count ?? length - min(offset, length)
        try checkRange(offset, count)
        guard offset % Self.pageSize == 0 else {
            throw KVMError(.mincore, .invalidArgument, refusal: .invalidArgument("mincore offset must be page-aligned"))
        }
        let pages = Int((count + Self.pageSize - 1) / Self.pageSize)
        if pages == 0 { return [] }
        var vector = [UInt8](repeating: 0, count: pages)
        // SAFETY: the vector has one byte per page of [offset, offset + count), which is inside the mapping (checkRange).
        let result = unsafe vector.withUnsafeMutableBufferPointer { buffer in
            // SAFETY: [offset, offset + count) is inside the mapping (checked above) and the
            // vector has one byte per page of it.
            unsafe ckvm_mincore(base + Int(offset), count, buffer.baseAddress)
        }
        guard result == 0 else { throw KVMError(.mincore, negated: result) }
        return vector.map { $0 & 1 != 0 }
    }

    /// Replaces every page of the mapping by an inaccessible reservation, as `munmap` would,
    /// keeping the address range reserved until `deinit`: the mapping's reference on its file
    /// is dropped (so a guest_memfd can die while a memslot still names this range, GMEM-SPEC
    /// L5), and KVM's accesses through `userspace_addr` fail with EFAULT instead of reaching
    /// whatever else the process maps there later.
    ///
    /// - Safety:
    ///   - No safe accessor (`read`, `write`, `load`, `store`, `fill`, `withUnsafeMutableBytes`,
    ///     `residentBytes`) may run on this object concurrently with or after the call, through
    ///     any reference: each would raise SIGSEGV. The caller must own every reference that
    ///     could access it (as `GuestMemoryRegion.release()` does, under its lock).
    @_spi(Unchecked) @unsafe
    public func revokeUnchecked() throws(KVMError) {
        // SAFETY: the whole range is this object's own mapping; the caller guarantees that
        // no access through it follows (see the doc comment).
        let result = unsafe ckvm_mmap_fixed_none(base, length)
        guard result == 0 else { throw KVMError(.unmapRange, negated: result) }
    }

    /// Probes one byte in a forked child and returns the signal that ended it (0 if none):
    /// for tests that a revoked range is really gone. Bounds are *not* checked.
    @_spi(Unchecked) @unsafe
    public func probeInChild(offset: UInt64, write: Bool) -> Int32 {
        // SAFETY: the access happens only in the forked child, which dies of any fault; a wild
        // offset is the child's own fault and the conversion never traps this process.
        unsafe ckvm_probe_access(
            (base + Int(bitPattern: UInt(offset))).assumingMemoryBound(to: UInt8.self), write ? 1 : 0)
    }
}

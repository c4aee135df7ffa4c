import CKVM
import GmemModel
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A guest_memfd: memory that belongs to one VM, created by `VirtualMachine.createGuestMemfd`.
///
/// The value owns one file descriptor and closes it in `deinit`. While any reference to the
/// file lives (this fd, a `duplicate()`, a `HostMapping`) the kernel keeps the VM alive
/// (GMEM-SPEC L1); when the last goes, every memslot binding of the file is invalidated (L5).
public struct GuestMemfd: ~Copyable, Sendable {
    /// The file's size in bytes, fixed at creation (GMEM-SPEC F2).
    public let size: UInt64
    /// The flags the file was created with.
    public let flags: GuestMemfdFlags
    /// The VM that created the file: the only VM it can ever be bound to (GMEM-SPEC B5).
    public let owner: VMIdentity
    let fd: Int32
    /// The file itself, shared by `duplicate()`s: which bindings are of the same file.
    let fileID: FileID

    /// The identity of one guest_memfd file (not of a descriptor).
    struct FileID: Hashable, Sendable {
        let rawValue: UInt64
        private static let counter = Atomic<UInt64>(0)
        static func next() -> FileID { FileID(rawValue: counter.add(1, ordering: .relaxed).newValue) }
    }

    init(fd: Int32, size: UInt64, flags: GuestMemfdFlags, owner: VMIdentity, fileID: FileID = .next()) {
        self.fd = fd
        self.size = size
        self.flags = flags
        self.owner = owner
        self.fileID = fileID
    }

    deinit { close(fd) }

    /// True when the host may map and access the memory: created with `MMAP|INIT_SHARED`.
    public var isHostAccessible: Bool { flags.isSuperset(of: .hostShared) }

    /// Allocates (pins) the pages of a range (`fallocate(KEEP_SIZE)`); fails with `EINVAL`
    /// for an unaligned range or one past the end of the file (GMEM-SPEC F4), `ENOMEM`/`ENOSPC`
    /// when memory runs out.
    /// - Throws: ``KVMError`` (`fallocate guest_memfd`) with the kernel's errno, or before the syscall
    ///   when GmemModel's rules refuse the range.
    public func allocate(offset: UInt64, length: UInt64) throws(KVMError) {
        try fallocate(mode: .keepSize, offset: offset, length: length)
    }

    /// Frees the pages of a range, which then read back as zero (`fallocate(PUNCH_HOLE|
    /// KEEP_SIZE)`, GMEM-SPEC F6); fails with `EINVAL` for an unaligned range (F4).
    /// - Throws: ``KVMError`` (`fallocate guest_memfd`) with the kernel's errno, or before the syscall
    ///   when GmemModel's rules refuse the range.
    public func punchHole(offset: UInt64, length: UInt64) throws(KVMError) {
        try fallocate(mode: .punchHoleKeepSize, offset: offset, length: length)
    }

    /// `fallocate` with any mode; a request GmemModel's rules refuse (F3, F4) fails before
    /// the syscall with the errno the kernel would give (GMEM-SPEC P2).
    /// - Throws: ``KVMError`` (`fallocate guest_memfd`): before the syscall for a mode or range the
    ///   rules refuse (its `refusal` names them), otherwise with the kernel's errno.
    public func fallocate(mode: FallocateMode, offset: UInt64, length: UInt64) throws(KVMError) {
        if let error = GmemRules.validateFallocate(
            mode: mode.rawValue, offset: Int64(bitPattern: offset),
            length: Int64(bitPattern: length), fileSize: size)
        {
            throw KVMError(
                .fallocate, Errno(rawValue: error.rawValue),
                refusal: .rule("fallocate mode \(mode) over [\(offset), +\(length)) of a \(size)-byte guest_memfd"))
        }
        try fallocateUnchecked(mode: mode, offset: offset, length: length)
    }

    /// `fallocate` exactly as given, for conformance tests of the kernel's own checks.
    @_spi(Unchecked)
    public func fallocateUnchecked(mode: FallocateMode, offset: UInt64, length: UInt64) throws(KVMError) {
        _ = try check(ckvm_fallocate(fd, mode.rawValue, offset, length), .fallocate)
    }

    /// Maps the whole file shared into this process, for bounds-checked host access.
    ///
    /// Refused before the syscall when the memory is private to the guest: without `MMAP`
    /// with `ENODEV`, as the kernel would (GMEM-SPEC M1); with `MMAP` but not `INIT_SHARED`
    /// with `EACCES` and `.privateMemory`, because every access would raise SIGBUS (M3).
    /// - Throws: ``KVMError`` (`mmap guest_memfd`): `ENODEV` or `EACCES` before the syscall as above,
    ///   or the kernel's errno of `mmap`.
    public func mapShared() throws(KVMError) -> HostMapping {
        guard flags.contains(.mmap) else {
            throw KVMError(
                .mapGuestMemfd, .operationNotSupportedByDevice,
                refusal: .invalidArgument("the guest_memfd was created without MMAP"))
        }
        guard flags.contains(.initShared) else {
            throw KVMError(.mapGuestMemfd, .permissionDenied, refusal: .privateMemory)
        }
        return try HostMapping(fd: fd, length: size, source: .guestMemfd(fileID), operation: .mapGuestMemfd)
    }

    /// `mmap` with any protection and flags and no checks, for conformance tests of the
    /// kernel's mapping rules (GMEM-SPEC M1–M4). Accessing a mapping of private memory raises
    /// SIGBUS: the result is a `RawMapping`, which has no safe accessors.
    @_spi(Unchecked)
    public func mapUnchecked(length: UInt64, protection: Int32, flags: Int32) throws(KVMError) -> RawMapping {
        try RawMapping(
            fd: fd, length: length, protection: protection, flags: flags, offset: 0, operation: .mapGuestMemfd)
    }

    /// Another descriptor for the same file (`dup`): the file lives while either does.
    /// - Throws: ``KVMError`` (`dup`) when the process is out of descriptors (`EMFILE`).
    public func duplicate() throws(KVMError) -> GuestMemfd {
        let newFD = try check(ckvm_dup_cloexec(fd), .dup)
        return GuestMemfd(fd: newFD, size: size, flags: flags, owner: owner, fileID: fileID)
    }

    /// The raw descriptor, for conformance tests that probe the kernel directly.
    @_spi(Unchecked)
    public var rawDescriptor: Int32 { fd }
}

/// `fallocate(2)` mode bits (`FALLOC_FL_*`, include/uapi/linux/falloc.h), built from GmemModel's
/// values (`GmemABI.FallocateMode`, the one source of the numbers). A guest_memfd accepts
/// exactly two modes (GMEM-SPEC F3): ``keepSize`` (allocate) and ``punchHoleKeepSize``
/// (`[.punchHole, .keepSize]`, 0x03, free); ``punchHole`` alone (0x02) is a bit, not a mode
/// it accepts.
public struct FallocateMode: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The `mode` argument of `fallocate(2)`.
    public let rawValue: Int32
    /// Any bits, including ones a guest_memfd refuses (for the kernel's own checks).
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `FALLOC_FL_KEEP_SIZE` (0x01): allocate without changing the file size.
    public static let keepSize = FallocateMode(rawValue: GmemABI.FallocateMode.keepSize)
    /// `FALLOC_FL_PUNCH_HOLE` (0x02): deallocate; only valid with ``keepSize``.
    public static let punchHole = FallocateMode(rawValue: GmemABI.FallocateMode.punchHole)
    /// `FALLOC_FL_COLLAPSE_RANGE` (0x08).
    public static let collapseRange = FallocateMode(rawValue: GmemABI.FallocateMode.collapseRange)
    /// `FALLOC_FL_ZERO_RANGE` (0x10).
    public static let zeroRange = FallocateMode(rawValue: GmemABI.FallocateMode.zeroRange)
    /// `PUNCH_HOLE | KEEP_SIZE` (0x03): the mode that frees pages of a guest_memfd.
    public static let punchHoleKeepSize: FallocateMode = [.punchHole, .keepSize]

    /// The bits by name, `PUNCH_HOLE|KEEP_SIZE`; unnamed bits in hexadecimal.
    public var description: String {
        var names: [String] = []
        var rest = rawValue
        for (bit, name) in [
            (FallocateMode.keepSize, "KEEP_SIZE"), (.punchHole, "PUNCH_HOLE"),
            (.collapseRange, "COLLAPSE_RANGE"), (.zeroRange, "ZERO_RANGE"),
        ] where contains(bit) {
            names.append(name)
            rest &= ~bit.rawValue
        }
        if rest != 0 || names.isEmpty { names.append("0x" + String(UInt32(bitPattern: rest), radix: 16)) }
        return names.joined(separator: "|")
    }
}

@_spi(Unchecked) import KVM
import Logging
import Synchronization

/// One region of guest-physical memory, backed by its own guest_memfd and bound as one
/// memslot. Host access goes to the region's *shared side*: the file's own shared mapping
/// when the file is host-accessible (`MMAP|INIT_SHARED`); otherwise anonymous host memory
/// that the memslot's `userspace_addr` points at, which is what KVM serves the guest's
/// shared (non-private) accesses from (GMEM-SPEC B10). Private memory, in the file, is never
/// reachable from the host.
public final class GuestMemoryRegion: Sendable {
    /// The file and the shared side, kept together so that releasing the region drops both:
    /// a mapping of the file pins it (GMEM-SPEC M5), so the file dies only when both are gone.
    final class Backing: Sendable {
        let file: GuestMemfd
        let mapping: HostMapping?
        init(file: consuming GuestMemfd, mapping: HostMapping?) {
            self.file = file
            self.mapping = mapping
        }
    }

    /// A readable name ("ram", "ram1" …) used in errors and reports.
    public let name: String
    /// The guest-physical range the region covers.
    public let range: GuestRange
    /// The memslot binding the region.
    public let slot: UInt32
    /// The guest_memfd flags of the region's file.
    public let flags: GuestMemfdFlags

    private let backing: PthreadLock<Backing?>
    private let allocated = Atomic<UInt64>(0)
    private let punched = Atomic<UInt64>(0)

    init(name: String, range: GuestRange, slot: UInt32, file: consuming GuestMemfd, mapping: HostMapping?) {
        self.name = name
        self.range = range
        self.slot = slot
        self.flags = file.flags
        self.sharedSideIsFile = file.isHostAccessible
        self.backing = PthreadLock(Backing(file: file, mapping: mapping))
    }

    private func currentBacking() throws(GuestMemoryError) -> Backing {
        guard let backing = backing.withLock({ $0 }) else { throw .released(region: name) }
        return backing
    }

    /// Runs `body` with the shared side's host mapping under the region's lock, so that
    /// `release()` (which revokes the mapping) cannot run during the access; throws when
    /// there is no shared side or the region is released.
    func withMapping<R>(_ body: (HostMapping) throws(GuestMemoryError) -> R) throws(GuestMemoryError) -> R {
        try backing.withLock { (backing: inout Backing?) throws(GuestMemoryError) -> R in
            guard let backing else { throw .released(region: name) }
            guard let mapping = backing.mapping else { throw .notHostAccessible(region: name) }
            return try body(mapping)
        }
    }

    /// True until `release()`.
    public var isLive: Bool { backing.withLock { $0 != nil } }

    /// Allocates `[offset, offset + count)` of the region's file.
    func allocate(offset: UInt64, count: UInt64) throws(GuestMemoryError) {
        let backing = try currentBacking()
        do { try backing.file.allocate(offset: offset, length: count) } catch { throw .kernel(error) }
        allocated.add(count, ordering: .relaxed)
    }

    /// Punches `[offset, offset + count)` of the region's file.
    func punchHole(offset: UInt64, count: UInt64) throws(GuestMemoryError) {
        let backing = try currentBacking()
        do { try backing.file.punchHole(offset: offset, length: count) } catch { throw .kernel(error) }
        punched.add(count, ordering: .relaxed)
    }

    /// Calls `body` with `[offset, offset + count)` of the region's shared side as raw bytes,
    /// for bulk copies (a snapshot reads the region through it, a restore fills it). Throws
    /// when the range is outside the region, the region is released or has no shared side.
    /// The buffer must not escape `body`.
    /// - Throws: ``GuestMemoryError``: `outOfRange`, `released`, `notHostAccessible` (no shared side)
    ///   or `kernel`.
    public func withSharedBytes<R>(offset: UInt64, count: UInt64, _ body: (UnsafeMutableRawBufferPointer) -> R)
        throws(GuestMemoryError) -> R
    {
        guard offset <= range.size, count <= range.size - offset else {
            throw .outOfRange(address: GuestPhysicalAddress(range.start.rawValue &+ offset), count: count)
        }
        return try withMapping { mapping throws(GuestMemoryError) in
            do {
                // SAFETY: HostMapping checks [offset, +count) against the mapping and the
                // buffer lives only for `body` (whose signature names the unsafe type, so its
                // caller is the one marking the use `unsafe`); the mapping is shared memory.
                return try unsafe mapping.withUnsafeMutableBytes(offset: offset, count: count) { unsafe body($0) }
            } catch {
                throw .outOfRange(address: GuestPhysicalAddress(range.start.rawValue &+ offset), count: count)
            }
        }
    }

    /// Carries the accounting of the region a snapshot was taken from into this one (a
    /// restore): bytes preallocated and punched on the guest's requests before the snapshot.
    public func carryOverAccounting(allocatedBytes: UInt64, punchedBytes: UInt64) {
        allocated.add(allocatedBytes, ordering: .relaxed)
        punched.add(punchedBytes, ordering: .relaxed)
    }

    /// True when the shared side is the guest_memfd's own mapping (not anonymous memory).
    public let sharedSideIsFile: Bool

    /// Bytes resident (touched and not punched) in the region's file (or, when the file is
    /// not host-mappable, in its shared side); 0 once released.
    public func residentBytes() -> UInt64 {
        (try? withMapping { mapping in (try? mapping.residentBytes()) ?? 0 }) ?? 0
    }

    /// One entry per page of the region's shared side, true when the page is resident
    /// (`mincore`: touched and not punched); what a snapshot saves.
    /// - Throws: ``GuestMemoryError/released(region:)`` once released,
    ///   ``GuestMemoryError/notHostAccessible(region:)`` without a shared side, `.kernel` when
    ///   `mincore` fails.
    public func residentPages() throws(GuestMemoryError) -> [Bool] {
        try withMapping { mapping throws(GuestMemoryError) in
            do throws(KVMError) { return try mapping.residentPages(offset: 0, count: range.size) } catch {
                throw .kernel(error)
            }
        }
    }

    /// Drops the region's file and mapping. The memslot stays, but its binding is now
    /// invalid: a guest access to the range exits with a memory fault (GMEM-SPEC L5, G2).
    ///
    /// The VM keeps the slot's host memory (this mapping) alive while the slot exists, so the
    /// mapping is first revoked: its pages become an inaccessible reservation, which drops
    /// its reference on the file (else the file could never die) while KVM's accesses through
    /// `userspace_addr` fail instead of reaching other memory.
    public func release() {
        backing.withLock { backing in
            // SAFETY: every access to the mapping goes through `withMapping`, under this lock,
            // and none follows: the backing is dropped here, so no safe accessor can reach the
            // revoked mapping (the VM's slot table only keeps it alive, never accesses it).
            if let mapping = backing?.mapping { try? unsafe mapping.revokeUnchecked() }
            backing = nil
        }
    }

    /// Accounting of what the VMM asked of the region's file.
    public struct Usage: Hashable, Sendable, Codable {
        /// The region's name.
        public let name: String
        /// Where the region starts in guest-physical memory.
        public let guestPhysicalAddress: UInt64
        /// The region's length in bytes.
        public let size: UInt64
        /// Bytes resident in the file now (touched by host or guest, not punched); nil when
        /// not measured (`usage(measuringResidency: false)`).
        public let residentBytes: UInt64?
        /// Bytes preallocated on request (fallocate KEEP_SIZE).
        public let allocatedBytes: UInt64
        /// Bytes punched on request (fallocate PUNCH_HOLE).
        public let punchedBytes: UInt64
        /// Whether the region's file had been released.
        public let released: Bool
    }

    /// The region's accounting now, with its resident bytes.
    public var usage: Usage { usage(measuringResidency: true) }

    /// The region's accounting now; residency (`mincore` over the whole region, about 50 µs
    /// per 4 MiB on the reference host) only when `measuringResidency`.
    public func usage(measuringResidency: Bool) -> Usage {
        Usage(
            name: name, guestPhysicalAddress: range.start.rawValue, size: range.size,
            residentBytes: measuringResidency ? residentBytes() : nil,
            allocatedBytes: allocated.load(ordering: .relaxed),
            punchedBytes: punched.load(ordering: .relaxed), released: !isLive)
    }
}

import GmemModel
import KVM
import Logging

/// A guest-physical memory map whose every region is a guest_memfd, in the spirit of
/// rust-vmm's vm-memory: regions sorted by address, typed addresses, and bounds-checked
/// host access to shared memory only (each region's shared side; see `GuestMemoryRegion`).
///
/// Build it with `GuestMemoryMap(vm:layout:)`, which creates one file per region and binds
/// it. Host reads and writes of addresses outside every region, across a region's end, in
/// private memory or in a released region throw `GuestMemoryError`; none can raise SIGBUS.
public final class GuestMemoryMap: Sendable {
    /// A region to create: its name, start, size and the flags of its guest_memfd.
    public struct RegionSpec: Hashable, Sendable {
        /// The region's name, used in errors and reports.
        public var name: String
        /// Where the region starts (page-aligned).
        public var start: GuestPhysicalAddress
        /// The region's length in bytes (a positive multiple of the page size).
        public var size: UInt64
        /// The flags of its guest_memfd (`hostShared` for memory the host loads and inspects).
        public var flags: GuestMemfdFlags
        /// A region to create; the map's initializer checks the layout.
        public init(name: String, start: GuestPhysicalAddress, size: UInt64, flags: GuestMemfdFlags = .hostShared) {
            self.name = name
            self.start = start
            self.size = size
            self.flags = flags
        }
    }

    /// The regions, sorted by start address.
    public let regions: [GuestMemoryRegion]

    /// Creates and binds one guest_memfd per region of `layout` in `vm`.
    ///
    /// Fails with `.invalidLayout` for an empty, unaligned or overlapping layout (checked
    /// before any syscall) and with `.kernel` when the kernel refuses a step; on failure
    /// nothing stays bound or open.
    /// - Parameters:
    ///   - vm: the VM the regions are created in and bound to.
    ///   - layout: the regions, in any order.
    ///   - logger: a swift-log `Logger` (`import Logging`, package
    ///     `https://github.com/apple/swift-log`) for debug messages about each region bound,
    ///     punched or released; the default has label `gmemkit.memory`.
    /// - Throws: `GuestMemoryError`.
    public init(vm: borrowing VirtualMachine, layout: [RegionSpec], logger: Logger = Logger(label: "gmemkit.memory"))
        throws(GuestMemoryError)
    {
        let sorted = layout.sorted { $0.start < $1.start }
        try Self.validate(sorted)
        // validate() caps the count, so every index is a memslot id.
        var regions: [GuestMemoryRegion] = []
        for (index, spec) in sorted.enumerated() {
            let slot = UInt32(index)
            do {
                let file = try vm.createGuestMemfd(size: spec.size, flags: spec.flags)
                // The shared side: the file's own mapping, or anonymous memory (GMEM-SPEC B10).
                let mapping =
                    file.isHostAccessible ? try file.mapShared() : try HostMapping.anonymous(length: spec.size)
                // The VM keeps the mapping alive as long as the slot (or the VM) lives.
                try vm.bind(
                    file, slot: slot, guestPhysicalAddress: spec.start, size: spec.size,
                    hostMemory: mapping)
                regions.append(
                    GuestMemoryRegion(
                        name: spec.name, range: GuestRange(start: spec.start, size: spec.size),
                        slot: slot, file: file, mapping: mapping))
                logger.debug(
                    "bound region \(spec.name) \(GuestRange(start: spec.start, size: spec.size)) as slot \(slot)")
            } catch {
                // Unbind what was bound; the files close as `regions` goes out of scope.
                for region in regions { try? vm.deleteMemorySlot(region.slot) }
                throw .kernel(error)
            }
        }
        self.regions = regions
    }

    static func validate(_ sorted: [RegionSpec]) throws(GuestMemoryError) {
        guard !sorted.isEmpty else { throw .invalidLayout("no regions") }
        guard sorted.count <= maximumRegions else {
            throw .invalidLayout(
                "\(sorted.count) regions: at most \(maximumRegions) (KVM's memslots per address space)")
        }
        var previousEnd: UInt64 = 0
        for (index, spec) in sorted.enumerated() {
            // GmemModel's memslot and creation rules (GMEM-SPEC P2), before any syscall.
            let region = GmemRules.MemoryRegion(
                slot: UInt32(index), flags: GmemABI.MemslotFlag.guestMemfd,
                guestPhysicalAddress: spec.start.rawValue, memorySize: spec.size,
                userspaceAddress: 0)
            guard spec.size > 0,
                GmemRules.validateCreate(size: spec.size, flags: spec.flags.rawValue, supportedFlags: ~0) == nil,
                GmemRules.validateMemoryRegion(
                    region, ioctl: .v2, vmType: GmemABI.VMType.default, capabilities: .upstream) == nil
            else {
                throw .invalidLayout("region \(spec.name) is empty, not page-aligned or too large for a memslot")
            }
            guard spec.start.advanced(by: spec.size) != nil else {
                throw .invalidLayout("region \(spec.name) wraps around the address space")
            }
            if index > 0, spec.start.rawValue < previousEnd {
                throw .invalidLayout("region \(spec.name) overlaps the region before it")
            }
            previousEnd = spec.start.rawValue + spec.size
        }
    }

    /// The region that contains all of `[address, address + count)`.
    /// - Throws: ``GuestMemoryError`` `outOfRange` when no region holds the whole range.
    public func region(containing address: GuestPhysicalAddress, count: UInt64 = 1) throws(GuestMemoryError)
        -> GuestMemoryRegion
    {
        for region in regions where region.range.contains(address, count: count) { return region }
        throw .outOfRange(address: address, count: count)
    }

    /// Runs `body` on the mapping of the region holding `[address, address + count)` and the
    /// offset of `address` in it, under the region's lock (a `release()` waits for it).
    private func access<R>(
        _ address: GuestPhysicalAddress, _ count: UInt64,
        _ body: (HostMapping, UInt64) throws(KVMError) -> R
    ) throws(GuestMemoryError) -> R {
        let region = try region(containing: address, count: count)
        return try region.withMapping { mapping throws(GuestMemoryError) in
            do throws(KVMError) { return try body(mapping, address.rawValue - region.range.start.rawValue) } catch {
                throw .kernel(error)
            }
        }
    }

    /// Copies `bytes` into guest memory at `address`.
    /// - Throws: ``GuestMemoryError``: `outOfRange` when no region holds the whole range,
    ///   `notHostAccessible` for private memory, `released` for a released region, `kernel` for a
    ///   refused host access.
    public func write(_ bytes: some Collection<UInt8>, at address: GuestPhysicalAddress) throws(GuestMemoryError) {
        try access(address, UInt64(bytes.count)) { mapping, offset throws(KVMError) in
            try mapping.write(bytes, at: offset)
        }
    }

    /// Reads `count` bytes of guest memory at `address`; a negative `count` is `.outOfRange`.
    /// - Throws: ``GuestMemoryError``: `outOfRange` when no region holds the whole range,
    ///   `notHostAccessible` for private memory, `released` for a released region, `kernel` for a
    ///   refused host access.
    public func read(at address: GuestPhysicalAddress, count: Int) throws(GuestMemoryError) -> [UInt8] {
        guard count >= 0 else { throw .outOfRange(address: address, count: UInt64(truncatingIfNeeded: count)) }
        return try access(address, UInt64(count)) { mapping, offset throws(KVMError) in
            try mapping.read(at: offset, count: count)
        }
    }

    /// Loads a little-endian integer from guest memory.
    /// - Throws: ``GuestMemoryError``: `outOfRange` when no region holds the whole range,
    ///   `notHostAccessible` for private memory, `released` for a released region, `kernel` for a
    ///   refused host access.
    public func load<T: FixedWidthInteger>(_ type: T.Type = T.self, at address: GuestPhysicalAddress)
        throws(GuestMemoryError) -> T
    {
        try access(address, UInt64(MemoryLayout<T>.size)) { mapping, offset throws(KVMError) in
            try mapping.load(T.self, at: offset)
        }
    }

    /// Stores a little-endian integer into guest memory.
    /// - Throws: ``GuestMemoryError``: `outOfRange` when no region holds the whole range,
    ///   `notHostAccessible` for private memory, `released` for a released region, `kernel` for a
    ///   refused host access.
    public func store<T: FixedWidthInteger>(_ value: T, at address: GuestPhysicalAddress) throws(GuestMemoryError) {
        try access(address, UInt64(MemoryLayout<T>.size)) { mapping, offset throws(KVMError) in
            try mapping.store(value, at: offset)
        }
    }

    /// Sets `count` bytes of guest memory at `address` to `value`.
    /// - Throws: ``GuestMemoryError``: `outOfRange` when no region holds the whole range,
    ///   `notHostAccessible` for private memory, `released` for a released region, `kernel` for a
    ///   refused host access.
    public func fill(_ value: UInt8, at address: GuestPhysicalAddress, count: UInt64) throws(GuestMemoryError) {
        try access(address, count) { mapping, offset throws(KVMError) in
            try mapping.fill(value, at: offset, count: count)
        }
    }

    private func fileRange(_ address: GuestPhysicalAddress, _ count: UInt64) throws(GuestMemoryError) -> (
        GuestMemoryRegion, UInt64
    ) {
        guard address.isAligned(to: HostMapping.pageSize), count % HostMapping.pageSize == 0, count > 0 else {
            throw .unaligned(address: address, count: count)
        }
        let region = try region(containing: address, count: count)
        return (region, address.rawValue - region.range.start.rawValue)
    }

    /// Preallocates the guest memory `[address, address + count)` (page-aligned, inside one region).
    /// - Throws: ``GuestMemoryError``: `unaligned` for a range that is not page-aligned or empty,
    ///   `outOfRange` when no region holds it, `released`, or `kernel` when `fallocate` fails.
    public func allocate(_ address: GuestPhysicalAddress, count: UInt64) throws(GuestMemoryError) {
        let (region, offset) = try fileRange(address, count)
        try region.allocate(offset: offset, count: count)
    }

    /// Frees the guest memory `[address, address + count)`, which then reads as zero (GMEM-SPEC F6).
    /// - Throws: ``GuestMemoryError``: `unaligned` for a range that is not page-aligned or empty,
    ///   `outOfRange` when no region holds it, `released`, or `kernel` when `fallocate` fails.
    public func punchHole(_ address: GuestPhysicalAddress, count: UInt64) throws(GuestMemoryError) {
        let (region, offset) = try fileRange(address, count)
        try region.punchHole(offset: offset, count: count)
    }

    /// The bytes of `[address, address + count)` (page-aligned, inside one region) resident in its
    /// region's shared side (`mincore`: pages touched and not punched since; pages only preallocated
    /// are not counted until first touched). For a region whose file is host-mappable that is the
    /// file itself; otherwise it is the anonymous memory the guest's shared accesses use.
    /// - Throws: ``GuestMemoryError``: `unaligned` for a range that is not page-aligned or empty,
    ///   `outOfRange` when no region holds it, `released`, or `kernel` when `mincore` fails.
    public func residentBytes(_ address: GuestPhysicalAddress, count: UInt64) throws(GuestMemoryError) -> UInt64 {
        let (region, offset) = try fileRange(address, count)
        return try region.withMapping { mapping throws(GuestMemoryError) in
            do throws(KVMError) { return try mapping.residentBytes(offset: offset, count: count) } catch {
                throw .kernel(error)
            }
        }
    }

    /// Total bytes of guest memory (disjoint regions below 2^64, so the sum cannot wrap).
    public var size: UInt64 { regions.reduce(0) { $0 &+ $1.range.size } }

    /// The most regions a map holds: KVM's usable memslots per address space (32764 on x86).
    public static let maximumRegions = 32_764

    /// Bytes resident across all regions.
    public func residentBytes() -> UInt64 { regions.reduce(0) { $0 + $1.residentBytes() } }

    /// Per-region accounting, with resident bytes.
    public var usage: [GuestMemoryRegion.Usage] { usage(measuringResidency: true) }

    /// Per-region accounting; resident bytes (`mincore`, O(size)) only when `measuringResidency`.
    public func usage(measuringResidency: Bool) -> [GuestMemoryRegion.Usage] {
        regions.map { $0.usage(measuringResidency: measuringResidency) }
    }
}

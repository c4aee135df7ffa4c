import GuestMemory
import KVM

/// The memory-request device (`GuestABI.Port.memoryRequest`): the guest asks the VMM to punch
/// or preallocate a range of its own memory, to report how many bytes of a range are resident,
/// or to release a region's guest_memfd. No request may touch the VMM's own memory (GPA 0 ..<
/// `GuestABI.imageBase`): every operation's range passes `target(of:gpa:size:)`.
///
/// The guest writes the guest-physical address of a 32-byte block
/// `{ u32 op; u32 status; u64 gpa; u64 size; u64 result }`; the VMM performs the request
/// and writes `status` (0 or a positive errno) and `result` before re-entering the guest.
struct MemoryRequestDevice: Sendable {
    enum Operation: UInt32 {
        case punchHole = 1
        case allocate = 2
        /// Report in `result` the bytes of `[gpa, gpa + size)` resident in the guest_memfd
        /// (`mincore` over its host mapping: touched and not punched since; bytes only
        /// preallocated are not counted until touched).
        case report = 3
        /// Release the guest_memfd of the region containing `gpa`; its memslot stays, so
        /// the guest's next access there is a memory fault (GMEM-SPEC L5, G2).
        case release = 4
    }

    let memory: GuestMemoryMap

    /// Serves the request whose block is at `blockAddress`; returns nil on success, or a
    /// description of why the block itself is unusable (the run then stops).
    func serve(blockAddress: UInt64) -> String? {
        let block = GuestPhysicalAddress(blockAddress)
        guard let opAddress = block.advanced(by: 0), let gpaAddress = block.advanced(by: 8),
            let sizeAddress = block.advanced(by: 16), let statusAddress = block.advanced(by: 4),
            let resultAddress = block.advanced(by: 24),
            let raw = try? memory.load(UInt32.self, at: opAddress),
            let gpa = try? memory.load(UInt64.self, at: gpaAddress),
            let size = try? memory.load(UInt64.self, at: sizeAddress)
        else { return "request block at \(block) is not inside host-accessible guest memory" }

        var status: UInt32 = 0
        var result: UInt64 = 0
        if let operation = Operation(rawValue: raw), let range = target(of: operation, gpa: gpa, size: size) {
            switch operation {
            case .punchHole:
                status = Self.errno(of: { () throws(GuestMemoryError) in
                    try memory.punchHole(range.start, count: range.size)
                })
            case .allocate:
                status = Self.errno(of: { () throws(GuestMemoryError) in
                    try memory.allocate(range.start, count: range.size)
                })
            case .report:
                status = Self.errno(of: { () throws(GuestMemoryError) in
                    result = try memory.residentBytes(range.start, count: range.size)
                })
            case .release:
                if let region = try? memory.region(containing: range.start, count: range.size) {
                    region.release()
                } else {
                    status = Self.invalid
                }
            }
        } else {
            status = Self.invalid  // an unknown operation, or a range `target` refuses
        }
        do {
            try memory.store(status, at: statusAddress)
            try memory.store(result, at: resultAddress)
        } catch {
            return "cannot write the reply to \(block): \(error)"
        }
        return nil
    }

    /// EINVAL, the status of a request whose operation or range is refused.
    static let invalid: UInt32 = 22

    /// The guest-physical range `operation` would act on, or nil when the request is refused
    /// with EINVAL: the one check every operation passes before the VMM acts. Punch, allocate
    /// and report act on `[gpa, gpa + size)`; release on the whole region containing `gpa`
    /// (`size` is not used). The range must be non-empty, page-aligned, not wrap, lie inside
    /// one region, and stay clear of the VMM's own memory, GPA 0 ..< `GuestABI.imageBase`
    /// (page tables, GDT): a guest cannot punch, allocate, measure or release it.
    func target(of operation: Operation, gpa: UInt64, size: UInt64) -> GuestRange? {
        let start: UInt64
        let count: UInt64
        switch operation {
        case .punchHole, .allocate, .report:
            (start, count) = (gpa, size)
        case .release:
            guard let region = try? memory.region(containing: GuestPhysicalAddress(gpa)) else { return nil }
            (start, count) = (region.range.start.rawValue, region.range.size)
        }
        let page = HostMapping.pageSize
        guard count > 0, start % page == 0, count % page == 0, count <= UInt64.max - start,
            start >= GuestABI.imageBase,
            (try? memory.region(containing: GuestPhysicalAddress(start), count: count)) != nil
        else { return nil }
        return GuestRange(start: GuestPhysicalAddress(start), size: count)
    }

    /// The positive errno a failed request reports to the guest.
    private static func errno(of body: () throws(GuestMemoryError) -> Void) -> UInt32 {
        do {
            try body()
            return 0
        } catch {
            switch error {
            case .kernel(let kernel): return UInt32(bitPattern: kernel.errno.rawValue)
            case .released: return 14  // EFAULT
            default: return 22  // EINVAL: unaligned or outside guest memory
            }
        }
    }
}

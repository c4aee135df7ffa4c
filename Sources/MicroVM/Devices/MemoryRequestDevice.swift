import GuestMemory
import KVM

/// The memory-request device (`GuestABI.Port.memoryRequest`): the guest asks the VMM to punch
/// or preallocate a range of its own memory, to report how much of it is resident, or to
/// release a region's guest_memfd.
///
/// The guest writes the guest-physical address of a 32-byte block
/// `{ u32 op; u32 status; u64 gpa; u64 size; u64 result }`; the VMM performs the request
/// and writes `status` (0 or a positive errno) and `result` before re-entering the guest.
struct MemoryRequestDevice: Sendable {
    enum Operation: UInt32 {
        case punchHole = 1
        case allocate = 2
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
        switch Operation(rawValue: raw) {
        case .punchHole:
            status = Self.errno(of: { () throws(GuestMemoryError) in
                try memory.punchHole(GuestPhysicalAddress(gpa), count: size)
            })
        case .allocate:
            status = Self.errno(of: { () throws(GuestMemoryError) in
                try memory.allocate(GuestPhysicalAddress(gpa), count: size)
            })
        case .report:
            result = memory.residentBytes()
        case .release:
            if let region = try? memory.region(containing: GuestPhysicalAddress(gpa)), region.range.start.rawValue != 0
            {
                region.release()
            } else {
                status = 22  // EINVAL: no such region, or the region holding the VMM's tables
            }
        case nil:
            status = 22  // EINVAL: unknown operation
        }
        do {
            try memory.store(status, at: statusAddress)
            try memory.store(result, at: resultAddress)
        } catch {
            return "cannot write the reply to \(block): \(error)"
        }
        return nil
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

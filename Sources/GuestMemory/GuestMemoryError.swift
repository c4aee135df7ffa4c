import KVM

/// Why a guest-memory operation failed.
public enum GuestMemoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No region covers the whole of `[address, address + count)`.
    case outOfRange(address: GuestPhysicalAddress, count: UInt64)
    /// The region's memory is private to the guest: the host may not touch it (GMEM-SPEC M3).
    case notHostAccessible(region: String)
    /// The region's file was released: its binding is invalid (GMEM-SPEC L5).
    case released(region: String)
    /// A range that is not page-aligned where the kernel requires it (GMEM-SPEC F4).
    case unaligned(address: GuestPhysicalAddress, count: UInt64)
    /// A layout that cannot be built: overlapping regions, a bad size, too many slots.
    case invalidLayout(String)
    /// The kernel refused an operation.
    case kernel(KVMError)

    /// One line naming the range or the region and what is wrong with it.
    public var description: String {
        switch self {
        case .outOfRange(let address, let count):
            "guest range [\(address), +\(count)) is not inside guest memory"
        case .notHostAccessible(let region):
            "region \(region) is private to the guest: the host cannot access it"
        case .released(let region):
            "region \(region)'s guest_memfd has been released"
        case .unaligned(let address, let count):
            "guest range [\(address), +\(count)) is not page-aligned"
        case .invalidLayout(let what):
            "invalid guest memory layout: \(what)"
        case .kernel(let error):
            error.description
        }
    }
}

import GuestMemory
import KVM

extension LongMode {
    /// Writes the tables for `[0, memorySize)` at GPA 0 of `memory` (the micro-VM layout,
    /// below `GuestABI.imageBase`).
    static func writeTables(into memory: GuestMemoryMap, memorySize: UInt64) throws(GuestMemoryError) {
        try memory.write(tables(base: 0, identityMap: memorySize), at: GuestPhysicalAddress(0))
    }
}

/// How much host memory one scenario may make the kernel backend allocate. Every step that
/// can allocate is charged before its syscall, pessimistically (what it could allocate at
/// most, never given back by punching or closing), and refused when the charge would exceed
/// the limit: the step then ends as ``Outcome/budgetRefusal(_:)``, a failure, not a pass.
public struct MemoryBudget: Hashable, Sendable {
    /// The default: 256 MiB per scenario.
    public static let defaultLimit: UInt64 = 256 << 20
    /// What one VM is charged (its kernel structures and the guest probe's 2 MiB).
    public static let perVM: UInt64 = 4 << 20
    /// What one vCPU is charged (its kernel structures and `kvm_run`).
    public static let perVCPU: UInt64 = 64 << 10

    /// The most bytes a scenario may make the host allocate.
    public let limit: UInt64
    /// The bytes charged so far.
    public private(set) var used: UInt64 = 0

    /// A budget of `limit` bytes; any value is accepted (0 refuses every allocation).
    public init(limit: UInt64 = MemoryBudget.defaultLimit) {
        self.limit = limit
    }

    /// What is left.
    public var remaining: UInt64 { limit - used }

    /// Charges `bytes`; false (and nothing charged) when that would exceed the limit.
    public mutating func charge(_ bytes: UInt64) -> Bool {
        guard bytes <= remaining else { return false }
        used += bytes
        return true
    }

    /// "256 MiB", "4 KiB", "12 B".
    public static func text(_ bytes: UInt64) -> String {
        for (shift, unit) in [(60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << UInt64(shift) {
            let whole = bytes >> UInt64(shift)
            let tenth = (bytes - whole << UInt64(shift)) * 10 >> UInt64(shift)
            return tenth == 0 ? "\(whole) \(unit)" : "\(whole).\(tenth) \(unit)"
        }
        return "\(bytes) B"
    }
}

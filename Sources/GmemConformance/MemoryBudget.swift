/// How much host memory one scenario may make the kernel backend allocate. Every step that
/// can allocate is charged before its syscall, pessimistically (what it could allocate at
/// most, never given back by punching or closing), and refused when the charge would exceed
/// the limit: the step then ends as ``Outcome/budgetRefusal(_:)``, a failure, not a pass.
public struct MemoryBudget: Hashable, Sendable {
    /// The default: 256 MiB per scenario.
    public static let defaultLimit: UInt64 = 256 << 20
    /// What one VM is charged (its kernel structures and the guest probe's 2 MiB).
    public static let perVM: UInt64 = 4 << 20
    /// What one vCPU is charged (its kernel structures and `kvm_run`): about 90 KiB measured
    /// here (200 vCPUs of one VM raised its memory cgroup by 18 MiB), charged as 128 KiB.
    public static let perVCPU: UInt64 = 128 << 10

    /// What a memslot of `size` bytes can make KVM allocate when it is created: x86 keeps
    /// per-slot metadata proportional to the slot's pages, an 8-byte reverse-map entry per
    /// 4 KiB page with the shadow MMU (as on PVM) and per-level large-page entries, charged as
    /// 9 bytes a page; with `KVM_MEM_LOG_DIRTY_PAGES` (flag bit 0) also two dirty bitmaps of a
    /// bit a page. A 1 TiB memslot is about 2.3 GiB of kernel memory. Nil when KVM refuses the
    /// slot before allocating anything (a size, address or length KVM rejects outright), so
    /// those answers stay the kernel's errno.
    public static func memslotMetadata(
        size: UInt64, guestPhysicalAddress: UInt64, userspaceAddress: UInt64, flags: UInt32
    )
        -> UInt64?
    {
        let page: UInt64 = 4096
        let pages = size / page
        // KVM_MEM_MAX_NR_PAGES: (1 << 31) - 1 pages; larger, unaligned or empty slots are EINVAL (or a delete).
        guard size > 0, size % page == 0, guestPhysicalAddress % page == 0, userspaceAddress % page == 0,
            pages <= (1 << 31) - 1
        else { return nil }
        let dirtyLog: UInt64 = flags & 1 == 0 ? 0 : pages / 4 + 16
        return pages * 9 + dirtyLog + page
    }

    /// Where the address range the kernel backend keeps for a scenario's mappings ends (64
    /// TiB; it starts at `ModelKernel.mappingBase`, 16 TiB): a mapping whose window
    /// would end past it is refused. Above it the process has its own memory (a PIE binary and
    /// its heap near 85 TiB, libraries and stacks below 128 TiB), which a mapping placed there
    /// would meet.
    public static let mappingAreaEnd: UInt64 = 0x4000_0000_0000

    /// The most live mappings a scenario may hold (a mapping split by `munmap` counts one per
    /// piece): one more `mmap`, `anon` or splitting `munmap` is refused on both backends.
    ///
    /// The kernel backend makes each mapping a window (the mapping and a PROT_NONE guard): a
    /// piece is at most two VMAs, a window's guard one more, so 4,096 pieces stay near 12,300
    /// VMAs, far below `vm.max_map_count` (65,530), which gmem check's own allocations share:
    /// 33,000 mappings once exhausted it, malloc's mmap failed and Swift trapped (exit 134).
    public static let mappingLimit = 4096

    /// Why one more mapping (piece) of `name` is refused.
    public static func mappingLimitRefusal(_ name: String) -> String {
        "\(name) would be live mapping number \(mappingLimit + 1); a scenario may hold at most \(mappingLimit) (each is a VMA of the host's, which gmem check's own memory shares)"
    }

    /// The most bytes a scenario may make the host allocate.
    public let limit: UInt64
    /// The bytes charged so far.
    public private(set) var used: UInt64 = 0

    /// A budget of `limit` bytes; any value is accepted (0 refuses every allocation).
    public init(limit: UInt64 = MemoryBudget.defaultLimit) {
        self.limit = limit
    }

    /// Why `limit` cannot be a kernel-side budget on this host, or nil when it can: a budget
    /// above what the host has available (less ``MemoryCgroup/ownAllowance`` and a reserve
    /// for the rest of the host) would let a scenario's allocations reach the host's OOM
    /// killer, which is what the budget exists to prevent. `available` is MemAvailable.
    public static func refusal(limit: UInt64, available: UInt64?) -> String? {
        guard let available else { return "cannot read MemAvailable from /proc/meminfo to check the budget against" }
        let reserve = max(512 << 20, available / 8)
        let (afterOwn, noRoom) = available.subtractingReportingOverflow(MemoryCgroup.ownAllowance)
        let (largest, tooSmall) = afterOwn.subtractingReportingOverflow(reserve)
        if noRoom || tooSmall { return "this host has only \(text(available)) available; no kernel-side budget fits" }
        guard limit <= largest else {
            return
                "\(text(limit)) is more than this host can give (\(text(available)) available; at most \(text(largest)) leaves gmem check and the host room)"
        }
        return nil
    }

    /// MemAvailable of /proc/meminfo, in bytes.
    public static func hostAvailable() -> UInt64? {
        guard let text = MemoryCgroup.read("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = UInt64(fields[1]) else { return nil }
            let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
            return overflow ? nil : bytes
        }
        return nil
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
        for (shift, unit) in [(60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")]
        where bytes >= 1 << UInt64(shift) {
            let whole = bytes >> UInt64(shift)
            let tenth = (bytes - whole << UInt64(shift)) * 10 >> UInt64(shift)
            return tenth == 0 ? "\(whole) \(unit)" : "\(whole).\(tenth) \(unit)"
        }
        return "\(bytes) B"
    }
}
